"""The call page's scorecard panel: answer reviewer items, adjust with a reason, only as one may decide."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from review.store.db import session_scope
from review.store.models import AuditEvent

from .conftest import CALL_ID, WebEnv, sign_in


def _item_html(page: str, score_item: str) -> str:
    match = re.search(rf'<li class="score-item[^"]*" id="score-{score_item}".*?</li>', page, re.S)
    assert match, f"no scorecard item {score_item} on the page"
    return match.group(0)


def test_reviewer_answers_and_adjusts_the_scorecard_and_the_total_follows(
        make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    alice = make_client()
    token = sign_in(alice, "alice")
    alice.post("/queue/claim-next", data={"csrf_token": token})
    page = alice.get(f"/calls/{CALL_ID}").text
    assert 'id="scorecard" data-pack="cn-collection"' in page
    assert "Opening" in page and "Confirmed the repayment arrangement (amount, date, channel)" in page
    assert "provisional: some items are still open" in page  # findings undecided, reviewer items unanswered
    assert 'value="pass"' in _item_html(page, "arrangement_confirmed")  # pass / fail / n.a. buttons
    url = f"/items/{web_env.item_id}/scorecard"
    answered = alice.post(url, data={"csrf_token": token, "score_item": "arrangement_confirmed", "value": "fail"},
                          follow_redirects=False)
    assert answered.status_code == 303 and answered.headers["location"].endswith("#score-arrangement_confirmed")
    # adjusting a rule-tied item without a reason: a clear 400, nothing stored
    refused = alice.post(url, data={"csrf_token": token, "score_item": "calm_tone", "value": "fail", "reason": " "})
    assert refused.status_code == 400 and "adjusting it needs a reason" in refused.text
    alice.post(url, data={"csrf_token": token, "score_item": "calm_tone", "value": "fail",
                          "reason": "raised voice at 0:05"})
    # confirming the third-party disclosure finding fails the critical no_disclosure item
    finding = int(re.findall(r'id="finding-(\d+)"', page)[0])
    alice.post(f"/items/{web_env.item_id}/verdicts", data={"csrf_token": token, "finding_id": finding,
                                                           "decision": "confirmed", "reason_code": "clear"})
    page = alice.get(f"/calls/{CALL_ID}").text
    arrangement = _item_html(page, "arrangement_confirmed")
    assert 'data-state="fail"' in arrangement and "reviewer&#39;s answer" in arrangement and "alice" in arrangement
    calm = _item_html(page, "calm_tone")
    assert 'data-state="fail"' in calm and "adjusted" in calm and "(was pass)" in calm
    assert "<q>raised voice at 0:05</q>" in calm and "Undo adjustment" in calm
    disclosure = _item_html(page, "no_disclosure")
    assert 'data-state="fail"' in disclosure and f'href="#finding-{finding}"' in disclosure
    assert 'id="score-result">not passed<' in page  # a critical item failed
    with session_scope(web_env.factory) as s:
        events = s.execute(select(AuditEvent).where(AuditEvent.kind == "scorecard_answer")
                           .order_by(AuditEvent.seq)).scalars().all()
        assert [(e.actor, e.payload["score_item"], e.payload["value"]) for e in events] == [
            ("alice", "arrangement_confirmed", "fail"), ("alice", "calm_tone", "fail")]
    # undoing the adjustment scores the item from the findings again
    alice.post(url, data={"csrf_token": token, "score_item": "calm_tone", "value": "clear"})
    assert 'data-state="pass"' in _item_html(alice.get(f"/calls/{CALL_ID}").text, "calm_tone")


def test_only_the_reviewer_holding_the_item_may_change_its_scorecard(
        make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    alice = make_client()
    token = sign_in(alice, "alice")
    alice.post("/queue/claim-next", data={"csrf_token": token})
    sam = make_client()
    sam_token = sign_in(sam, "sam")
    page = sam.get(f"/calls/{CALL_ID}").text  # a supervisor sees the scorecard, without controls
    assert 'id="scorecard"' in page and 'class="score-form' not in page
    refused = sam.post(f"/items/{web_env.item_id}/scorecard",
                       data={"csrf_token": sam_token, "score_item": "purpose", "value": "pass"})
    assert refused.status_code == 403 and "may not change the scorecard" in refused.text
    agent = make_client()
    agent_token = sign_in(agent, "agent1")  # the call's own agent
    assert agent.post(f"/items/{web_env.item_id}/scorecard", data={
        "csrf_token": agent_token, "score_item": "purpose", "value": "pass"}).status_code == 403
    unknown = alice.post(f"/items/{web_env.item_id}/scorecard",
                         data={"csrf_token": token, "score_item": "nope", "value": "pass"})
    assert unknown.status_code == 400 and "no item &#39;nope&#39;" in unknown.text


def test_the_panel_in_chinese(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    alice = make_client()
    token = sign_in(alice, "alice")
    alice.post("/queue/claim-next", data={"csrf_token": token})
    page = alice.get(f"/calls/{CALL_ID}", headers={"accept-language": "zh-CN"}).text  # no stored choice: the browser's
    assert "评分表" in page and "开场" in page and "确认还款安排（金额、日期、渠道）" in page
    assert "调整" in _item_html(page, "calm_tone") and "不适用" in _item_html(page, "purpose")
