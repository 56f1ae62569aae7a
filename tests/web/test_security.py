"""Sign-in, roles, CSRF, path traversal, script injection: what an attacker or a curious user would try."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from review.queue import lifecycle as queue
from review.store.db import session_scope
from review.store.models import User

from .conftest import CALL_ID, SCRIPT, WebEnv, csrf_of, sign_in

PAGES = ["/queue", f"/calls/{CALL_ID}", "/supervisor", f"/calls/{CALL_ID}/audio", f"/calls/{CALL_ID}/picture.png"]
API = ["/api/me", "/api/queue", f"/api/calls/{CALL_ID}", "/api/stats", "/api/openapi.json"]


def test_nothing_without_sign_in(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    for path in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    for path in API:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"] == "sign in required"
    assert client.post("/api/queue/claim-next").status_code == 401
    # a forged cookie is no session
    client.cookies.set("callqa_session", "eyJ1aWQiOjF9.forged.sig")
    assert client.get("/api/me").status_code == 401


def test_wrong_password_and_throttle(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    web_env.settings.web.signin_max_failures = 3
    client = make_client()
    token = csrf_of(client.get("/login").text)
    for _ in range(3):
        response = client.post("/login", data={"username": "alice", "password": "wrong password!",
                                               "csrf_token": token})
        assert response.status_code == 401
        assert "wrong user name or password" in response.text
    # even the right password is refused while the limit holds
    response = client.post("/login", data={"username": "alice", "password": "correct horse battery",
                                           "csrf_token": token})
    assert response.status_code == 429
    assert "too many failed sign-ins" in response.text
    # another user from another address still signs in (the limit is per name and per address)
    other = make_client()
    sign_in(other, "bob")


def test_session_cookie_is_httponly_samesite_and_ends_with_password_change(
        make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    client = make_client()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "alice", "password": "correct horse battery",
                                           "csrf_token": token}, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/me").json()["username"] == "alice"
    from review.accounts import users as accounts

    with session_scope(web_env.factory) as session:
        accounts.set_password(session, "alice", "a brand new password")
    assert client.get("/api/me").status_code == 401


def test_csrf_token_required(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    # the sign-in form itself needs the token
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 403
    token = sign_in(client, "alice")
    assert client.post("/queue/claim-next", follow_redirects=False).status_code == 403
    assert client.post("/queue/claim-next", data={"csrf_token": "not-the-token"}).status_code == 403
    assert client.post("/api/queue/claim-next").status_code == 403
    assert client.post("/api/queue/claim-next", headers={"X-CSRF-Token": "nope"}).status_code == 403
    response = client.post("/api/queue/claim-next", headers={"X-CSRF-Token": token})
    assert response.status_code == 200 and response.json()["call_id"] == CALL_ID


def test_roles(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    alice = make_client()
    token = sign_in(alice, "alice")
    # a reviewer has no supervisor views, and cannot see a call they have not claimed
    assert alice.get("/supervisor").status_code == 403
    assert alice.get("/api/stats").status_code == 403
    assert alice.get(f"/calls/{CALL_ID}").status_code == 403
    assert alice.get(f"/calls/{CALL_ID}/audio").status_code == 403
    # a reviewer cannot rule on appeals or unmask personal data
    assert alice.post("/appeals/1/rule", data={"csrf_token": token, "ruling": "upheld"}).status_code == 403
    assert alice.post(f"/calls/{CALL_ID}/unmask", data={"csrf_token": token, "reason": "x"}).status_code == 403
    # the agent of the call never gets it, not even by claiming it directly
    agent = make_client()
    agent_token = sign_in(agent, "agent1")
    response = agent.post(f"/api/items/{web_env.item_id}/claim", headers={"X-CSRF-Token": agent_token})
    assert response.status_code == 403 and "own calls" in response.json()["detail"]
    assert agent.get(f"/calls/{CALL_ID}/audio").status_code == 403
    # once claimed, the call is alice's to see
    assert alice.post("/queue/claim-next", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert alice.get(f"/calls/{CALL_ID}").status_code == 200
    sam = make_client()
    sign_in(sam, "sam")
    assert sam.get("/supervisor").status_code == 200
    assert sam.get(f"/calls/{CALL_ID}").status_code == 200


def test_path_traversal_gets_nothing(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    client = make_client()
    sign_in(client, "sam")
    secret = web_env.settings.home / "secret_key"
    assert secret.exists()
    attempts = ["/calls/..%2F..%2F..%2Fetc%2Fpasswd/audio", "/calls/%2Fetc%2Fpasswd/audio",
                "/calls/../../secret_key/audio", f"/calls/{CALL_ID}%00/audio",
                "/static/..%2F..%2Fsecurity.py", "/static/../app.py", "/calls/....//....//etc/passwd/audio",
                f"/calls/{CALL_ID}/audio?path=/etc/passwd"]
    for path in attempts:
        response = client.get(path)
        body = response.content
        assert b"root:" not in body and secret.read_bytes() not in body and b"import " not in body, path
        if "?path=" in path:
            assert response.status_code == 200 and body == web_env.wav.read_bytes()  # the query is ignored
        else:
            assert response.status_code in (404, 405), (path, response.status_code)


def test_transcript_text_is_escaped(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    client = make_client()
    sign_in(client, "sam")
    html = client.get(f"/calls/{CALL_ID}").text
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    # the page allows only its own scripts, so even a slip could not run inline code
    csp = client.get(f"/calls/{CALL_ID}").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_errors_are_pages_or_json_never_tracebacks(make_client: Callable[..., TestClient],
                                                   web_env: WebEnv) -> None:
    client = make_client()
    token = sign_in(client, "alice")
    page = client.get("/calls/no-such-call")
    assert page.status_code == 404 and "<h1>404" in page.text and "Traceback" not in page.text
    api = client.post("/api/items/999999/submit", headers={"X-CSRF-Token": token})
    assert api.status_code == 404 and "review item 999999 does not exist" in api.json()["detail"]
    bad = client.post("/api/items/abc/verdicts", headers={"X-CSRF-Token": token}, json={"decision": "maybe"})
    assert bad.status_code == 422 and "Traceback" not in bad.text
    # a conflict from the workflow is a 409 that says what to do
    with session_scope(web_env.factory) as session:
        bob = session.execute(select(User).where(User.username == "bob")).scalar_one()
        queue.claim(session, web_env.item_id, bob)
    taken = client.post(f"/api/items/{web_env.item_id}/claim", headers={"X-CSRF-Token": token})
    assert taken.status_code == 409 and "claimed by another reviewer" in taken.json()["detail"]


def test_open_redirect_refused(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "alice", "password": "correct horse battery",
                                           "csrf_token": token, "next": "//evil.example/x"},
                           follow_redirects=False)
    assert response.headers["location"] == "/queue"
