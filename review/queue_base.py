"""What the queue modules share: roles, time handling, item lookup, guarded transitions, audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callqa.errors import NotFoundError, PermissionDeniedError
from review import audit
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
    if not user.active:
        raise PermissionDeniedError(f"user {user.username!r} is deactivated and cannot {action}")
    if user.role not in roles:
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
