"""Blind agreement checks: a drawn share of first reviews is decided again, blind, without holding anything up."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings, load_settings
from callqa.errors import ConfigError, PermissionDeniedError, QueueConflictError
from review.calls.repo import current_findings
from review.queue import agreement
from review.queue import lifecycle as queue
from review.sampling.estimates import estimate
from review.store.models import AuditEvent, Call, ReviewItem, User, Verdict
from review.web.call_view import build_call_view

from .conftest import FakeFinding, ingest

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SALT = "site-salt"


def _first_review(db: Session, item: ReviewItem, user: User, decisions: list[str], *, share: float,
                  now: datetime = T0) -> ReviewItem:
    queue.claim(db, item.id, user, now=now)
    for f, decision in zip(current_findings(db, item.call_id), decisions, strict=True):
        queue.record_verdict(db, item.id, f.id, user, decision, "" if decision == "confirmed" else "context", now=now)
    done = queue.submit(db, item.id, user, now=now, agreement_share=share, agreement_salt=SALT)
    db.commit()
    return done


def _payloads(db: Session, kind: str, item_id: int) -> list[dict[str, Any]]:
    rows = db.execute(select(AuditEvent.payload).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)).scalars()
    return [p for p in rows if p.get("item_id") == item_id]


def test_share_one_sends_every_final_first_review_blind_to_another_reviewer(
        db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem]) -> None:
    item = flagged("c1", "major", "minor", team="T1")
    first, second = make_user("first"), make_user("second")
    lead = make_user("lead", leads_team="T1")
    done = _first_review(db, item, first, ["confirmed", "false_positive"], share=1.0)
    # final at once, with the first reviewer's outcome: the check holds nothing up
    assert (done.status, done.outcome, done.agreement_check) == ("final", "violation", "open")
    assert done.decided_at is not None
    # the draw is in the trail and an auditor with the salt recomputes it
    drawn = _payloads(db, "submitted", item.id)[-1]["agreement_draw"]
    assert drawn == agreement.draw(item.id, 1.0, SALT).audit() and drawn["selected"] is True
    assert SALT not in str(drawn)
    # never back to the first reviewer
    assert queue.claim_next(db, first, now=T0) is None
    with pytest.raises(PermissionDeniedError, match="your own first review"):
        queue.claim(db, item.id, first, now=T0)
    got = queue.claim_next(db, second, now=T0)
    db.commit()
    assert got is not None and got.id == item.id and got.agreement_check == "claimed" and got.status == "final"
    # the web page shows the second reviewer every finding to decide, and neither first verdicts nor outcome
    call = db.get(Call, "c1")
    assert call is not None
    view = build_call_view(db, second, call, got, masked=True)
    assert view.blind and view.can_review and view.stage == "second"
    assert all(f.reviewable and f.verdicts == [] for f in view.findings)
    with pytest.raises(QueueConflictError, match="record your verdicts on finding"):
        queue.submit(db, item.id, second, now=T0)
    # the team lead can appeal while the check is still open: the outcome is final
    queue.appeal(db, item.id, lead, "agent was quoting the customer", now=T0 + timedelta(minutes=5))
    db.commit()
    findings = current_findings(db, "c1")
    for f in findings:  # disagrees on the first finding, agrees on the second
        queue.record_verdict(db, item.id, f.id, second, "false_positive", "context", now=T0)
    after = queue.submit(db, item.id, second, now=T0 + timedelta(minutes=10))
    db.commit()
    assert (after.status, after.outcome, after.agreement_check) == ("appealed", "violation", "done")
    assert after.second_reviewer_id == second.id and after.decided_at == done.decided_at
    seconds = db.execute(select(Verdict).where(Verdict.item_id == item.id, Verdict.stage == "second")).scalars().all()
    assert {v.finding_id for v in seconds} == {f.id for f in findings} and {v.reviewer_id for v in seconds} == {second.id}
    assert _payloads(db, "agreement_check", item.id)[-1]["agreed"] == 1
    assert queue.outcome_of(db, after) == "violation"  # the blind verdicts do not stand
    assert queue.stats(db).agreement_checks == {"done": 1}


def test_share_zero_changes_nothing(db: Session, make_user: Callable[..., User],
                                    flagged: Callable[..., ReviewItem]) -> None:
    item = flagged("c1", "major")
    first, second = make_user("first"), make_user("second")
    done = _first_review(db, item, first, ["confirmed"], share=0.0)
    assert (done.status, done.agreement_check) == ("final", None)
    assert "agreement_draw" not in _payloads(db, "submitted", item.id)[-1]
    assert queue.claim_next(db, second, now=T0) is None
    with pytest.raises(QueueConflictError, match="is final, not open"):
        queue.claim(db, item.id, second, now=T0)


def test_four_eyes_items_and_samples_are_not_drawn(db: Session, make_user: Callable[..., User],
                                                   flagged: Callable[..., ReviewItem]) -> None:
    item = flagged("crit", "critical")
    first = make_user("first")
    done = _first_review(db, item, first, ["confirmed"], share=1.0)
    assert (done.status, done.stage, done.agreement_check) == ("open", "second", None)


def test_blind_checks_come_after_regular_work_and_leases_expire(
        db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem]) -> None:
    checked = flagged("checked", "minor")
    first, second, third = make_user("first"), make_user("second"), make_user("third")
    _first_review(db, checked, first, ["false_positive"], share=1.0)
    flagged("waiting", "minor")
    regular = queue.claim_next(db, second, now=T0)
    assert regular is not None and regular.call_id == "waiting"
    blind = queue.claim_next(db, second, now=T0, lease_seconds=60)
    assert blind is not None and blind.call_id == "checked"
    assert queue.held_by(db, second, T0) == 2
    db.commit()
    with pytest.raises(QueueConflictError, match="blind check of item .* is claimed by another reviewer"):
        queue.claim(db, checked.id, third, now=T0 + timedelta(seconds=30))
    # only blind checks: the open regular item is skipped
    flagged("another", "major")
    assert queue.claim_next(db, third, now=T0 + timedelta(seconds=61), filters={"stage": "agreement"}) is not None
    assert queue.get_item(db, checked.id).assignee_id == third.id
    assert queue.release(db, checked.id, third).agreement_check == "open"


def test_the_draw_is_reproducible_salted_and_takes_about_the_share() -> None:
    picks = [agreement.draw(i, 0.1, SALT).selected for i in range(1, 4001)]
    assert picks == [agreement.draw(i, 0.1, SALT).selected for i in range(1, 4001)]
    assert 0.085 < sum(picks) / len(picks) < 0.115
    assert picks != [agreement.draw(i, 0.1, "other-site").selected for i in range(1, 4001)]
    assert all(agreement.draw(i, 1.0).selected for i in range(200))
    assert not any(agreement.draw(i, 0.0).selected for i in range(200))
    with pytest.raises(ConfigError, match="agreement_share=1.5 must be a share between 0 and 1"):
        agreement.draw(1, 1.5)


def test_the_setting_defaults_to_a_tenth_and_reads_the_environment() -> None:
    assert load_settings(env={}).queue.agreement_share == 0.1
    assert load_settings(env={"CALLQA_QUEUE__AGREEMENT_SHARE": "0.25"}).queue.agreement_share == 0.25


def test_kappa_from_blind_checks_through_the_queue(db: Session, make_user: Callable[..., User],
                                                   flagged: Callable[..., ReviewItem]) -> None:
    # first: V V N N, second: V N N N -> po 3/4, pe (2*1 + 2*3)/16 = 1/2, kappa 1/2
    first, second = make_user("first"), make_user("second")
    table = [("confirmed", "confirmed"), ("confirmed", "false_positive"),
             ("false_positive", "false_positive"), ("false_positive", "false_positive")]
    for n, (d1, d2) in enumerate(table):
        item = _first_review(db, flagged(f"k{n}", "major"), first, [d1], share=1.0)
        got = queue.claim(db, item.id, second, now=T0)
        queue.record_verdict(db, got.id, current_findings(db, got.call_id)[0].id, second, d2, "context", now=T0)
        queue.submit(db, got.id, second, now=T0)
        db.commit()
    est = estimate(db, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    assert est.kappa.n == 4 and est.kappa.observed_agreement == pytest.approx(0.75)
    assert est.kappa.expected_agreement == pytest.approx(0.5) and est.kappa.estimate == pytest.approx(0.5)
    # rule precision follows the first reviews that stand: 2 confirmed of 4 (the blind checks say 1 of 4)
    assert est.rule_precision["R0"].estimate == pytest.approx(0.5)
    assert not any("kappa says little" in note for note in est.notes)


def test_a_blind_check_reaches_the_second_reviewer_in_the_web_ui(
        settings: Settings, session_factory: sessionmaker[Session]) -> None:
    from fastapi.testclient import TestClient

    from review.accounts import users as accounts
    from review.web import create_app

    settings.queue.agreement_share, settings.queue.agreement_salt = 1.0, SALT
    settings.web.default_language = "en"  # the page is read in English
    accounts.set_hash_cost(time_cost=1, memory_kib=1024, parallelism=1)
    try:
        with session_factory() as session:
            for name in ("alice", "bob"):
                accounts.add_user(session, name, PASSWORD, "reviewer")
            ingest(session, "web-1", [FakeFinding("R-FAMILY", "third_party", "major")])
            item, _ = queue.enqueue(session, "web-1")
            session.commit()
            finding_id = current_findings(session, "web-1")[0].id
        app = create_app(settings, session_factory=session_factory)
        with TestClient(app) as alice, TestClient(app) as bob:
            a = _sign_in(alice, "alice")
            alice.post("/queue/claim-next", data={"csrf_token": a})
            alice.post(f"/items/{item.id}/verdicts", data={"csrf_token": a, "finding_id": finding_id,
                                                          "decision": "confirmed", "comment": "alice-was-here"})
            alice.post(f"/items/{item.id}/submit", data={"csrf_token": a})
            b = _sign_in(bob, "bob")
            claimed = bob.post("/api/queue/claim-next", headers={"X-CSRF-Token": b}).json()
            assert claimed["call_id"] == "web-1" and claimed["status"] == "final" and claimed["outcome"] is None
            page = bob.get("/calls/web-1").text
            assert "blind agreement check" in page and 'class="verdict-form"' in page and 'id="submit-review"' in page
            assert "alice-was-here" not in page and "outcome-violation" not in page
            assert bob.get("/api/calls/web-1").json()["item"]["outcome"] is None
            bob.post(f"/items/{item.id}/verdicts", data={"csrf_token": b, "finding_id": finding_id,
                                                        "decision": "false_positive", "reason_code": "context"})
            done = bob.post(f"/api/items/{item.id}/submit", headers={"X-CSRF-Token": b}).json()
            assert done["status"] == "final" and done["outcome"] == "violation"  # the first review stands
        with session_factory() as session:
            assert queue.get_item(session, item.id).agreement_check == "done"
    finally:
        accounts.set_hash_cost()


PASSWORD = "correct horse battery"


def _sign_in(client: Any, username: str) -> str:
    def csrf(html: str) -> str:
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert match, "page has no CSRF field"
        return match.group(1)

    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": csrf(page.text), "next": "/queue"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf(client.get("/queue").text)
