"""Retention, backfill selection, schedules, runners, progress and the demo check, as plain functions."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from callqa.config import Settings
from callqa.errors import ConfigError
from flows import worker
from flows.steps import CallOutcome


def _store_call(settings: Settings, call_id: str, started: datetime, text: str) -> Path:
    """A call with its recording file and one screened transcript, through the store's own API."""
    from review.calls.repo import register_call, save_transcript
    from review.store.db import session_scope

    recording = settings.recordings_dir / f"{call_id}.wav"
    recording.parent.mkdir(parents=True, exist_ok=True)
    recording.write_bytes(call_id.encode() * 100)
    transcript_file = settings.transcripts_dir / f"{call_id}.json"
    transcript_file.parent.mkdir(parents=True, exist_ok=True)
    transcript_file.write_text("{}", encoding="utf-8")
    doc = {"call_id": call_id, "started_at": started.isoformat(), "duration_s": 3.0, "language": "en",
           "dialect": None, "backend": "faster-whisper", "model": "base", "channels": {"agent": 0, "customer": 1},
           "segments": [{"role": "customer", "start": 0.0, "end": 2.0, "text": text, "avg_logprob": -0.1,
                         "no_speech_prob": 0.01, "words": None}], "metadata": {}}
    with session_scope(worker.session_factory(settings)) as session:
        register_call(session, call_id=call_id, recording_sha256=hashlib.sha256(call_id.encode()).hexdigest(),
                      recording_path=str(recording), metadata={"started_at": started.isoformat()}, duration_s=3.0)
        save_transcript(session, call_id, "faster-whisper:base:int8", doc, str(transcript_file))
    return recording


def test_retention_deletes_old_recordings_and_strips_old_transcripts(plain_settings: Settings) -> None:
    from flows.retention import REMOVED, apply_retention
    from review.store.db import session_scope
    from review.store.models import AuditEvent, Call, Transcript

    now = datetime(2026, 11, 28, tzinfo=UTC)
    old = _store_call(plain_settings, "OLD", now - timedelta(days=800), "my card is 6222 0212 3456 7890 123")
    new = _store_call(plain_settings, "NEW", now - timedelta(days=10), "call me tomorrow")

    dry = apply_retention(plain_settings, now=now, dry_run=True)
    assert (dry.recordings_deleted, len(dry.transcripts_stripped)) == (["OLD"], 1)
    assert old.exists()

    done = apply_retention(plain_settings, now=now)
    assert done.recordings_deleted == ["OLD"]
    assert not old.exists() and new.exists()
    with session_scope(worker.session_factory(plain_settings)) as session:
        assert session.get(Call, "OLD").status == "deleted"  # type: ignore[union-attr]
        assert session.get(Call, "NEW").status != "deleted"  # type: ignore[union-attr]
        docs = {t.call_id: t.document for t in session.execute(select(Transcript)).scalars()}
        kinds = [e.kind for e in session.execute(select(AuditEvent).where(AuditEvent.call_id == "OLD")).scalars()]
    assert docs["OLD"]["segments"][0]["text"] == REMOVED and "6222" not in str(docs["OLD"])
    assert docs["NEW"]["segments"][0]["text"] == "call me tomorrow"
    assert "retention_recording_deleted" in kinds and "retention_transcript_stripped" in kinds
    again = apply_retention(plain_settings, now=now)  # nothing left to do: no second audit entry
    assert again.recordings_deleted == [] and again.transcripts_stripped == []


def test_backfill_selects_by_period_and_mode(plain_settings: Settings) -> None:
    from flows.backfill import backfill_items
    from review.store.db import session_scope
    from review.store.models import Call

    base = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(3):
        _store_call(plain_settings, f"C{n}", base + timedelta(days=n), "hello")
    with session_scope(worker.session_factory(plain_settings)) as session:
        session.get(Call, "C1").status = "failed"  # type: ignore[union-attr]
    since, until = base, base + timedelta(days=3)
    assert [i.call_id for i in backfill_items(plain_settings, since, until)] == ["C0", "C2"]
    assert [i.call_id for i in backfill_items(plain_settings, since, until, retranscribe=True)] == ["C0", "C1", "C2"]
    only = backfill_items(plain_settings, since, base + timedelta(days=1), rescreen_only=True)
    assert [(i.call_id, i.rescreen_only) for i in only] == [("C0", True)]
    with pytest.raises(ConfigError, match="empty"):
        backfill_items(plain_settings, until, since)
    with pytest.raises(ConfigError, match="one of"):
        backfill_items(plain_settings, since, until, rescreen_only=True, retranscribe=True)


def test_schedule_is_checked_and_served_in_the_site_time_zone(plain_settings: Settings) -> None:
    from flows.deploy import check_schedule, deployments

    with pytest.raises(ConfigError, match="cron"):
        check_schedule("0 1 * *", "Asia/Shanghai")
    with pytest.raises(ConfigError, match="time zone"):
        check_schedule("0 1 * * *", "Asia/Nowhere")
    made, info = deployments(plain_settings)
    nightly = made[0]
    assert nightly.name == "nightly"
    schedule = nightly.schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("0 1 * * *", "Asia/Shanghai")
    assert [i.cron for i in info] == ["0 1 * * *", "30 3 * * 0", None]


def test_task_runner_follows_the_dask_setting(plain_settings: Settings) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from flows.runners import describe_runner, task_runner

    plain_settings.flows.transcribe_concurrency = 2
    runner = task_runner(plain_settings)
    assert isinstance(runner, ThreadPoolTaskRunner) and describe_runner(plain_settings) == "threads x3 (2 transcribing)"
    assert runner._max_workers == 3  # one more than the transcriptions: bookkeeping overlaps them
    plain_settings.flows.dask_address = "tcp://10.0.0.5:8786"
    with temporary_settings(updates={PREFECT_API_URL: None}), pytest.raises(ConfigError, match="PREFECT_API_URL"):
        task_runner(plain_settings)
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert isinstance(task_runner(plain_settings), DaskTaskRunner)
        plain_settings.flows.dask_address = "local:3"
        assert describe_runner(plain_settings) == "dask local x3"
        plain_settings.flows.dask_address = "local:many"
        with pytest.raises(ConfigError, match="local:N"):
            task_runner(plain_settings)


def test_progress_line_counts_files_audio_and_time_left() -> None:
    from flows.progress import Progress

    out = io.StringIO()
    progress = Progress(total=4, out=out)
    progress.started -= 30  # 30 s into the night
    progress.report(CallOutcome(name="a.wav", duration_s=1800.0))
    progress.report(CallOutcome(name="b.wav", ok=False, error="not audio", duration_s=0.0))
    first, second = out.getvalue().splitlines()
    assert first.startswith("[1/4] a.wav: ok | audio 0.500 h")
    assert "ETA 0:01:3" in first  # 30 s per file, 3 left
    assert second.startswith("[2/4] b.wav: FAILED (not audio)") and "ETA 0:00:3" in second


def test_days_of_a_night_are_local_days() -> None:
    from flows.closing import day_bounds

    start, end = day_bounds(date(2026, 11, 27), "Asia/Shanghai")
    assert start == datetime(2026, 11, 26, 16, tzinfo=UTC) and end - start == timedelta(days=1)


def test_demo_check_names_what_went_wrong() -> None:
    from flows.demo import DemoCall, check
    from flows.nightly import Failure, NightSummary

    summary = NightSummary(inbox="x", runner="threads x1")
    good = [DemoCall("EN-01", "en01.opus", "screened", "en", True, ["us.legal.false_consequence"], "flagged"),
            DemoCall("ZH-0001", "zh.wav", "screened", "zh", True, [], "")]
    assert check(good, summary) == []
    bad = [DemoCall("EN-01", "en01.opus", "screened", "en", True, [], ""),
           DemoCall("ZH-0001", "zh.wav", "failed", "", False)]
    summary.failures.append(Failure("zh.wav", "not audio", None))
    problems = check(bad, summary)
    assert any("zh.wav: not transcribed" in p for p in problems)
    assert any("zh.wav failed: not audio" in p for p in problems)
    assert any("en01.opus: its threats were not flagged and queued" in p for p in problems)


def test_automatic_concurrency_is_one_per_core_shared_by_local_workers(
    plain_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.runners import fit_to_runner, slots
    from flows.worker import transcribe_concurrency

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert plain_settings.flows.transcribe_concurrency == 0  # the default: automatic
    assert transcribe_concurrency(plain_settings) == 4 and slots(plain_settings) == 5
    assert fit_to_runner(plain_settings) is plain_settings  # threads in one process: nothing to share
    plain_settings.flows.dask_address = "local:2"
    fitted = fit_to_runner(plain_settings)
    assert fitted.flows.transcribe_concurrency == 2 and fitted.transcriber.decode_workers == 2
    assert slots(fitted) == 3  # two local processes of two transcriptions each: four cores, not eight
    plain_settings.flows.transcribe_concurrency = 3  # an explicit setting is kept
    assert fit_to_runner(plain_settings).flows.transcribe_concurrency == 3
