"""The queue page's data: filtered, prioritised review items and counts per status."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session, aliased

from review.store.models import SEVERITY_RANK, Call, Finding, ReviewItem, User

STATUS_TABS = ("open", "mine", "claimed", "disputed", "final", "appealed", "all")
RANK_SEVERITY = {rank: name for name, rank in SEVERITY_RANK.items()}


@dataclass
class QueueFilter:
    status: str = "open"
    team: str = ""
    agent: str = ""
    rule: str = ""
    severity: str = ""
    dialect: str = ""
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    page: int = 1

    def query_args(self, **override: Any) -> dict[str, str]:
        """The filter as query-string arguments (for links that keep it)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)} | override
        out: dict[str, str] = {}
        for key, value in values.items():
            if value in (None, "", False) or (key == "page" and value == 1):
                continue
            out[key] = "1" if value is True else str(value)
        return out


@dataclass
class QueueRow:
    item_id: int
    call_id: str
    status: str
    stage: str
    kind: str
    urgent: bool
    severity: str
    category: str | None
    team: str | None
    agent_id: str | None
    dialect: str | None
    overdue: bool
    created_at: datetime
    started_at: datetime | None
    assignee: str | None
    mine: bool


@dataclass
class QueuePage:
    rows: list[QueueRow]
    total: int
    counts: dict[str, int]
    overdue_count: int
    page: int
    pages: int
    filter: QueueFilter
    options: dict[str, list[str]] = field(default_factory=dict)


def _conditions(f: QueueFilter) -> list[Any]:
    conds: list[Any] = []
    if f.team:
        conds.append(ReviewItem.team == f.team)
    if f.agent:
        # through the calls' agent index: one agent has few calls among 100,000 items
        conds.append(ReviewItem.call_id.in_(select(Call.id).where(Call.agent_id == f.agent)))
    if f.dialect:
        conds.append(ReviewItem.dialect == f.dialect)
    if f.severity in SEVERITY_RANK:
        # a range, not "=": SQLite then still walks the queue index in priority order instead of sorting
        conds.append(ReviewItem.severity_rank.between(SEVERITY_RANK[f.severity], SEVERITY_RANK[f.severity]))
    if f.overdue:
        conds.append(ReviewItem.overdue.is_(True))
    if f.rule:
        # IN, not a correlated EXISTS: SQLite would otherwise walk the rule's findings once per item
        conds.append(ReviewItem.call_id.in_(select(Finding.call_id).where(Finding.rule_id == f.rule)))
    if f.date_from or f.date_to:
        # the day the item entered the queue (what the SLA counts from); a call's own date would need
        # a join per item, which costs more than the whole page at 100,000 items
        if f.date_from:
            conds.append(ReviewItem.created_at >= datetime.combine(f.date_from, dtime.min, tzinfo=UTC))
        if f.date_to:
            conds.append(ReviewItem.created_at < datetime.combine(f.date_to + timedelta(days=1), dtime.min,
                                                                  tzinfo=UTC))
    return conds


def _status_condition(f: QueueFilter, user: User) -> Any:
    if f.status == "mine":
        return and_(ReviewItem.assignee_id == user.id, ReviewItem.status == "claimed")
    if f.status in STATUS_TABS and f.status != "all":
        return ReviewItem.status == f.status
    return None


def _priority(selective: bool) -> list[Any]:
    """Queue order. With a selective filter the expressions hide the index from SQLite, so the few
    matching rows are found through the filter's index and sorted, not sought along the queue. A CAST,
    not "+ 0", for the boolean: PostgreSQL has no boolean + integer (and 1 > 0 keeps urgent first)."""
    if not selective:
        return [ReviewItem.urgent.desc(), ReviewItem.severity_rank.desc(), ReviewItem.created_at, ReviewItem.id]
    return [cast(ReviewItem.urgent, Integer).desc(), (ReviewItem.severity_rank + 0).desc(), ReviewItem.created_at,
            ReviewItem.id]


_options_cache: dict[int, tuple[float, dict[str, list[str]]]] = {}


def filter_options(session: Session, ttl_s: float = 300.0) -> dict[str, list[str]]:
    """Known teams, agents, dialects and rules for the filter inputs, refreshed every few minutes."""
    key = id(session.get_bind())
    cached = _options_cache.get(key)
    if cached and cached[0] > time.monotonic():
        return cached[1]

    def distinct(column: Any) -> list[str]:
        rows = session.execute(select(column).where(column.is_not(None)).distinct().limit(500)).scalars()
        return sorted(str(v) for v in rows)

    options = {"team": distinct(ReviewItem.team), "agent": distinct(ReviewItem.agent_id),
               "dialect": distinct(ReviewItem.dialect), "rule": distinct(Finding.rule_id)}
    _options_cache[key] = (time.monotonic() + ttl_s, options)
    return options


def queue_page(session: Session, user: User, f: QueueFilter, page_size: int = 50) -> QueuePage:
    conds = _conditions(f)
    counts: dict[str, int] = {}
    if f.team or f.agent or f.rule or f.dialect or f.overdue:
        # these filters read the rows anyway: count statuses and overdue items in the same pass
        overdue_count = 0
        for status, n, late in session.execute(
                select(ReviewItem.status, func.count(), func.sum(case((ReviewItem.overdue.is_(True), 1), else_=0)))
                .where(*conds).group_by(ReviewItem.status)):
            counts[status] = int(n)
            overdue_count += int(late or 0) if status != "final" else 0
    else:
        # no filter, or only severity and date: the queue index alone answers the status counts
        counts = {status: int(n) for status, n in session.execute(
            select(ReviewItem.status, func.count()).where(*conds).group_by(ReviewItem.status))}
        overdue_count = int(session.execute(select(func.count()).select_from(ReviewItem).where(
            ReviewItem.overdue.is_(True), ReviewItem.status != "final", *conds)).scalar_one())
    counts["all"] = sum(counts.values())
    counts["mine"] = session.execute(
        select(func.count()).select_from(ReviewItem).where(
            ReviewItem.assignee_id == user.id, ReviewItem.status == "claimed", *conds)).scalar_one()
    status_cond = _status_condition(f, user)
    where = conds + ([status_cond] if status_cond is not None else [])
    total = counts.get(f.status, 0) if f.status in STATUS_TABS else counts["all"]
    pages = max(1, -(-total // page_size))
    page = min(max(1, f.page), pages)
    assignee = aliased(User)
    query = (
        select(ReviewItem, Call.started_at, assignee.username)
        .join(Call, Call.id == ReviewItem.call_id)
        .outerjoin(assignee, assignee.id == ReviewItem.assignee_id)
        .where(*where)
        .order_by(*_priority(bool(f.agent)))
        .limit(page_size).offset((page - 1) * page_size)
    )
    rows = [
        QueueRow(item_id=item.id, call_id=item.call_id, status=item.status, stage=item.stage, kind=item.kind,
                 urgent=item.urgent, severity=RANK_SEVERITY.get(item.severity_rank, "none"),
                 category=item.category, team=item.team, agent_id=item.agent_id, dialect=item.dialect,
                 overdue=item.overdue, created_at=item.created_at, started_at=started, assignee=name,
                 mine=item.assignee_id == user.id)
        for item, started, name in session.execute(query)
    ]
    return QueuePage(rows=rows, total=total, counts=counts, overdue_count=overdue_count, page=page,
                     pages=pages, filter=f, options=filter_options(session))
