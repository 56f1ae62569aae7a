"""Scorecards from the database: which pack scores a call, reviewers' answers and adjustments, and the
scores per agent and team that the morning report and the dashboard show.

Who may answer or adjust follows who may decide the item's findings: the reviewer holding the item's
claim (first or second review, lease unexpired; not a blind agreement check, which changes nothing),
or, on a disputed item, a supervisor who may settle it. Every answer, adjustment and clearing goes
into the audit trail (``scorecard_answer``) when the transaction commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqa.errors import NotFoundError, PermissionDeniedError, RulePackError, ScorecardError
from review.queue.base import SUPERVISOR_ROLES, as_utc, get_item, log_item, now_utc, took_part
from review.sampling.draw import as_utc as period_utc
from review.scorecard.scoring import VALUES, Answer, CallScore, FindingDecision, score_call
from review.screening.packs_registry import PACK_BY_LANGUAGE, language_family, load_pack
from review.screening.rules import RulePack
from review.store.models import Appeal, Call, Finding, ReviewItem, ScorecardAnswer, Screening, User, Verdict

CLEAR = "clear"  # the value that removes an answer or adjustment (the item is scored from findings again)
_STAGE_RANK = {"first": 0, "supervisor": 2}  # as review.queue.lifecycle.effective_decisions: a second verdict never stands


def _pack(name: str) -> RulePack | None:
    try:
        pack = load_pack(name)
    except RulePackError:  # a broken or removed site pack: no scorecard rather than no page
        return None
    return pack if pack.scorecard is not None else None


def pack_for(packs: Iterable[str], language: str | None) -> RulePack | None:
    """The pack whose scorecard scores a call screened with ``packs``: the language's default pack when
    it screened the call (or when nothing did), else the first of them that has a scorecard."""
    default = PACK_BY_LANGUAGE.get(language_family(language) or "")
    names = sorted(set(packs))
    if default is not None and (default in names or not names):
        names = [default] + [n for n in names if n != default]
    for name in names:
        pack = _pack(name)
        if pack is not None:
            return pack
    return None


def _standing(verdicts: Iterable[Verdict]) -> dict[int | None, Verdict]:
    """finding id (None: a sample's whole-call verdict) -> the verdict that stands (supervisor, else first)."""
    best: dict[int | None, Verdict] = {}
    for v in verdicts:
        if v.stage == "second":
            continue
        held = best.get(v.finding_id)
        if held is None or _STAGE_RANK.get(v.stage, 0) >= _STAGE_RANK.get(held.stage, 0):
            best[v.finding_id] = v
    return best


def _score(pack: RulePack, item: ReviewItem | None, findings: list[Finding], verdicts: list[Verdict],
           answers: dict[str, Answer], overturned: bool) -> CallScore:
    assert pack.scorecard is not None
    standing = _standing(verdicts)
    decisions = [FindingDecision(f.id, f.rule_id, f.category,
                                 standing[f.id].decision if f.id in standing else None) for f in findings]
    sample = None
    if item is not None and item.kind == "sample":
        whole = standing.get(None)
        sample = (whole.decision, whole.category) if whole is not None else (None, None)
    final = item is not None and item.status == "final"
    return score_call(pack.scorecard, decisions, answers, final=final, pack=pack.name, overturned=overturned,
                      sample=sample)


def _answers(rows: Iterable[tuple[ScorecardAnswer, str]], pack: str) -> dict[str, Answer]:
    return {a.score_item: Answer(a.score_item, a.value, a.kind, a.reason, name, as_utc(a.created_at))
            for a, name in rows if a.pack == pack}


def _current(session: Session, call_ids: list[str]) -> tuple[dict[str, list[Finding]], dict[str, set[str]]]:
    """Each call's findings of its newest screening per pack (as review.calls.repo.current_findings),
    and the packs that screened it."""
    newest = (select(func.max(Screening.id)).where(Screening.call_id.in_(call_ids))
              .group_by(Screening.call_id, Screening.pack))
    packs: dict[str, set[str]] = defaultdict(set)
    for call_id, pack in session.execute(select(Screening.call_id, Screening.pack).where(Screening.id.in_(newest))):
        packs[call_id].add(pack)
    findings: dict[str, list[Finding]] = defaultdict(list)
    for f in session.execute(select(Finding).where(Finding.screening_id.in_(newest)).order_by(Finding.id)).scalars():
        findings[f.call_id].append(f)
    return findings, packs


def call_scorecard(session: Session, call: Call, item: ReviewItem | None) -> tuple[RulePack, CallScore] | None:
    """The call's scorecard now (provisional while its review is open), or None when no pack of the
    call defines one."""
    findings, packs = _current(session, [call.id])
    pack = pack_for(packs.get(call.id, set()), call.language)
    if pack is None:
        return None
    verdicts: list[Verdict] = []
    answers: dict[str, Answer] = {}
    overturned = False
    if item is not None:
        verdicts = list(session.execute(select(Verdict).where(Verdict.item_id == item.id)).scalars())
        answers = _answers(session.execute(
            select(ScorecardAnswer, User.username).join(User, User.id == ScorecardAnswer.reviewer_id)
            .where(ScorecardAnswer.item_id == item.id)).tuples(), pack.name)
        overturned = session.execute(select(Appeal.id).where(Appeal.item_id == item.id,
                                                             Appeal.ruling == "overturned")).first() is not None
    return pack, _score(pack, item, findings.get(call.id, []), verdicts, answers, overturned)


# ---------------------------------------------------------------- answering and adjusting


def may_score(session: Session, user: User, item: ReviewItem | None, now: datetime | None = None) -> bool:
    """The user may answer or adjust the item's scorecard now (as they may decide its findings)."""
    if item is None or not user.active:
        return False
    if item.status == "claimed" and item.assignee_id == user.id:
        expires = as_utc(item.lease_expires_at)
        return expires is not None and expires >= now_utc(now)
    if item.status == "disputed" and (user.role in SUPERVISOR_ROLES or user.role == "admin"):
        return took_part(session, item, user) is None
    return False


def record_answer(session: Session, item_id: int, user: User, score_item: str, value: str, reason: str = "",
                  *, now: datetime | None = None) -> ScorecardAnswer | None:
    """Answer a reviewer item, or adjust a rule-tied item (a reason is required); ``clear`` removes it.

    Answering again replaces the row; the audit trail keeps every version. Returns the row (None when
    cleared)."""
    now = now_utc(now)
    item = get_item(session, item_id)
    call = session.get(Call, item.call_id)
    if call is None:  # pragma: no cover - the foreign key keeps them together
        raise NotFoundError(f"call {item.call_id!r} of item {item_id} does not exist")
    if not may_score(session, user, item, now):
        raise PermissionDeniedError(
            f"{user.username} may not change the scorecard of item {item_id}: only the reviewer holding its claim, "
            "or a supervisor settling its dispute, may")
    found = call_scorecard(session, call, item)
    if found is None:
        raise ScorecardError(f"call {call.id}: no rule pack it was screened with defines a scorecard")
    pack, _ = found
    assert pack.scorecard is not None
    definition = pack.scorecard.item(score_item)
    if definition is None:
        raise ScorecardError(f"scorecard of pack {pack.name} has no item {score_item!r}")
    if value not in VALUES + (CLEAR,):
        raise ScorecardError(f"scorecard item {score_item}: value {value!r} must be one of {', '.join(VALUES)} "
                             f"or {CLEAR}")
    reason = reason.strip()
    kind = "answer" if definition.reviewer else "adjustment"
    if kind == "adjustment" and value != CLEAR and not reason:
        raise ScorecardError(f"scorecard item {score_item} is decided by the call's findings; adjusting it "
                             "needs a reason (it goes into the audit trail)")
    row = session.execute(select(ScorecardAnswer).where(ScorecardAnswer.item_id == item.id,
                                                        ScorecardAnswer.score_item == score_item)).scalar_one_or_none()
    payload: dict[str, Any] = {"pack": pack.name, "score_item": score_item, "answer_kind": kind, "value": value,
                               "reason": reason, "previous": row.value if row is not None else None}
    if value == CLEAR:
        if row is not None:
            session.delete(row)
            session.flush()
            log_item(session, "scorecard_answer", item, user, **payload)
        return None
    if row is None:
        row = ScorecardAnswer(item_id=item.id, call_id=call.id, score_item=score_item)
        session.add(row)
    row.pack, row.kind, row.value, row.reason = pack.name, kind, value, reason
    row.reviewer_id, row.created_at = user.id, now
    session.flush()
    log_item(session, "scorecard_answer", item, user, answer_id=row.id, **payload)
    return row


# ---------------------------------------------------------------- scores per agent and team


@dataclass(frozen=True)
class ScoreSummary:
    """Scored calls of one agent or team: a call is scored when its review is final and some item applies."""

    key: str  # the agent id or team ("(none)" when the call has none)
    team: str  # the agent's team (by="agent"); the key again for by="team"
    scored_calls: int
    passed: int
    mean_score: float | None
    pass_rate: float | None

    def as_dict(self, by: str) -> dict[str, Any]:
        row: dict[str, Any] = {"agent_id" if by == "agent" else "team": self.key}
        if by == "agent":
            row["team"] = self.team
        row.update(scored_calls=self.scored_calls, passed=self.passed,
                   mean_score=None if self.mean_score is None else round(self.mean_score, 1),
                   pass_rate=None if self.pass_rate is None else round(self.pass_rate, 4))
        return row


def scored_calls(session: Session, since: datetime, until: datetime) -> Iterable[tuple[Call, CallScore]]:
    """Every call in [since, until) (by start, else registration) whose review is final, with its score."""
    when = func.coalesce(Call.started_at, Call.created_at)
    rows = session.execute(select(Call, ReviewItem).join(ReviewItem, ReviewItem.call_id == Call.id)
                           .where(ReviewItem.status == "final", when >= since, when < until)
                           .order_by(when, Call.id)).tuples().all()
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        call_ids = [c.id for c, _ in chunk]
        item_ids = [i.id for _, i in chunk]
        findings, packs = _current(session, call_ids)
        verdicts: dict[int, list[Verdict]] = defaultdict(list)
        for v in session.execute(select(Verdict).where(Verdict.item_id.in_(item_ids))).scalars():
            verdicts[v.item_id].append(v)
        answers: dict[int, list[tuple[ScorecardAnswer, str]]] = defaultdict(list)
        for a, name in session.execute(select(ScorecardAnswer, User.username)
                                       .join(User, User.id == ScorecardAnswer.reviewer_id)
                                       .where(ScorecardAnswer.item_id.in_(item_ids))).tuples():
            answers[a.item_id].append((a, name))
        overturned = set(session.execute(select(Appeal.item_id).where(Appeal.item_id.in_(item_ids),
                                                                      Appeal.ruling == "overturned")).scalars())
        for call, item in chunk:
            pack = pack_for(packs.get(call.id, set()), call.language)
            if pack is None:
                continue
            yield call, _score(pack, item, findings.get(call.id, []), verdicts[item.id],
                               _answers(answers[item.id], pack.name), item.id in overturned)


def summarise(scores: Iterable[tuple[Call, CallScore]], by: str) -> list[ScoreSummary]:
    if by not in ("agent", "team"):
        raise ScorecardError(f"scores by {by!r}: use by='agent' or by='team'")
    groups: dict[str, list[CallScore]] = defaultdict(list)
    teams: dict[str, str] = {}
    for call, score in scores:
        if score.score is None:
            continue
        key = (call.agent_id if by == "agent" else call.team) or "(none)"
        groups[key].append(score)
        teams.setdefault(key, (call.team or "") if by == "agent" else key)
    out = []
    for key, rows in sorted(groups.items()):
        passed = sum(1 for s in rows if s.passed)
        out.append(ScoreSummary(key=key, team=teams[key], scored_calls=len(rows), passed=passed,
                                mean_score=sum(float(s.score or 0.0) for s in rows) / len(rows),
                                pass_rate=passed / len(rows)))
    return out


def scorecard_summary(session: Session, since: datetime, until: datetime, by: str = "agent") -> list[ScoreSummary]:
    """Mean score, pass rate and number of scored calls per agent (``by="agent"``) or team (``by="team"``)
    for calls in [since, until) whose review is final. For the morning report and the dashboard."""
    if by not in ("agent", "team"):
        raise ScorecardError(f"scores by {by!r}: use by='agent' or by='team'")
    return summarise(scored_calls(session, period_utc(since), period_utc(until)), by)
