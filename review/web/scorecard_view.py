"""The call page's scorecard panel: sections, items with their state and what decided it, the total."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from review.scorecard.records import call_scorecard, may_score
from review.scorecard.scoring import ItemScore
from review.store.models import Call, ReviewItem, User


@dataclass
class ScoreItemView:
    id: str
    title: str
    points: float
    earned: float
    state: str  # pass | fail | na | pending
    basis: str  # review.scorecard.scoring.ItemScore.basis
    computed: str  # the state before an adjustment
    critical: bool
    reviewer: bool  # answered by the reviewer (pass / fail / n.a. controls) rather than by findings
    finding_ids: tuple[int, ...]
    reason: str  # an adjustment's reason (or an answer's note)
    answered_by: str


@dataclass
class ScoreSectionView:
    id: str
    title: str
    items: list[ScoreItemView]


@dataclass
class ScorecardView:
    pack: str
    sections: list[ScoreSectionView]
    score: float | None
    passed: bool | None
    pass_mark: float
    earned: float
    possible: float
    critical_failed: list[str]
    complete: bool
    can_edit: bool  # the viewer may answer and adjust (as they may decide the findings)


def _item(s: ItemScore, language: str) -> ScoreItemView:
    answer = s.answer
    return ScoreItemView(id=s.item.id, title=s.item.title_in(language), points=s.item.points, earned=s.earned,
                         state=s.state, basis=s.basis, computed=s.computed, critical=s.item.critical,
                         reviewer=s.item.reviewer, finding_ids=s.finding_ids,
                         reason=answer.reason if answer else "", answered_by=answer.reviewer if answer else "")


def build_scorecard_view(session: Session, user: User, call: Call, item: ReviewItem | None,
                         language: str) -> ScorecardView | None:
    """The panel's data, or None when no pack of the call has a scorecard or the viewer holds the
    item's blind agreement check (the scorecard would show the first verdicts)."""
    if item is not None and item.agreement_check == "claimed" and item.assignee_id == user.id:
        return None
    found = call_scorecard(session, call, item)
    if found is None:
        return None
    pack, score = found
    assert pack.scorecard is not None
    scores = {s.item.id: s for s in score.items}
    sections = [ScoreSectionView(section.id, section.title_in(language),
                                 [_item(scores[i.id], language) for i in section.items])
                for section in pack.scorecard.sections]
    return ScorecardView(pack=pack.name, sections=sections, score=score.score, passed=score.passed,
                         pass_mark=score.pass_mark, earned=score.earned, possible=score.possible,
                         critical_failed=score.critical_failed, complete=score.complete,
                         can_edit=may_score(session, user, item))
