"""The supervisor's lists: second reviews and disagreements, appeals, overdue items, summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from review.store.models import Appeal, Finding, ReviewItem, User, Verdict

TABS = ("second", "appeals", "overdue", "agents", "rules")
LIMIT = 200


@dataclass
class ItemRow:
    item_id: int
    call_id: str
    status: str
    stage: str
    team: str | None
    agent_id: str | None
    first_reviewer: str | None
    second_reviewer: str | None
    created_at: datetime
    overdue: bool


@dataclass
class AppealRow:
    appeal_id: int
    item_id: int
    call_id: str
    appellant: str
    reason: str
    created_at: datetime
    outcome: str | None


@dataclass
class AgentRow:
    agent_id: str
    team: str | None
    items: int
    decided: int
    violations: int
    pending: int

    @property
    def violation_rate(self) -> float | None:
        return self.violations / self.decided if self.decided else None


@dataclass
class RuleRow:
    rule_id: str
    findings: int
    confirmed: int
    false_positive: int
    second_disagreed: int

    @property
    def precision(self) -> float | None:
        judged = self.confirmed + self.false_positive
        return self.confirmed / judged if judged else None


def _item_rows(session: Session, *where: Any) -> list[ItemRow]:
    first, second = aliased(User), aliased(User)
    query = (select(ReviewItem, first.username, second.username)
             .outerjoin(first, first.id == ReviewItem.first_reviewer_id)
             .outerjoin(second, second.id == ReviewItem.second_reviewer_id)
             .where(*where).order_by(ReviewItem.urgent.desc(), ReviewItem.severity_rank.desc(),
                                     ReviewItem.created_at).limit(LIMIT))
    return [ItemRow(i.id, i.call_id, i.status, i.stage, i.team, i.agent_id, a, b, i.created_at, i.overdue)
            for i, a, b in session.execute(query)]


def second_reviews(session: Session) -> list[ItemRow]:
    return _item_rows(session, or_(ReviewItem.status == "disputed",
                                   (ReviewItem.stage == "second") & ReviewItem.status.in_(("open", "claimed"))))


def overdue_items(session: Session) -> list[ItemRow]:
    return _item_rows(session, ReviewItem.overdue.is_(True), ReviewItem.status != "final")


def pending_appeals(session: Session) -> list[AppealRow]:
    query = (select(Appeal, ReviewItem.call_id, ReviewItem.outcome, User.username)
             .join(ReviewItem, ReviewItem.id == Appeal.item_id).join(User, User.id == Appeal.appellant_id)
             .where(Appeal.ruling.is_(None)).order_by(Appeal.created_at).limit(LIMIT))
    return [AppealRow(a.id, a.item_id, call_id, name, a.reason, a.created_at, outcome)
            for a, call_id, outcome, name in session.execute(query)]


def agent_summary(session: Session) -> list[AgentRow]:
    final = ReviewItem.status == "final"
    query = (select(ReviewItem.agent_id, func.max(ReviewItem.team), func.count(),
                    func.sum(case((final, 1), else_=0)),
                    func.sum(case((final & (ReviewItem.outcome == "violation"), 1), else_=0)))
             .where(ReviewItem.agent_id.is_not(None)).group_by(ReviewItem.agent_id)
             .order_by(func.sum(case((final & (ReviewItem.outcome == "violation"), 1), else_=0)).desc())
             .limit(LIMIT))
    return [AgentRow(agent, team, int(n), int(decided or 0), int(violations or 0), int(n) - int(decided or 0))
            for agent, team, n, decided, violations in session.execute(query)]


def rule_summary(session: Session) -> list[RuleRow]:
    counts = dict(session.execute(select(Finding.rule_id, func.count()).group_by(Finding.rule_id)).all())
    judged: dict[str, dict[str, int]] = {}
    query = (select(Finding.rule_id, Verdict.stage, Verdict.decision, func.count())
             .join(Finding, Finding.id == Verdict.finding_id)
             .where(Verdict.stage.in_(("first", "second")))
             .group_by(Finding.rule_id, Verdict.stage, Verdict.decision))
    for rule_id, stage, decision, n in session.execute(query):
        judged.setdefault(rule_id, {})[f"{stage}:{decision}"] = int(n)
    rows = [RuleRow(rule, int(n), judged.get(rule, {}).get("first:confirmed", 0),
                    judged.get(rule, {}).get("first:false_positive", 0),
                    judged.get(rule, {}).get("second:false_positive", 0)) for rule, n in counts.items()]
    return sorted(rows, key=lambda r: (-r.findings, r.rule_id))
