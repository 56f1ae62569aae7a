"""The transcript search index: one row per call holding its newest transcript in "sound" form.

The sound form is the screening matcher's normalised text (review.screening.normalize) with every
Han character replaced by one representative character of its toneless pinyin syllable, so 催收
and a recogniser's 崔收 are stored and searched as the same characters. A phrase search is then a
plain substring test in SQL that narrows 100,000 calls to a page of candidates; the matcher itself
verifies each candidate exactly (review.web.search_view). A trigram index serves the test for a
phrase of three characters or more: pg_trgm on PostgreSQL (migration 0010), an FTS5 trigram table
kept in step by triggers on SQLite (migration 0012, ``phrase_calls``).
Representative Han characters rather than the matcher's private-use codes, because pg_trgm only
indexes letters and digits.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text
from sqlalchemy.orm import Session

from review.screening.match import CallText, _phrase_form
from review.screening.normalize import sound_of
from review.store.models import CallSearchText, Transcript

LINE_BREAK = "\n"  # joins a call's segments: no normalised text contains it


FTS_TABLE = "call_search_fts"  # SQLite's trigram index (migration 0012) and its shadow tables' prefix
TRIGRAM = 3  # the shortest phrase a trigram index can find
RARE = 1000  # a phrase in at most this many calls is looked up in the index; a commoner one is met walking


def has_fts(conn: Connection) -> bool:
    """Whether this SQLite database has the trigram table (an SQLite without FTS5 trigram has not)."""
    return conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
                        {"n": FTS_TABLE}).first() is not None


def phrase_calls(session: Session, key: str) -> list[str] | None:
    """The ids of the calls whose sound text holds ``key``, when a trigram index finds them and they are
    few (at most RARE); None when the phrase is too short for the index, the database has none, or the
    phrase is common: then walking the calls newest first with a substring test meets a page of hits
    sooner than collecting them all."""
    if len(key) < TRIGRAM:
        return None
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        if not has_fts(conn):
            return None
        # a quoted FTS5 string: the trigram tokenizer matches it as a substring (case folded, as LIKE is)
        rows = conn.execute(text(f"SELECT t.call_id FROM {FTS_TABLE} f JOIN transcripts t ON t.id = f.rowid "
                                 f"WHERE {FTS_TABLE} MATCH :q LIMIT :n"),
                            {"q": '"' + key.replace('"', '""') + '"', "n": RARE + 1}).scalars().all()
    elif conn.dialect.name == "postgresql":
        rows = session.execute(select(CallSearchText.call_id)
                               .where(CallSearchText.sound.contains(key, autoescape=True)).limit(RARE + 1)
                               ).scalars().all()
    else:
        return None
    return None if len(rows) > RARE else [str(r) for r in rows]


def phrase_key(phrase: str) -> str:
    """What a phrase's sound form is inside a call's sound text ("" when nothing searchable is left)."""
    form, _ = _phrase_form(phrase)
    return sound_of(form) if form.strip() else ""


def document_sound(document: Mapping[str, Any]) -> str:
    """The sound text of a transcript document, its segments' lines in order."""
    segments = list(document.get("segments") or [])
    if not segments:
        return ""
    call = CallText.from_segments(segments, document.get("language"))
    return LINE_BREAK.join(sound_of(n) for n in call.norm)


def index_transcript(session: Session, call_id: str, transcript_id: int, document: Mapping[str, Any]) -> None:
    """Make the call's row follow this transcript unless a newer one of the call is indexed already."""
    current = session.execute(select(CallSearchText.transcript_id)
                              .where(CallSearchText.call_id == call_id)).scalar_one_or_none()
    if current is not None and current > transcript_id:
        return
    session.execute(delete(CallSearchText).where(CallSearchText.call_id == call_id))
    session.execute(insert(CallSearchText).values(call_id=call_id, transcript_id=transcript_id,
                                                  sound=document_sound(document)))


def rows_for(items: Iterable[tuple[str, int, Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Insert values of the index for (call id, transcript id, document) triples (bulk loads)."""
    return [{"call_id": c, "transcript_id": t, "sound": document_sound(d)} for c, t, d in items]


def backfill(session: Session, batch: int = 1000, *, only_missing: bool = True) -> int:
    """Index every call's newest transcript (the ones missing, or all); returns how many were written."""
    from sqlalchemy import func

    newest = select(Transcript.call_id, func.max(Transcript.id).label("tid")).group_by(Transcript.call_id)
    if only_missing:
        newest = newest.where(~Transcript.call_id.in_(select(CallSearchText.call_id)))
    pairs = [(str(c), int(t)) for c, t in session.execute(newest).all()]
    written = 0
    for start in range(0, len(pairs), batch):
        chunk = pairs[start:start + batch]
        docs: dict[int, Any] = dict(session.execute(select(Transcript.id, Transcript.document)
                                    .where(Transcript.id.in_([t for _, t in chunk]))).all())
        ids = [c for c, _ in chunk]
        session.execute(delete(CallSearchText).where(CallSearchText.call_id.in_(ids)))
        rows = rows_for((c, t, docs[t] or {}) for c, t in chunk if t in docs)
        if rows:
            session.execute(insert(CallSearchText), rows)
        written += len(rows)
        if start and start % (batch * 20) == 0:
            print(f"  search index: {written}/{len(pairs)} calls", file=sys.stderr)
    return written
