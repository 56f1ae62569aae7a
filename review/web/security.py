"""The session cookie, CSRF tokens, role checks and the client address of the review UI.

The cookie is signed (itsdangerous) and holds the CSRF token every form and every
state-changing API call must echo and, once signed in, a random session token; the
session itself lives in the database (review.accounts.sessions), so ending it there ends it.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
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


@dataclass
class SessionData:
    """What the cookie carries: the CSRF token, and once signed in the session token (review.accounts.sessions)."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token: str | None = None
    fresh: bool = False  # not from a valid cookie: the response must set one

    def to_dict(self) -> dict[str, Any]:
        return {"csrf": self.csrf, "sid": self.token}

    @classmethod
    def from_dict(cls, data: Any) -> SessionData:
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return cls(fresh=True)
        token = data.get("sid")
        return cls(csrf=data["csrf"], token=token if isinstance(token, str) else None)


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


LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def cookies_secure(setting: object, host: str) -> bool:
    """``web.secure_cookies``: true, false, or auto (Secure unless the server listens on loopback only)."""
    value = str(setting).strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    return host not in LOCAL_HOSTS


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The client's address: the peer, or, when the peer is a trusted proxy, the nearest untrusted
    address of X-Forwarded-For (read right to left, so a client cannot choose its own address)."""
    peer = request.client.host if request.client else "unknown"
    networks = [_network(p) for p in trusted_proxies]
    if not networks or not _within(peer, networks):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _within(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(value.strip(), strict=False)


def _within(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def has_role(user: User, roles: tuple[str, ...]) -> bool:
    return user.role in roles or user.role == "admin"
