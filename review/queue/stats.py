"""Reading the queue: SLA marking, listing in priority order, counts for dashboards and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from review.queue.base import as_utc, get_item, log_item, now_utc
from review.store.models import Appeal, ReviewItem, User


@dataclass(frozen=True)
class QueueStats:
    by_status: dict[str, int]
    open_by_stage: dict[str, int]
    open_urgent: int
    overdue: int
    oldest_open_hours: float | None
    claimed_by: dict[str, int]  # username -> items currently held under a live lease
    outcomes: dict[str, int]
    pending_appeals: int
    items: int = 0
    agreement_checks: dict[str, int] = field(default_factory=dict)  # blind checks by state: open, claimed, done



def mark_overdue(session: Session, now: datetime | None = None, sla_hours: float = 48.0) -> list[int]:
    """Flag undecided items older than ``sla_hours``; returns the ids newly marked."""
    now = now_utc(now)
    rows = session.execute(
        update(ReviewItem).where(ReviewItem.status != "final", ReviewItem.overdue.is_(False),
                                 ReviewItem.created_at < now - timedelta(hours=sla_hours))
        .values(overdue=True).returning(ReviewItem.id).execution_options(synchronize_session=False)
    ).scalars().all()
    for item_id in rows:
        log_item(session, "overdue", get_item(session, item_id), None, sla_hours=sla_hours)
    return list(rows)


def list_items(session: Session, *, status: str | None = None, overdue: bool | None = None,
               assignee: User | None = None, limit: int = 50) -> list[ReviewItem]:
    """Items in queue order (urgent, severity, age), optionally narrowed."""
    stmt = select(ReviewItem)
    if status:
        stmt = stmt.where(ReviewItem.status == status)
    if overdue is not None:
        stmt = stmt.where(ReviewItem.overdue.is_(overdue))
    if assignee is not None:
        stmt = stmt.where(ReviewItem.assignee_id == assignee.id)
    stmt = stmt.order_by(ReviewItem.urgent.desc(), ReviewItem.severity_rank.desc(), ReviewItem.created_at,
                         ReviewItem.id).limit(limit)
    return list(session.execute(stmt).scalars())


def stats(session: Session, now: datetime | None = None) -> QueueStats:
    """Counts for the dashboard and `callqa queue stats`."""
    now = now_utc(now)
    by_status = dict(session.execute(select(ReviewItem.status, func.count()).group_by(ReviewItem.status)).all())
    open_by_stage = dict(session.execute(select(ReviewItem.stage, func.count())
                                         .where(ReviewItem.status == "open").group_by(ReviewItem.stage)).all())
    open_urgent = session.execute(select(func.count()).select_from(ReviewItem).where(
        ReviewItem.status == "open", ReviewItem.urgent.is_(True))).scalar_one()
    overdue = session.execute(select(func.count()).select_from(ReviewItem).where(
        ReviewItem.overdue.is_(True), ReviewItem.status != "final")).scalar_one()
    oldest = as_utc(session.execute(select(func.min(ReviewItem.created_at)).where(
        ReviewItem.status.in_(("open", "claimed", "disputed", "appealed")))).scalar_one())
    claimed_by = dict(session.execute(
        select(User.username, func.count()).join(ReviewItem, ReviewItem.assignee_id == User.id)
        .where(ReviewItem.status == "claimed", ReviewItem.lease_expires_at >= now).group_by(User.username)).all())
    outcomes = dict(session.execute(select(ReviewItem.outcome, func.count()).where(ReviewItem.status == "final")
                                    .group_by(ReviewItem.outcome)).all())
    pending = session.execute(select(func.count()).select_from(Appeal).where(Appeal.ruling.is_(None))).scalar_one()
    checks = session.execute(select(ReviewItem.agreement_check, func.count())
                             .where(ReviewItem.agreement_check.is_not(None)).group_by(ReviewItem.agreement_check)).all()
    return QueueStats(
        by_status={str(k): int(v) for k, v in by_status.items()},
        open_by_stage={str(k): int(v) for k, v in open_by_stage.items()},
        open_urgent=int(open_urgent), overdue=int(overdue),
        oldest_open_hours=round((now - oldest).total_seconds() / 3600, 2) if oldest else None,
        claimed_by={str(k): int(v) for k, v in claimed_by.items()},
        outcomes={str(k): int(v) for k, v in outcomes.items()},
        pending_appeals=int(pending), items=sum(int(v) for v in by_status.values()),
        agreement_checks={str(k): int(v) for k, v in checks},
    )
