"""A bad recording is quarantined with its reason and an audit entry; transient trouble is retried."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from callqa.config import Settings
from callqa.errors import AudioDecodeError, IngestError, StoreError
from flows import worker
from flows.discovery import discover
from flows.steps import WorkItem, is_transient, process

from .conftest import short_calls


def _item(inbox: Path, name: str) -> WorkItem:
    found = {d.source.name: d for d in discover(str(inbox), "UTC")}[name]
    return WorkItem(name=name, source=found.source, metadata=found.metadata.to_dict() if found.metadata else None,
                    metadata_error=found.error)


def _audit_kinds(settings: Settings) -> list[tuple[str, str | None, dict[str, object]]]:
    from review.store.db import session_scope
    from review.store.models import AuditEvent

    with session_scope(worker.session_factory(settings)) as session:
        return [(e.kind, e.call_id, e.payload) for e in session.execute(select(AuditEvent).order_by(AuditEvent.seq))
                .scalars()]


def test_corrupt_recording_is_quarantined_with_reason_and_audit(plain_settings: Settings, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    short_calls(inbox, 1)
    (inbox / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage, not audio" * 10)
    outcome = process(plain_settings, _item(inbox, "broken.wav"))
    assert not outcome.ok
    assert "broken" in (outcome.error or "") or "decode" in (outcome.error or "").lower()
    folder = next((plain_settings.quarantine_dir).iterdir())
    copied = folder / "broken.wav"
    assert copied.read_bytes() == (inbox / "broken.wav").read_bytes()
    reason = (folder / "broken.wav.reason.txt").read_text(encoding="utf-8")
    assert outcome.sha256 is not None and outcome.sha256 in reason
    assert (outcome.error or "")[:40] in reason
    kinds = _audit_kinds(plain_settings)
    assert [k for k, _, _ in kinds] == ["quarantined"]
    assert kinds[0][2]["file"] == "broken.wav"
    assert (inbox / "broken.wav").exists()  # the inbox copy is left to its owner


def test_bad_metadata_row_quarantines_only_that_recording(plain_settings: Settings, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    short_calls(inbox, 2)
    text = (inbox / "metadata.csv").read_text(encoding="utf-8").replace("outbound", "upward", 1)
    (inbox / "metadata.csv").write_text(text, encoding="utf-8")
    outcome = process(plain_settings, _item(inbox, "call_00.wav"))
    assert not outcome.ok and "upward" in (outcome.error or "")
    assert outcome.call_id is None  # never registered
    reason_files = list(plain_settings.quarantine_dir.rglob("*.reason.txt"))
    assert len(reason_files) == 1 and "upward" in reason_files[0].read_text(encoding="utf-8")


def test_errors_are_sorted_into_retry_and_quarantine() -> None:
    assert is_transient(OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert is_transient(ConnectionResetError("storage went away"))
    assert is_transient(StoreError("cannot reach the database"))
    assert not is_transient(AudioDecodeError("x.wav: not audio"))
    assert not is_transient(IngestError("bad row"))
    assert not is_transient(ValueError("a bug"))


def test_unreachable_database_propagates_for_a_retry(plain_settings: Settings, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    short_calls(inbox, 1)
    plain_settings.database_url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    with pytest.raises(Exception) as info:
        process(plain_settings, _item(inbox, "call_00.wav"))
    assert is_transient(info.value)
    assert not plain_settings.quarantine_dir.exists()  # not the recording's fault: nothing quarantined yet
