"""Ingest side: idempotent by recording SHA-256, transcript per model key, screening per pack version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqa.errors import IngestConflictError, NotFoundError, TranscriptSchemaError
from review.calls.repo import current_findings, mark_failed, register_call, save_screening, save_transcript
from review.queue.lifecycle import enqueue
from review.store.models import AuditEvent, Call, Finding, ReviewItem, Screening, Transcript

from .conftest import MODEL_KEY, FakeFinding, FakeResult, ingest, sha_of, transcript_doc


def _count(db: Session, model: type) -> int:
    return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def test_reingesting_the_same_recording_makes_no_second_call_or_item(db: Session) -> None:
    ingest(db, "c1", [FakeFinding("R1", "threat", "major")], agent_id="A7", team="T3")
    enqueue(db, "c1")
    db.commit()
    # the same recording arrives again under another file name and even another call id
    call, created = register_call(db, call_id="c1-copy", recording_sha256=sha_of("c1").upper(),
                                  recording_path="/inbox/again.wav", metadata={}, duration_s=1.0)
    assert (call.id, created) == ("c1", False)
    ingest(db, "c1", [FakeFinding("R1", "threat", "major")])
    item, created = enqueue(db, "c1", "sample")
    db.commit()
    assert not created and item.kind == "flagged"
    assert (_count(db, Call), _count(db, ReviewItem), _count(db, Transcript), _count(db, Screening),
            _count(db, Finding)) == (1, 1, 1, 1, 1)
    kinds = db.execute(select(AuditEvent.kind).order_by(AuditEvent.seq)).scalars().all()
    assert kinds == ["ingested", "transcribed", "screened", "enqueued"]
    assert call.agent_id == "A7" and call.team == "T3" and call.answered is True and call.status == "screened"
    started = call.started_at
    assert started is not None
    # stored as the UTC instant of 10:00 +08:00 (SQLite hands it back naive)
    assert (started if started.tzinfo is None else started.astimezone(UTC).replace(tzinfo=None)) == datetime(2026, 11, 2, 2)


def test_ingested_audit_entry_carries_the_recording_hash(db: Session) -> None:
    ingest(db, "c2", [])
    db.commit()
    entry = db.execute(select(AuditEvent).where(AuditEvent.kind == "ingested")).scalar_one()
    assert entry.recording_sha256 == sha_of("c2") and entry.call_id == "c2"


def test_call_id_taken_by_another_recording_is_refused(db: Session) -> None:
    ingest(db, "c3", [])
    with pytest.raises(IngestConflictError, match="c3.*another recording"):
        register_call(db, call_id="c3", recording_sha256="ab" * 32, recording_path="/x.wav", metadata={},
                      duration_s=None)


def test_bad_hash_and_bad_time_are_named(db: Session) -> None:
    with pytest.raises(IngestConflictError, match="not a SHA-256"):
        register_call(db, call_id="c4", recording_sha256="xyz", recording_path="/x.wav", metadata={}, duration_s=None)
    with pytest.raises(IngestConflictError, match="started_at"):
        register_call(db, call_id="c4", recording_sha256="cd" * 32, recording_path="/x.wav",
                      metadata={"started_at": "yesterday"}, duration_s=None)


def test_transcript_is_validated_and_kept_per_model_key(db: Session) -> None:
    ingest(db, "c5", [])
    bad = transcript_doc("c5")
    del bad["segments"]
    with pytest.raises(TranscriptSchemaError, match="segments"):
        save_transcript(db, "c5", "openai-whisper:small:fp32", bad, "/t/c5.json")
    with pytest.raises(TranscriptSchemaError, match="belongs to call 'other'"):
        save_transcript(db, "c5", "openai-whisper:small:fp32", transcript_doc("other"), None)
    second, created = save_transcript(db, "c5", "openai-whisper:small:fp32", transcript_doc("c5", "另一个"), None)
    again, created_again = save_transcript(db, "c5", "openai-whisper:small:fp32", transcript_doc("c5"), None)
    assert created and not created_again and again.id == second.id
    assert again.document["segments"][0]["text"] == "另一个"  # the first one stored wins
    assert _count(db, Transcript) == 2
    with pytest.raises(NotFoundError, match="nope"):
        save_transcript(db, "nope", MODEL_KEY, transcript_doc("nope"), None)


def test_current_findings_come_from_each_packs_newest_screening(db: Session) -> None:
    ingest(db, "c6", [FakeFinding("OLD", "threat", "minor")])
    newer, _ = save_transcript(db, "c6", "openai-whisper:large-v3:fp16", transcript_doc("c6"), None)
    save_screening(db, "c6", newer.id, FakeResult(findings=[FakeFinding("NEW", "privacy", "critical")]))
    _, created = save_screening(db, "c6", newer.id, FakeResult(findings=[FakeFinding("DUP", "x", "minor")]))
    save_screening(db, "c6", newer.id, FakeResult(pack="cn-time", findings=[FakeFinding("TIME", "timing", "major")]))
    db.commit()
    assert not created
    assert [f.rule_id for f in current_findings(db, "c6")] == ["NEW", "TIME"]
    # a new version of a pack that no longer fires clears that pack's findings, not the other pack's
    save_screening(db, "c6", newer.id, FakeResult(pack_version="2", findings=[]))
    db.commit()
    assert [f.rule_id for f in current_findings(db, "c6")] == ["TIME"]
    assert _count(db, Finding) == 3  # the machine's earlier output is kept


def test_mark_failed_records_the_reason(db: Session) -> None:
    ingest(db, "c7", [])
    call = mark_failed(db, "c7", "decode: truncated file")
    db.commit()
    assert call.status == "failed" and call.error == "decode: truncated file"
    last = db.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    assert last.kind == "failed" and last.payload["reason"] == "decode: truncated file"
