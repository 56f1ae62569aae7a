"""Retention: delete recordings and strip transcripts older than the configured periods.

Recordings older than ``flows.recording_retention_days`` (default 730) are deleted from disk
and their call marked ``deleted``. Transcripts older than ``flows.transcript_retention_days``
lose their text (segments, words, finding evidence) and their JSON file; with ``anonymise``
they keep the text with personal numbers masked instead. Each action is one audit entry.
A call's age is its start time, else its registration time.
"""

from __future__ import annotations

# isort: off
import flows.prefect_env  # noqa: F401  - sets Prefect's offline defaults before Prefect reads them
# isort: on

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow
from sqlalchemy import func, select

from callqa.config import Settings, load_settings
from flows import worker

REMOVED = "[removed by retention]"


@dataclass
class RetentionResult:
    recordings_deleted: list[str] = field(default_factory=list)  # call ids
    transcripts_stripped: list[int] = field(default_factory=list)  # transcript ids
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


def apply_retention(settings: Settings, *, now: datetime | None = None, dry_run: bool = False,
                    anonymise: bool = False) -> RetentionResult:
    from review import audit
    from review.store.db import session_scope
    from review.store.models import Call, Finding, Transcript

    now = now or datetime.now(UTC)
    result = RetentionResult(dry_run=dry_run)
    when = func.coalesce(Call.started_at, Call.created_at)
    rec_cutoff = now - timedelta(days=settings.flows.recording_retention_days)
    tr_cutoff = now - timedelta(days=settings.flows.transcript_retention_days)
    factory = worker.session_factory(settings)
    with session_scope(factory) as session:
        old_calls = list(session.execute(select(Call).where(when < rec_cutoff, Call.status != "deleted")).scalars())
        for call in old_calls:
            result.recordings_deleted.append(call.id)
            if dry_run:
                continue
            Path(call.recording_path).unlink(missing_ok=True)
            call.status = "deleted"
            audit.append(session, "retention_recording_deleted", call_id=call.id,
                         recording_sha256=call.recording_sha256,
                         payload={"recording_path": call.recording_path, "cutoff": rec_cutoff.isoformat(),
                                  "retention_days": settings.flows.recording_retention_days})
        rows = session.execute(
            select(Transcript, Call).join(Call, Transcript.call_id == Call.id).where(when < tr_cutoff)).all()
        for transcript, call in rows:
            if (transcript.document.get("metadata") or {}).get("retention"):
                continue  # done on an earlier run
            result.transcripts_stripped.append(transcript.id)
            if dry_run:
                continue
            transcript.document = _strip(transcript.document, anonymise)
            if transcript.path:
                path = Path(transcript.path)
                if anonymise and path.exists():
                    import json

                    path.write_text(json.dumps(transcript.document, ensure_ascii=False, indent=1), encoding="utf-8")
                else:
                    path.unlink(missing_ok=True)
            _strip_evidence(session, Finding, transcript.call_id, anonymise)
            audit.append(session, "retention_transcript_" + ("anonymised" if anonymise else "stripped"),
                         call_id=call.id, recording_sha256=call.recording_sha256,
                         payload={"transcript_id": transcript.id, "cutoff": tr_cutoff.isoformat(),
                                  "retention_days": settings.flows.transcript_retention_days})
    return result


def _strip_evidence(session: Any, finding: Any, call_id: str, anonymise: bool) -> None:
    from review.privacy import mask_text

    for row in session.execute(select(finding).where(finding.call_id == call_id)).scalars():
        row.evidence = mask_text(row.evidence) if anonymise else REMOVED


@flow(name="callqa-retention", description="Delete or anonymise recordings and transcripts past retention.",
      validate_parameters=False, persist_result=False)
def retention(dry_run: bool = False, anonymise: bool = False, settings: Settings | None = None) -> RetentionResult:
    return apply_retention(settings or load_settings(), dry_run=dry_run, anonymise=anonymise)
