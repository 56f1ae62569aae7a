"""One recording through the pipeline, as plain functions: stage, register, transcribe, screen, enqueue.

Every step is keyed so that running it again is harmless: the call by the recording's SHA-256,
the transcript by call and model key, a screening by transcript, pack and pack version, the
queue item by call. Each step commits on its own, so a process killed anywhere leaves work
the next run finishes without a duplicate.

Errors split two ways. Transient ones (storage, database) propagate, so the Prefect task
retries the whole recording (cheap: finished steps are skipped). Anything else is the
recording's own fault (corrupt audio, bad metadata, id clash): it is quarantined and the
outcome says why; nothing is retried.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings
from callqa.errors import CallQAError, IngestError, StoreError
from flows import worker
from flows.discovery import SourceFile, stage
from flows.quarantine import quarantine

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.IntegrityError,
)


@dataclass
class WorkItem:
    """One unit of a night: a new inbox file, or a registered call whose pipeline did not finish."""

    name: str
    source: SourceFile | None = None
    metadata: dict[str, Any] | None = None
    metadata_error: str | None = None
    call_id: str | None = None  # set for resumed calls
    rescreen_only: bool = False  # backfill: keep the stored transcript, screen again
    retranscribe: bool = False  # backfill: transcribe even if a transcript for another model exists


@dataclass
class CallOutcome:
    name: str
    call_id: str | None = None
    sha256: str | None = None
    ok: bool = True
    new_call: bool = False
    transcribed: bool = False  # a transcript made in this run
    screened: bool = False  # a screening stored in this run
    flagged: bool = False
    queued: bool = False  # a flagged review item created in this run
    findings: int = 0
    duration_s: float = 0.0
    work_s: float = 0.0
    transcribe_s: float = 0.0
    error: str | None = None
    quarantine_path: str | None = None
    worker: dict[str, Any] = field(default_factory=dict)


def is_transient(error: BaseException) -> bool:
    """Storage and database trouble, which a retry may cure; never a fault of the recording."""
    if isinstance(error, StoreError):  # the database is unreachable or not migrated
        return True
    return isinstance(error, TRANSIENT_ERRORS) and not isinstance(error, CallQAError)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def transcript_path(settings: Settings, call_id: str, model_key: str) -> Path:
    return settings.transcripts_dir / _safe(call_id) / f"{_safe(model_key)}.json"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def register(settings: Settings, factory: sessionmaker[Session], item: WorkItem,
             outcome: CallOutcome) -> tuple[str, Path, str, dict[str, Any]]:
    """Stage and register a new file, or look up a resumed call: (call id, local path, sha, metadata)."""
    from review.store.db import session_scope
    from review.store.models import Call

    if item.call_id is not None:
        with session_scope(factory) as session:
            call = session.get(Call, item.call_id)
            if call is None:
                raise IngestError(f"call {item.call_id!r} is not in the review store; nothing to resume")
            outcome.duration_s, outcome.sha256 = call.duration_s or 0.0, call.recording_sha256
            return (call.id, settings.resolve_stored(call.recording_path), call.recording_sha256,
                    dict(call.metadata_json or {}))
    assert item.source is not None
    staged = stage(item.source, settings.recordings_dir)
    outcome.sha256 = staged.sha256
    if item.metadata_error is not None or item.metadata is None:
        raise IngestError(item.metadata_error or f"{item.name}: no metadata")
    from transcriber.audio import probe

    info = probe(staged.path)  # AudioDecodeError for a corrupt or empty file: no retry
    outcome.duration_s = info.duration_s
    metadata = {**item.metadata, "source": item.source.url, "original_name": item.source.name,
                "audio_channels": info.channels, "sample_rate": info.sample_rate}
    from review.calls.repo import register_call

    with session_scope(factory) as session:
        call, created = register_call(session, call_id=item.metadata["call_id"], recording_sha256=staged.sha256,
                                      recording_path=settings.stored_path(staged.path), metadata=metadata,
                                      duration_s=info.duration_s)
        outcome.new_call = created
        return (call.id, settings.resolve_stored(call.recording_path), call.recording_sha256,
                dict(call.metadata_json or {}))


def _stored_transcript(session: Session, call_id: str, model_keys: set[str], any_model: bool) -> Any:
    from review.store.models import Transcript

    query = select(Transcript).where(Transcript.call_id == call_id).order_by(Transcript.id.desc())
    rows = list(session.execute(query).scalars())
    for row in rows:
        if row.model_key in model_keys:
            return row
    return rows[0] if rows and any_model else None


def transcribe(settings: Settings, factory: sessionmaker[Session], call_id: str, path: Path,
               metadata: dict[str, Any], item: WorkItem, outcome: CallOutcome) -> tuple[int, dict[str, Any]]:
    """The call's transcript for the current model: the stored one, or a new one. (id, document)."""
    from review.audit import chain as audit
    from review.calls.repo import save_transcript
    from review.store.db import session_scope

    engine = worker.transcriber(settings)
    keys = {engine.model_key(None), engine.model_key(metadata.get("dialect"))}
    with session_scope(factory) as session:
        stored = _stored_transcript(session, call_id, keys, any_model=item.rescreen_only)
        if stored is not None:
            return stored.id, dict(stored.document)
    with worker.transcription_slot(settings):
        started = time.perf_counter()  # the model at work, not the wait for a slot
        transcript = engine.transcribe(path, call_id, metadata)
        outcome.transcribe_s = time.perf_counter() - started
    document = transcript.to_dict()
    model_key = engine.model_key(document.get("dialect"))
    target = transcript_path(settings, call_id, model_key)
    _write_atomic(target, json.dumps(document, ensure_ascii=False, indent=1))
    with session_scope(factory) as session:
        row, created = save_transcript(session, call_id, model_key, document, settings.stored_path(target))
        outcome.transcribed = created
        if created:
            audit.append(session, "transcription_worker", call_id=call_id,
                         payload={**worker.identity(), "transcript_id": row.id, "model_key": model_key,
                                  "seconds": round(outcome.transcribe_s, 3)})
        return row.id, dict(row.document)


def screen(settings: Settings, factory: sessionmaker[Session], call_id: str, transcript_id: int,
           document: dict[str, Any], outcome: CallOutcome) -> None:
    """Screen the transcript with every applicable pack (stored once per pack version); queue if flagged."""
    from review.calls.repo import save_screening
    from review.queue.lifecycle import enqueue
    from review.screening import history_for
    from review.store.db import session_scope
    from review.store.models import Finding

    screener = worker.screener(settings, document.get("language"))
    urgent = False
    with session_scope(factory) as session:
        results = screener.screen(document, history_for(session, [document]))
        screening_ids = []
        for result in results:
            screening, created = save_screening(session, call_id, transcript_id, result)
            screening_ids.append(screening.id)
            outcome.screened = outcome.screened or created
        # only the current pack versions count: a finding a newer pack dropped no longer flags the call
        findings = list(session.execute(
            select(Finding).where(Finding.screening_id.in_(screening_ids))).scalars()) if screening_ids else []
        outcome.findings = len(findings)
        outcome.flagged = bool(findings)
        if findings:
            item, created = enqueue(session, call_id, "flagged")
            outcome.queued = created and item.kind == "flagged"
            urgent = created and item.urgent
        _mark_screened(session, call_id)
    if urgent:
        _notify_urgent(settings, factory, call_id)


def _mark_screened(session: Session, call_id: str) -> None:
    # a call screened by packs that produced no screening row (no pack for its language) is still done
    from review.store.models import Call

    call = session.get(Call, call_id)
    if call is not None and call.status in ("registered", "transcribed", "failed"):
        call.status, call.error = "screened", None


def _notify_urgent(settings: Settings, factory: sessionmaker[Session], call_id: str) -> None:
    from review.reports.notify import notify_urgent_for_call
    from review.store.db import session_scope

    try:
        with session_scope(factory) as session:
            notify_urgent_for_call(session, settings.notify, call_id, outbox=settings.home / "outbox")
    except Exception as exc:  # noqa: BLE001 - an alert that cannot go out must not fail the call
        log.warning("call %s: urgent notification not sent: %s", call_id, exc)


def process(settings: Settings, item: WorkItem) -> CallOutcome:
    """Run one recording through every step; transient errors propagate, others quarantine it."""
    started = time.perf_counter()
    outcome = CallOutcome(name=item.name, call_id=item.call_id, worker=worker.identity())
    factory = worker.session_factory(settings)
    local: Path | None = None
    sha: str | None = None
    try:
        call_id, local, sha, metadata = register(settings, factory, item, outcome)
        outcome.call_id = call_id
        transcript_id, document = transcribe(settings, factory, call_id, local, metadata, item, outcome)
        screen(settings, factory, call_id, transcript_id, document, outcome)
    except BaseException as error:
        if is_transient(error) or not isinstance(error, Exception):
            raise
        reason = str(error) if isinstance(error, CallQAError) else f"{type(error).__name__}: {error}"
        outcome.ok, outcome.error = False, reason
        where = quarantine(settings, factory, name=item.name, reason=reason,
                           source_url=item.source.url if item.source else None, local_path=local,
                           call_id=outcome.call_id or (item.metadata or {}).get("call_id"),
                           sha256=sha or outcome.sha256)
        outcome.quarantine_path = str(where.recording or where.reason_file)
        log.warning("%s quarantined: %s", item.name, reason)
    outcome.work_s = time.perf_counter() - started
    outcome.worker = worker.identity()
    return outcome
