"""Server-side sessions (sign-out, password change, revoke, timeouts, the admin's list) and sign-in
throttling kept in the database (per account, per address, Retry-After, trusted proxies)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from review.accounts import users as accounts
from review.store.db import session_scope
from review.store.models import AuditEvent, SigninFailure, WebSession
from review.web import create_app

from .conftest import PASSWORD, WebEnv, csrf_of, sign_in


@pytest.fixture
def client_at(web_env: WebEnv) -> Iterator[Callable[..., TestClient]]:
    """A client coming from a given address, each on its own app (like separate web processes)."""
    made: list[TestClient] = []

    def make(address: str = "10.0.0.1") -> TestClient:
        client = TestClient(create_app(web_env.settings, session_factory=web_env.factory),
                            raise_server_exceptions=False, client=(address, 40000))
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


def _try(client: TestClient, username: str, password: str) -> int:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False).status_code


def test_a_cookie_copied_before_sign_out_is_worth_nothing_after(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    token = sign_in(client, "alice")
    copied = dict(client.cookies)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    thief = make_client()
    for name, value in copied.items():
        thief.cookies.set(name, value)
    assert thief.get("/api/me").status_code == 401
    assert client.get("/api/me").status_code == 401


def test_password_change_deactivation_and_revoke_end_sessions(make_client: Callable[..., TestClient],
                                                              web_env: WebEnv) -> None:
    with session_scope(web_env.factory) as session:
        accounts.add_user(session, "ada", PASSWORD, "admin")
    alice, bob, carol = make_client(), make_client(), make_client()
    for client, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        sign_in(client, name)
    with session_scope(web_env.factory) as session:
        accounts.set_password(session, "alice", "a brand new password")
        accounts.set_active(session, "carol", False)
    assert alice.get("/api/me").status_code == 401 and carol.get("/api/me").status_code == 401
    assert bob.get("/api/me").status_code == 200

    admin = make_client()
    token = sign_in(admin, "ada")
    page = admin.get("/admin/sessions")
    assert page.status_code == 200 and 'data-session-user="bob"' in page.text
    assert 'data-session-user="alice"' not in page.text  # ended sessions are not listed
    assert page.headers["cache-control"] == "no-store"
    revoked = admin.post("/admin/users/bob/revoke", data={"csrf_token": token}, follow_redirects=False)
    assert revoked.status_code == 303
    assert bob.get("/api/me").status_code == 401
    assert 'data-session-user="bob"' not in admin.get("/admin/sessions").text
    with session_scope(web_env.factory) as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.kind == "session_revoked")).scalar_one()
        assert event.actor == "ada" and event.payload == {"user": "bob", "sessions": 1}
    # only an admin sees or revokes sessions
    assert bob.get("/admin/sessions", follow_redirects=False).status_code in (303, 403)
    sign_in(bob, "bob")
    assert bob.get("/admin/sessions").status_code == 403


def test_idle_and_absolute_timeouts(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    web_env.settings.web.session_idle_minutes = 20
    web_env.settings.web.session_hours = 8
    client = make_client()
    sign_in(client, "alice")
    assert client.get("/api/me").status_code == 200
    past = datetime.now(UTC) - timedelta(minutes=21)
    with session_scope(web_env.factory) as session:
        session.execute(update(WebSession).values(last_seen_at=past))
    assert client.get("/api/me").status_code == 401
    with session_scope(web_env.factory) as session:
        assert session.execute(select(WebSession.ended_reason)).scalar_one() == "idle"

    sign_in(client, "alice")
    with session_scope(web_env.factory) as session:
        session.execute(update(WebSession).where(WebSession.ended_at.is_(None))
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert client.get("/api/me").status_code == 401


def test_throttle_is_per_account_with_a_higher_per_address_limit(client_at: Callable[..., TestClient],
                                                                  web_env: WebEnv) -> None:
    web_env.settings.web.signin_max_failures = 3
    web_env.settings.web.signin_max_failures_per_address = 6
    office = client_at("10.0.0.1")
    for _ in range(3):
        assert _try(office, "alice", "wrong password!") == 401
    refused = client_at("10.0.0.1")  # another web process, same database: it agrees
    token = csrf_of(refused.get("/login").text)
    response = refused.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429 and 0 < int(response.headers["retry-after"]) <= 900
    # a colleague behind the same address is not locked out by alice's typos
    assert _try(client_at("10.0.0.1"), "bob", PASSWORD) == 303
    # but one address trying many accounts hits the per-address limit (3 + 3 failures)
    for name in ("sam", "carol", "lee"):
        assert _try(office, name, "wrong password!") == 401
    assert _try(office, "agent1", PASSWORD) == 429
    assert _try(client_at("10.0.0.2"), "agent1", PASSWORD) == 303  # from elsewhere, fine
    with session_scope(web_env.factory) as session:
        keys = set(session.execute(select(SigninFailure.key)).scalars())
    assert {"user:alice", "addr:10.0.0.1"} <= keys


def test_forwarded_for_is_read_only_from_trusted_proxies(client_at: Callable[..., TestClient],
                                                         web_env: WebEnv) -> None:
    web_env.settings.web.signin_max_failures = 100
    web_env.settings.web.signin_max_failures_per_address = 2
    # not trusted: the header is ignored, the failures count against the peer
    direct = client_at("10.0.0.9")
    direct.headers["x-forwarded-for"] = "203.0.113.7"
    for _ in range(2):
        assert _try(direct, "alice", "wrong password!") == 401
    assert _try(client_at("10.0.0.9"), "bob", PASSWORD) == 429

    web_env.settings.web.trusted_proxies = ["192.168.1.0/24"]
    proxied = client_at("192.168.1.5")
    proxied.headers["x-forwarded-for"] = "1.2.3.4, 198.51.100.20"  # the rightmost hop is what the proxy saw
    for _ in range(2):
        assert _try(proxied, "sam", "wrong password!") == 401
    other = client_at("192.168.1.5")
    other.headers["x-forwarded-for"] = "198.51.100.21"
    assert _try(other, "bob", PASSWORD) == 303  # another client behind the same proxy
    with session_scope(web_env.factory) as session:
        keys = set(session.execute(select(SigninFailure.key)).scalars())
    assert "addr:198.51.100.20" in keys and "addr:192.168.1.5" not in keys and "addr:203.0.113.7" not in keys


def test_secure_cookie_setting() -> None:
    from review.web.security import cookies_secure

    assert not cookies_secure("auto", "127.0.0.1") and cookies_secure("auto", "0.0.0.0")
    assert cookies_secure("true", "127.0.0.1") and not cookies_secure("false", "10.0.0.1")
    assert cookies_secure(True, "localhost")


def test_cookie_is_secure_when_served_beyond_loopback(web_env: WebEnv) -> None:
    web_env.settings.web.host = "0.0.0.0"
    client = TestClient(create_app(web_env.settings, session_factory=web_env.factory), base_url="https://testserver")
    page = client.get("/login")
    assert "secure" in page.headers["set-cookie"].lower()
    assert _try(client, "alice", PASSWORD) == 303
    assert client.get("/api/me").status_code == 200


def test_sessions_long_over_are_swept_at_sign_in(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    from review.accounts import sessions

    long_ago = datetime.now(UTC) - timedelta(days=45)
    with session_scope(web_env.factory) as session:
        user = accounts.get_user(session, "bob")
        old = sessions.start(session, user, sessions.Timeouts(timedelta(minutes=30), timedelta(hours=12)),
                             now=long_ago)
    sign_in(make_client(), "alice")
    with session_scope(web_env.factory) as session:
        assert session.get(WebSession, sessions.digest(old)) is None
        assert session.execute(select(WebSession)).scalars().one().ended_at is None
