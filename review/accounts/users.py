"""User accounts of the review UI: argon2id password hashes, roles, sign-in checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.errors import AccountError, NotFoundError
from review.accounts import sessions
from review.store.models import ROLES, User

MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile: 64 MiB, 3 passes
# verified against when the user does not exist, so a wrong name costs as long as a wrong password
_DUMMY_HASH = _hasher.hash("callqa-no-such-user")


def set_hash_cost(time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
    """Change the argon2id cost of new hashes (each hash keeps its own parameters, so old ones still
    verify and are upgraded at the next sign-in). Lower it only for tests."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _DUMMY_HASH = _hasher.hash("callqa-no-such-user")


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str
    team: str | None
    agent_id: str | None
    active: bool


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise AccountError("password must not start or end with whitespace")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")


def get_user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"user {username!r} does not exist; add it with `callqa users add {username}`")
    return user


def add_user(session: Session, username: str, password: str, role: str = "reviewer", *,
             team: str | None = None, agent_id: str | None = None, leads_team: str | None = None,
             review_teams: str = "", languages: str = "", skills: str = "") -> User:
    """Create a user with an argon2id hash of the password."""
    if not _USERNAME.match(username):
        raise AccountError(f"username {username!r} is not valid: use 2-64 letters, digits, or _ . @ -")
    _check_role(role)
    _check_password(password)
    if session.execute(select(User.id).where(User.username == username)).first() is not None:
        raise AccountError(f"user {username!r} already exists; use `callqa users passwd` or `role` to change it")
    user = User(username=username, password_hash=_hasher.hash(password), role=role, team=team or None,
                agent_id=agent_id or None, leads_team=leads_team or None, review_teams=review_teams,
                languages=languages, skills=skills, active=True)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """Replace the password and end every signed-in session of the user."""
    _check_password(password)
    user = get_user(session, username)
    user.password_hash = _hasher.hash(password)
    sessions.end_all(session, user.id, "password_changed")
    session.flush()
    return user


def set_role(session: Session, username: str, role: str) -> User:
    _check_role(role)
    user = get_user(session, username)
    user.role = role
    session.flush()
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    user = get_user(session, username)
    user.active = active
    if not active:
        sessions.end_all(session, user.id, "deactivated")
    session.flush()
    return user


def list_users(session: Session) -> list[UserInfo]:
    rows = session.execute(select(User).order_by(User.username)).scalars()
    return [UserInfo(u.id, u.username, u.role, u.team, u.agent_id, u.active) for u in rows]


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user whose password matches, or None. Upgrades outdated hashes in place."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active or not user.password_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.flush()
    return user
