"""Blind agreement checks: a reproducible share of first reviews decided again by another reviewer.

Why: four eyes sends only confirmed critical findings to a second reviewer, so on those the first
decision is always "confirmed" and Cohen's kappa between reviewers is 0 by construction. A blind
check draws a share (``queue.agreement_share``) of the flagged items whose first review made them
final and asks a second, different reviewer to decide every finding again, without being shown the
first verdicts or the outcome.

A blind check never holds up or changes anything. The item is final (and appealable) the moment the
first reviewer submits; its outcome stays the first reviewer's whatever the second reviewer says, and
a disagreement starts no dispute. The second reviewer's verdicts are stored as stage "second" and
only feed the agreement estimate (``review.sampling.estimates``). Items that go to four eyes are never drawn:
they get a second review anyway, and both kinds of second review count towards kappa.

The draw is reproducible and auditable: the SHA-256 of the site salt and the item id, read as a
number in [0, 1), is compared with the share. The audit event of the first submission records that
number, the share and the salt's own SHA-256 (not the salt: with it a reviewer could tell in advance
which of their reviews will be checked), so an auditor holding the site salt can recompute every draw
and see that none was picked by hand.

``ReviewItem.agreement_check``: NULL (not drawn) -> open -> claimed (assignee and lease, as for a
normal claim, while the item itself stays final) -> done. The queue functions (``review.queue.lifecycle``
claim_next, claim, release, record_verdict, submit) dispatch here, so the CLI and the web UI need no
separate path; ``claim_next`` hands out blind checks only when no regular item is eligible, or first
with ``ClaimFilters(stage="agreement")``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from callqa.errors import ConfigError, PermissionDeniedError, QueueConflictError
from review.queue.base import as_utc, get_item, log_item, transition
from review.store.models import Finding, ReviewItem, User, Verdict

CHECK_OPEN, CHECK_CLAIMED, CHECK_DONE = "open", "claimed", "done"


@dataclass(frozen=True)
class AgreementDraw:
    """One item's draw: selected when ``value < share``."""

    share: float
    value: float
    selected: bool
    salt_sha256: str

    def audit(self) -> dict[str, Any]:
        return asdict(self)


def draw(item_id: int, share: float, salt: str = "") -> AgreementDraw:
    """Whether the first review of ``item_id`` gets a blind check; the same inputs always give the same answer."""
    if not isinstance(share, int | float) or math.isnan(share) or not 0.0 <= share <= 1.0:
        raise ConfigError(f"queue.agreement_share={share!r} must be a share between 0 and 1 "
                          "(0.1 blind-checks one first review in ten; 0 turns blind checks off)")
    digest = hashlib.sha256(f"callqa-agreement\x00{salt}\x00{item_id}".encode()).digest()
    value = int.from_bytes(digest[:8], "big") / 2**64
    return AgreementDraw(float(share), value, value < share, hashlib.sha256(salt.encode()).hexdigest())


def release_expired_checks(session: Session, now: datetime) -> list[int]:
    """Blind checks whose lease ran out go back to open; their item ids."""
    expired = (select(ReviewItem.id)
               .where(ReviewItem.agreement_check == CHECK_CLAIMED, ReviewItem.lease_expires_at < now)
               .with_for_update(skip_locked=True))  # as for regular items: never wait on a row another claim holds
    rows = session.execute(
        update(ReviewItem).where(ReviewItem.id.in_(expired.scalar_subquery()),
                                 ReviewItem.agreement_check == CHECK_CLAIMED)
        .values(agreement_check=CHECK_OPEN, assignee_id=None, lease_expires_at=None, claimed_at=None)
        .returning(ReviewItem.id).execution_options(synchronize_session=False)
    ).scalars().all()
    for item_id in rows:
        log_item(session, "lease_expired", get_item(session, item_id), None, agreement_check=True)
    return list(rows)


def claim_next_check(session: Session, user: User, now: datetime, lease_seconds: int,
                     routing: list[Any]) -> ReviewItem | None:
    """Claim the oldest open blind check this user may take (never one of their own first reviews)."""
    candidate = (select(ReviewItem.id)
                 .where(ReviewItem.agreement_check == CHECK_OPEN, ReviewItem.first_reviewer_id != user.id, *routing)
                 .order_by(ReviewItem.agreement_check, ReviewItem.created_at, ReviewItem.id)
                 .limit(1).with_for_update(skip_locked=True))
    item = session.execute(
        update(ReviewItem).where(ReviewItem.id == candidate.scalar_subquery(), ReviewItem.agreement_check == CHECK_OPEN)
        .values(agreement_check=CHECK_CLAIMED, assignee_id=user.id, claimed_at=now,
                lease_expires_at=now + timedelta(seconds=lease_seconds))
        .returning(ReviewItem).execution_options(synchronize_session=False, populate_existing=True)
    ).scalar_one_or_none()
    if item is not None:
        log_item(session, "claimed", item, user, stage="second", agreement_check=True,
                 lease_expires_at=item.lease_expires_at)
    return item


def claim_check(session: Session, item: ReviewItem, user: User, *, now: datetime, lease_seconds: int,
                within_rules: bool) -> ReviewItem:
    """Claim (or renew) the blind check of one chosen item."""
    if user.agent_id and item.agent_id == user.agent_id:
        raise PermissionDeniedError(f"item {item.id} is a call of agent {item.agent_id}, which is you; "
                                    "reviewers never review their own calls")
    if item.first_reviewer_id == user.id:
        raise PermissionDeniedError(f"item {item.id} is a blind agreement check of your own first review; "
                                    "it needs a different reviewer")
    if not within_rules:
        raise PermissionDeniedError(f"item {item.id} (team {item.team}, dialect {item.dialect}, category "
                                    f"{item.category}) is outside {user.username}'s assignment rules")
    mine = item.agreement_check == CHECK_CLAIMED and item.assignee_id == user.id
    ok = transition(session, item.id, [or_(
        ReviewItem.agreement_check == CHECK_OPEN,
        and_(ReviewItem.agreement_check == CHECK_CLAIMED, ReviewItem.lease_expires_at < now),
        and_(ReviewItem.agreement_check == CHECK_CLAIMED, ReviewItem.assignee_id == user.id),
    )], {"agreement_check": CHECK_CLAIMED, "assignee_id": user.id, "claimed_at": now,
         "lease_expires_at": now + timedelta(seconds=lease_seconds)})
    item = get_item(session, item.id)
    if not ok:
        raise QueueConflictError(f"the blind check of item {item.id} is claimed by another reviewer until "
                                 f"{as_utc(item.lease_expires_at)}; pick another with `callqa queue next`")
    log_item(session, "claimed", item, user, stage="second", agreement_check=True,
             lease_expires_at=item.lease_expires_at, renewed=mine)
    return item


def release_check(session: Session, item_id: int, user: User) -> bool:
    """Give back a claimed blind check unfinished; False when the user holds none on this item."""
    if not transition(session, item_id, [ReviewItem.agreement_check == CHECK_CLAIMED, ReviewItem.assignee_id == user.id],
                      {"agreement_check": CHECK_OPEN, "assignee_id": None, "claimed_at": None,
                       "lease_expires_at": None}):
        return False
    log_item(session, "released", get_item(session, item_id), user, stage="second", agreement_check=True)
    return True


def submit_check(session: Session, item: ReviewItem, user: User, verdicts: list[Verdict],
                 findings: list[Finding], now: datetime) -> ReviewItem:
    """Finish a blind check: a second verdict on every finding; the item's status and outcome stay as they are."""
    mine = {v.finding_id: v for v in verdicts if v.stage == "second" and v.reviewer_id == user.id}
    missing = sorted(str(f.id) for f in findings if f.id not in mine)
    if missing:
        raise QueueConflictError(f"item {item.id} cannot be submitted yet: record your verdicts on finding(s) "
                                 f"{', '.join(missing)} first (blind agreement check: decide each one yourself)")
    first = {v.finding_id: v.decision for v in verdicts if v.stage == "first"}
    agreed = sum(1 for f in findings if first.get(f.id) == mine[f.id].decision)
    if not transition(session, item.id, [ReviewItem.agreement_check == CHECK_CLAIMED, ReviewItem.assignee_id == user.id],
                      {"agreement_check": CHECK_DONE, "second_reviewer_id": user.id, "assignee_id": None,
                       "claimed_at": None, "lease_expires_at": None}):
        raise QueueConflictError(f"item {item.id} changed while you were submitting; reload it")
    item = get_item(session, item.id)
    log_item(session, "agreement_check", item, user, findings=len(findings), agreed=agreed,
             outcome_unchanged=item.outcome)
    return item
