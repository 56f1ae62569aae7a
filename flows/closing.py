"""The end of a night: the compliance sample and the morning report.

The sample is drawn per local calendar day (the site's time zone) of the calls the night
finished, so periods never overlap and a re-run returns the same draw. A call that arrives
after its day was drawn is not sampled (the report counts it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings
from callqa.errors import CallQAError

log = logging.getLogger(__name__)


@dataclass
class NightClose:
    days: list[str] = field(default_factory=list)
    draws: list[int] = field(default_factory=list)
    sampled: int = 0
    overdue: int = 0  # review items newly marked overdue by the SLA sweep
    report_dir: str | None = None
    notes: list[str] = field(default_factory=list)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def local_days(session: Session, call_ids: Iterable[str], site_timezone: str) -> list[date]:
    from review.store.models import Call

    zone = ZoneInfo(site_timezone)
    ids = list(call_ids)
    days: set[date] = set()
    for start in range(0, len(ids), 500):
        for started, created in session.execute(
                select(Call.started_at, Call.created_at).where(Call.id.in_(ids[start:start + 500]))):
            days.add(_as_utc(started or created).astimezone(zone).date())
    return sorted(days)


def day_bounds(day: date, site_timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(site_timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def close_night(settings: Settings, factory: sessionmaker[Session], call_ids: list[str]) -> NightClose:
    """Draw each day's sample and write the report over the night's days; problems become notes."""
    from review.reports.report import build_report, write_report
    from review.sampling.draw import draw_sample
    from review.store.db import session_scope

    result = NightClose()
    if not call_ids:
        result.notes.append("no call finished tonight: no sample drawn, no report written")
        return result
    with session_scope(factory) as session:
        days = local_days(session, call_ids, settings.flows.timezone)
    result.days = [d.isoformat() for d in days]
    for day in days:
        start, end = day_bounds(day, settings.flows.timezone)
        try:
            with session_scope(factory) as session:
                draw = draw_sample(session, start, end, settings.sampling)
                result.draws.append(draw.id)
                result.sampled += len((draw.sample or {}).get("call_ids", []))
        except CallQAError as exc:  # an overlapping manual draw, a bad rate: say so, keep the night
            result.notes.append(f"sample for {day}: {exc}")
    since, until = day_bounds(days[0], settings.flows.timezone)[0], day_bounds(days[-1], settings.flows.timezone)[1]
    try:
        # the SLA sweep runs before the report so the morning report's overdue count is today's
        from review.queue.lifecycle import mark_overdue

        with session_scope(factory) as session:
            result.overdue = len(mark_overdue(session, sla_hours=settings.queue.sla_hours))
    except CallQAError as exc:
        result.notes.append(f"SLA sweep: {exc}")
    try:
        with session_scope(factory) as session:
            report = build_report(session, since, until, sla_hours=settings.queue.sla_hours)
        label = days[0].isoformat() if len(days) == 1 else f"{days[0].isoformat()}_{days[-1].isoformat()}"
        out = Path(settings.reports_dir) / label
        paths = write_report(report, out)
        result.report_dir = str(out)
        _announce(settings, report, paths)
    except CallQAError as exc:
        result.notes.append(f"report: {exc}")
    return result


def _announce(settings: Settings, report: object, paths: dict[str, Path]) -> None:
    from review.reports.notify import send_report

    if not (settings.notify.wecom_url or settings.notify.dingtalk_url or settings.notify.slack_url):
        return
    try:
        send_report(report, paths, settings.notify)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - notify never blocks the night
        log.warning("report notification failed: %s", exc)
