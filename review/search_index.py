"""The transcript search index: one row per call holding its newest transcript in "sound" form.

The sound form is the screening matcher's normalised text (review.screening.normalize) with every
Han character replaced by one representative character of its toneless pinyin syllable, so 催收
and a recogniser's 崔收 are stored and searched as the same characters. A phrase search is then a
plain substring test in SQL (a trigram index serves it on PostgreSQL) that narrows 100,000 calls to
a page of candidates; the matcher itself verifies each candidate exactly (review.web.search_view).
Representative Han characters rather than the matcher's private-use codes, because pg_trgm only
indexes letters and digits.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import ForeignKey, Integer, Text, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from review.screening.match import CallText, _phrase_form
from review.screening.normalize import homophone_table
from review.store.models import Base, Transcript

LINE_BREAK = "\n"  # joins a call's segments: no normalised text contains it


class CallSearchText(Base):
    """A call's newest transcript in sound form, one line per segment (migration 0010)."""

    __tablename__ = "call_search_text"
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    transcript_id: Mapped[int] = mapped_column(Integer)
    sound: Mapped[str] = mapped_column(Text, default="")


@lru_cache(maxsize=1)
def _sound_table() -> dict[int, str]:
    """Han code point -> the lowest code point of the same syllable, as a character."""
    first: dict[str, int] = {}
    # prefer the main CJK block: every index and font knows it
    for cp, code in sorted(homophone_table().items(), key=lambda kv: (kv[0] < 0x4E00, kv[0])):
        first.setdefault(code, cp)
    return {cp: chr(first[code]) for cp, code in homophone_table().items()}


def sound_of(normalized: str) -> str:
    """A normalised text with each Han character in its syllable's representative form (same length)."""
    return normalized.translate(_sound_table())


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
