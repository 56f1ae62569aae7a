"""Retention: delete recordings and strip transcripts older than the configured periods.

Recordings older than ``flows.recording_retention_days`` (default 730) are deleted with every
file made from them (the web UI's cached WAV copy and pictures); each deletion is checked (the
file must be gone afterwards) and only files really deleted are audited. A file that cannot be
deleted, or a recording not found where the store names it, is a failure in the result: the call
is marked ``held`` (with the reason in ``calls.error``), a ``retention_failed`` entry says why,
and the next run tries again. Transcripts older than ``flows.transcript_retention_days`` lose
their text (segments, words, finding evidence) and their JSON file; with ``anonymise`` they keep
the text with personal numbers masked instead. A call's age is its start time, else its
registration time. Every path is resolved against CALLQA_HOME, never the working folder.
"""

from __future__ import annotations

# isort: off
import flows.prefect_env  # noqa: F401  - sets Prefect's offline defaults before Prefect reads them
# isort: on

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqa.config import Settings, load_settings
from flows import worker

REMOVED = "[removed by retention]"


@dataclass
class RetentionResult:
    recordings_deleted: list[str] = field(default_factory=list)  # call ids (dry run: would delete)
    files_deleted: list[str] = field(default_factory=list)  # stored or absolute paths (dry run: would delete)
    transcripts_stripped: list[int] = field(default_factory=list)  # transcript ids
    failures: list[str] = field(default_factory=list)  # one line per file or call retention could not finish
    dry_run: bool = False


def _strip(document: dict[str, Any], anonymise: bool) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    if anonymise:
        from review.privacy import mask_document

        doc = mask_document(doc)
    else:
        for segment in doc.get("segments") or []:
            segment["text"], segment["words"] = REMOVED, None
    doc.setdefault("metadata", {})["retention"] = "anonymised" if anonymise else "text_removed"
    return doc


def _deleted_before(session: Session, call_id: str) -> bool:
    from review.store.models import AuditEvent

    return session.execute(select(AuditEvent.id).where(
        AuditEvent.call_id == call_id, AuditEvent.kind == "retention_recording_deleted").limit(1)).first() is not None


def _delete_recording(settings: Settings, session: Session, call: Any, result: RetentionResult,
                      cutoff: datetime) -> None:
    from review.audit import chain as audit
    from review.store.files import delete_file, derived_files

    recording = settings.resolve_stored(call.recording_path)
    derived = derived_files(settings, call.recording_sha256)
    if result.dry_run:
        result.recordings_deleted.append(call.id)
        result.files_deleted += [call.recording_path, *(settings.stored_path(p) for p in derived)]
        return
    deleted: list[str] = []
    problems: list[str] = []
    for path in derived:
        problem = delete_file(path)
        if problem:
            problems.append(problem)
        else:
            deleted.append(settings.stored_path(path))
    recording_gone = False
    if recording.exists():
        problem = delete_file(recording)
        recording_gone = problem is None
        if problem:
            problems.append(problem)
        else:
            deleted.append(call.recording_path)
    elif _deleted_before(session, call.id):
        recording_gone = True  # an earlier run deleted it (and audited that), then failed on another file
    else:
        problems.append(f"{recording}: recording not found where the store names it ({call.recording_path}); "
                        "nothing deleted (check CALLQA_HOME, or `callqa audit verify --files`)")
    payload = {"files": deleted, "cutoff": cutoff.isoformat(), "retention_days": settings.flows.recording_retention_days}
    if deleted:
        kind = "retention_recording_deleted" if call.recording_path in deleted else "retention_files_deleted"
        audit.append(session, kind, call_id=call.id, recording_sha256=call.recording_sha256, payload=payload)
        result.files_deleted += deleted
    if problems:
        call.status, call.error = "held", "retention: " + "; ".join(problems)[:3900]
        audit.append(session, "retention_failed", call_id=call.id, recording_sha256=call.recording_sha256,
                     payload={"problems": problems, "deleted": deleted})
        result.failures += [f"call {call.id}: {p}" for p in problems]
    elif recording_gone:
        call.status, call.error = "deleted", None
        result.recordings_deleted.append(call.id)


def _strip_transcript(settings: Settings, session: Session, transcript: Any, call: Any, anonymise: bool,
                      result: RetentionResult, cutoff: datetime) -> None:
    from review.audit import chain as audit
    from review.store.files import delete_file

    result.transcripts_stripped.append(transcript.id)
    if result.dry_run:
        if transcript.path:
            result.files_deleted.append(transcript.path)
        return
    document = _strip(transcript.document, anonymise)
    payload: dict[str, Any] = {"transcript_id": transcript.id, "cutoff": cutoff.isoformat(),
                               "retention_days": settings.flows.transcript_retention_days}
    if transcript.path:
        path = settings.resolve_stored(transcript.path)
        if anonymise and path.is_file():
            path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
            payload["file_rewritten"] = transcript.path
        else:
            problem = delete_file(path)
            if problem:  # the text stays until its file is gone too: the next run tries again
                result.transcripts_stripped.remove(transcript.id)
                result.failures.append(f"call {call.id} transcript {transcript.id}: {problem}")
                audit.append(session, "retention_failed", call_id=call.id, recording_sha256=call.recording_sha256,
                             payload={"transcript_id": transcript.id, "problems": [problem]})
                return
            payload["file_deleted"] = transcript.path
            result.files_deleted.append(transcript.path)
    transcript.document = document
    _strip_evidence(session, transcript.call_id, anonymise)
    audit.append(session, "retention_transcript_" + ("anonymised" if anonymise else "stripped"),
                 call_id=call.id, recording_sha256=call.recording_sha256, payload=payload)


def apply_retention(settings: Settings, *, now: datetime | None = None, dry_run: bool = False,
                    anonymise: bool = False) -> RetentionResult:
    from review.screening.packs_registry import check_recording_retention
    from review.store.db import session_scope
    from review.store.models import Call, Transcript

    # a pack in use may require recordings kept longer (cn-collection: two years); refuse before deleting
    check_recording_retention(settings.flows.recording_retention_days, settings.screening.packs,
                              settings.screening.packs_dir)
    now = now or datetime.now(UTC)
    result = RetentionResult(dry_run=dry_run)
    when = func.coalesce(Call.started_at, Call.created_at)
    rec_cutoff = now - timedelta(days=settings.flows.recording_retention_days)
    tr_cutoff = now - timedelta(days=settings.flows.transcript_retention_days)
    factory = worker.session_factory(settings)
    with session_scope(factory) as session:
        old_ids = list(session.execute(select(Call.id).where(when < rec_cutoff, Call.status != "deleted")
                                       .order_by(Call.id)).scalars())
    for call_id in old_ids:  # one transaction per call: what was deleted on disk is committed at once
        with session_scope(factory) as session:
            call = session.get(Call, call_id)
            if call is not None and call.status != "deleted":
                _delete_recording(settings, session, call, result, rec_cutoff)
    with session_scope(factory) as session:
        ids = list(session.execute(select(Transcript.id).join(Call, Transcript.call_id == Call.id)
                                   .where(when < tr_cutoff).order_by(Transcript.id)).scalars())
    for transcript_id in ids:
        with session_scope(factory) as session:
            transcript = session.get(Transcript, transcript_id)
            if transcript is None or (transcript.document.get("metadata") or {}).get("retention"):
                continue  # done on an earlier run
            call = session.get(Call, transcript.call_id)
            _strip_transcript(settings, session, transcript, call, anonymise, result, tr_cutoff)
    return result


def _strip_evidence(session: Session, call_id: str, anonymise: bool) -> None:
    from review.privacy import mask_text
    from review.store.models import Finding

    for row in session.execute(select(Finding).where(Finding.call_id == call_id)).scalars():
        row.evidence = mask_text(row.evidence) if anonymise else REMOVED


@flow(name="callqa-retention", description="Delete or anonymise recordings and transcripts past retention.",
      validate_parameters=False, persist_result=False)
def retention(dry_run: bool = False, anonymise: bool = False, settings: Settings | None = None) -> RetentionResult:
    return apply_retention(settings or load_settings(), dry_run=dry_run, anonymise=anonymise)
