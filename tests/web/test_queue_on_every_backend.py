"""The queue page filtered by agent on SQLite and PostgreSQL: the agent filter orders rows by expressions
that hide the queue index from SQLite, and those expressions must be valid PostgreSQL as well."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from review.store.db import session_scope

from .conftest import FINDINGS, WebEnv, seed_call, sign_in, write_wav


def test_agent_filtered_queue_in_priority_order(make_client: Callable[..., TestClient],
                                                web_env_any: WebEnv) -> None:
    env = web_env_any
    with session_scope(env.factory) as session:
        # the same agent as call-0001 (A1), with a major finding only: it must come after the critical one
        seed_call(session, write_wav(env.wav.with_name("second.wav"), variant=2), "call-0002",
                  findings=[FINDINGS[0]])
        seed_call(session, write_wav(env.wav.with_name("other.wav"), variant=3), "call-0003",
                  agent_id="B7", team="team-b")
    client = make_client()
    sign_in(client, "alice")
    for path in ("/queue", "/api/queue"):
        response = client.get(path, params={"agent": "A1"})
        assert response.status_code == 200, f"{path}?agent=A1 on {env.factory.kw['bind'].dialect.name}: " \
                                             f"{response.text[:300]}"
    page = client.get("/queue", params={"agent": "A1"}).text
    assert "call-0003" not in page
    assert page.index("call-0001") < page.index("call-0002")  # critical before major
    api = client.get("/api/queue", params={"agent": "A1"}).json()
    assert [i["call_id"] for i in api["items"]] == ["call-0001", "call-0002"]
