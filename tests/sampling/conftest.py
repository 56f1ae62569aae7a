"""Real rows for the sampling and report tests: calls, transcripts, screenings, findings, items, verdicts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from review.queue.lifecycle import enqueue
from review.store.models import Call, Finding, ReviewItem, Screening, Transcript, User, Verdict

DAY = datetime(2026, 11, 27, tzinfo=UTC)


def add_call(session: Session, call_id: str, *, agent: str | None = "a1", team: str | None = "t1",
             started: datetime | None = None, duration: float = 120.0, status: str = "screened",
             error: str | None = None, flush: bool = True) -> Call:
    call = Call(id=call_id, recording_sha256=hashlib.sha256(call_id.encode()).hexdigest(),
                recording_path=f"/rec/{call_id}.wav", started_at=started or DAY + timedelta(hours=9),
                duration_s=duration, agent_id=agent, team=team, status=status, error=error, language="zh")
    session.add(call)
    if flush:  # many calls at once: one flush at the end is much faster on PostgreSQL
        session.flush()
    return call


def add_finding(session: Session, call_id: str, *, rule_id: str = "R-THREAT", severity: str = "major",
                category: str = "threat", urgent: bool = False, start: float = 3.0) -> Finding:
    transcript = session.query(Transcript).filter_by(call_id=call_id).one_or_none()
    if transcript is None:
        transcript = Transcript(call_id=call_id, model_key="faster-whisper:base:int8", backend="faster-whisper",
                                model="base", language="zh", document={"segments": []})
        session.add(transcript)
        session.flush()
    screening = session.query(Screening).filter_by(transcript_id=transcript.id).one_or_none()
    if screening is None:
        screening = Screening(call_id=call_id, transcript_id=transcript.id, pack="cn-collection",
                              pack_version="1")
        session.add(screening)
        session.flush()
    finding = Finding(screening_id=screening.id, call_id=call_id, rule_id=rule_id, category=category,
                      severity=severity, urgent=urgent, segment_index=0, start=start, end=start + 2.0,
                      evidence="再不还钱就去你家", citation="互联网金融逾期债务催收自律公约 第二十二条")
    session.add(finding)
    session.flush()
    return finding


def add_item(session: Session, call_id: str, *, kind: str = "flagged", status: str = "open",
             outcome: str | None = None, overdue: bool = False, created: datetime | None = None) -> ReviewItem:
    """Queue the call the way the pipeline does, then put the item in the state the test needs."""
    item, created_now = enqueue(session, call_id, kind=kind, now=created or datetime.now(UTC))
    assert created_now
    item.status, item.outcome, item.overdue = status, outcome, overdue
    session.flush()
    return item


def add_user(session: Session, name: str) -> User:
    user = User(username=name, role="reviewer")
    session.add(user)
    session.flush()
    return user


def add_verdict(session: Session, item: ReviewItem, reviewer: User, decision: str, *,
                finding: Finding | None = None, stage: str = "first", at: datetime | None = None) -> Verdict:
    verdict = Verdict(item_id=item.id, finding_id=finding.id if finding else None, reviewer_id=reviewer.id,
                      stage=stage, decision=decision, created_at=at or datetime.now(UTC))
    session.add(verdict)
    session.flush()
    return verdict
