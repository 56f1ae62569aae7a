"""Queue, call page, verdicts, second review, appeal and ruling through the pages and the JSON API."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from review.store.db import session_scope
from review.store.models import AuditEvent, ReviewItem

from .conftest import CALL_ID, FINDINGS, WebEnv, seed_call, sign_in, write_wav


def _finding_ids(client: TestClient) -> dict[str, int]:
    data = client.get(f"/api/calls/{CALL_ID}").json()
    return {f["rule_id"]: f["id"] for f in data["findings"]}


def test_queue_filters_and_counts(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    with session_scope(web_env.factory) as session:
        wav = write_wav(web_env.wav.with_name("other.wav"), variant=1)
        seed_call(session, wav, "call-0002", agent_id="B7", team="team-b",
                  findings=[FINDINGS[0]])  # major only
    client = make_client()
    sign_in(client, "alice")
    page = client.get("/queue").text
    assert 'data-status="open">2<' in page
    assert page.index("call-0001") < page.index("call-0002")  # the critical call comes first
    only_b = client.get("/queue", params={"team": "team-b"}).text
    assert "call-0002" in only_b and "call-0001" not in only_b
    critical = client.get("/queue", params={"severity": "critical"}).text
    assert "call-0001" in critical and "call-0002" not in critical
    by_rule = client.get("/queue", params={"rule": "cn.threat.prison"}).text
    assert "call-0001" in by_rule and "call-0002" not in by_rule
    # the date filter is the day the item entered the queue: today for both
    today = datetime.now(UTC).date()
    tomorrow, yesterday = (today + timedelta(days=1)).isoformat(), (today - timedelta(days=1)).isoformat()
    assert "Nothing here" in client.get("/queue", params={"date_from": tomorrow}).text
    assert "Nothing here" in client.get("/queue", params={"date_to": yesterday}).text
    same_day = client.get("/queue", params={"date_from": today.isoformat(), "date_to": today.isoformat()}).text
    assert "call-0001" in same_day and "call-0002" in same_day
    assert "Nothing here" in client.get("/queue", params={"overdue": "true"}).text
    api = client.get("/api/queue", params={"agent": "B7"}).json()
    assert api["total"] == 1 and api["items"][0]["call_id"] == "call-0002"


def test_call_page_shows_conversation_findings_and_masks_numbers(
        make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    client = make_client()
    sign_in(client, "sam")
    html = client.get(f"/calls/{CALL_ID}").text
    # two roles, findings highlighted in place, the unsure line marked "listen"
    assert html.count('class="line role-agent') == 2 and html.count('class="line role-customer') == 2
    ids = _finding_ids(client)
    assert f'<mark class="hit" data-findings="{ids["cn.threat.prison"]}">让你坐牢</mark>' in html
    assert f'<mark class="hit" data-findings="{ids["cn.third_party.family"]}">不然我告诉你家人</mark>' in html
    assert len(re.findall(r'class="listen seek" data-start="2.8"', html)) == 1
    # the phone number spoken as Chinese numerals and the metadata number are masked
    assert "一三八一二三四" not in html and "*******五六七八" in html
    assert "13812345678" not in html and "*******5678" in html
    api = client.get(f"/api/calls/{CALL_ID}").json()
    assert "13812345678" not in str(api) and "一三八一二三四" not in str(api)


def test_compliance_unmasks_one_call_and_it_is_audited(make_client: Callable[..., TestClient],
                                                       web_env: WebEnv) -> None:
    client = make_client()
    token = sign_in(client, "carol")
    assert "一三八一二三四五六七八" not in client.get(f"/calls/{CALL_ID}").text
    assert client.post(f"/calls/{CALL_ID}/unmask", data={"csrf_token": token, "reason": "  "}).status_code == 400
    response = client.post(f"/calls/{CALL_ID}/unmask", data={"csrf_token": token, "reason": "court request 42"},
                           follow_redirects=False)
    assert response.status_code == 303
    html = client.get(f"/calls/{CALL_ID}").text
    assert "一三八一二三四五六七八" in html and "13812345678" in html
    with session_scope(web_env.factory) as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.kind == "pii_unmask")).scalar_one()
        assert event.actor == "carol" and event.call_id == CALL_ID
        assert event.payload["reason"] == "court request 42"
    # the unmasking belongs to that session only
    other = make_client()
    sign_in(other, "sam")
    assert "一三八一二三四五六七八" not in other.get(f"/calls/{CALL_ID}").text


def test_full_workflow_through_forms_and_api(make_client: Callable[..., TestClient], web_env_any: WebEnv) -> None:
    env = web_env_any
    alice = make_client(env)
    token = sign_in(alice, "alice")
    claimed = alice.post("/queue/claim-next", data={"csrf_token": token}, follow_redirects=False)
    assert claimed.headers["location"] == f"/calls/{CALL_ID}"
    page = alice.get(f"/calls/{CALL_ID}").text
    assert page.count('class="verdict-form"') == 2 and 'id="submit-review"' in page
    ids = _finding_ids(alice)
    # a false positive without a reason is refused with a message
    refused = alice.post(f"/items/{env.item_id}/verdicts", headers={"accept": "application/json"},
                         data={"csrf_token": token, "finding_id": ids["cn.third_party.family"],
                               "decision": "false_positive"})
    assert refused.status_code == 409 and "needs a reason code" in refused.json()["detail"]
    alice.post(f"/items/{env.item_id}/verdicts", data={
        "csrf_token": token, "finding_id": ids["cn.third_party.family"], "decision": "false_positive",
        "reason_code": "context", "comment": "said as advice"})
    saved = alice.post(f"/items/{env.item_id}/verdicts", headers={"x-requested-with": "fetch"}, data={
        "csrf_token": token, "finding_id": ids["cn.threat.prison"], "decision": "confirmed", "reason_code": "clear"})
    assert saved.json() == {"ok": True, "next": f"/calls/{CALL_ID}#finding-{ids['cn.threat.prison']}",
                            "finding_id": ids["cn.threat.prison"], "decision": "confirmed", "stage": "first"}
    alice.post(f"/items/{env.item_id}/submit", data={"csrf_token": token})
    page = alice.get(f"/calls/{CALL_ID}").text
    assert "second review pending" in page and "said as advice" in page
    # the second reviewer, through the JSON API
    bob = make_client(env)
    bob_token = sign_in(bob, "bob")
    item = bob.post("/api/queue/claim-next", headers={"X-CSRF-Token": bob_token}).json()
    assert item["stage"] == "second" and item["call_id"] == CALL_ID
    assert "second review in progress" in bob.get(f"/calls/{CALL_ID}").text
    r = bob.post(f"/api/items/{env.item_id}/verdicts", headers={"X-CSRF-Token": bob_token},
                 json={"finding_id": ids["cn.threat.prison"], "decision": "confirmed", "reason_code": "clear"})
    assert r.status_code == 200, r.text
    final = bob.post(f"/api/items/{env.item_id}/submit", headers={"X-CSRF-Token": bob_token}).json()
    assert final["status"] == "final" and final["outcome"] == "violation"
    # the team lead appeals; the supervisor overturns from the supervisor view
    lee = make_client(env)
    lee_token = sign_in(lee, "lee")
    assert "Appeal this outcome" in lee.get(f"/calls/{CALL_ID}").text
    lee.post(f"/items/{env.item_id}/appeal", data={"csrf_token": lee_token, "reason": "customer laughed, joke"})
    sam = make_client(env)
    sam_token = sign_in(sam, "sam")
    appeals = sam.get("/supervisor", params={"tab": "appeals"}).text
    appeal_id = int(re.search(r'data-appeal="(\d+)"', appeals).group(1))  # type: ignore[union-attr]
    assert "customer laughed, joke" in appeals
    ruled = sam.post(f"/appeals/{appeal_id}/rule", data={
        "csrf_token": sam_token, "ruling": "overturned", "comment": "banter", "return_to": "/supervisor?tab=appeals"},
        follow_redirects=False)
    assert ruled.headers["location"] == "/supervisor?tab=appeals"
    assert "No appeal waits" in sam.get("/supervisor", params={"tab": "appeals"}).text
    page = sam.get(f"/calls/{CALL_ID}").text
    assert "Ruling: <strong>overturned</strong>" in page and "no violation" in page
    with session_scope(env.factory) as session:
        row = session.execute(select(ReviewItem).where(ReviewItem.call_id == CALL_ID)).scalar_one()
        assert (row.status, row.outcome) == ("final", "no_violation")
    for tab, text in [("agents", "A1"), ("rules", "cn.threat.prison"), ("second", "Nothing here"),
                      ("overdue", "Nothing here")]:
        assert text in sam.get("/supervisor", params={"tab": tab}).text, tab
    rules = sam.get("/supervisor", params={"tab": "rules"}).text
    assert re.search(r"cn\.threat\.prison</a></td><td>1</td><td>1</td><td>0</td>", rules)


def test_disagreement_goes_to_a_supervisor(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    alice, bob, sam = make_client(), make_client(), make_client()
    a, b, s = sign_in(alice, "alice"), sign_in(bob, "bob"), sign_in(sam, "sam")
    alice.post("/queue/claim-next", data={"csrf_token": a})
    ids = _finding_ids(alice)
    for rule, decision in (("cn.third_party.family", "confirmed"), ("cn.threat.prison", "confirmed")):
        alice.post(f"/items/{web_env.item_id}/verdicts",
                   data={"csrf_token": a, "finding_id": ids[rule], "decision": decision})
    alice.post(f"/items/{web_env.item_id}/submit", data={"csrf_token": a})
    bob.post("/queue/claim-next", data={"csrf_token": b})
    page = bob.get(f"/calls/{CALL_ID}").text
    assert page.count('class="verdict-form"') == 1  # only the critical finding needs a second look
    bob.post(f"/items/{web_env.item_id}/verdicts", data={
        "csrf_token": b, "finding_id": ids["cn.threat.prison"], "decision": "false_positive",
        "reason_code": "asr_error"})
    bob.post(f"/items/{web_env.item_id}/submit", data={"csrf_token": b})
    listing = sam.get("/supervisor").text
    assert CALL_ID in listing and "disagreement" in listing
    page = sam.get(f"/calls/{CALL_ID}").text
    assert "reviewers disagree" in page and f'name="decision_{ids["cn.threat.prison"]}"' in page
    sam.post(f"/items/{web_env.item_id}/decide",
             data={"csrf_token": s, f"decision_{ids['cn.threat.prison']}": "confirmed", "comment": "heard it"})
    assert sam.get(f"/api/calls/{CALL_ID}").json()["item"]["outcome"] == "violation"


def test_openapi_document(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    sign_in(client, "alice")
    doc = client.get("/api/openapi.json").json()
    assert doc["info"]["title"] == "callqa review API"
    for path in ("/api/queue", "/api/queue/claim-next", "/api/calls/{call_id}", "/api/items/{item_id}/verdicts",
                 "/api/appeals/{appeal_id}/ruling", "/calls/{call_id}/audio"):
        assert path in doc["paths"], path
    assert "/login" not in doc["paths"]


def test_sampled_call_is_judged_as_a_whole(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    import hashlib

    from review.calls import repo
    from review.queue import lifecycle as queue

    from .conftest import transcript_document

    wav = write_wav(web_env.wav.with_name("sample.wav"), variant=2)
    with session_scope(web_env.factory) as session:
        repo.register_call(session, call_id="call-s1", recording_sha256=hashlib.sha256(wav.read_bytes()).hexdigest(),
                           recording_path=str(wav), duration_s=8.0, metadata={"agent_id": "C3", "team": "team-c"})
        repo.save_transcript(session, "call-s1", "faster-whisper:base:int8",
                             transcript_document("call-s1", [("agent", 0.5, 2.0, "您好", False)]), None)
        item, _ = queue.enqueue(session, "call-s1", "sample")
        item_id = item.id
        session.execute(ReviewItem.__table__.update().where(ReviewItem.id == web_env.item_id)
                        .values(status="final", outcome="no_violation"))  # only the sample is open
    client = make_client()
    token = sign_in(client, "bob")
    assert client.post("/queue/claim-next", data={"csrf_token": token},
                       follow_redirects=False).headers["location"] == "/calls/call-s1"
    page = client.get("/calls/call-s1").text
    assert "Compliance sample" in page and 'value="clean"' in page
    refused = client.post(f"/items/{item_id}/verdicts", headers={"accept": "application/json"},
                          data={"csrf_token": token, "decision": "violation"})
    assert refused.status_code == 409 and "needs the category" in refused.json()["detail"]
    client.post(f"/items/{item_id}/verdicts", data={"csrf_token": token, "decision": "clean", "comment": "polite"})
    client.post(f"/items/{item_id}/submit", data={"csrf_token": token})
    data = client.get("/api/calls/call-s1").json()
    assert data["item"]["status"] == "final" and data["item"]["outcome"] == "no_violation"
    assert data["sample_verdicts"][0]["decision"] == "clean"
