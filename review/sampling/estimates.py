"""From review decisions to rates: violation rate, miss rate, rule precision, reviewer agreement.

The design is stratified: flagged calls form one stratum (reviewed as near a
census as the team manages), and each sampling draw's agent strata hold the
unflagged calls. Each stratum is weighted by its own population.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review.sampling.draw import as_utc, call_time, current_findings_stmt, draws_between, has_current_findings
from review.sampling.stats import (
    Estimate,
    Kappa,
    Method,
    Stratum,
    cohens_kappa,
    proportion,
    stratified_proportion,
)
from review.store.models import Call, ReviewItem, Verdict

# a second verdict never stands on its own (four eyes: agreement repeats the first decision, disagreement
# goes to a supervisor; a blind agreement check only measures agreement), so it has no rank here
STAGE_RANK = {"first": 1, "supervisor": 3}
POSITIVE = {"confirmed", "violation"}
NEGATIVE = {"false_positive", "clean"}


@dataclass
class RuleTally:
    rule_id: str
    category: str
    severity: str
    findings: int = 0
    calls: set[str] = field(default_factory=set)
    confirmed: int = 0
    false_positive: int = 0

    def row(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "category": self.category, "severity": self.severity,
                "findings": self.findings, "calls": len(self.calls), "confirmed": self.confirmed,
                "false_positive": self.false_positive,
                "undecided": self.findings - self.confirmed - self.false_positive}


@dataclass
class Estimates:
    violation_rate: Estimate
    miss_rate: Estimate
    rule_precision: dict[str, Estimate]
    kappa: Kappa
    rules: list[RuleTally]
    # how much of the unflagged population the draws cover and how much of the sample is reviewed
    coverage: dict[str, int]
    notes: list[str]


def _label(decision: str) -> str | None:
    if decision in POSITIVE:
        return "violation"
    if decision in NEGATIVE:
        return "no_violation"
    return None


def final_decision(verdicts: Iterable[Verdict]) -> str | None:
    """The decision that stands: a supervisor's, else the first reviewer's (the latest of the highest stage)."""
    ranked = sorted((v for v in verdicts if v.stage in STAGE_RANK),
                    key=lambda v: (STAGE_RANK[v.stage], as_utc(v.created_at), v.id))
    return ranked[-1].decision if ranked else None


def item_outcome(item: ReviewItem, verdicts: Iterable[Verdict]) -> str | None:
    """violation | no_violation once the item is decided, else None."""
    if item.outcome in ("violation", "no_violation"):
        return item.outcome
    if item.status != "final":
        return None
    decision = final_decision(verdicts)
    return _label(decision) if decision else None


def _verdicts_by_item(session: Session, item_ids: list[int]) -> dict[int, list[Verdict]]:
    out: dict[int, list[Verdict]] = defaultdict(list)
    for start in range(0, len(item_ids), 500):
        chunk = item_ids[start:start + 500]
        for v in session.execute(select(Verdict).where(Verdict.item_id.in_(chunk))).scalars():
            out[v.item_id].append(v)
    return out


def _outcomes(session: Session, call_ids: list[str]) -> dict[str, str | None]:
    items: list[ReviewItem] = []
    for start in range(0, len(call_ids), 500):
        chunk = call_ids[start:start + 500]
        items.extend(session.execute(select(ReviewItem).where(ReviewItem.call_id.in_(chunk))).scalars())
    verdicts = _verdicts_by_item(session, [i.id for i in items])
    return {i.call_id: item_outcome(i, verdicts.get(i.id, [])) for i in items}


def _in_period(since: datetime, until: datetime, scope: Any = None) -> Any:
    """Calls of the period; ``scope`` (an SQL condition on Call, e.g. a team) narrows them."""
    when = call_time()
    cond = (when >= as_utc(since)) & (when < as_utc(until))
    return cond if scope is None else cond & scope


def _flagged_stratum(session: Session, since: datetime, until: datetime, scope: Any = None) -> Stratum:
    flagged = list(session.execute(
        select(Call.id).where(_in_period(since, until, scope)).where(has_current_findings())
    ).scalars())
    outcomes = _outcomes(session, flagged)
    decided = [o for o in outcomes.values() if o is not None]
    return Stratum(len(flagged), len(decided), sum(1 for o in decided if o == "violation"))


def _sample_strata(session: Session, since: datetime, until: datetime, scope: Any = None) -> list[Stratum]:
    strata_ids: list[tuple[int, list[str]]] = []
    for draw in draws_between(session, since, until):
        for info in draw.sample.get("strata", {}).values():
            strata_ids.append((int(info["N"]), list(info.get("call_ids", []))))
    if scope is not None:
        strata_ids = _scoped_strata(session, strata_ids, scope)
    outcomes = _outcomes(session, [cid for _, ids in strata_ids for cid in ids])
    strata: list[Stratum] = []
    for population, ids in strata_ids:
        decided = [outcomes[cid] for cid in ids if outcomes.get(cid) is not None]
        strata.append(Stratum(population, len(decided), sum(1 for o in decided if o == "violation")))
    return strata


def _scoped_strata(session: Session, strata_ids: list[tuple[int, list[str]]],
                   scope: Any) -> list[tuple[int, list[str]]]:
    """Each stratum's sampled calls inside the scope, its population scaled by the share of its sample
    inside (the draw keeps each stratum's size, not who is in it; a simple random sample's share
    estimates the population's). Strata with no sampled call in scope drop out."""
    every = [cid for _, ids in strata_ids for cid in ids]
    inside: set[str] = set()
    for start in range(0, len(every), 500):
        inside.update(session.execute(select(Call.id).where(Call.id.in_(every[start:start + 500]), scope)).scalars())
    out = []
    for population, ids in strata_ids:
        kept = [cid for cid in ids if cid in inside]
        if kept:
            out.append((max(len(kept), round(population * len(kept) / len(ids))), kept))
    return out


def _rules(session: Session, since: datetime, until: datetime, scope: Any = None) -> list[RuleTally]:
    findings = list(session.execute(current_findings_stmt().where(_in_period(since, until, scope))).scalars())
    by_finding: dict[int, list[Verdict]] = defaultdict(list)
    ids = [f.id for f in findings]
    for start in range(0, len(ids), 500):
        for v in session.execute(select(Verdict).where(Verdict.finding_id.in_(ids[start:start + 500]))).scalars():
            if v.finding_id is not None:
                by_finding[v.finding_id].append(v)
    tallies: dict[str, RuleTally] = {}
    for f in findings:
        t = tallies.setdefault(f.rule_id, RuleTally(f.rule_id, f.category, f.severity))
        t.findings += 1
        t.calls.add(f.call_id)
        label = _label(final_decision(by_finding.get(f.id, [])) or "")
        if label == "violation":
            t.confirmed += 1
        elif label == "no_violation":
            t.false_positive += 1
    return sorted(tallies.values(), key=lambda t: (-t.findings, t.rule_id))


def _kappa(session: Session, since: datetime, until: datetime, confidence: float,
           scope: Any = None) -> tuple[Kappa, str | None]:
    """Cohen's kappa of first against second reviewer over every finding that has both verdicts.

    The pairs come from four eyes (confirmed critical findings, where the first label is always
    "confirmed") and from blind agreement checks (a random share of all first reviews, see
    review.queue.agreement); the blind checks are what give the first label its variation."""
    rows = session.execute(
        select(Verdict).join(ReviewItem, ReviewItem.id == Verdict.item_id)
        .join(Call, Call.id == ReviewItem.call_id)
        .where(_in_period(since, until, scope), Verdict.stage.in_(("first", "second")))
    ).scalars()
    latest: dict[tuple[int, int | None, str], Verdict] = {}
    for v in rows:
        key = (v.item_id, v.finding_id, v.stage)
        if key not in latest or (as_utc(v.created_at), v.id) > (as_utc(latest[key].created_at), latest[key].id):
            latest[key] = v
    pairs: list[tuple[str, str]] = []
    for (item_id, finding_id, stage), first in latest.items():
        second = latest.get((item_id, finding_id, "second"))
        if stage != "first" or second is None:
            continue
        a, b = _label(first.decision), _label(second.decision)
        if a and b:
            pairs.append((a, b))
    kappa = cohens_kappa(pairs, confidence)
    if pairs and (len({a for a, _ in pairs}) == 1 or len({b for _, b in pairs}) == 1):
        # with one label throughout (typically four eyes alone: the first reviewer always confirmed)
        # kappa is 0 or undefined whatever the reviewers think; the observed agreement still speaks
        return kappa, (f"reviewer agreement: kappa says little here because one reviewer gave the same "
                       f"decision throughout; observed agreement {100 * (kappa.observed_agreement or 0.0):.1f}% "
                       f"over {kappa.n} second reviews; blind agreement checks (queue.agreement_share) add "
                       "second reviews of first decisions of every kind")
    return kappa, None


def estimate(session: Session, since: datetime, until: datetime, *, confidence: float = 0.95,
             method: Method = "wilson", scope: Any = None) -> Estimates:
    """All the estimates of one period, from what is reviewed so far; ``scope`` (an SQL condition
    on Call, such as ``Call.team == "t1"``) estimates for those calls only (the dashboard's filters)."""
    notes: list[str] = []
    flagged = _flagged_stratum(session, since, until, scope)
    sample = _sample_strata(session, since, until, scope)
    miss = stratified_proportion(sample, confidence, method)
    unflagged_pop = sum(s.population for s in sample)
    unflagged_in_period = int(session.execute(
        select(func.count()).select_from(Call)
        .where(_in_period(since, until, scope), Call.status == "screened", ~has_current_findings())
    ).scalar_one())
    if miss.n == 0 and max(unflagged_pop, unflagged_in_period) > 0:
        # without one reviewed sample the unflagged calls' rate is unknown, not zero (nor the flagged rate)
        violation = Estimate(None, None, None, flagged.n)
        notes.append("no reviewed sample calls yet: the violation and miss rates wait for sample reviews")
    elif flagged.population > 0 and flagged.n == 0:
        violation = Estimate(None, None, None, miss.n)
        notes.append("no reviewed flagged calls yet: the violation rate waits for flagged reviews")
    else:
        violation = stratified_proportion([flagged, *sample], confidence, method)
    if unflagged_pop < unflagged_in_period:
        notes.append(f"sampling draws cover {unflagged_pop} of {unflagged_in_period} unflagged calls "
                     "in the period; the rest are not represented in the estimates")
    rules = _rules(session, since, until, scope)
    precision = {t.rule_id: proportion(t.confirmed, t.confirmed + t.false_positive, confidence, method)
                 for t in rules}
    coverage = {"flagged_calls": flagged.population, "flagged_reviewed": flagged.n,
                "unflagged_in_draws": unflagged_pop, "unflagged_in_period": unflagged_in_period,
                "sample_reviewed": miss.n}
    kappa, note = _kappa(session, since, until, confidence, scope)
    if note:
        notes.append(note)
    return Estimates(violation, miss, precision, kappa, rules, coverage, notes)
