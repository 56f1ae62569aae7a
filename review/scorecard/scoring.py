"""Scoring a reviewed call against its pack's scorecard (质检评分表): plain data in, plain data out.

Each item ends in one state:

- tied to rules or categories: ``fail`` when a finding of them stands confirmed after review (the
  supervisor's verdict, else the first reviewer's; for a required statement the finding is the
  statement missing), ``pass`` when there was no such finding or every one was rejected as a false
  positive (or the item's appeal was overturned), ``pending`` while one is undecided. On a sampled
  call (no findings) the reviewer's whole-call verdict decides: a violation of a category the item
  covers fails it.
- ``reviewer: true``: the reviewer's answer (``pass`` / ``fail`` / ``na``); ``pending`` until
  answered while the review is open, ``na`` ("not answered") once it is final.
- an adjustment (with its reason) replaces the computed state of a rule-tied item; the computed
  state is kept to show what it replaced.

The score is the percentage of the applicable points earned (``na`` and ``pending`` items count for
neither side); a call passes when the score reaches the pack's ``pass_mark`` and no ``critical``
item failed. ``review.scorecard.records`` feeds this from the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from review.screening.scorecards import Scorecard, ScoreItem

VALUES = ("pass", "fail", "na")  # what a reviewer may answer or adjust an item to
STATES = VALUES + ("pending",)


@dataclass(frozen=True)
class FindingDecision:
    """A finding of the call and the decision that stands on it (None: undecided)."""

    finding_id: int
    rule_id: str
    category: str
    decision: str | None  # confirmed | false_positive | None


@dataclass(frozen=True)
class Answer:
    """A reviewer's answer to a reviewer item, or an adjustment of a rule-tied item (reason required)."""

    item_id: str
    value: str  # pass | fail | na
    kind: str  # answer | adjustment
    reason: str = ""
    reviewer: str = ""
    at: datetime | None = None


@dataclass
class ItemScore:
    item: ScoreItem
    state: str  # pass | fail | na | pending
    basis: str  # what decided it: no_finding, finding_confirmed, finding_rejected, finding_undecided,
    #             appeal_overturned, sample_violation, sample_clean, sample_undecided, reviewer_answer,
    #             not_answered, adjusted
    computed: str  # the state the findings or answers gave, before any adjustment
    finding_ids: tuple[int, ...] = ()
    answer: Answer | None = None

    @property
    def earned(self) -> float:
        return self.item.points if self.state == "pass" else 0.0

    @property
    def counts(self) -> bool:
        return self.state in ("pass", "fail")


@dataclass
class CallScore:
    pack: str
    pass_mark: float
    items: list[ItemScore]
    earned: float
    possible: float
    score: float | None  # percent of the applicable points; None when no item applies yet
    passed: bool | None
    critical_failed: list[str] = field(default_factory=list)
    complete: bool = True  # no item pending

    def by_section(self, card: Scorecard) -> list[tuple[str, list[ItemScore]]]:
        scores = {s.item.id: s for s in self.items}
        return [(section.id, [scores[i.id] for i in section.items]) for section in card.sections]


def _rule_item(item: ScoreItem, findings: Sequence[FindingDecision], *, final: bool, overturned: bool,
               sample: tuple[str | None, str | None] | None) -> tuple[str, str, tuple[int, ...]]:
    hits = [f for f in findings if item.matches(f.rule_id, f.category)]
    ids = tuple(f.finding_id for f in hits)
    if hits:
        if any(f.decision == "confirmed" for f in hits):
            return ("pass", "appeal_overturned", ids) if overturned else ("fail", "finding_confirmed", ids)
        if any(f.decision is None for f in hits):
            return "pending", "finding_undecided", ids
        return "pass", "finding_rejected", ids
    if sample is not None:
        decision, category = sample
        if decision == "violation" and category in item.covers and not overturned:
            return "fail", "sample_violation", ()
        if decision is None and not final:
            return "pending", "sample_undecided", ()
        if decision == "clean":
            return "pass", "sample_clean", ()
    return "pass", "no_finding", ()


def score_call(card: Scorecard, findings: Sequence[FindingDecision], answers: Mapping[str, Answer], *,
               final: bool, pack: str = "", overturned: bool = False,
               sample: tuple[str | None, str | None] | None = None) -> CallScore:
    """The call's scorecard. ``final``: the review is over (unanswered reviewer items become n.a.);
    ``overturned``: an appeal cleared the violation; ``sample``: a sampled call's standing whole-call
    verdict as (decision or None, category)."""
    items: list[ItemScore] = []
    for item in card.items():
        answer = answers.get(item.id)
        if item.reviewer:
            if answer is not None:
                items.append(ItemScore(item, answer.value, "reviewer_answer", answer.value, answer=answer))
            else:
                state = "na" if final else "pending"
                items.append(ItemScore(item, state, "not_answered", state))
            continue
        computed, basis, ids = _rule_item(item, findings, final=final, overturned=overturned, sample=sample)
        if answer is not None:
            items.append(ItemScore(item, answer.value, "adjusted", computed, ids, answer))
        else:
            items.append(ItemScore(item, computed, basis, computed, ids))
    earned = sum(s.earned for s in items)
    possible = sum(s.item.points for s in items if s.counts)
    score = round(100.0 * earned / possible, 1) if possible else None
    critical_failed = [s.item.id for s in items if s.item.critical and s.state == "fail"]
    passed = None if score is None else (score >= card.pass_mark and not critical_failed)
    return CallScore(pack=pack, pass_mark=card.pass_mark, items=items, earned=earned, possible=possible,
                     score=score, passed=passed, critical_failed=critical_failed,
                     complete=not any(s.state == "pending" for s in items))
