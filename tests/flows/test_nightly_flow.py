"""The nightly flow through Prefect with the real transcriber and screener.

One Prefect test server serves the session (it is slow to start on two cores); every test
here loads the Whisper base model, so they are marked slow.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from callqa.config import Settings
from flows import worker
from flows.nightly import run_nightly

from .conftest import EXAMPLES, short_calls

pytestmark = pytest.mark.slow


def _counts(settings: Settings) -> dict[str, object]:
    from review.store.db import session_scope
    from review.store.models import AuditEvent, Call, Finding, ReviewItem, Screening, Transcript

    with session_scope(worker.session_factory(settings)) as session:
        def per_call(model: Any) -> Counter[str]:
            return Counter(session.execute(select(model.call_id)).scalars())

        return {
            "calls": dict(session.execute(select(Call.id, Call.status)).all()),
            "transcripts": per_call(Transcript),
            "screenings": Counter(session.execute(
                select(Screening.transcript_id, Screening.pack, Screening.pack_version)).all()),
            "findings": Counter(session.execute(
                select(Finding.screening_id, Finding.rule_id, Finding.segment_index, Finding.start)).all()),
            "items": per_call(ReviewItem),
            "transcribed_events": Counter(session.execute(
                select(AuditEvent.call_id).where(AuditEvent.kind == "transcribed")).scalars()),
            "workers": [e.payload for e in session.execute(
                select(AuditEvent).where(AuditEvent.kind == "transcription_worker")).scalars()],
            "audit": session.execute(select(func.count(AuditEvent.id))).scalar_one(),
        }


def _assert_each_once(counts: dict[str, object], call_ids: set[str]) -> None:
    calls = counts["calls"]
    assert isinstance(calls, dict) and set(calls) == call_ids
    assert all(status == "screened" for status in calls.values()), calls
    for key in ("transcripts", "transcribed_events"):
        per_call = counts[key]
        assert isinstance(per_call, Counter)
        assert set(per_call) == call_ids and set(per_call.values()) == {1}, (key, per_call)
    for key in ("screenings", "findings", "items"):
        rows = counts[key]
        assert isinstance(rows, Counter) and all(n == 1 for n in rows.values()), (key, rows)


def test_nightly_through_prefect_flags_the_threat_and_survives_a_corrupt_file(
        prefect_server: str, flow_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inbox = tmp_path / "inbox"
    short_calls(inbox, 1)
    shutil.copy(EXAMPLES / "en01_arrest_threat.opus", inbox)
    with (inbox / "metadata.csv").open("a", encoding="utf-8") as fh:
        fh.write("en01_arrest_threat.opus,EN-0001,A201,D6001,2026-11-27T09:45:00-05:00,outbound,agent_left\n")
    (inbox / "zz_broken.mp3").write_bytes(b"ID3" + b"\x00" * 400)

    summary = run_nightly(flow_settings, str(inbox))

    assert (summary.discovered, summary.ingested, summary.transcribed) == (3, 2, 2)
    assert [f.name for f in summary.failures] == ["zz_broken.mp3"]
    assert summary.failures[0].quarantine_path and Path(summary.failures[0].quarantine_path).exists()
    threat = next(o for o in summary.outcomes if o.call_id == "EN-0001")
    assert threat.flagged and threat.queued
    counts = _counts(flow_settings)
    _assert_each_once(counts, {"T-000", "EN-0001"})
    items = counts["items"]
    assert isinstance(items, Counter) and items["EN-0001"] == 1
    from review.store.db import session_scope
    from review.store.models import Finding

    with session_scope(worker.session_factory(flow_settings)) as session:
        categories = set(session.execute(
            select(Finding.category).where(Finding.call_id == "EN-0001")).scalars())
    assert categories & {"false_legal_consequence", "threat_violence", "impersonation_authority"}
    assert summary.report_dir and (Path(summary.report_dir) / "report.json").exists()
    out = capsys.readouterr().out
    assert "[3/3]" in out and "audio" in out and "ETA" in out

    # the flow ran through the Prefect server
    from prefect import get_client

    async def completed_runs() -> list[str]:
        async with get_client() as client:
            runs = await client.read_flow_runs()
            return [r.state_name or "" for r in runs]

    import asyncio

    assert "Completed" in asyncio.run(completed_runs())

    again = run_nightly(flow_settings, str(inbox))
    assert (again.already_done, again.previously_quarantined, again.to_process) == (2, 1, 0)
    assert _counts(flow_settings) == counts

    # a backfill with unchanged model and packs redoes nothing
    from flows.backfill import run_backfill_now

    backfilled = run_backfill_now(flow_settings, "2026-11-26T00:00:00+00:00", "2026-11-29T00:00:00+00:00",
                                  rescreen_only=True, show_progress=False)
    assert (backfilled.to_process, backfilled.transcribed, backfilled.screened) == (2, 0, 0)
    assert not backfilled.failures
    assert _counts(flow_settings) == counts


def _run_cli(inbox: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "flows.cli", "run", "--inbox", str(inbox)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])


def test_killed_worker_process_resumes_without_duplicates_or_losses(
        prefect_server: str, flow_settings: Settings, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    calls = 8  # enough that a kill lands mid-way even on a fast machine
    short_calls(inbox, calls)
    env = dict(os.environ)
    db = flow_settings.home / "callqa.db"
    proc = _run_cli(inbox, env)
    screened = 0
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=5) as conn:
                        screened = conn.execute("SELECT count(*) FROM calls WHERE status='screened'").fetchone()[0]
                except sqlite3.OperationalError:
                    screened = 0  # not migrated yet
            if screened >= 1:
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # a real kill: no cleanup, no atexit
        proc.wait(30)
    assert 1 <= screened < calls, f"the run was not caught mid-way ({screened} screened); output: {proc.stdout.read()!r}"  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL

    summary = run_nightly(flow_settings, str(inbox))
    assert not summary.failures
    _assert_each_once(_counts(flow_settings), {f"T-{n:03d}" for n in range(calls)})


def test_dask_local_cluster_of_two_processes_runs_every_call_once(
        prefect_server: str, flow_settings: Settings, tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    inbox = tmp_path / "inbox"
    short_calls(inbox, 4)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        flow_settings.flows.dask_address = cluster.scheduler_address
        with Client(cluster) as client:
            worker_pids = set(client.run(os.getpid).values())
        summary = run_nightly(flow_settings, str(inbox))
    assert summary.runner.startswith("dask tcp://")
    assert not summary.failures and summary.transcribed == 4
    counts = _counts(flow_settings)
    _assert_each_once(counts, {f"T-{n:03d}" for n in range(4)})
    used = counts["workers"]
    assert isinstance(used, list) and len(used) == 4
    pids = {w["pid"] for w in used}
    assert pids <= worker_pids and os.getpid() not in pids
    assert len(pids) == 2  # both workers took calls
    assert all(w["transcribers_built"] == 1 for w in used)  # each worker built its transcriber once
