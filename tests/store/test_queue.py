"""Queue workflow: priority, leases, assignment rules, verdicts, four eyes, appeals, SLA."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callqa.errors import PermissionDeniedError, QueueConflictError
from review.calls.repo import current_findings
from review.queue import lifecycle as queue
from review.store.models import AuditEvent, Finding, ReviewItem, User

from .conftest import ingest

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _kinds(db: Session) -> list[str]:
    return list(db.execute(select(AuditEvent.kind).order_by(AuditEvent.seq)).scalars())


def _decide_all(db: Session, item: ReviewItem, user: User, decision: str = "confirmed",
                now: datetime | None = None) -> None:
    for f in current_findings(db, item.call_id):
        queue.record_verdict(db, item.id, f.id, user, decision, "fp_context" if decision != "confirmed" else "",
                             "checked", now=now)


def test_priority_is_urgent_then_severity_then_age(db: Session, make_user: Callable[..., User],
                                                   flagged: Callable[..., ReviewItem]) -> None:
    flagged("old-minor", "minor")
    flagged("major", "major")
    flagged("critical", "critical", "minor")
    flagged("urgent-minor", "minor", urgent=True)
    flagged("new-major", "major")
    rev = make_user("rev")
    order = []
    while (item := queue.claim_next(db, rev, max_open=10)) is not None:
        order.append(item.call_id)
    db.commit()
    assert order == ["urgent-minor", "critical", "major", "new-major", "old-minor"]


def test_claim_gives_a_lease_and_an_expired_lease_returns_the_item(
        db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem]) -> None:
    flagged("c1")
    a, b = make_user("a"), make_user("b")
    item = queue.claim_next(db, a, now=T0, lease_seconds=600)
    db.commit()
    assert item is not None and item.status == "claimed" and item.assignee_id == a.id
    assert queue.claim_next(db, b, now=T0 + timedelta(seconds=599)) is None
    with pytest.raises(QueueConflictError, match="claimed by another reviewer"):
        queue.claim(db, item.id, b, now=T0 + timedelta(seconds=599))
    again = queue.claim_next(db, b, now=T0 + timedelta(seconds=601))
    db.commit()
    assert again is not None and again.id == item.id and again.assignee_id == b.id
    assert _kinds(db)[-3:] == ["claimed", "lease_expired", "claimed"]
    # a's lease is gone: a can no longer decide the item
    finding = current_findings(db, "c1")[0]
    with pytest.raises(QueueConflictError, match="not claimed by a"):
        queue.record_verdict(db, item.id, finding.id, a, "confirmed", now=T0 + timedelta(seconds=602))


def test_reviewer_never_gets_own_calls_and_cap_holds(db: Session, make_user: Callable[..., User],
                                                     flagged: Callable[..., ReviewItem]) -> None:
    own = flagged("own", "critical", agent_id="AG-9")
    flagged("other1", "minor")
    flagged("other2", "minor")
    agent_reviewer = make_user("agentrev", agent_id="AG-9")
    first = queue.claim_next(db, agent_reviewer, max_open=1)
    assert first is not None and first.call_id != "own"
    with pytest.raises(QueueConflictError, match="holds 1 open item.*cap is 1"):
        queue.claim_next(db, agent_reviewer, max_open=1)
    with pytest.raises(PermissionDeniedError, match="own calls"):
        queue.claim(db, own.id, agent_reviewer, max_open=5)


def test_assignment_rules_by_team_dialect_and_skill(db: Session, make_user: Callable[..., User],
                                                    flagged: Callable[..., ReviewItem]) -> None:
    flagged("t2-cant", "critical", team="T2", dialect="cantonese")
    flagged("t1-mand", "minor", team="T1", dialect="mandarin")
    cantonese = make_user("yue", languages="cantonese", review_teams="T2")
    privacy_only = make_user("priv", skills="privacy")
    item = queue.claim_next(db, cantonese)
    assert item is not None and item.call_id == "t2-cant"
    assert queue.claim_next(db, cantonese) is None  # the mandarin T1 call is not for this reviewer
    assert queue.claim_next(db, privacy_only) is None  # all findings are threats
    narrowed = make_user("any")
    assert queue.claim_next(db, narrowed, filters={"team": "T9"}) is None
    assert (got := queue.claim_next(db, narrowed, filters={"dialect": "mandarin"})) and got.call_id == "t1-mand"


def test_verdicts_and_outcome_keep_machine_findings_unchanged(
        db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem]) -> None:
    item = flagged("c1", "major", "minor")
    rev = make_user("rev")
    queue.claim_next(db, rev)
    f1, f2 = current_findings(db, "c1")
    with pytest.raises(QueueConflictError, match="needs a reason code"):
        queue.record_verdict(db, item.id, f1.id, rev, "false_positive")
    with pytest.raises(QueueConflictError, match="use one of"):
        queue.record_verdict(db, item.id, f1.id, rev, "maybe")
    queue.record_verdict(db, item.id, f1.id, rev, "confirmed", comment="clear threat")
    with pytest.raises(QueueConflictError, match=f"finding\\(s\\) {f2.id}"):
        queue.submit(db, item.id, rev)
    queue.record_verdict(db, item.id, f2.id, rev, "confirmed")
    queue.record_verdict(db, item.id, f2.id, rev, "false_positive", "asr_error", "misheard")  # changed mind
    done = queue.submit(db, item.id, rev)
    db.commit()
    assert (done.status, done.outcome, done.first_reviewer_id) == ("final", "violation", rev.id)
    assert [v.decision for v in queue.verdicts_of(db, item.id)] == ["confirmed", "false_positive"]
    assert db.get(Finding, f2.id, populate_existing=True).severity == "minor"  # type: ignore[union-attr]
    assert _kinds(db)[-4:] == ["verdict", "verdict", "verdict", "submitted"]


def test_four_eyes_agree_makes_final_and_disagree_goes_to_supervisor(
        db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem]) -> None:
    agree_item = flagged("agree", "critical")
    dispute_item = flagged("dispute", "critical", "minor")
    first, second, sup = make_user("first"), make_user("second"), make_user("sup", role="supervisor")
    for item in (agree_item, dispute_item):
        queue.claim(db, item.id, first)
        _decide_all(db, item, first)
        after = queue.submit(db, item.id, first)
        assert (after.status, after.stage, after.outcome) == ("open", "second", None)
    db.commit()
    # the first reviewer cannot be the second pair of eyes
    assert queue.claim_next(db, first) is None
    with pytest.raises(PermissionDeniedError, match="four eyes"):
        queue.claim(db, agree_item.id, first)
    queue.claim(db, agree_item.id, second)
    final = queue.second_review(db, agree_item.id, second, agree=True)
    assert (final.status, final.outcome, final.second_reviewer_id) == ("final", "violation", second.id)
    queue.claim(db, dispute_item.id, second)
    critical = next(f for f in current_findings(db, "dispute") if f.severity == "critical")
    minor = next(f for f in current_findings(db, "dispute") if f.severity == "minor")
    with pytest.raises(QueueConflictError, match="not under second review"):
        queue.record_verdict(db, dispute_item.id, minor.id, second, "confirmed")
    disputed = queue.second_review(db, dispute_item.id, second, agree=False, comment="not a threat in context")
    assert (disputed.status, disputed.stage) == ("disputed", "supervisor")
    with pytest.raises(PermissionDeniedError, match="supervisor"):
        queue.supervisor_decide(db, dispute_item.id, second, {critical.id: "false_positive"})
    with pytest.raises(QueueConflictError, match="exactly the disputed"):
        queue.supervisor_decide(db, dispute_item.id, sup, {minor.id: "false_positive"})
    settled = queue.supervisor_decide(db, dispute_item.id, sup, {critical.id: "false_positive"}, reason_code="context")
    db.commit()
    # the minor finding stays confirmed by the first reviewer, so it is still a violation
    assert (settled.status, settled.outcome) == ("final", "violation")
    assert "second_review" in _kinds(db) and _kinds(db)[-1] == "supervisor_decision"


def test_sample_items_take_one_verdict_for_the_call(db: Session, make_user: Callable[..., User]) -> None:
    ingest(db, "s1", [])
    item, created = queue.enqueue(db, "s1", "sample")
    assert created and item.severity_rank == 0
    with pytest.raises(QueueConflictError, match="no findings"):
        ingest(db, "s2", [])
        queue.enqueue(db, "s2")
    rev = make_user("rev")
    queue.claim(db, item.id, rev)
    with pytest.raises(QueueConflictError, match="needs the category"):
        queue.record_sample_verdict(db, item.id, rev, "violation")
    queue.record_sample_verdict(db, item.id, rev, "violation", category="harassment", comment="missed by rules")
    done = queue.submit(db, item.id, rev)
    db.commit()
    assert (done.status, done.outcome) == ("final", "violation")


def _final_violation(db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem],
                     when: datetime) -> ReviewItem:
    item = flagged("ap", "major", team="T1")
    rev = make_user("rev")
    queue.claim(db, item.id, rev, now=when)
    _decide_all(db, item, rev, now=when)
    done = queue.submit(db, item.id, rev, now=when)
    db.commit()
    return done


def test_appeal_once_within_the_window_and_ruling_is_final(
        db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem]) -> None:
    item = _final_violation(db, make_user, flagged, T0)
    lead = make_user("lead", leads_team="T1")
    other_lead = make_user("lead2", leads_team="T2")
    sup = make_user("sup", role="supervisor")
    with pytest.raises(PermissionDeniedError, match="only the lead of team 'T1'"):
        queue.appeal(db, item.id, other_lead, "unfair", now=T0 + timedelta(days=1))
    with pytest.raises(QueueConflictError, match="window .*closed"):
        queue.appeal(db, item.id, lead, "unfair", now=T0 + timedelta(days=15), window_days=14)
    appeal = queue.appeal(db, item.id, lead, "customer asked for the deadline", now=T0 + timedelta(days=13))
    db.commit()
    assert queue.get_item(db, item.id).status == "appealed"
    with pytest.raises(QueueConflictError, match="already appealed"):
        queue.appeal(db, item.id, lead, "again", now=T0 + timedelta(days=13))
    with pytest.raises(PermissionDeniedError, match="rule on appeals"):
        queue.rule_appeal(db, appeal.id, lead, "overturned")
    reviewer_turned_supervisor = db.execute(select(User).where(User.username == "rev")).scalar_one()
    reviewer_turned_supervisor.role = "supervisor"
    with pytest.raises(PermissionDeniedError, match="rev did its first review"):
        queue.rule_appeal(db, appeal.id, reviewer_turned_supervisor, "overturned")
    ruled = queue.rule_appeal(db, appeal.id, sup, "overturned", "agent read the script")
    db.commit()
    assert ruled.ruling == "overturned" and ruled.ruled_by_id == sup.id
    final = queue.get_item(db, item.id)
    assert (final.status, final.outcome) == ("final", "no_violation")
    with pytest.raises(QueueConflictError, match="already ruled"):
        queue.rule_appeal(db, appeal.id, sup, "upheld")
    with pytest.raises(QueueConflictError, match="already appealed"):
        queue.appeal(db, item.id, lead, "and again", now=T0 + timedelta(days=13))
    assert _kinds(db)[-2:] == ["appeal", "ruling"]
    ruling = db.execute(select(AuditEvent).where(AuditEvent.kind == "ruling")).scalar_one()
    assert ruling.actor == "sup" and ruling.payload["supervisor"] == "sup"


def test_overdue_items_are_marked_once_and_counted(db: Session, make_user: Callable[..., User],
                                                   flagged: Callable[..., ReviewItem]) -> None:
    old = flagged("old")
    young = flagged("young")
    db.execute(update(ReviewItem).where(ReviewItem.id == old.id).values(created_at=T0 - timedelta(hours=50)))
    db.execute(update(ReviewItem).where(ReviewItem.id == young.id).values(created_at=T0 - timedelta(hours=2)))
    assert queue.mark_overdue(db, T0, sla_hours=48) == [old.id]
    assert queue.mark_overdue(db, T0, sla_hours=48) == []
    rev = make_user("rev")
    queue.claim_next(db, rev, now=T0)
    db.commit()
    s = queue.stats(db, now=T0)
    assert s.overdue == 1 and s.by_status == {"open": 1, "claimed": 1} and s.claimed_by == {"rev": 1}
    assert s.oldest_open_hours == 50.0 and s.items == 2


def test_admin_may_do_what_a_supervisor_may_and_deactivated_users_nothing(
        db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem]) -> None:
    flagged("c1")
    admin = make_user("admin", role="admin")
    assert queue.claim_next(db, admin) is not None  # the web UI offers an admin everything; the queue agrees
    flagged("c2")
    gone = make_user("gone", active=False)
    with pytest.raises(PermissionDeniedError, match="deactivated"):
        queue.claim_next(db, gone)


def test_a_rolled_back_action_leaves_no_audit_entry(db: Session, make_user: Callable[..., User],
                                                    flagged: Callable[..., ReviewItem]) -> None:
    item = flagged("c1")
    rev = make_user("rev")
    before = _kinds(db)
    assert queue.claim_next(db, rev) is not None
    db.rollback()
    assert _kinds(db) == before
    assert queue.get_item(db, item.id).status == "open"
    assert queue.claim_next(db, rev) is not None
    db.close()  # closing without commit drops the pending entry too
    db.commit()
    assert _kinds(db) == before
