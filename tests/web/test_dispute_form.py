"""The supervisor's dispute form: only the findings the two reviewers disagree on, by the pack's title, each
with both reviewers' verdicts and comments, and a comment per finding stored with the decision and audited."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from review.store.db import session_scope
from review.store.models import AuditEvent, ReviewItem, Verdict

from .conftest import FindingSpec, WebEnv, seed_call, sign_in, write_wav

CALL = "call-d1"
FINDINGS = [
    FindingSpec("cn.legal.false_consequence", "false_legal_consequence", "critical", 0, 0.5, 2.5, "不然我告诉你家人"),
    FindingSpec("cn.threat.violence", "threat_violence", "critical", 2, 5.0, 6.5, "让你坐牢"),
    FindingSpec("cn.disclosure.third_party", "third_party_disclosure", "major", 1, 2.8, 4.6, "我的电话"),
]


def _decide(client: TestClient, csrf: str, item_id: int, ids: dict[str, int],
            verdicts: dict[str, tuple[str, str, str]]) -> None:
    for rule, (decision, reason, comment) in verdicts.items():
        response = client.post(f"/items/{item_id}/verdicts", data={
            "csrf_token": csrf, "finding_id": ids[rule], "decision": decision, "reason_code": reason,
            "comment": comment})
        assert response.status_code in (200, 303), response.text
    assert client.post(f"/items/{item_id}/submit", data={"csrf_token": csrf}).status_code in (200, 303)


def _disputed_item(make_client: Callable[..., TestClient], env: WebEnv) -> tuple[int, dict[str, int]]:
    """Alice confirms both critical findings; Bob agrees on the threat and disputes the legal one."""
    with session_scope(env.factory) as session:
        item_id = seed_call(session, write_wav(env.wav.with_name("dispute.wav"), variant=21), CALL,
                            findings=FINDINGS)
    alice, bob = make_client(), make_client()
    a, b = sign_in(alice, "alice"), sign_in(bob, "bob")
    alice.post(f"/items/{item_id}/claim", data={"csrf_token": a})
    ids = {f["rule_id"]: f["id"] for f in alice.get(f"/api/calls/{CALL}").json()["findings"]}
    _decide(alice, a, item_id, ids, {
        "cn.legal.false_consequence": ("confirmed", "clear", "says prison for the family"),
        "cn.threat.violence": ("confirmed", "clear", "a plain threat"),
        "cn.disclosure.third_party": ("false_positive", "wrong_speaker", "")})
    bob.post(f"/items/{item_id}/claim", data={"csrf_token": b})
    _decide(bob, b, item_id, ids, {
        "cn.legal.false_consequence": ("false_positive", "asr_error", "misheard: 家人 not 起诉"),
        "cn.threat.violence": ("confirmed", "", "agree")})
    with session_scope(env.factory) as session:
        assert session.get(ReviewItem, item_id).status == "disputed"  # type: ignore[union-attr]
    return item_id, ids


def test_the_form_lists_only_the_disputed_findings_with_both_verdicts(
        make_client: Callable[..., TestClient], web_env_any: WebEnv) -> None:
    item_id, ids = _disputed_item(make_client, web_env_any)
    sam = make_client()
    sign_in(sam, "sam")
    page = sam.get(f"/calls/{CALL}").text
    form = page.split('class="decide-form"', 1)[1].split("</form>", 1)[0]
    legal, threat = ids["cn.legal.false_consequence"], ids["cn.threat.violence"]
    assert form.count('<fieldset class="disputed"') == 1 and f'data-finding="{legal}"' in form
    assert f"decision_{threat}" not in form and f"decision_{ids['cn.disclosure.third_party']}" not in form
    # by the pack's title (the rule id only beside it), with each reviewer's verdict, reason and comment
    assert "虚构或夸大法律后果" in form and "暴力或人身威胁" not in form
    first = re.search(r'data-stage="first">(.*?)</dd>', form, re.S)
    second = re.search(r'data-stage="second">(.*?)</dd>', form, re.S)
    assert first and "confirmed" in first.group(1) and "alice" in first.group(1)
    assert "says prison for the family" in first.group(1) and "clear violation" in first.group(1)
    assert second and "false positive" in second.group(1) and "bob" in second.group(1)
    assert "misheard: 家人 not 起诉" in second.group(1) and "transcription error" in second.group(1)
    assert f'name="comment_{legal}"' in form and 'name="comment"' not in form


def test_per_finding_comments_are_stored_and_audited(make_client: Callable[..., TestClient],
                                                     web_env_any: WebEnv) -> None:
    item_id, ids = _disputed_item(make_client, web_env_any)
    legal = ids["cn.legal.false_consequence"]
    sam = make_client()
    s = sign_in(sam, "sam")
    response = sam.post(f"/items/{item_id}/decide", data={
        "csrf_token": s, f"decision_{legal}": "false_positive", f"comment_{legal}": "the recording says 家人"},
        follow_redirects=False)
    assert response.status_code == 303, response.text
    with session_scope(web_env_any.factory) as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None and (item.status, item.outcome) == ("final", "violation")  # the agreed threat stands
        rows = session.execute(select(Verdict).where(Verdict.item_id == item_id, Verdict.stage == "supervisor"))
        assert [(v.finding_id, v.decision, v.comment) for v in rows.scalars()] == [
            (legal, "false_positive", "the recording says 家人")]
        events = list(session.execute(select(AuditEvent).where(AuditEvent.call_id == CALL)
                                      .order_by(AuditEvent.seq)).scalars())
    decision = [e for e in events if e.kind == "supervisor_decision"]
    assert len(decision) == 1 and decision[0].actor == "sam"
    assert decision[0].payload["decisions"] == {str(legal): "false_positive"}
    assert decision[0].payload["comments"] == {str(legal): "the recording says 家人"}
    verdict = [e for e in events if e.kind == "verdict" and e.payload.get("stage") == "supervisor"]
    assert [(e.payload["finding_id"], e.payload["comment"]) for e in verdict] == [(legal, "the recording says 家人")]
    # the page shows the supervisor's comment beside that finding afterwards
    card = sam.get(f"/calls/{CALL}").text.split(f'id="finding-{legal}"', 1)[1].split("</article>", 1)[0]
    assert "the recording says 家人" in card


def test_a_decision_must_cover_every_disputed_finding(make_client: Callable[..., TestClient],
                                                      web_env: WebEnv) -> None:
    item_id, ids = _disputed_item(make_client, web_env)
    sam = make_client()
    s = sign_in(sam, "sam")
    # only the agreed finding: refused, nothing stored
    response = sam.post(f"/items/{item_id}/decide", data={
        "csrf_token": s, f"decision_{ids['cn.threat.violence']}": "false_positive"}, follow_redirects=False)
    assert response.status_code == 409
    with session_scope(web_env.factory) as session:
        assert session.get(ReviewItem, item_id).status == "disputed"  # type: ignore[union-attr]
        assert session.execute(select(Verdict).where(Verdict.stage == "supervisor")).first() is None
