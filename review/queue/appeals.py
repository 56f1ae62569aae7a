"""Appeals: the agent's team lead contests a final violation once; a supervisor's ruling is final."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callqa.errors import NotFoundError, PermissionDeniedError, QueueConflictError
from review.calls.repo import insert_ignore
from review.queue.base import (
    SUPERVISOR_ROLES,
    as_utc,
    get_item,
    log_item,
    now_utc,
    require_role,
    took_part,
    transition,
)
from review.store.models import Appeal, ReviewItem, User

RULINGS = ("upheld", "overturned")


def appeal(session: Session, item_id: int, user: User, reason: str, *, now: datetime | None = None,
           window_days: int = 14) -> Appeal:
    """The agent's team lead contests a final violation, once, within ``window_days`` of the decision."""
    now = now_utc(now)
    item = get_item(session, item_id)
    if not user.active or not user.leads_team or user.leads_team != item.team:
        raise PermissionDeniedError(f"only the lead of team {item.team!r} may appeal item {item_id}; "
                                    f"{user.username} leads {user.leads_team or 'no team'}")
    if not reason.strip():
        raise QueueConflictError(f"appeal on item {item_id}: give the reason for the appeal")
    if session.execute(select(Appeal.id).where(Appeal.item_id == item_id)).first() is not None:
        raise QueueConflictError(f"item {item_id} was already appealed; an outcome can be appealed only once")
    if item.status != "final" or item.outcome != "violation":
        raise QueueConflictError(f"item {item_id} is {item.status} with outcome {item.outcome}; "
                                 "only a final violation can be appealed")
    decided = as_utc(item.decided_at)
    if decided is None or now > decided + timedelta(days=window_days):
        raise QueueConflictError(f"the appeal window of item {item_id} ({window_days} days from {decided}) has closed")
    if not insert_ignore(session, Appeal, {"item_id": item_id, "appellant_id": user.id, "reason": reason.strip(),
                                           "created_at": now}):
        raise QueueConflictError(f"item {item_id} was already appealed; an outcome can be appealed only once")
    if not transition(session, item_id, [ReviewItem.status == "final"], {"status": "appealed", "stage": "appeal"}):
        raise QueueConflictError(f"item {item_id} changed meanwhile; reload it")
    row = session.execute(select(Appeal).where(Appeal.item_id == item_id)).scalar_one()
    log_item(session, "appeal", get_item(session, item_id), user, appeal_id=row.id, reason=row.reason)
    return row


def rule_appeal(session: Session, appeal_id: int, user: User, ruling: str, comment: str = "", *,
                now: datetime | None = None) -> Appeal:
    """A supervisor's ruling on an appeal: ``upheld`` keeps the violation, ``overturned`` clears it. Final."""
    require_role(user, SUPERVISOR_ROLES, "rule on appeals")
    now = now_utc(now)
    if ruling not in RULINGS:
        raise QueueConflictError(f"ruling {ruling!r} on appeal {appeal_id}: use one of {', '.join(RULINGS)}")
    row = session.get(Appeal, appeal_id, populate_existing=True)
    if row is None:
        raise NotFoundError(f"appeal {appeal_id} does not exist; see `callqa queue list --status appealed`")
    item = get_item(session, row.item_id)
    part = took_part(session, item, user)
    if part:
        raise PermissionDeniedError(f"{user.username} {part} (item {item.id}); a supervisor who took no part in "
                                    "it must rule on the appeal")
    done = session.execute(update(Appeal).where(Appeal.id == appeal_id, Appeal.ruling.is_(None)).values(
        ruling=ruling, ruled_by_id=user.id, ruling_comment=comment, ruled_at=now,
    ).execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise QueueConflictError(f"appeal {appeal_id} was already ruled on; a ruling is final")
    outcome = "no_violation" if ruling == "overturned" else item.outcome
    if not transition(session, item.id, [ReviewItem.status == "appealed"],
                       {"status": "final", "outcome": outcome, "decided_at": now}):
        raise QueueConflictError(f"item {item.id} is not waiting on an appeal; reload it")
    item = get_item(session, item.id)
    log_item(session, "ruling", item, user, appeal_id=appeal_id, ruling=ruling, comment=comment, outcome=outcome,
             supervisor=user.username)
    session.refresh(row)
    return row
