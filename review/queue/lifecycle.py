"""The review queue: enqueue, claim with a lease, decide, four eyes, appeal, SLA.

Life of a review item (``ReviewItem.status`` / ``.stage``)::

    open/first --claim--> claimed/first --submit--> final
                                          \\-- a confirmed critical finding --> open/second
    open/second --claim (another reviewer)--> claimed/second --submit--> final (agree)
                                                                \\--> disputed/supervisor (disagree)
    disputed --supervisor_decide--> final --appeal (team lead, once, in window)--> appealed
    appealed --rule_appeal (supervisor, final)--> final

A share of flagged items made final by their first review is drawn for a blind agreement check
(``agreement_share``; see ``review.queue.agreement``): another reviewer decides every finding again without
seeing the first verdicts. The outcome is final at once and never waits for or follows the check;
only reviewer agreement (kappa) uses it.

Every transition is one conditional ``UPDATE`` on the expected state, so two
reviewers racing for the same item never both win (on PostgreSQL the claim
also uses ``FOR UPDATE SKIP LOCKED``; on SQLite the single UPDATE statement
runs under the database's write lock). Functions take a ``Session``, flush,
and leave the commit to the caller: commit right after a claim so the lease
is visible to others. Every change appends to the audit trail when the
transaction commits (``audit.append_on_commit``), nothing if it rolls back. Actions raise ``PermissionDeniedError`` (wrong role or person),
``QueueConflictError`` (wrong state, lost race, expired lease) or
``NotFoundError`` with a message that says what to do next.

Deciding a claimed item: ``record_verdict`` on each finding (flagged items) or
``record_sample_verdict`` (sample items), then ``submit``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from callqa.errors import NotFoundError, PermissionDeniedError, QueueConflictError
from review.calls.repo import current_findings, insert_ignore
from review.queue import agreement
from review.queue.appeals import RULINGS, appeal, rule_appeal
from review.queue.base import (
    REVIEW_ROLES,
    SUPERVISOR_ROLES,
    as_utc,
    csv_list,
    get_item,
    item_for_call,
    log_item,
    now_utc,
    require_role,
    transition,
)
from review.queue.stats import QueueStats, list_items, mark_overdue, stats
from review.store.models import SEVERITY_RANK, Call, Finding, ReviewItem, User, Verdict

# appeals and reading live in their own modules; this is the one import callers need
__all__ = [
    "DEFAULT_LEASE_SECONDS", "DEFAULT_MAX_OPEN", "FINDING_DECISIONS", "REVIEW_ROLES", "RULINGS", "SAMPLE_DECISIONS",
    "SUPERVISOR_ROLES", "ClaimFilters", "QueueStats", "appeal", "claim", "claim_next", "disputed_findings",
    "effective_decisions",
    "enqueue", "get_item", "held_by", "item_for_call", "list_items", "mark_overdue", "outcome_of",
    "record_sample_verdict", "record_verdict", "release", "release_expired", "rule_appeal", "second_review",
    "stats", "submit", "supervisor_decide", "verdicts_of",
]

FINDING_DECISIONS = ("confirmed", "false_positive")
SAMPLE_DECISIONS = ("violation", "clean")
DEFAULT_LEASE_SECONDS = 900
DEFAULT_MAX_OPEN = 20
_STAGE_ORDER = {"first": 0, "supervisor": 2}  # a second verdict never stands (see effective_decisions)


@dataclass(frozen=True)
class ClaimFilters:
    """Narrow what ``claim_next`` may hand out (on top of the reviewer's own assignment rules)."""

    team: str | None = None
    dialect: str | None = None
    language: str | None = None
    kind: str | None = None  # flagged | sample
    stage: str | None = None  # first | second (four eyes, then blind checks) | agreement (blind checks only)

    @classmethod
    def of(cls, value: ClaimFilters | Mapping[str, Any] | None) -> ClaimFilters:
        if value is None or isinstance(value, ClaimFilters):
            return value or cls()
        unknown = set(value) - {"team", "dialect", "language", "kind", "stage"}
        if unknown:
            raise QueueConflictError(f"unknown claim filter(s) {sorted(unknown)}; use team, dialect, language, kind, stage")
        return cls(**{k: v for k, v in value.items() if v not in (None, "")})


# ---------------------------------------------------------------- enqueue


def enqueue(session: Session, call_id: str, kind: str = "flagged", *,
            now: datetime | None = None) -> tuple[ReviewItem, bool]:
    """Put a call in the queue once; a second call (any kind) returns the existing item and False.

    Priority comes from the call's current findings: urgent (customer
    vulnerability) first, then the highest severity, then age."""
    if kind not in ("flagged", "sample"):
        raise QueueConflictError(f"unknown item kind {kind!r}; use 'flagged' or 'sample'")
    call = session.get(Call, call_id)
    if call is None:
        raise NotFoundError(f"call {call_id!r} is not in the review store; register and screen it first")
    existing = item_for_call(session, call_id)
    if existing is not None:
        return existing, False
    findings = current_findings(session, call_id)
    if kind == "flagged" and not findings:
        raise QueueConflictError(f"call {call_id!r} has no findings to review; enqueue it as kind 'sample' instead")
    top = max(findings, key=lambda f: (f.urgent, SEVERITY_RANK.get(f.severity, 0)), default=None)
    created = insert_ignore(session, ReviewItem, {
        "call_id": call_id, "kind": kind, "status": "open", "stage": "first",
        "urgent": any(f.urgent for f in findings),
        "severity_rank": max((SEVERITY_RANK.get(f.severity, 0) for f in findings), default=0),
        "category": top.category if top else None,
        "team": call.team, "agent_id": call.agent_id, "dialect": call.dialect, "language": call.language,
        "overdue": False, "created_at": now_utc(now),
    })
    item = item_for_call(session, call_id)
    assert item is not None  # inserted now or by a concurrent enqueue
    if created:
        log_item(session, "enqueued", item, None, item_kind=kind, urgent=item.urgent, severity_rank=item.severity_rank,
             findings=len(findings))
    return item, created


# ---------------------------------------------------------------- claiming


def release_expired(session: Session, now: datetime | None = None) -> list[int]:
    """Return items whose lease ran out to the queue (same stage); their ids."""
    now = now_utc(now)
    expired = (select(ReviewItem.id)
               .where(ReviewItem.status == "claimed", ReviewItem.lease_expires_at < now)
               .with_for_update(skip_locked=True))
    rows = session.execute(
        update(ReviewItem).where(ReviewItem.id.in_(expired.scalar_subquery()), ReviewItem.status == "claimed")
        .values(status="open", assignee_id=None, lease_expires_at=None, claimed_at=None)
        .returning(ReviewItem.id, ReviewItem.call_id).execution_options(synchronize_session=False)
    ).all()
    for item_id, _call_id in rows:
        log_item(session, "lease_expired", get_item(session, item_id), None)
    return [r[0] for r in rows] + agreement.release_expired_checks(session, now)


def _eligible(user: User, filters: ClaimFilters, *, routing: bool) -> list[Any]:
    """SQL conditions for items this user may take: never their own calls, never twice in four eyes."""
    conds: list[Any] = [
        or_(ReviewItem.stage == "first",
            and_(ReviewItem.stage == "second", ReviewItem.first_reviewer_id != user.id)),
        *_routing(user, filters, routing=routing),
    ]
    if filters.stage is not None:
        conds.append(ReviewItem.stage == filters.stage)
    return conds


def _routing(user: User, filters: ClaimFilters, *, routing: bool) -> list[Any]:
    """Conditions on who may see the call at all (own calls, assignment rules, filters), at any stage."""
    conds: list[Any] = []
    if user.agent_id:
        conds.append(or_(ReviewItem.agent_id.is_(None), ReviewItem.agent_id != user.agent_id))
    if routing:
        if teams := csv_list(user.review_teams):
            conds.append(ReviewItem.team.in_(teams))
        if langs := csv_list(user.languages):
            conds.append(or_(ReviewItem.dialect.in_(langs), ReviewItem.language.in_(langs)))
        if skills := csv_list(user.skills):
            conds.append(or_(ReviewItem.category.is_(None), ReviewItem.category.in_(skills)))
    for column, value in ((ReviewItem.team, filters.team), (ReviewItem.dialect, filters.dialect),
                          (ReviewItem.language, filters.language), (ReviewItem.kind, filters.kind)):
        if value is not None:
            conds.append(column == value)
    return conds


def held_by(session: Session, user: User, now: datetime | None = None) -> int:
    """How many items the user holds under a live lease."""
    return int(session.execute(
        select(func.count()).select_from(ReviewItem).where(
            or_(ReviewItem.status == "claimed", ReviewItem.agreement_check == agreement.CHECK_CLAIMED),
            ReviewItem.assignee_id == user.id, ReviewItem.lease_expires_at >= now_utc(now))
    ).scalar_one())


def _check_cap(session: Session, user: User, now: datetime, max_open: int) -> None:
    held = held_by(session, user, now)
    if held >= max_open:
        raise QueueConflictError(
            f"{user.username} already holds {held} open item(s), the cap is {max_open}; "
            "submit or release one before claiming more"
        )


def claim_next(session: Session, user: User, *, now: datetime | None = None,
               filters: ClaimFilters | Mapping[str, Any] | None = None,
               lease_seconds: int = DEFAULT_LEASE_SECONDS, max_open: int = DEFAULT_MAX_OPEN) -> ReviewItem | None:
    """Claim the highest-priority item this reviewer may take, or None when there is none.

    Expired leases are returned to the queue first. Assignment rules come from
    the user (``review_teams``, ``languages``, ``skills``; empty means any) and
    ``filters``. Blind agreement checks come after every regular item the user
    may take (they hold nothing up), or only them with ``stage="agreement"``.
    Commit soon after: the lease is what keeps others away."""
    require_role(user, REVIEW_ROLES, "claim review items")
    now = now_utc(now)
    release_expired(session, now)
    _check_cap(session, user, now, max_open)
    filters = ClaimFilters.of(filters)
    if filters.stage in ("agreement", "second") or filters.stage is None:
        regular = None if filters.stage == "agreement" else _claim_regular(session, user, now, filters, lease_seconds)
        if regular is not None:
            return regular
        blind = dataclasses.replace(filters, stage=None)
        return agreement.claim_next_check(session, user, now, lease_seconds, _routing(user, blind, routing=True))
    return _claim_regular(session, user, now, filters, lease_seconds)


def _claim_regular(session: Session, user: User, now: datetime, filters: ClaimFilters,
                   lease_seconds: int) -> ReviewItem | None:
    candidate = (select(ReviewItem.id)
                 .where(ReviewItem.status == "open", *_eligible(user, filters, routing=True))
                 .order_by(ReviewItem.urgent.desc(), ReviewItem.severity_rank.desc(), ReviewItem.created_at,
                           ReviewItem.id)
                 .limit(1).with_for_update(skip_locked=True))
    # one statement: on SQLite it runs under the write lock, on PostgreSQL the row is locked and skipped by others
    item = session.execute(
        update(ReviewItem).where(ReviewItem.id == candidate.scalar_subquery(), ReviewItem.status == "open")
        .values(status="claimed", assignee_id=user.id, claimed_at=now,
                lease_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(ReviewItem).execution_options(synchronize_session=False, populate_existing=True)
    ).scalar_one_or_none()
    if item is None:
        return None
    log_item(session, "claimed", item, user, stage=item.stage, lease_expires_at=item.lease_expires_at)
    return item


def claim(session: Session, item_id: int, user: User, *, now: datetime | None = None,
          lease_seconds: int = DEFAULT_LEASE_SECONDS, max_open: int = DEFAULT_MAX_OPEN) -> ReviewItem:
    """Claim one chosen item (or renew your own lease on it).

    Reviewers are held to their assignment rules; supervisors may pick any item."""
    require_role(user, REVIEW_ROLES, "claim review items")
    now = now_utc(now)
    item = get_item(session, item_id)
    routing = user.role not in SUPERVISOR_ROLES
    if item.agreement_check in (agreement.CHECK_OPEN, agreement.CHECK_CLAIMED):
        if not (item.agreement_check == agreement.CHECK_CLAIMED and item.assignee_id == user.id):
            _check_cap(session, user, now, max_open)
        within = session.execute(select(ReviewItem.id).where(
            ReviewItem.id == item_id, *_routing(user, ClaimFilters(), routing=routing))).first() is not None
        return agreement.claim_check(session, item, user, now=now, lease_seconds=lease_seconds, within_rules=within)
    mine = item.status == "claimed" and item.assignee_id == user.id
    if not mine:
        _check_cap(session, user, now, max_open)
    allowed = session.execute(select(ReviewItem.id).where(
        ReviewItem.id == item_id, *_eligible(user, ClaimFilters(), routing=routing))).first()
    if allowed is None:
        if user.agent_id and item.agent_id == user.agent_id:
            raise PermissionDeniedError(f"item {item_id} is a call of agent {item.agent_id}, which is you; "
                                        "reviewers never review their own calls")
        if item.stage == "second" and item.first_reviewer_id == user.id:
            raise PermissionDeniedError(f"item {item_id} needs a second reviewer other than you (four eyes)")
        raise PermissionDeniedError(f"item {item_id} (team {item.team}, dialect {item.dialect}, category "
                                    f"{item.category}) is outside {user.username}'s assignment rules")
    ok = transition(session, item_id, [or_(
        ReviewItem.status == "open",
        and_(ReviewItem.status == "claimed", ReviewItem.lease_expires_at < now),
        and_(ReviewItem.status == "claimed", ReviewItem.assignee_id == user.id),
    )], {"status": "claimed", "assignee_id": user.id, "claimed_at": now,
         "lease_expires_at": now + timedelta(seconds=lease_seconds)})
    item = get_item(session, item_id)
    if not ok:
        if item.status == "claimed":
            raise QueueConflictError(f"item {item_id} is claimed by another reviewer until "
                                     f"{as_utc(item.lease_expires_at)}; pick another with `callqa queue next`")
        raise QueueConflictError(f"item {item_id} is {item.status}, not open for review")
    log_item(session, "claimed", item, user, stage=item.stage, lease_expires_at=item.lease_expires_at, renewed=mine)
    return item


def release(session: Session, item_id: int, user: User) -> ReviewItem:
    """Give a claimed item (or blind check) back to the queue unfinished (verdicts recorded so far stay)."""
    if agreement.release_check(session, item_id, user):
        return get_item(session, item_id)
    if not transition(session, item_id, [ReviewItem.status == "claimed", ReviewItem.assignee_id == user.id],
                       {"status": "open", "assignee_id": None, "claimed_at": None, "lease_expires_at": None}):
        raise QueueConflictError(f"item {item_id} is not claimed by {user.username}; nothing to release")
    item = get_item(session, item_id)
    log_item(session, "released", item, user, stage=item.stage)
    return item


def _held_item(session: Session, item_id: int, user: User, now: datetime) -> ReviewItem:
    item = get_item(session, item_id)
    held = item.status == "claimed" or item.agreement_check == agreement.CHECK_CLAIMED
    if not held or item.assignee_id != user.id:
        raise QueueConflictError(f"item {item_id} is not claimed by {user.username} (it is {item.status}); "
                                 f"claim it first with `callqa queue claim {item_id}`")
    expires = as_utc(item.lease_expires_at)
    if expires is None or expires < now:
        raise QueueConflictError(f"{user.username}'s lease on item {item_id} expired at {expires}; claim it again")
    return item


# ---------------------------------------------------------------- verdicts


def _upsert_verdict(session: Session, item: ReviewItem, finding_id: int | None, user: User, stage: str,
                    decision: str, category: str | None, reason_code: str, comment: str, now: datetime) -> Verdict:
    verdict = session.execute(select(Verdict).where(
        Verdict.item_id == item.id, Verdict.stage == stage,
        Verdict.finding_id.is_(None) if finding_id is None else Verdict.finding_id == finding_id,
    )).scalar_one_or_none()
    if verdict is None:
        verdict = Verdict(item_id=item.id, finding_id=finding_id, stage=stage)
        session.add(verdict)
    verdict.reviewer_id, verdict.decision, verdict.category = user.id, decision, category
    verdict.reason_code, verdict.comment, verdict.created_at = reason_code, comment, now
    session.flush()
    log_item(session, "verdict", item, user, verdict_id=verdict.id, finding_id=finding_id, stage=stage,
         decision=decision, category=category, reason_code=reason_code, comment=comment)
    return verdict


def _finding_of(session: Session, item: ReviewItem, finding_id: int) -> Finding:
    finding = session.get(Finding, finding_id)
    if finding is None or finding.call_id != item.call_id:
        raise NotFoundError(f"finding {finding_id} does not belong to item {item.id} (call {item.call_id})")
    return finding


def record_verdict(session: Session, item_id: int, finding_id: int, user: User, decision: str,
                   reason_code: str = "", comment: str = "", *, now: datetime | None = None) -> Verdict:
    """Confirm a finding or call it a false positive, at the item's current stage (first or second).

    A false positive needs a reason code. Recording again before ``submit``
    replaces your earlier verdict on that finding (the audit trail keeps both)."""
    now = now_utc(now)
    if decision not in FINDING_DECISIONS:
        raise QueueConflictError(f"verdict {decision!r} on finding {finding_id}: use one of {', '.join(FINDING_DECISIONS)}")
    if decision == "false_positive" and not reason_code.strip():
        raise QueueConflictError(f"finding {finding_id}: a false positive needs a reason code")
    item = _held_item(session, item_id, user, now)
    if item.kind != "flagged":
        raise QueueConflictError(f"item {item_id} is a sample; use record_sample_verdict (violation | clean)")
    _finding_of(session, item, finding_id)
    if item.agreement_check == agreement.CHECK_CLAIMED:  # a blind check decides every finding afresh
        return _upsert_verdict(session, item, finding_id, user, "second", decision, None, reason_code.strip(),
                               comment, now)
    if item.stage == "second" and finding_id not in {f.id for f in _critical_confirmed(session, item)}:
        raise QueueConflictError(f"finding {finding_id} is not under second review on item {item_id}; "
                                 "only confirmed critical findings need a second verdict")
    return _upsert_verdict(session, item, finding_id, user, item.stage, decision, None, reason_code.strip(),
                           comment, now)


def record_sample_verdict(session: Session, item_id: int, user: User, decision: str, category: str | None = None,
                          reason_code: str = "", comment: str = "", *, now: datetime | None = None) -> Verdict:
    """Decide a sampled call as a whole: ``violation`` (with the category found) or ``clean``."""
    now = now_utc(now)
    if decision not in SAMPLE_DECISIONS:
        raise QueueConflictError(f"sample verdict {decision!r}: use one of {', '.join(SAMPLE_DECISIONS)}")
    if decision == "violation" and not category:
        raise QueueConflictError(f"item {item_id}: a sample violation needs the category that was violated")
    item = _held_item(session, item_id, user, now)
    if item.kind != "sample":
        raise QueueConflictError(f"item {item_id} is flagged; decide each finding with record_verdict")
    return _upsert_verdict(session, item, None, user, "first", decision, category if decision == "violation" else None,
                           reason_code.strip(), comment, now)


def verdicts_of(session: Session, item_id: int) -> list[Verdict]:
    return list(session.execute(select(Verdict).where(Verdict.item_id == item_id).order_by(Verdict.id)).scalars())


def effective_decisions(session: Session, item: ReviewItem,
                        verdicts: list[Verdict] | None = None) -> dict[int | None, str]:
    """finding id (None for a sample) -> the decision that stands: a supervisor's, else the first reviewer's.

    A second verdict never stands on its own: in four eyes agreement repeats the first decision and
    disagreement goes to a supervisor; a blind agreement check only measures agreement."""
    best: dict[int | None, tuple[int, str]] = {}
    for v in verdicts if verdicts is not None else verdicts_of(session, item.id):
        if v.stage == "second":
            continue
        rank = _STAGE_ORDER.get(v.stage, 0)
        if v.finding_id not in best or rank >= best[v.finding_id][0]:
            best[v.finding_id] = (rank, v.decision)
    return {k: d for k, (_, d) in best.items()}


def outcome_of(session: Session, item: ReviewItem, verdicts: list[Verdict] | None = None) -> str:
    decisions = effective_decisions(session, item, verdicts).values()
    return "violation" if any(d in ("confirmed", "violation") for d in decisions) else "no_violation"


def _critical_confirmed(session: Session, item: ReviewItem, verdicts: list[Verdict] | None = None,
                        findings: list[Finding] | None = None) -> list[Finding]:
    """Findings the first reviewer confirmed that are critical: these need four eyes."""
    verdicts = verdicts if verdicts is not None else verdicts_of(session, item.id)
    confirmed = {v.finding_id for v in verdicts if v.stage == "first" and v.decision == "confirmed"}
    findings = findings if findings is not None else current_findings(session, item.call_id)
    return [f for f in findings if f.id in confirmed and f.severity == "critical"]


def disputed_findings(session: Session, item: ReviewItem, verdicts: list[Verdict] | None = None,
                      findings: list[Finding] | None = None) -> list[Finding]:
    """Confirmed critical findings the second reviewer did not confirm: what a supervisor settles.
    (Those both reviewers confirmed stand as they are.)"""
    verdicts = verdicts if verdicts is not None else verdicts_of(session, item.id)
    second = {v.finding_id: v.decision for v in verdicts if v.stage == "second"}
    return [f for f in _critical_confirmed(session, item, verdicts, findings) if second.get(f.id) != "confirmed"]


# ---------------------------------------------------------------- submitting


def submit(session: Session, item_id: int, user: User, *, now: datetime | None = None,
           agreement_share: float = 0.0, agreement_salt: str = "") -> ReviewItem:
    """Finish your stage of the item.

    First review: every finding needs your verdict (a sample, its sample
    verdict). A confirmed critical finding sends the item to a second,
    different reviewer; otherwise the outcome is final at once, and a share
    ``agreement_share`` of such flagged items (drawn from the item id and
    ``agreement_salt``; pass ``settings.queue``'s) also gets a blind agreement
    check that changes nothing about it. Second review: agree on every
    critical finding and the outcome is final, disagree and the item goes to a
    supervisor. Blind check: a verdict on every finding, and it is done."""
    now = now_utc(now)
    item = _held_item(session, item_id, user, now)
    stage = item.stage
    # read once: a submit runs often under load and each query is a round trip
    verdicts = verdicts_of(session, item_id)
    findings = current_findings(session, item.call_id) if item.kind == "flagged" else []
    if item.agreement_check == agreement.CHECK_CLAIMED:
        return agreement.submit_check(session, item, user, verdicts, findings, now)
    critical = _critical_confirmed(session, item, verdicts, findings)
    mine = {v.finding_id: v for v in verdicts if v.stage == stage}
    if stage == "first":
        needed: set[int | None] = {None} if item.kind == "sample" else {f.id for f in findings}
    else:
        needed = {f.id for f in critical}
    missing = sorted(str(n) for n in needed - set(mine))
    if missing:
        what = "a sample verdict" if item.kind == "sample" else f"verdicts on finding(s) {', '.join(missing)}"
        raise QueueConflictError(f"item {item_id} cannot be submitted yet: record {what} first")
    done: dict[str, Any] = {"assignee_id": None, "lease_expires_at": None, "claimed_at": None}
    values: dict[str, Any]
    payload: dict[str, Any]
    held = [ReviewItem.status == "claimed", ReviewItem.assignee_id == user.id, ReviewItem.stage == stage]
    if stage == "first" and item.kind == "flagged" and critical:
        values = {**done, "status": "open", "stage": "second", "first_reviewer_id": user.id}
        event, payload = "submitted", {"stage": "first", "next": "second_review"}
    elif stage == "first":
        values = {**done, "status": "final", "first_reviewer_id": user.id, "outcome": outcome_of(session, item, verdicts),
                  "decided_at": now}
        event, payload = "submitted", {"stage": "first", "outcome": values["outcome"]}
        if item.kind == "flagged" and agreement_share > 0:
            drawn = agreement.draw(item_id, agreement_share, agreement_salt)
            payload["agreement_draw"] = drawn.audit()
            if drawn.selected:
                values["agreement_check"] = agreement.CHECK_OPEN
    else:
        agree = all(mine[n].decision == "confirmed" for n in needed)
        values = {**done, "second_reviewer_id": user.id}
        if agree:
            values.update(status="final", outcome="violation", decided_at=now)
        else:
            values.update(status="disputed", stage="supervisor")
        event, payload = "second_review", {"agree": agree, "outcome": values.get("outcome"),
                                          "next": None if agree else "supervisor"}
    if not transition(session, item_id, held, values):
        raise QueueConflictError(f"item {item_id} changed while you were submitting; reload it")
    item = get_item(session, item_id)
    log_item(session, event, item, user, **payload)
    return item


def second_review(session: Session, item_id: int, user: User, *, agree: bool, reason_code: str = "",
                  comment: str = "", now: datetime | None = None) -> ReviewItem:
    """Second reviewer's shortcut: agree (or not) with every confirmed critical finding, then submit."""
    now = now_utc(now)
    item = _held_item(session, item_id, user, now)
    if item.stage != "second":
        raise QueueConflictError(f"item {item_id} is at stage {item.stage!r}, not waiting for a second review")
    for finding in _critical_confirmed(session, item):
        record_verdict(session, item_id, finding.id, user, "confirmed" if agree else "false_positive",
                       reason_code or ("" if agree else "second_review_disagrees"), comment, now=now)
    return submit(session, item_id, user, now=now)


def supervisor_decide(session: Session, item_id: int, user: User, decisions: Mapping[int, str], *,
                      reason_code: str = "", comment: str = "", comments: Mapping[int, str] | None = None,
                      now: datetime | None = None) -> ReviewItem:
    """Settle a disputed item: a decision (confirmed | false_positive) for each disputed finding.

    ``comments`` holds the supervisor's comment per finding (stored on that finding's verdict); a finding
    without one gets ``comment``. Decisions on critical findings both reviewers confirmed are accepted too
    (callers that send every confirmed critical finding keep working), but none is needed for them."""
    require_role(user, SUPERVISOR_ROLES, "settle a disputed review")
    now = now_utc(now)
    item = get_item(session, item_id)
    if item.status != "disputed":
        raise QueueConflictError(f"item {item_id} is {item.status}, not disputed; nothing for a supervisor to settle")
    if user.id in (item.first_reviewer_id, item.second_reviewer_id) or (user.agent_id and user.agent_id == item.agent_id):
        raise PermissionDeniedError(f"{user.username} reviewed item {item_id} or is its agent; another supervisor must decide")
    verdicts = verdicts_of(session, item.id)
    disputed = {f.id for f in disputed_findings(session, item, verdicts)}
    allowed = {f.id for f in _critical_confirmed(session, item, verdicts)}
    if not disputed <= set(decisions) <= allowed or any(d not in FINDING_DECISIONS for d in decisions.values()):
        raise QueueConflictError(f"item {item_id}: give confirmed or false_positive for exactly the disputed "
                                 f"finding(s) {sorted(disputed)}")
    notes = {finding_id: ((comments or {}).get(finding_id) or comment).strip() for finding_id in decisions}
    for finding_id, decision in sorted(decisions.items()):
        _upsert_verdict(session, item, finding_id, user, "supervisor", decision, None, reason_code,
                        notes[finding_id], now)
    outcome = outcome_of(session, item)
    if not transition(session, item_id, [ReviewItem.status == "disputed"],
                       {"status": "final", "outcome": outcome, "decided_at": now}):
        raise QueueConflictError(f"item {item_id} was settled by someone else meanwhile; reload it")
    item = get_item(session, item_id)
    log_item(session, "supervisor_decision", item, user, outcome=outcome, decisions={str(k): v for k, v in decisions.items()},
             comments={str(k): notes[k] for k in sorted(decisions)}, reason_code=reason_code)
    return item


