"""Discovery, metadata sidecars, staging and the night plan, as plain functions."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pytest

from callqa.config import Settings
from callqa.errors import IngestError
from flows.discovery import Ledger, discover, stage
from flows.plan import plan_night
from flows.sidecar import normalise_row, parse_rows

from .conftest import EXAMPLES, short_calls


def test_example_sidecar_gives_every_recording_its_metadata() -> None:
    found = {d.source.name: d for d in discover(str(EXAMPLES), "Asia/Shanghai")}
    assert len(found) >= 6
    assert all(d.error is None for d in found.values()), [d.error for d in found.values()]
    threat = found["en01_arrest_threat.opus"].metadata
    assert threat is not None
    assert (threat.call_id, threat.agent_id, threat.direction) == ("EN-01", "A301", "outbound")
    assert threat.started_at == "2026-11-27T09:45:00-05:00"
    assert threat.extra["answered"] is True and threat.extra["team"] == "US collections"  # typed JSON sidecar
    right = found["zh04_compliant_inbound.opus"].metadata
    assert right is not None and right.channels == {"agent": 1, "customer": 0}


def test_naive_start_time_is_read_in_the_site_time_zone() -> None:
    meta = normalise_row({"call_id": "c1", "started_at": "2026-11-27 09:00:00"}, "c1.wav", "Asia/Shanghai", "x")
    assert meta.started_at == "2026-11-27T09:00:00+08:00"


@pytest.mark.parametrize("row, words", [
    ({"direction": "sideways"}, ["direction", "sideways", "inbound"]),
    ({"started_at": "yesterday"}, ["started_at", "yesterday", "ISO-8601"]),
    ({"channel_layout": "agent_up"}, ["channel_layout", "agent_up", "agent_left"]),
])
def test_bad_sidecar_values_are_named(row: dict[str, str], words: list[str]) -> None:
    with pytest.raises(IngestError) as info:
        normalise_row(row, "a.wav", "UTC", "inbox/metadata.csv row 3")
    assert "inbox/metadata.csv row 3" in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_json_sidecars_in_every_shape_and_per_file_ones_win(tmp_path: Path) -> None:
    short_calls(tmp_path, 3)
    (tmp_path / "metadata.csv").unlink()
    (tmp_path / "metadata.json").write_text(json.dumps({"calls": [
        {"file": "call_00.wav", "call_id": "J-0", "agent_id": "A7", "started_at": "2026-11-27T08:00:00+08:00"},
        {"file": "call_01.wav", "call_id": "J-1", "direction": "inbound"},
    ]}), encoding="utf-8")
    (tmp_path / "call_01.json").write_text(json.dumps({"call_id": "OWN-1", "debtor_id": "D9"}), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not audio", encoding="utf-8")
    found = {d.source.name: d.metadata for d in discover(str(tmp_path), "UTC")}
    assert set(found) == {"call_00.wav", "call_01.wav", "call_02.wav"}
    assert found["call_00.wav"].agent_id == "A7"  # type: ignore[union-attr]
    assert found["call_01.wav"].call_id == "OWN-1"  # type: ignore[union-attr]
    assert found["call_01.wav"].debtor_id == "D9"  # type: ignore[union-attr]
    assert found["call_02.wav"].call_id == "call_02"  # type: ignore[union-attr]  # no row: the file's stem
    assert parse_rows('{"a.wav": {"call_id": "x"}}', "json", "s") == [{"file": "a.wav", "call_id": "x"}]


def test_a_broken_sidecar_marks_its_recordings_not_the_night(tmp_path: Path) -> None:
    short_calls(tmp_path / "good", 1)
    short_calls(tmp_path / "bad", 2)
    (tmp_path / "bad" / "metadata.csv").write_text("file,call_id,direction\ncall_00.wav,B0,upward\n",
                                                   encoding="utf-8")
    found = {str(d.source.url): d for d in discover(str(tmp_path), "UTC")}
    bad = [d for url, d in found.items() if "/bad/" in url]
    good = [d for url, d in found.items() if "/good/" in url]
    assert good[0].metadata is not None and good[0].error is None
    assert bad[0].metadata is None and "upward" in (bad[0].error or "")
    assert bad[1].metadata is not None  # the other row of the same file is fine


def test_missing_inbox_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="does not exist"):
        discover(str(tmp_path / "nope"), "UTC")


def test_remote_inbox_through_fsspec_is_staged_by_sha256(tmp_path: Path) -> None:
    local = short_calls(tmp_path / "src", 2)
    memfs = fsspec.filesystem("memory")
    for path in local + [tmp_path / "src" / "metadata.csv"]:
        memfs.pipe(f"/inbox-{tmp_path.name}/{path.name}", path.read_bytes())
    found = discover(f"memory:///inbox-{tmp_path.name}", "UTC")
    assert [d.metadata.call_id for d in found] == ["T-000", "T-001"]  # type: ignore[union-attr]
    staged = stage(found[0].source, tmp_path / "recordings")
    assert staged.path.read_bytes() == local[0].read_bytes()
    assert staged.path.name == f"{staged.sha256}.wav"
    assert stage(found[0].source, tmp_path / "recordings") == staged  # a second copy is not made


def test_ledger_survives_a_torn_line(tmp_path: Path) -> None:
    found = discover(str(EXAMPLES), "UTC")
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.add(found[0].source, "a" * 64)
    with (tmp_path / "ledger.jsonl").open("a") as fh:
        fh.write('{"key": "torn')
    again = Ledger(tmp_path / "ledger.jsonl")
    assert again.get(found[0].source) == "a" * 64
    assert again.get(found[1].source) is None


def test_plan_skips_done_files_and_resumes_unfinished_calls(plain_settings: Settings, tmp_path: Path) -> None:
    from flows import worker
    from flows.plan import ledger_for
    from review.calls.repo import register_call
    from review.store.db import session_scope

    inbox = tmp_path / "inbox"
    short_calls(inbox, 3)
    factory = worker.session_factory(plain_settings)
    found = discover(str(inbox), "UTC")
    staged = [stage(d.source, plain_settings.recordings_dir) for d in found]
    with session_scope(factory) as session:
        done, _ = register_call(session, call_id="T-000", recording_sha256=staged[0].sha256,
                                recording_path=str(staged[0].path), metadata={"source": found[0].source.url},
                                duration_s=5.0)
        done.status = "screened"
        # killed before the ledger was written: still in the inbox, so not resumed separately
        register_call(session, call_id="T-001", recording_sha256=staged[1].sha256,
                      recording_path=str(staged[1].path), metadata={"source": found[1].source.url}, duration_s=5.0)
        # an unfinished call whose inbox file is gone
        register_call(session, call_id="OLD-1", recording_sha256="b" * 64, recording_path="/gone.wav",
                      metadata={"source": "/elsewhere/gone.wav"}, duration_s=5.0)
    ledger_for(plain_settings).add(found[0].source, staged[0].sha256)
    plan = plan_night(plain_settings, factory, str(inbox))
    assert plan.discovered == 3 and plan.already_done == 1 and plan.resumed == 1
    assert sorted(item.name for item in plan.items) == ["OLD-1", "call_01.wav", "call_02.wav"]
    assert [item.call_id for item in plan.items if item.call_id] == ["OLD-1"]
