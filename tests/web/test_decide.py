"""Deciding quickly: a finding left open is named beside it (not an error page), "Submit and next"
goes straight to the next item, and no button is shown that the user may not use."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from review.queue import lifecycle as queue
from review.store.db import session_scope
from review.store.models import User

from .conftest import CALL_ID, FINDINGS, WebEnv, seed_call, sign_in, write_wav


def _finding_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="finding-(\d+)"', page)]


def test_submitting_with_a_finding_left_open_marks_it_on_the_call_page(
        make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    alice = make_client()
    token = sign_in(alice, "alice")
    alice.post("/queue/claim-next", data={"csrf_token": token})
    first, second = _finding_ids(alice.get(f"/calls/{CALL_ID}").text)
    alice.post(f"/items/{web_env.item_id}/verdicts", data={
        "csrf_token": token, "finding_id": first, "decision": "confirmed", "reason_code": "clear"})
    refused = alice.post(f"/items/{web_env.item_id}/submit", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 409
    page = refused.text
    assert '<section class="call"' in page and "problem" not in page  # the call page, not an error page
    cards = {int(m.group(1)): m.group(0) for m in re.finditer(r'<article class="finding[^"]*"[^>]*? id="finding-(\d+)"'
                                                               r'.*?</article>', page, re.S)}
    assert "left-open" in cards[second] and "left-open" not in cards[first]
    assert re.search(r'class="open-note" role="alert">Decide this finding', cards[second])
    assert re.search(r'class="open-note" role="alert" hidden>', cards[first])
    with session_scope(web_env.factory) as s:
        assert queue.get_item(s, web_env.item_id).status == "claimed"  # nothing submitted
    # the API keeps its JSON error
    api = alice.post(f"/items/{web_env.item_id}/submit", data={"csrf_token": token},
                     headers={"accept": "application/json"})
    assert api.status_code == 409 and "cannot be submitted yet" in api.json()["detail"]
    # in Chinese too
    zh = alice.post(f"/items/{web_env.item_id}/submit", data={"csrf_token": token},
                    headers={"accept-language": "zh-CN"}, follow_redirects=False)
    assert zh.status_code == 409 and "提交前请先判断此问题" in zh.text


def test_submit_and_next_opens_the_next_item(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    with session_scope(web_env.factory) as s:
        wav = write_wav(web_env.wav.with_name("next.wav"), variant=7)
        seed_call(s, wav, "call-0007", agent_id="B2", team="team-a", findings=[FINDINGS[0]])
    alice = make_client()
    token = sign_in(alice, "alice")
    claimed = alice.post("/queue/claim-next", data={"csrf_token": token}, follow_redirects=False)
    call_id = claimed.headers["location"].rsplit("/", 1)[1]
    page = alice.get(f"/calls/{call_id}").text
    assert 'id="submit-next" name="then" value="next"' in page
    found = re.search(r'data-item="(\d+)"', page)
    assert found is not None
    item_id = int(found.group(1))
    for fid in _finding_ids(page):
        alice.post(f"/items/{item_id}/verdicts", data={"csrf_token": token, "finding_id": fid,
                                                       "decision": "false_positive", "reason_code": "context"})
    done = alice.post(f"/items/{item_id}/submit", data={"csrf_token": token, "then": "next"}, follow_redirects=False)
    assert done.status_code == 303
    other = "call-0007" if call_id == CALL_ID else CALL_ID
    assert done.headers["location"] == f"/calls/{other}"
    page = alice.get(f"/calls/{other}").text
    assert 'id="submit-review"' in page  # claimed for alice already
    item = re.search(r'data-item="(\d+)"', page)
    assert item is not None
    for fid in _finding_ids(page):
        alice.post(f"/items/{item.group(1)}/verdicts", data={"csrf_token": token, "finding_id": fid,
                                                             "decision": "false_positive", "reason_code": "context"})
    last = alice.post(f"/items/{item.group(1)}/submit", data={"csrf_token": token, "then": "next"},
                      follow_redirects=False)
    assert last.headers["location"] == "/queue?done=1"
    assert "No more items you may claim" in alice.get("/queue?done=1").text


def test_claim_buttons_only_where_a_claim_would_succeed(make_client: Callable[..., TestClient],
                                                         web_env: WebEnv) -> None:
    # agent1 is agent A1, whose call the queue holds: no Claim button on it, though it is open
    agent = make_client()
    sign_in(agent, "agent1")
    page = agent.get("/queue").text
    assert CALL_ID in page and '<button type="submit">Claim</button>' not in page
    alice = make_client()
    sign_in(alice, "alice")
    assert '<button type="submit">Claim</button>' in alice.get("/queue").text
    # compliance reads the queue but claims nothing
    carol = make_client()
    sign_in(carol, "carol")
    page = carol.get("/queue").text
    assert 'id="claim-next"' not in page and '<button type="submit">Claim</button>' not in page
    # at the cap: neither Claim nor Claim next, and a note why
    web_env.settings.queue.max_open_per_reviewer = 1
    with session_scope(web_env.factory) as s:
        wav = write_wav(web_env.wav.with_name("cap.wav"), variant=8)
        seed_call(s, wav, "call-0008", agent_id="B3", findings=[FINDINGS[0]])
        bob = s.query(User).filter_by(username="bob").one()
        queue.claim(s, web_env.item_id, bob)
    b = make_client()
    sign_in(b, "bob")
    page = b.get("/queue").text
    assert 'id="claim-next"' not in page and '<button type="submit">Claim</button>' not in page
    assert "the most one reviewer may hold" in page
