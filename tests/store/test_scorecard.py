"""Scoring a call against its pack's scorecard, and the stored answers and adjustments behind it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.errors import PermissionDeniedError, ScorecardError
from review.calls.repo import save_screening
from review.queue import lifecycle as queue
from review.scorecard.records import call_scorecard, record_answer, scorecard_summary
from review.scorecard.scoring import Answer, FindingDecision, score_call
from review.screening import load_pack
from review.store.models import AuditEvent, Call, ReviewItem, Transcript, User

from .conftest import FakeFinding, FakeResult, ingest

_card = load_pack("cn-collection").scorecard
assert _card is not None
CARD = _card
THREAT = FakeFinding(rule_id="cn.threat.violence", category="threat_violence", severity="critical")
INSULT = FakeFinding(rule_id="cn.abuse.insult", category="insult_abuse", severity="major")
NO_ID = FakeFinding(rule_id="cn.identity.missing", category="missing_self_identification", severity="major",
                    segment_index=None, start=None, end=None, evidence="")


def _states(score: object) -> dict[str, str]:
    return {s.item.id: s.state for s in score.items}  # type: ignore[attr-defined]


# ---------------------------------------------------------------- pure scoring


def test_a_confirmed_finding_fails_its_item_and_a_critical_one_fails_the_call() -> None:
    findings = [FindingDecision(1, "cn.threat.violence", "threat_violence", "confirmed")]
    score = score_call(CARD, findings, {}, final=True)
    threats = next(s for s in score.items if s.item.id == "no_threats")
    assert (threats.state, threats.basis, threats.finding_ids) == ("fail", "finding_confirmed", (1,))
    # reviewer items unanswered in a final review are n.a. and count for neither side
    assert _states(score)["arrangement_confirmed"] == "na"
    assert score.possible == 100 - 25 and score.earned == 75 - 15
    assert score.score == 80.0 and score.critical_failed == ["no_threats"] and score.passed is False


def test_a_finding_rejected_as_false_positive_passes_its_item() -> None:
    findings = [FindingDecision(1, "cn.threat.violence", "threat_violence", "false_positive"),
                FindingDecision(2, "cn.identity.missing", "missing_self_identification", "false_positive")]
    score = score_call(CARD, findings, {}, final=True)
    items = {s.item.id: s for s in score.items}
    assert (items["no_threats"].state, items["no_threats"].basis) == ("pass", "finding_rejected")
    assert (items["identity"].state, items["identity"].basis) == ("pass", "finding_rejected")
    assert (items["no_insults"].state, items["no_insults"].basis) == ("pass", "no_finding")
    assert score.score == 100.0 and score.passed is True


def test_a_confirmed_missing_statement_fails_its_item_without_failing_the_call() -> None:
    findings = [FindingDecision(1, "cn.identity.missing", "missing_self_identification", "confirmed")]
    score = score_call(CARD, findings, {}, final=True)
    assert _states(score)["identity"] == "fail"
    assert score.score == round(100 * 65 / 75, 1) and score.passed is True  # 86.7 >= 80, nothing critical


def test_reviewer_answers_and_an_adjustment_with_its_reason() -> None:
    answers = {"arrangement_confirmed": Answer("arrangement_confirmed", "fail", "answer", reviewer="rev"),
               "purpose": Answer("purpose", "pass", "answer"), "right_party": Answer("right_party", "na", "answer"),
               "no_insults": Answer("no_insults", "fail", "adjustment", "called him 废物 in a dialect word")}
    score = score_call(CARD, [], answers, final=False)
    items = {s.item.id: s for s in score.items}
    assert (items["arrangement_confirmed"].state, items["arrangement_confirmed"].basis) == ("fail", "reviewer_answer")
    assert items["right_party"].state == "na"
    adjusted = items["no_insults"]
    assert (adjusted.state, adjusted.basis, adjusted.computed) == ("fail", "adjusted", "pass")
    assert adjusted.answer is not None and adjusted.answer.reason.startswith("called him")
    # unanswered reviewer item of an open review: pending, so the card is not complete
    assert items["vulnerability_handled"].state == "pending" and not score.complete
    assert score.possible == 100 - 5 - 5 and score.earned == score.possible - 10 - 5
    assert score.score == round(100 * 75 / 90, 1) and score.passed is True


def test_pass_mark_and_undecided_findings() -> None:
    answers = {i: Answer(i, "fail", "answer") for i in ("right_party", "purpose", "arrangement_confirmed")}
    answers["vulnerability_handled"] = Answer("vulnerability_handled", "pass", "answer")
    score = score_call(CARD, [], answers, final=True)
    assert score.score == 80.0 and score.passed is True  # exactly the mark passes
    answers["vulnerability_handled"] = Answer("vulnerability_handled", "fail", "answer")
    assert score_call(CARD, [], answers, final=True).passed is False  # 75 < 80
    undecided = [FindingDecision(1, "cn.abuse.insult", "insult_abuse", None)]
    pending = score_call(CARD, undecided, {}, final=False)
    assert _states(pending)["no_insults"] == "pending" and not pending.complete


def test_a_sampled_calls_violation_fails_the_items_covering_its_category() -> None:
    score = score_call(CARD, [], {}, final=True, sample=("violation", "family_or_contacts_threat"))
    assert _states(score)["no_threats"] == "fail" and score.passed is False
    clean = score_call(CARD, [], {}, final=True, sample=("clean", None))
    assert {s.basis for s in clean.items if not s.item.reviewer} == {"sample_clean"} and clean.passed is True


# ---------------------------------------------------------------- stored answers, permissions, summary


def _screened(db: Session, call_id: str, findings: list[FakeFinding], **kw: str) -> Call:
    """A call ingested, then screened by the shipped cn-collection pack with these findings."""
    call = ingest(db, call_id, [], **kw)
    transcript = db.execute(select(Transcript).where(Transcript.call_id == call_id)).scalar_one()
    save_screening(db, call_id, transcript.id, FakeResult(pack="cn-collection", findings=findings))
    return call


@pytest.fixture
def claimed(db: Session, make_user: Callable[..., User]) -> tuple[ReviewItem, User]:
    _screened(db, "sc-1", [THREAT, NO_ID])
    item, _ = queue.enqueue(db, "sc-1")
    db.commit()
    reviewer = make_user("rev1")
    queue.claim(db, item.id, reviewer)
    db.commit()
    return item, reviewer


def _events(db: Session, kind: str) -> list[AuditEvent]:
    db.commit()  # answers are audited when the transaction commits
    return list(db.execute(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.seq)).scalars())


def test_answers_and_adjustments_are_stored_scored_and_audited(db: Session, claimed: tuple[ReviewItem, User]) -> None:
    item, reviewer = claimed
    record_answer(db, item.id, reviewer, "arrangement_confirmed", "pass")
    record_answer(db, item.id, reviewer, "calm_tone", "fail", "shouted at 1:10; the loudness rule missed it")
    call = db.get(Call, "sc-1")
    assert call is not None
    found = call_scorecard(db, call, queue.get_item(db, item.id))
    assert found is not None
    pack, score = found
    items = {s.item.id: s for s in score.items}
    assert pack.name == "cn-collection"
    assert items["arrangement_confirmed"].answer.reviewer == "rev1"  # type: ignore[union-attr]
    assert (items["calm_tone"].state, items["calm_tone"].basis) == ("fail", "adjusted")
    assert items["no_threats"].state == "pending"  # the threat finding is not decided yet
    events = _events(db, "scorecard_answer")
    assert [(e.payload["score_item"], e.payload["answer_kind"], e.payload["value"]) for e in events] == [
        ("arrangement_confirmed", "answer", "pass"), ("calm_tone", "adjustment", "fail")]
    assert events[1].payload["reason"].startswith("shouted") and events[1].actor == "rev1"
    # answering again replaces the answer; the trail keeps both
    record_answer(db, item.id, reviewer, "arrangement_confirmed", "fail")
    record_answer(db, item.id, reviewer, "calm_tone", "clear")
    _, score = call_scorecard(db, call, queue.get_item(db, item.id))  # type: ignore[misc]
    items = {s.item.id: s for s in score.items}
    assert items["arrangement_confirmed"].state == "fail" and items["calm_tone"].basis == "no_finding"
    assert [e.payload["previous"] for e in _events(db, "scorecard_answer")[2:]] == ["pass", "fail"]


def test_an_adjustment_needs_a_reason_and_values_are_checked(db: Session, claimed: tuple[ReviewItem, User]) -> None:
    item, reviewer = claimed
    with pytest.raises(ScorecardError, match="adjusting it needs a reason"):
        record_answer(db, item.id, reviewer, "no_threats", "pass", "   ")
    with pytest.raises(ScorecardError, match="no item 'nope'"):
        record_answer(db, item.id, reviewer, "nope", "pass")
    with pytest.raises(ScorecardError, match="value 'maybe'"):
        record_answer(db, item.id, reviewer, "purpose", "maybe")


def test_only_the_holder_or_a_settling_supervisor_may_score(db: Session, claimed: tuple[ReviewItem, User],
                                                             make_user: Callable[..., User]) -> None:
    item, reviewer = claimed
    other, boss = make_user("rev2"), make_user("boss", role="supervisor")
    with pytest.raises(PermissionDeniedError, match="rev2 may not change the scorecard"):
        record_answer(db, item.id, other, "purpose", "pass")
    with pytest.raises(PermissionDeniedError):  # a supervisor too, while the item is not disputed
        record_answer(db, item.id, boss, "purpose", "pass")
    later = datetime.now(UTC) + timedelta(hours=2)  # the lease has run out
    with pytest.raises(PermissionDeniedError):
        record_answer(db, item.id, reviewer, "purpose", "pass", now=later)
    item.status, item.stage, item.assignee_id = "disputed", "supervisor", None
    db.commit()
    assert record_answer(db, item.id, boss, "purpose", "pass") is not None
    with pytest.raises(PermissionDeniedError):  # the first reviewer may not settle (nor score) the dispute
        record_answer(db, item.id, reviewer, "purpose", "fail")


def _final_call(db: Session, call_id: str, agent: str, team: str, reviewer: User, *, confirm: bool) -> None:
    call = _screened(db, call_id, [INSULT], agent_id=agent, team=team)
    item, _ = queue.enqueue(db, call.id)
    db.commit()
    queue.claim(db, item.id, reviewer)
    finding = queue.current_findings(db, call.id)[-1]
    queue.record_verdict(db, item.id, finding.id, reviewer, "confirmed" if confirm else "false_positive",
                         "" if confirm else "asr_error")
    record_answer(db, item.id, reviewer, "arrangement_confirmed", "pass")
    queue.submit(db, item.id, reviewer)
    db.commit()


def test_scores_per_agent_and_team(db: Session, make_user: Callable[..., User]) -> None:
    reviewer = make_user("rev1")
    _final_call(db, "a-1", "A1", "T1", reviewer, confirm=True)   # no_insults fails: 80 of 85 points
    _final_call(db, "a-2", "A1", "T1", reviewer, confirm=False)  # 85 of 85
    _final_call(db, "b-1", "B1", "T2", reviewer, confirm=False)
    ingest(db, "open-1", [THREAT], agent_id="B1", team="T2")  # never reviewed: not scored
    queue.enqueue(db, "open-1")
    db.commit()
    since, until = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
    agents = {s.key: s for s in scorecard_summary(db, since, until, by="agent")}
    assert set(agents) == {"A1", "B1"}
    assert (agents["A1"].scored_calls, agents["A1"].passed, agents["A1"].team) == (2, 2, "T1")
    assert agents["A1"].mean_score == pytest.approx((round(100 * 80 / 85, 1) + 100.0) / 2)
    assert agents["A1"].pass_rate == 1.0 and agents["B1"].mean_score == 100.0
    teams = scorecard_summary(db, since, until, by="team")
    assert [(t.key, t.scored_calls) for t in teams] == [("T1", 2), ("T2", 1)]
    assert scorecard_summary(db, until, until + timedelta(days=1)) == []
    with pytest.raises(ScorecardError, match="by='agent' or by='team'"):
        scorecard_summary(db, since, until, by="rule")
