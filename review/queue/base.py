"""What the queue modules share: roles, time handling, item lookup, guarded transitions, audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callqa.errors import NotFoundError, PermissionDeniedError
from review.audit import chain as audit
from review.store.models import ReviewItem, User

REVIEW_ROLES = frozenset({"reviewer", "supervisor", "compliance"})
SUPERVISOR_ROLES = frozenset({"supervisor"})


def now_utc(now: datetime | None) -> datetime:
    # always UTC: SQLite stores the wall time without the offset, so mixed zones would compare wrongly
    if now is None:
        return datetime.now(UTC)
    return now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)


def csv_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def as_utc(ts: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; they were stored as UTC
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def require_role(user: User, roles: frozenset[str], action: str) -> None:
    """The user may act in one of ``roles``; an admin may do whatever any role may (as in the web UI)."""
    if not user.active:
        raise PermissionDeniedError(f"user {user.username!r} is deactivated and cannot {action}")
    if user.role not in roles and user.role != "admin":
        raise PermissionDeniedError(
            f"user {user.username!r} has role {user.role!r}; to {action} you need one of: {', '.join(sorted(roles))}"
        )


def get_item(session: Session, item_id: int, *, fresh: bool = True) -> ReviewItem:
    item = session.get(ReviewItem, item_id, populate_existing=fresh)
    if item is None:
        raise NotFoundError(f"review item {item_id} does not exist; see `callqa queue list`")
    return item


def item_for_call(session: Session, call_id: str) -> ReviewItem | None:
    return session.execute(select(ReviewItem).where(ReviewItem.call_id == call_id)).scalar_one_or_none()


def log_item(session: Session, kind: str, item: ReviewItem, user: User | None, **payload: Any) -> None:
    # written at commit, so the chain lock is not held while the reviewer's transaction runs
    audit.append_on_commit(session, kind, actor=user.username if user else "system", call_id=item.call_id,
                           payload={"item_id": item.id, **payload})


def transition(session: Session, item_id: int, where: list[Any], values: dict[str, Any]) -> bool:
    """Apply ``values`` only if the item still matches ``where``; False when someone else moved it."""
    result = session.execute(
        update(ReviewItem).where(ReviewItem.id == item_id, *where).values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def took_part(session: Session, item: ReviewItem, user: User) -> str | None:
    """How the user took part in the item (first or second review, a verdict at any stage, settling its
    dispute, its appeal, being its agent), or None: such a user may not rule on its appeal."""
    from review.store.models import Appeal, Verdict

    if user.agent_id and user.agent_id == item.agent_id:
        return "is its agent"
    if user.id == item.first_reviewer_id:
        return "did its first review"
    if user.id == item.second_reviewer_id:
        return "did its second review"
    stage = session.execute(select(Verdict.stage).where(Verdict.item_id == item.id, Verdict.reviewer_id == user.id)
                            .limit(1)).scalar_one_or_none()
    if stage is not None:
        return "settled its dispute" if stage == "supervisor" else f"gave a {stage}-stage verdict on it"
    if session.execute(select(Appeal.id).where(Appeal.item_id == item.id, Appeal.appellant_id == user.id)).first():
        return "filed its appeal"
    return None
