"""Ingest side of the review store: register calls, save transcripts and screenings.

Every function is idempotent and race-safe (an ``INSERT ... ON CONFLICT DO
NOTHING`` on the natural key, then a read), takes a ``Session`` and leaves the
commit to the caller, so a flow can register, transcribe and screen a call in
one transaction or in three. Each first write queues its audit entry, which is
written when the caller commits (``audit.append_on_commit``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callqa.errors import IngestConflictError, NotFoundError, TranscriptSchemaError
from callqa.hashing import json_safe, sha256_json
from review.audit import chain as audit
from review.store.models import Base, Call, Finding, Screening, Transcript
from review.store.serialise import findings_digest
from transcriber.schema import validate as validate_transcript

METADATA_FIELDS = ("agent_id", "team", "debtor_id", "phone_number", "timezone", "direction", "language", "dialect")


class FindingLike(Protocol):
    rule_id: str
    category: str
    severity: str
    segment_index: int | None
    start: float | None
    end: float | None
    evidence: str
    citation: str
    urgent: bool


class ScreenResultLike(Protocol):
    pack: str
    pack_version: str

    @property
    def findings(self) -> Sequence[FindingLike]: ...


def insert_ignore(session: Session, model: type[Base], values: Mapping[str, Any]) -> bool:
    """Insert one row unless it breaks a unique key; True when the row is new.

    Unlike a try/except on IntegrityError this never aborts the caller's
    transaction, so two processes ingesting the same recording both succeed."""
    dialect = session.get_bind().dialect.name
    table: Any = model.__table__
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported backends
        raise NotImplementedError(f"database dialect {dialect!r} is not supported; use SQLite or PostgreSQL")
    # RETURNING yields a row only when the insert happened; rowcount is not reliable across drivers
    return session.execute(stmt.returning(*table.primary_key.columns)).first() is not None


def _parse_time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise IngestConflictError(f"{where}: started_at {value!r} is not an ISO-8601 time") from exc
    # a naive time is taken as UTC; stored as UTC because SQLite drops the offset
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "y", "answered"}


def get_call(session: Session, call_id: str) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFoundError(f"call {call_id!r} is not in the review store; register it first (callqa run)")
    return call


def register_call(session: Session, *, call_id: str, recording_sha256: str, recording_path: str,
                  metadata: Mapping[str, Any], duration_s: float | None) -> tuple[Call, bool]:
    """Register a recording once; the same SHA-256 returns the existing call and False.

    Raises IngestConflictError when ``call_id`` is taken by a different recording."""
    sha = recording_sha256.lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise IngestConflictError(f"call {call_id!r}: {recording_sha256!r} is not a SHA-256 hex digest")
    values: dict[str, Any] = {
        "id": call_id,
        "recording_sha256": sha,
        "recording_path": str(recording_path),
        "duration_s": duration_s,
        "started_at": _parse_time(metadata.get("started_at"), f"call {call_id!r}"),
        "answered": _as_bool(metadata.get("answered")),
        "metadata_json": json_safe(dict(metadata)),
        "status": "registered",
        "created_at": datetime.now(UTC),
    }
    for name in METADATA_FIELDS:
        raw = metadata.get(name)
        values[name] = None if raw in (None, "") else str(raw)
    created = insert_ignore(session, Call, values)
    existing = session.execute(select(Call).where(Call.recording_sha256 == sha)).scalar_one_or_none()
    if existing is None:
        other = session.get(Call, call_id)
        theirs = other.recording_sha256 if other else "?"
        raise IngestConflictError(
            f"call id {call_id!r} is already registered for another recording (SHA-256 {theirs}); "
            "give this recording its own call id"
        )
    if created:
        audit.append_on_commit(session, "ingested", call_id=existing.id, recording_sha256=sha,
                     payload={"recording_path": existing.recording_path, "duration_s": duration_s,
                              "agent_id": existing.agent_id, "team": existing.team})
    return existing, created


def save_transcript(session: Session, call_id: str, model_key: str, transcript: Mapping[str, Any],
                    path: str | None) -> tuple[Transcript, bool]:
    """Store a transcript document (validated against the schema) once per call and model key."""
    call = get_call(session, call_id)
    document = dict(transcript)
    validate_transcript(document, path or f"transcript of call {call_id}")
    if document.get("call_id") not in (None, call_id):
        raise TranscriptSchemaError(
            f"{path or 'transcript'}: belongs to call {document.get('call_id')!r}, not {call_id!r}"
        )
    backend, _, rest = model_key.partition(":")
    values = {
        "call_id": call_id,
        "model_key": model_key,
        "backend": str(document.get("backend") or backend),
        "model": str(document.get("model") or rest.partition(":")[0]),
        "language": document.get("language"),
        "dialect": document.get("dialect"),
        "path": path,
        "document": json_safe(document),
        "created_at": datetime.now(UTC),
    }
    created = insert_ignore(session, Transcript, values)
    row = session.execute(
        select(Transcript).where(Transcript.call_id == call_id, Transcript.model_key == model_key)
    ).scalar_one()
    if created:
        if call.status in ("registered", "failed"):
            call.status, call.error = "transcribed", None
        call.language = call.language or row.language
        call.dialect = call.dialect or row.dialect
        audit.append_on_commit(session, "transcribed", call_id=call_id, recording_sha256=call.recording_sha256,
                     payload={"transcript_id": row.id, "model_key": model_key, "path": path,
                              "transcript_sha256": sha256_json(row.document),
                              "segments": len(document.get("segments") or [])})
        from review.search.index import index_transcript  # the search index follows the newest transcript

        index_transcript(session, call_id, row.id, row.document)
    session.flush()
    return row, created


def _semantic(f: FindingLike) -> dict[str, Any] | None:
    score = getattr(f, "score", None)
    if score is None:
        return None
    return {"score": score, "exemplars": list(getattr(f, "exemplars", []) or []), "model": getattr(f, "model", None)}


def save_screening(session: Session, call_id: str, transcript_id: int,
                   result: ScreenResultLike) -> tuple[Screening, bool]:
    """Store one rule pack's findings on one transcript, once per transcript, pack and version."""
    call = get_call(session, call_id)
    transcript = session.get(Transcript, transcript_id)
    if transcript is None or transcript.call_id != call_id:
        raise NotFoundError(f"transcript {transcript_id} of call {call_id!r} is not stored; save it first")
    created = insert_ignore(session, Screening, {
        "call_id": call_id, "transcript_id": transcript_id, "pack": result.pack,
        "pack_version": str(result.pack_version), "created_at": datetime.now(UTC),
    })
    screening = session.execute(select(Screening).where(
        Screening.transcript_id == transcript_id, Screening.pack == result.pack,
        Screening.pack_version == str(result.pack_version),
    )).scalar_one()
    if not created:
        return screening, False
    rows = [
        Finding(screening_id=screening.id, call_id=call_id, rule_id=f.rule_id, category=f.category,
                severity=f.severity, urgent=bool(f.urgent), segment_index=f.segment_index, start=f.start,
                end=f.end, evidence=f.evidence or "", citation=f.citation or "", semantic=_semantic(f))
        for f in result.findings
    ]
    session.add_all(rows)
    session.flush()
    if call.status in ("registered", "transcribed", "failed"):
        call.status, call.error = "screened", None
    audit.append_on_commit(session, "screened", call_id=call_id, recording_sha256=call.recording_sha256,
                 payload={"screening_id": screening.id, "transcript_id": transcript_id, "pack": result.pack,
                          "pack_version": str(result.pack_version), "findings": len(rows),
                          "urgent": any(r.urgent for r in rows), "findings_sha256": findings_digest(rows)})
    return screening, True


def mark_failed(session: Session, call_id: str, reason: str) -> Call:
    """Record that a step failed for this call (the flow goes on with the next one)."""
    call = get_call(session, call_id)
    call.status, call.error = "failed", reason[:4000]
    audit.append_on_commit(session, "failed", call_id=call_id, recording_sha256=call.recording_sha256,
                 payload={"reason": reason[:4000]})
    session.flush()
    return call


def current_findings(session: Session, call_id: str) -> list[Finding]:
    """The findings a reviewer decides on: those of each pack's newest screening of the call.

    A re-transcription or a new pack version screened later replaces that
    pack's older findings (which stay stored, unchanged)."""
    newest = (select(func.max(Screening.id)).where(Screening.call_id == call_id)
              .group_by(Screening.pack).scalar_subquery())
    return list(session.execute(
        select(Finding).where(Finding.call_id == call_id, Finding.screening_id.in_(newest)).order_by(Finding.id)
    ).scalars())
