"""Server-side sessions of the review UI: start, check, end, list.

The browser keeps a random token; the database keeps its SHA-256 with the user, the
times and the client. A session is valid while it has not ended, has been used within
the idle timeout and is younger than the absolute timeout. Signing out, changing the
password, deactivating the account and an admin's revoke end it at once, in every
web process (they all read the same table).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from review.store.models import User, WebSession

TOUCH_EVERY = timedelta(seconds=30)  # last_seen_at is written at most this often per session
KEEP_ENDED = timedelta(days=30)


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class ActiveSession:
    id: str
    username: str
    role: str
    client: str
    user_agent: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, timeouts: Timeouts, *, client: str = "", user_agent: str = "",
          now: datetime | None = None) -> str:
    """A new session for the user; the token for the cookie (never stored)."""
    now = now or datetime.now(UTC)
    # sessions long over are of no further use: each sign-in sweeps those past their limit by a month
    session.execute(delete(WebSession).where(WebSession.expires_at < now - KEEP_ENDED))
    token = secrets.token_urlsafe(32)
    session.add(WebSession(id=digest(token), user_id=user.id, created_at=now, last_seen_at=now,
                           expires_at=now + timeouts.absolute, client=client[:64], user_agent=user_agent[:255],
                           unmasked={}))
    session.flush()
    return token


def lookup(session: Session, token: str | None, timeouts: Timeouts, *,
           now: datetime | None = None) -> WebSession | None:
    """The live session of this token, touched; None (and the row ended) when it has timed out."""
    if not token:
        return None
    now = now or datetime.now(UTC)
    row = session.get(WebSession, digest(token))
    if row is None or row.ended_at is not None:
        return None
    reason = ("expired" if now >= _utc(row.expires_at)
              else "idle" if now - _utc(row.last_seen_at) > timeouts.idle else None)
    if reason:
        row.ended_at, row.ended_reason = now, reason
        return None
    if now - _utc(row.last_seen_at) >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end(session: Session, token: str | None, reason: str = "signed_out", *, now: datetime | None = None) -> bool:
    if not token:
        return False
    return _end(session, [WebSession.id == digest(token)], reason, now) > 0


def end_by_id(session: Session, session_id: str, reason: str = "revoked", *, now: datetime | None = None) -> bool:
    return _end(session, [WebSession.id == session_id], reason, now) > 0


def end_all(session: Session, user_id: int, reason: str, *, now: datetime | None = None) -> int:
    """End every live session of a user; how many there were."""
    return _end(session, [WebSession.user_id == user_id], reason, now)


def _end(session: Session, where: list[object], reason: str, now: datetime | None) -> int:
    result = session.execute(update(WebSession).where(WebSession.ended_at.is_(None), *where)  # type: ignore[arg-type]
                             .values(ended_at=now or datetime.now(UTC), ended_reason=reason)
                             .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def active(session: Session, timeouts: Timeouts, *, now: datetime | None = None) -> list[ActiveSession]:
    """Sessions that are live now, most recently used first."""
    now = now or datetime.now(UTC)
    rows = session.execute(
        select(WebSession, User.username, User.role).join(User, User.id == WebSession.user_id)
        .where(WebSession.ended_at.is_(None), WebSession.expires_at > now,
               WebSession.last_seen_at >= now - timeouts.idle)
        .order_by(WebSession.last_seen_at.desc())).all()
    return [ActiveSession(r.id, name, role, r.client, r.user_agent, _utc(r.created_at), _utc(r.last_seen_at),
                          _utc(r.expires_at)) for r, name, role in rows]


def unmask(row: WebSession, call_id: str, minutes: int, *, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    kept = {k: v for k, v in (row.unmasked or {}).items() if isinstance(v, str) and _utc(
        datetime.fromisoformat(v)) > now}
    kept[call_id] = (now + timedelta(minutes=minutes)).isoformat()
    row.unmasked = kept  # a new dict: the JSON column sees the change


def is_unmasked(row: WebSession | None, call_id: str, *, now: datetime | None = None) -> bool:
    until = (row.unmasked or {}).get(call_id) if row is not None else None
    return isinstance(until, str) and _utc(datetime.fromisoformat(until)) > (now or datetime.now(UTC))
