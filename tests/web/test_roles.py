"""Roles in the UI: an admin may do what a supervisor may; whoever took part in an item cannot rule on its
appeal (and is not offered the form); the ruling names its supervisor."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from review.accounts import users as accounts
from review.calls.repo import current_findings
from review.queue import lifecycle as queue
from review.store.db import session_scope
from review.store.models import Appeal

from .conftest import CALL_ID, PASSWORD, WebEnv, sign_in


def _disputed(env: WebEnv) -> None:
    """alice confirms the critical finding, sam (supervisor) disagrees in the second review."""
    with session_scope(env.factory) as s:
        alice, sam = accounts.get_user(s, "alice"), accounts.get_user(s, "sam")
        accounts.add_user(s, "ada", PASSWORD, "admin")
        accounts.add_user(s, "sue", PASSWORD, "supervisor")
        queue.claim(s, env.item_id, alice)
        for f in current_findings(s, CALL_ID):
            queue.record_verdict(s, env.item_id, f.id, alice, "confirmed", "", "")
        queue.submit(s, env.item_id, alice)
    with session_scope(env.factory) as s:
        sam = accounts.get_user(s, "sam")
        queue.claim(s, env.item_id, sam)
        queue.second_review(s, env.item_id, sam, agree=False)
        assert queue.get_item(s, env.item_id).status == "disputed"


def test_admin_settles_a_dispute_and_only_an_uninvolved_supervisor_rules_on_the_appeal(
        make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    _disputed(web_env)
    admin = make_client()
    token = sign_in(admin, "ada")
    page = admin.get(f"/calls/{CALL_ID}")
    assert 'class="decide-form"' in page.text  # offered, and it works
    with session_scope(web_env.factory) as s:
        critical = [f.id for f in current_findings(s, CALL_ID) if f.severity == "critical"]
    decided = admin.post(f"/items/{web_env.item_id}/decide", follow_redirects=False,
                         data={"csrf_token": token, **{f"decision_{fid}": "confirmed" for fid in critical}})
    assert decided.status_code == 303, decided.text
    with session_scope(web_env.factory) as s:
        assert queue.get_item(s, web_env.item_id).outcome == "violation"
        appeal = queue.appeal(s, web_env.item_id, accounts.get_user(s, "lee"), "the customer asked to be told")
        appeal_id = appeal.id

    for name in ("sam", "ada"):  # second reviewer, dispute settler: neither is offered the ruling form
        client = make_client()
        token = sign_in(client, name)
        page = client.get(f"/calls/{CALL_ID}")
        assert 'class="rule-form"' not in page.text and "took no part" in page.text, name
        assert "another supervisor rules" in client.get("/supervisor?tab=appeals").text
        refused = client.post(f"/appeals/{appeal_id}/rule", data={"csrf_token": token, "ruling": "overturned"})
        assert refused.status_code == 403, name

    sue = make_client()
    token = sign_in(sue, "sue")
    assert 'class="rule-form"' in sue.get(f"/calls/{CALL_ID}").text
    ruled = sue.post(f"/appeals/{appeal_id}/rule", data={"csrf_token": token, "ruling": "upheld"},
                     follow_redirects=False)
    assert ruled.status_code == 303
    page = sue.get(f"/calls/{CALL_ID}")
    assert 'by supervisor <strong class="ruled-by">sue</strong>' in page.text
    with session_scope(web_env.factory) as s:
        row = s.get(Appeal, appeal_id)
        assert row is not None and row.ruled_by_id == accounts.get_user(s, "sue").id
