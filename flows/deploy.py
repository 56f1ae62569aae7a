"""Serve the flows with their schedules: ``callqa schedule``.

Serving needs a Prefect API that outlives the process: ``prefect server start`` (SQLite under
$PREFECT_HOME by default; PostgreSQL with PREFECT_API_DATABASE_CONNECTION_URL) and
PREFECT_API_URL pointing at it. The serving process runs the flow runs itself, with the task
runner the settings ask for (a Dask cluster when CALLQA_DASK_ADDRESS is set).
"""

from __future__ import annotations

# isort: off
import flows.prefect_env  # noqa: F401  - sets Prefect's offline defaults before Prefect reads them
# isort: on

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect.schedules import Cron

from callqa.config import Settings
from callqa.errors import ConfigError
from flows.backfill import backfill
from flows.nightly import nightly
from flows.retention import retention
from flows.runners import fit_to_runner, task_runner

RETENTION_CRON = "30 3 * * 0"  # Sundays 03:30 site time, after the night's run


@dataclass(frozen=True)
class ScheduleInfo:
    name: str
    cron: str | None
    timezone: str


def check_schedule(cron: str, timezone: str) -> None:
    from prefect.client.schemas.schedules import CronSchedule

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"flows.timezone {timezone!r} is not an IANA time zone (e.g. Asia/Shanghai)") from exc
    try:
        CronSchedule(cron=cron, timezone=timezone)
    except ValueError as exc:
        raise ConfigError(f"flows.cron {cron!r} is not a cron expression (e.g. '0 1 * * *' for 01:00 daily)") from exc


def deployments(settings: Settings) -> tuple[list[Any], list[ScheduleInfo]]:
    """The three deployments: nightly (cron), retention (weekly), backfill (on demand)."""
    check_schedule(settings.flows.cron, settings.flows.timezone)
    tz = settings.flows.timezone
    runner = task_runner(fit_to_runner(settings))
    made = [
        nightly.with_options(task_runner=runner).to_deployment(
            name="nightly", schedules=[Cron(settings.flows.cron, timezone=tz)],
            description="One night: ingest, transcribe, screen, queue, sample, report."),
        retention.to_deployment(name="retention", schedules=[Cron(RETENTION_CRON, timezone=tz)],
                                description="Delete or anonymise data past its retention period."),
        backfill.with_options(task_runner=runner).to_deployment(
            name="backfill", description="Re-screen or re-transcribe a date range (run it from the UI or CLI)."),
    ]
    info = [ScheduleInfo("callqa-nightly/nightly", settings.flows.cron, tz),
            ScheduleInfo("callqa-retention/retention", RETENTION_CRON, tz),
            ScheduleInfo("callqa-backfill/backfill", None, tz)]
    return made, info


def serve_all(settings: Settings) -> None:
    """Block serving the deployments until interrupted."""
    from prefect import serve

    made, _ = deployments(settings)
    serve(*made, print_starting_message=True)
