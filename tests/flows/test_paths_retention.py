"""Stored paths are relative to CALLQA_HOME: commands find every file from any folder; retention
deletes for real (recording and derived files), audits only real deletions and holds calls it
could not finish; `callqa audit verify --files` lists missing and orphan files."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from alembic import command
from sqlalchemy import select, text
from typer.testing import CliRunner

from callqa.config import Settings, load_settings
from flows import worker
from flows.discovery import SourceFile
from flows.steps import CallOutcome, WorkItem, register, transcript_path
from review.accounts import users as accounts
from review.store.db import alembic_config, init_db, make_engine, session_scope
from review.store.models import AuditEvent, Call, Transcript
from transcriber.audio import write_wav

CALLQA = Path(sys.executable).with_name("callqa")
PASSWORD = "correct horse battery"
OLD = datetime(2020, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cheap_hashes() -> Iterator[None]:
    accounts.set_hash_cost(time_cost=1, memory_kib=1024, parallelism=1)
    yield
    accounts.set_hash_cost()


def _night(folder: Path, monkeypatch: pytest.MonkeyPatch, call_id: str = "C1") -> Settings:
    """What a night run from ``folder`` with the default relative CALLQA_HOME stores: staged recording,
    transcript file, rows."""
    monkeypatch.chdir(folder)
    monkeypatch.setenv("CALLQA_HOME", "var")
    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALLQA_CONFIG", raising=False)
    settings = load_settings()
    t = np.arange(16000 * 2) / 16000
    wav = write_wav(folder / f"{call_id}.wav", np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)]) * (0.2 + len(call_id) / 100 + ord(call_id[-1]) / 1000),
                    16000)
    source = SourceFile(url=str(wav), name=wav.name, size=wav.stat().st_size, mtime=0.0)
    item = WorkItem(name=wav.name, source=source,
                    metadata={"call_id": call_id, "started_at": OLD.isoformat(), "agent_id": "A1", "team": "T1"})
    register(settings, worker.session_factory(settings), item, CallOutcome(name=wav.name))
    from review.calls.repo import save_transcript

    doc = {"call_id": call_id, "started_at": OLD.isoformat(), "duration_s": 2.0, "language": "en", "dialect": None,
           "backend": "faster-whisper", "model": "base", "channels": {"agent": 0, "customer": 1},
           "segments": [{"role": "agent", "start": 0.0, "end": 2.0, "text": "hello", "avg_logprob": -0.1,
                         "no_speech_prob": 0.01, "words": None}], "metadata": {}}
    target = transcript_path(settings, call_id, "faster-whisper:base:int8")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("{}", encoding="utf-8")
    with session_scope(worker.session_factory(settings)) as session:
        save_transcript(session, call_id, "faster-whisper:base:int8", doc, settings.stored_path(target))
        if call_id == "C1":
            accounts.add_user(session, "sam", PASSWORD, "supervisor")
    return settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_rows_name_files_relative_to_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    night = tmp_path / "night"
    night.mkdir()
    settings = _night(night, monkeypatch)
    with session_scope(worker.session_factory(settings)) as session:
        call = session.get(Call, "C1")
        transcript = session.execute(select(Transcript)).scalar_one()
        assert call is not None and re.fullmatch(r"recordings/[0-9a-f]{2}/[0-9a-f]{64}\.wav", call.recording_path)
        assert transcript.path == "transcripts/C1/faster-whisper_base_int8.json"
        assert (night / "var" / call.recording_path).is_file()


def test_serve_retention_and_export_work_from_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    night, elsewhere = tmp_path / "night", tmp_path / "elsewhere"
    night.mkdir()
    elsewhere.mkdir()
    settings = _night(night, monkeypatch)
    home = (night / "var").resolve()
    with session_scope(worker.session_factory(settings)) as session:
        call = session.get(Call, "C1")
        assert call is not None
        recording = home / call.recording_path
    env = {**os.environ, "CALLQA_HOME": str(home), "CALLQA_FLOWS__RECORDING_RETENTION_DAYS": "1000",
           "CALLQA_FLOWS__TRANSCRIPT_RETENTION_DAYS": "1000"}
    port = _free_port()
    proc = subprocess.Popen([str(CALLQA), "serve", "--port", str(port), "--log-level", "warning"], cwd=elsewhere,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=base, timeout=10) as client:
            while True:
                try:
                    page = client.get("/login")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "serve exited"
                    assert time.monotonic() < deadline, "callqa serve did not answer within 60 s"
                    time.sleep(0.3)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            signed = client.post("/login", data={"username": "sam", "password": PASSWORD, "csrf_token": token.group(1),
                                                 "next": "/queue"})
            assert signed.status_code in (200, 303)
            audio = client.get("/calls/C1/audio")
            assert audio.status_code == 200 and audio.content == recording.read_bytes()
            picture = client.get("/calls/C1/picture.png")
            assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    pictures = list((home / "cache" / "pictures").glob("*.png"))
    assert len(pictures) == 1

    exported = subprocess.run([str(CALLQA), "audit", "export", "C1", "--out", "pack.zip"], cwd=elsewhere, env=env,
                              capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr
    checked = subprocess.run([str(CALLQA), "audit", "verify", "--pack", "pack.zip", "--recording", str(recording)],
                             cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr
    files = subprocess.run([str(CALLQA), "audit", "verify", "--files"], cwd=elsewhere, env=env, capture_output=True,
                           text=True, timeout=120)
    assert files.returncode == 0 and "0 missing, 0 on disk that no row names" in files.stdout, files.stderr

    done = subprocess.run([str(CALLQA), "retention"], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deleted 1 recording(s)" in done.stdout and "(3 file(s))" in done.stdout
    assert not recording.exists() and not pictures[0].exists()
    assert not (home / "transcripts" / "C1" / "faster-whisper_base_int8.json").exists()
    with session_scope(worker.session_factory(settings)) as session:
        assert session.get(Call, "C1").status == "deleted"  # type: ignore[union-attr]
        deleted = session.execute(select(AuditEvent).where(AuditEvent.kind == "retention_recording_deleted")).scalar_one()
    assert sorted(deleted.payload["files"]) == sorted([call.recording_path, f"cache/pictures/{pictures[0].name}"])


def test_retention_reports_what_it_cannot_delete_and_holds_the_call(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.retention import apply_retention

    settings = _night(tmp_path, monkeypatch)
    _night(tmp_path, monkeypatch, "C2")
    factory = worker.session_factory(settings)
    with session_scope(factory) as session:
        c1, c2 = session.get(Call, "C1"), session.get(Call, "C2")
        assert c1 is not None and c2 is not None
        sha1, rec1, rec2 = c1.recording_sha256, settings.resolve_stored(c1.recording_path), \
            settings.resolve_stored(c2.recording_path)
    # a derived "file" that unlink cannot remove (a folder in its place), and a recording that is not there
    stuck = settings.cache_dir / "pictures" / f"{sha1}-abc.png"
    stuck.mkdir(parents=True)
    rec2.unlink()
    now = datetime.now(UTC)
    result = apply_retention(settings, now=now)
    assert result.recordings_deleted == []
    assert len(result.failures) == 2 and "cannot delete" in result.failures[0] and "not found" in result.failures[1]
    assert not rec1.exists()  # the recording itself went, and that is audited
    with session_scope(factory) as session:
        assert [session.get(Call, c).status for c in ("C1", "C2")] == ["held", "held"]  # type: ignore[union-attr]
        kinds = [(e.call_id, e.kind) for e in session.execute(
            select(AuditEvent).where(AuditEvent.kind.like("retention_%")).order_by(AuditEvent.seq)).scalars()]
    assert ("C1", "retention_recording_deleted") in kinds and ("C1", "retention_failed") in kinds
    assert ("C2", "retention_failed") in kinds and ("C2", "retention_recording_deleted") not in kinds

    stuck.rmdir()  # the operator fixes C1's cause; C2's recording stays missing
    again = apply_retention(settings, now=now)
    assert again.recordings_deleted == ["C1"] and len(again.failures) == 1 and "C2" in again.failures[0]

    runner = CliRunner()
    from flows.cli import app

    (settings.recordings_dir / "stray.wav").write_bytes(b"x")
    listed = runner.invoke(app, ["audit", "verify", "--files"])
    assert listed.exit_code == 1
    assert "MISSING call C2 recording: recordings/" in listed.output
    assert "ORPHAN recordings/stray.wav" in listed.output


def test_migration_rewrites_stored_paths(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")
    sha = "ab" * 32
    rows = {"A": f"var/recordings/ab/{sha}.wav", "B": f"/srv/callqa/var/recordings/cd/{'cd' * 32}.mp3",
            "C": "/archive/legacy/call.wav"}
    with engine.begin() as conn:
        for n, (call_id, path) in enumerate(rows.items()):
            conn.execute(text("INSERT INTO calls (id, recording_sha256, recording_path, status, metadata_json, "
                              "created_at) VALUES (:i, :s, :p, 'screened', '{}', '2026-01-01')"),
                         {"i": call_id, "s": f"{n:064x}", "p": path})
        conn.execute(text("INSERT INTO transcripts (call_id, model_key, backend, model, path, document, created_at) "
                          "VALUES ('A', 'k', 'b', 'm', 'var/transcripts/A/k.json', '{}', '2026-01-01')"))
    init_db(engine)
    with engine.connect() as conn:
        paths = dict(conn.execute(text("SELECT id, recording_path FROM calls")).all())
        transcript = conn.execute(text("SELECT path FROM transcripts")).scalar_one()
    assert paths == {"A": f"recordings/ab/{sha}.wav", "B": f"recordings/cd/{'cd' * 32}.mp3",
                     "C": "/archive/legacy/call.wav"}
    assert transcript == "transcripts/A/k.json"


def test_old_calls_are_not_touched_before_their_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.retention import apply_retention

    settings = _night(tmp_path, monkeypatch)
    result = apply_retention(settings, now=OLD + timedelta(days=10))
    assert result.recordings_deleted == [] and result.failures == [] and result.files_deleted == []
