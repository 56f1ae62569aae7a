"""Backfill: run stored recordings of a date range through the pipeline again.

Because results are keyed by model and rule-pack version, the same flow serves both cases:
after a rule-pack change only the new screenings are made (the transcripts are reused); after
a model change the calls are transcribed with the new model, then screened.

- default: transcribe where the current model has no transcript yet, screen with the current packs;
- ``rescreen_only``: never transcribe, screen the newest stored transcript;
- ``retranscribe``: as the default, and also retry calls that failed before.
"""

from __future__ import annotations

# isort: off
import flows.prefect_env  # noqa: F401  - sets Prefect's offline defaults before Prefect reads them
# isort: on

import time
from datetime import datetime

from prefect import flow
from sqlalchemy import func, select

from callqa.config import Settings, load_settings
from callqa.errors import ConfigError
from flows import worker
from flows.nightly import NightSummary, process_all
from flows.progress import Progress
from flows.runners import describe_runner, fit_to_runner, task_runner
from flows.steps import WorkItem


def backfill_items(settings: Settings, since: datetime, until: datetime, *, rescreen_only: bool = False,
                   retranscribe: bool = False) -> list[WorkItem]:
    """The stored calls of [since, until) (by start time, else registration time) to run again."""
    from review.store.db import session_scope
    from review.store.models import Call, Transcript

    if until <= since:
        raise ConfigError(f"backfill period {since.isoformat()} .. {until.isoformat()} is empty; "
                          "give --until after --since")
    if rescreen_only and retranscribe:
        raise ConfigError("choose one of --rescreen-only and --retranscribe")
    statuses = ["registered", "transcribed", "screened"] + (["failed"] if retranscribe else [])
    when = func.coalesce(Call.started_at, Call.created_at)
    query = select(Call.id).where(when >= since, when < until, Call.status.in_(statuses)).order_by(when, Call.id)
    if rescreen_only:
        query = query.where(select(Transcript.id).where(Transcript.call_id == Call.id).exists())
    with session_scope(worker.session_factory(settings)) as session:
        ids = list(session.execute(query).scalars())
    return [WorkItem(name=call_id, call_id=call_id, rescreen_only=rescreen_only, retranscribe=retranscribe)
            for call_id in ids]


def run_backfill(settings: Settings, items: list[WorkItem], *, show_progress: bool = True) -> NightSummary:
    settings = fit_to_runner(settings)
    started = time.perf_counter()
    summary = NightSummary(inbox="(stored recordings)", runner=describe_runner(settings), to_process=len(items),
                           resumed=len(items), transcriptions_per_worker=worker.transcribe_concurrency(settings))
    progress = Progress(total=len(items))
    process_all(settings, items, summary, progress, show_progress=show_progress)
    summary.wall_s = time.perf_counter() - started
    return summary


@flow(name="callqa-backfill", description="Re-screen or re-transcribe stored recordings of a date range.",
      validate_parameters=False, persist_result=False)
def backfill(since: str, until: str, rescreen_only: bool = False, retranscribe: bool = False,
             show_progress: bool = True, settings: Settings | None = None) -> NightSummary:
    """``since``/``until``: dates or ISO times, read as every command reads them (callqa.dates)."""
    settings = settings or load_settings()
    start, end = backfill_period(settings, since, until)
    items = backfill_items(settings, start, end, rescreen_only=rescreen_only, retranscribe=retranscribe)
    return run_backfill(settings, items, show_progress=show_progress)


def backfill_period(settings: Settings, since: str, until: str) -> tuple[datetime, datetime]:
    """[since, until) in UTC; without an offset a value is the site's local time (flows.timezone)."""
    from callqa.dates import parse_when

    return parse_when(since, settings, "--since"), parse_when(until, settings, "--until")


def run_backfill_now(settings: Settings, since: str, until: str, *, rescreen_only: bool = False,
                     retranscribe: bool = False, show_progress: bool = True) -> NightSummary:
    settings = fit_to_runner(settings)
    configured = backfill.with_options(task_runner=task_runner(settings))
    return configured(since=since, until=until, rescreen_only=rescreen_only, retranscribe=retranscribe,
                      show_progress=show_progress, settings=settings)
