"""Sessions, CSRF tokens, role checks and the sign-in throttle of the review UI.

The session is a signed cookie (itsdangerous) holding the user id, a
fingerprint of the password hash (changing the password ends old sessions)
and the CSRF token every form and every state-changing API call must echo.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from callqa.config import Settings
from review.store.models import User

COOKIE = "callqa_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """No valid session: pages redirect to sign-in, the API answers 401."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


class RoleRequired(Exception):
    def __init__(self, roles: tuple[str, ...]) -> None:
        super().__init__(f"this needs one of the roles: {', '.join(roles)}")


def load_secret_key(settings: Settings) -> str:
    """The configured key, else one generated once and kept (mode 0600) under CALLQA_HOME."""
    if settings.web.secret_key:
        return settings.web.secret_key
    path = Path(settings.home) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@dataclass
class SessionData:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    uid: int | None = None
    pw: str = ""
    # call id -> epoch seconds until which its personal data is shown unmasked
    unmasked: dict[str, float] = field(default_factory=dict)
    fresh: bool = False  # not from a valid cookie: the response must set one

    def to_dict(self) -> dict[str, Any]:
        return {"csrf": self.csrf, "uid": self.uid, "pw": self.pw, "unmasked": self.unmasked}

    @classmethod
    def from_dict(cls, data: Any) -> SessionData:
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return cls(fresh=True)
        uid = data.get("uid")
        raw_unmasked = data.get("unmasked")
        unmasked: dict[Any, Any] = raw_unmasked if isinstance(raw_unmasked, dict) else {}
        return cls(csrf=data["csrf"], uid=uid if isinstance(uid, int) else None, pw=str(data.get("pw", "")),
                   unmasked={str(k): float(v) for k, v in unmasked.items() if isinstance(v, int | float)})

    def is_unmasked(self, call_id: str) -> bool:
        return self.unmasked.get(call_id, 0.0) > time.time()


class SessionCodec:
    def __init__(self, secret_key: str, max_age_s: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="callqa-session")
        self.max_age_s = max_age_s
        self.secure = secure

    def read(self, request: Request) -> SessionData:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                return SessionData.from_dict(self._serializer.loads(raw, max_age=self.max_age_s))
            except BadSignature:
                pass
        return SessionData(fresh=True)

    def write(self, response: Response, data: SessionData) -> None:
        response.set_cookie(COOKIE, self._serializer.dumps(data.to_dict()), max_age=self.max_age_s,
                            httponly=True, samesite="lax", secure=self.secure, path="/")

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure)


def csrf_matches(session: SessionData, supplied: str | None) -> bool:
    return bool(supplied) and hmac.compare_digest(session.csrf.encode(), str(supplied).encode())


class SignInThrottle:
    """Refuses sign-in for a user name or client address after too many recent failures.

    Kept in process memory: run one server process (or put the limit in the proxy too)."""

    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, username: str, client: str) -> int:
        """Seconds until another try is allowed; 0 when allowed now."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in (f"u:{username.lower()}", f"c:{client}"):
                times = self._recent(key, now)
                if len(times) >= self.max_failures:
                    wait = max(wait, times[0] + self.window_s - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, username: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"u:{username.lower()}", f"c:{client}"):
                self._recent(key, now).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{username.lower()}", None)


def has_role(user: User, roles: tuple[str, ...]) -> bool:
    return user.role in roles or user.role == "admin"
