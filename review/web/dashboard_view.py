"""The dashboard's figures: the morning report's estimates per day or week, with their intervals.

Every figure comes from review.sampling.estimates.estimate (the same code the morning report runs), once per
period, narrowed by team and agent through its ``scope``; the rule filter picks that rule's
precision (without it, precision pools every rule's confirmed and false-positive findings with
review.sampling.stats.proportion, as the per-rule figures are). Queue health is review.queue.stats.stats.
The rows shown and the CSV are one list (``DashboardView.rows``), so the export is what is shown.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from review.queue.stats import QueueStats, stats
from review.sampling.estimates import estimate
from review.sampling.stats import proportion
from review.store.models import Call, ReviewItem, User

METRICS = ("violation_rate", "miss_rate", "rule_precision", "reviewer_agreement")
BUCKETS = ("day", "week")
MAX_PERIODS = 62  # a request never runs more estimates than this
CSV_COLUMNS = ("period_start", "period_end", "metric", "estimate", "ci_low", "ci_high", "n", "agent")
SCORE_METRICS = ("scorecard_mean_score", "scorecard_pass_rate")  # per agent over the whole range


@dataclass
class DashboardFilter:
    date_from: date
    date_to: date  # inclusive
    bucket: str = "day"
    team: str = ""
    agent: str = ""
    rule: str = ""

    def query_args(self) -> dict[str, str]:
        args = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat(),
                "bucket": self.bucket, "team": self.team, "agent": self.agent, "rule": self.rule}
        return {k: v for k, v in args.items() if v}


@dataclass(frozen=True)
class FigureRow:
    period_start: date
    period_end: date  # inclusive
    metric: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    agent: str = ""  # scorecard rows: the agent; figures: empty (the filters say whose)

    def csv_row(self) -> list[str]:
        def num(v: float | None) -> str:
            return "" if v is None else f"{v:.4f}"
        return [self.period_start.isoformat(), self.period_end.isoformat(), self.metric, num(self.estimate),
                num(self.ci_low), num(self.ci_high), str(self.n), self.agent]


@dataclass
class ReviewerLoad:
    username: str
    open_assigned: int
    claimed: int
    overdue: int


@dataclass
class DashboardView:
    filters: DashboardFilter
    periods: list[tuple[date, date]]
    rows: list[FigureRow]
    queue: QueueStats
    reviewers: list[ReviewerLoad]
    truncated: bool = False

    scores: list[FigureRow] = field(default_factory=list)  # scorecard mean and pass rate per agent

    def series(self, metric: str) -> list[FigureRow]:
        return [r for r in self.rows if r.metric == metric]

    def score_pairs(self) -> list[tuple[FigureRow, FigureRow]]:
        return list(zip(self.scores[0::2], self.scores[1::2], strict=True))

    def csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(r.csv_row() for r in self.rows + self.scores)
        return buf.getvalue()


def default_filter(today: date) -> DashboardFilter:
    return DashboardFilter(date_from=today - timedelta(days=13), date_to=today)


def periods_of(f: DashboardFilter) -> tuple[list[tuple[date, date]], bool]:
    """The periods (first day, last day) covering the range; weeks start on Monday."""
    start = f.date_from - timedelta(days=f.date_from.weekday()) if f.bucket == "week" else f.date_from
    step = timedelta(days=7 if f.bucket == "week" else 1)
    out: list[tuple[date, date]] = []
    while start <= f.date_to and len(out) < MAX_PERIODS:
        out.append((start, start + step - timedelta(days=1)))
        start += step
    return out, start <= f.date_to


def _instant(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _scope(f: DashboardFilter) -> Any:
    conds = []
    if f.team:
        conds.append(Call.team == f.team)
    if f.agent:
        conds.append(Call.agent_id == f.agent)
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else conds[0] & conds[1]


def _figures(session: Session, f: DashboardFilter, start: date, end: date, zone: tzinfo) -> list[FigureRow]:
    est = estimate(session, _instant(start, zone), _instant(end + timedelta(days=1), zone), scope=_scope(f))
    if f.rule:
        precision = est.rule_precision.get(f.rule) or proportion(0, 0)
    else:
        confirmed = sum(t.confirmed for t in est.rules)
        precision = proportion(confirmed, confirmed + sum(t.false_positive for t in est.rules))
    k = est.kappa
    values = {"violation_rate": (est.violation_rate.estimate, est.violation_rate.ci_low,
                                 est.violation_rate.ci_high, est.violation_rate.n),
              "miss_rate": (est.miss_rate.estimate, est.miss_rate.ci_low, est.miss_rate.ci_high, est.miss_rate.n),
              "rule_precision": (precision.estimate, precision.ci_low, precision.ci_high, precision.n),
              "reviewer_agreement": (k.estimate, k.ci_low, k.ci_high, k.n)}
    return [FigureRow(start, end, m, *values[m]) for m in METRICS]


def reviewer_loads(session: Session, now: datetime) -> list[ReviewerLoad]:
    """Per reviewer: items assigned and not final, held under a live lease, and overdue among them."""
    rows = session.execute(
        select(User.username, ReviewItem.status, ReviewItem.overdue, ReviewItem.lease_expires_at)
        .join(ReviewItem, ReviewItem.assignee_id == User.id).where(ReviewItem.status != "final")).all()
    loads: dict[str, ReviewerLoad] = {}
    for name, status, overdue, lease in rows:
        load = loads.setdefault(name, ReviewerLoad(name, 0, 0, 0))
        load.open_assigned += 1
        live = lease is not None and (lease if lease.tzinfo else lease.replace(tzinfo=now.tzinfo)) >= now
        load.claimed += 1 if status == "claimed" and live else 0
        load.overdue += 1 if overdue else 0
    return sorted(loads.values(), key=lambda r: (-r.open_assigned, r.username))


def build_dashboard(session: Session, f: DashboardFilter, zone: tzinfo, now: datetime) -> DashboardView:
    periods, truncated = periods_of(f)
    rows = [row for start, end in periods for row in _figures(session, f, start, end, zone)]
    view = DashboardView(f, periods, rows, stats(session, now), reviewer_loads(session, now), truncated)
    view.scores = _scores(session, f, zone)
    return view


def _scores(session: Session, f: DashboardFilter, zone: tzinfo) -> list[FigureRow]:
    """Scorecard mean (as a share of 100) and pass rate per agent over the range (review.scorecard.records)."""
    from review.scorecard.records import scorecard_summary

    out: list[FigureRow] = []
    for s in scorecard_summary(session, _instant(f.date_from, zone), _instant(f.date_to + timedelta(days=1), zone)):
        if (f.agent and s.key != f.agent) or (f.team and s.team != f.team):
            continue
        mean = None if s.mean_score is None else s.mean_score / 100.0
        out.append(FigureRow(f.date_from, f.date_to, SCORE_METRICS[0], mean, None, None, s.scored_calls, s.key))
        out.append(FigureRow(f.date_from, f.date_to, SCORE_METRICS[1], s.pass_rate, None, None, s.scored_calls,
                             s.key))
    return out
