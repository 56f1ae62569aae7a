"""Sign-in throttling shared through the database, so several web processes agree.

Failures are counted over a sliding window per account (``web.signin_max_failures``, 5) and,
separately and with a higher limit, per client address (``web.signin_max_failures_per_address``,
50): a call centre's whole office behind one NAT address is not locked out by one person's
typos, and an address trying many accounts is still stopped. A success clears the account's
count only. ``retry_after`` says how long until the next try is allowed (the Retry-After header).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from review.store.models import SigninFailure


@dataclass(frozen=True)
class Limits:
    per_account: int
    per_address: int
    window: timedelta


def _keys(username: str, address: str, limits: Limits) -> list[tuple[str, int]]:
    return [(f"user:{username.strip().lower()[:120]}", limits.per_account), (f"addr:{address[:120]}", limits.per_address)]


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def retry_after(session: Session, username: str, address: str, limits: Limits, *,
                now: datetime | None = None) -> int:
    """Seconds until another sign-in may be tried from this address for this account; 0: now."""
    now = now or datetime.now(UTC)
    wait = timedelta(0)
    for key, limit in _keys(username, address, limits):
        if limit <= 0:
            continue
        recent = list(session.execute(
            select(SigninFailure.at).where(SigninFailure.key == key, SigninFailure.at > now - limits.window)
            .order_by(SigninFailure.at.desc()).limit(limit)).scalars())
        if len(recent) >= limit:  # the oldest of the last `limit` failures must leave the window first
            wait = max(wait, _utc(recent[-1]) + limits.window - now)
    seconds = wait.total_seconds()
    return int(seconds) + 1 if seconds > 0 else 0


def failed(session: Session, username: str, address: str, limits: Limits, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    session.add_all([SigninFailure(key=key, at=now) for key, _ in _keys(username, address, limits)])
    # old rows are of no use to anyone: each failure sweeps those past the window
    session.execute(delete(SigninFailure).where(SigninFailure.at <= now - limits.window))
    session.flush()


def succeeded(session: Session, username: str, limits: Limits) -> None:
    key = _keys(username, "", limits)[0][0]
    session.execute(delete(SigninFailure).where(SigninFailure.key == key))
