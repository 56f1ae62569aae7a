"""The reviewer's pages: the queue and the call page, and the forms they post."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.dates import site_zone
from review.accounts import sessions
from review.audit import chain as audit
from review.queue import lifecycle as queue
from review.queue.base import SUPERVISOR_ROLES
from review.store.models import ReviewItem, User
from review.web.call_view import REASON_CODES, build_call_view, load_call, open_findings
from review.web.deps import (
    current_user,
    db,
    language_of,
    render,
    require,
    rule_titles,
    state_of,
    wants_json,
    web_session,
)
from review.web.i18n import N_
from review.web.queue_view import STATUS_TABS, QueueFilter, queue_page
from review.web.routes_scorecard import router as scorecard_router
from review.web.scorecard_view import build_scorecard_view

router = APIRouter(include_in_schema=False)
router.include_router(scorecard_router)  # the call page's scorecard form
REVIEWERS = ("reviewer", "supervisor", "compliance")


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _done(request: Request, target: str, payload: dict[str, Any] | None = None) -> Response:
    """JSON for the page's script, a redirect for a plain form post."""
    if wants_json(request) or request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"ok": True, "next": target, **(payload or {})})
    return RedirectResponse(target, status_code=303)


@router.get("/")
def home(user: User = Depends(current_user)) -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue")
def queue_list(request: Request, status: str = "open", team: str = "", agent: str = "", rule: str = "",
          severity: str = "", dialect: str = "", date_from: str = "", date_to: str = "", overdue: bool = False,
          page: int = 1, done: bool = False, user: User = Depends(current_user),
          session: Session = Depends(db, scope="function")) -> Response:
    f = QueueFilter(status=status if status in STATUS_TABS else "open", team=team.strip(), agent=agent.strip(),
                    rule=rule.strip(), severity=severity, dialect=dialect.strip(), date_from=_date(date_from),
                    date_to=_date(date_to), overdue=overdue, page=page)
    settings = state_of(request).settings
    data = queue_page(session, user, f, settings.web.page_size)
    # a Claim button only where a claim would succeed: the user's role, assignment rules, four eyes, the cap
    may_claim = user.role in ("reviewer", "supervisor", "admin")
    held = queue.held_by(session, user) if may_claim else 0
    at_cap = held >= settings.queue.max_open_per_reviewer
    open_ids = [r.item_id for r in data.rows if r.status == "open"]
    claimable: set[int] = set()
    if may_claim and not at_cap and open_ids:
        routing = user.role not in SUPERVISOR_ROLES  # as queue.claim decides
        claimable = set(session.execute(select(ReviewItem.id).where(
            ReviewItem.id.in_(open_ids), *queue._eligible(user, queue.ClaimFilters(), routing=routing))).scalars())
    return render(request, "queue.html", {"q": data, "tabs": STATUS_TABS, "may_claim": may_claim, "at_cap": at_cap,
                                          "held": held, "claimable": claimable, "done": done})


@router.post("/queue/claim-next")
def claim_next(request: Request, user: User = Depends(require(*REVIEWERS)),
               session: Session = Depends(db, scope="function")) -> Response:
    q = state_of(request).settings.queue
    item = queue.claim_next(session, user, lease_seconds=q.lease_seconds, max_open=q.max_open_per_reviewer)
    if item is None:
        return render(request, "error.html", {"status": 200, "title": N_("nothing to claim"),
                                              "detail": N_("no open item matches your teams, languages and skills")})
    return _done(request, f"/calls/{item.call_id}", {"item_id": item.id})


@router.post("/items/{item_id}/claim")
def claim(request: Request, item_id: int, user: User = Depends(require(*REVIEWERS)),
          session: Session = Depends(db, scope="function")) -> Response:
    q = state_of(request).settings.queue
    item = queue.claim(session, item_id, user, lease_seconds=q.lease_seconds, max_open=q.max_open_per_reviewer)
    return _done(request, f"/calls/{item.call_id}", {"item_id": item.id})


@router.post("/items/{item_id}/release")
def release(request: Request, item_id: int, user: User = Depends(require(*REVIEWERS)),
            session: Session = Depends(db, scope="function")) -> Response:
    queue.release(session, item_id, user)
    return _done(request, "/queue")


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: str, user: User = Depends(current_user),
              session: Session = Depends(db, scope="function")) -> Response:
    return _call_page(request, session, user, call_id)


@router.post("/calls/{call_id}/unmask")
def unmask(request: Request, call_id: str, reason: str = Form(...),
           user: User = Depends(require("compliance")), session: Session = Depends(db, scope="function")) -> Response:
    call, _ = load_call(session, user, call_id)
    if not reason.strip():
        raise HTTPException(400, "give a reason for showing the personal data (it goes into the audit trail)")
    state = state_of(request)
    minutes = state.settings.web.unmask_minutes
    audit.append(session, "pii_unmask", actor=user.username, call_id=call.id,
                 recording_sha256=call.recording_sha256, payload={"reason": reason.strip(), "minutes": minutes})
    row = web_session(request)
    if row is not None:
        sessions.unmask(row, call.id, minutes)
    return _done(request, f"/calls/{call.id}")


@router.post("/items/{item_id}/verdicts")
def verdict(request: Request, item_id: int, finding_id: int | None = Form(None), decision: str = Form(...),
            reason_code: str = Form(""), comment: str = Form(""), category: str = Form(""),
            user: User = Depends(require(*REVIEWERS)), session: Session = Depends(db, scope="function")) -> Response:
    if finding_id is None:
        saved = queue.record_sample_verdict(session, item_id, user, decision, category.strip() or None,
                                            reason_code, comment)
    else:
        saved = queue.record_verdict(session, item_id, finding_id, user, decision, reason_code, comment)
    item = queue.get_item(session, item_id)
    anchor = f"#finding-{finding_id}" if finding_id else ""
    return _done(request, f"/calls/{item.call_id}{anchor}",
                 {"finding_id": finding_id, "decision": saved.decision, "stage": saved.stage})


def _call_page(request: Request, session: Session, user: User, call_id: str,
               open_ids: list[int] | None = None, status_code: int = 200) -> Response:
    call, item = load_call(session, user, call_id)
    masked = not sessions.is_unmasked(web_session(request), call_id)
    settings = state_of(request).settings
    view = build_call_view(session, user, call, item, masked, site_zone(settings), rule_titles())
    scorecard = build_scorecard_view(session, user, call, item, language_of(request))
    return render(request, "call.html", {"v": view, "reasons": REASON_CODES, "scorecard": scorecard,
                                         "seek_lead": f"{settings.web.seek_lead_seconds:g}",
                                         "open_ids": open_ids or [],
                                         "can_unmask": user.role in ("compliance", "admin"),
                                         "is_supervisor": user.role in ("supervisor", "admin")}, status_code)


@router.post("/items/{item_id}/submit")
def submit(request: Request, item_id: int, then: str = Form(""), user: User = Depends(require(*REVIEWERS)),
           session: Session = Depends(db, scope="function")) -> Response:
    q = state_of(request).settings.queue
    held = queue.get_item(session, item_id)
    if not (wants_json(request) or request.headers.get("x-requested-with") == "fetch"):
        # a finding left open: the call page again, the message beside each open finding, not an error page
        call, item = load_call(session, user, held.call_id)
        open_ids = open_findings(build_call_view(session, user, call, item, True), user.id)
        if open_ids:
            return _call_page(request, session, user, held.call_id, open_ids, 409)
    item = queue.submit(session, item_id, user, agreement_share=q.agreement_share, agreement_salt=q.agreement_salt)
    if then == "next":  # "Submit and next": straight on to the next item this reviewer may take
        following = queue.claim_next(session, user, lease_seconds=q.lease_seconds, max_open=q.max_open_per_reviewer)
        target = f"/calls/{following.call_id}" if following is not None else "/queue?done=1"
        return _done(request, target, {"status": item.status, "stage": item.stage,
                                       "next_item_id": following.id if following is not None else None})
    return _done(request, f"/calls/{item.call_id}", {"status": item.status, "stage": item.stage})


@router.post("/items/{item_id}/appeal")
def appeal(request: Request, item_id: int, reason: str = Form(...), user: User = Depends(current_user),
           session: Session = Depends(db, scope="function")) -> Response:
    window = state_of(request).settings.queue.appeal_window_days
    row = queue.appeal(session, item_id, user, reason, window_days=window)
    item = queue.get_item(session, item_id)
    return _done(request, f"/calls/{item.call_id}", {"status": item.status, "appeal_id": row.id})


@router.post("/items/{item_id}/decide")
async def decide(request: Request, item_id: int, comment: str = Form(""), reason_code: str = Form(""),
                 user: User = Depends(require("supervisor")), session: Session = Depends(db, scope="function")) -> Response:
    form = await request.form()
    # per disputed finding: decision_<finding id> = confirmed | false_positive, and comment_<finding id>
    decisions = {int(key.split("_", 1)[1]): str(value) for key, value in form.items()
                 if key.startswith("decision_") and key.split("_", 1)[1].isdigit()}
    comments = {int(key.split("_", 1)[1]): str(value) for key, value in form.items()
                if key.startswith("comment_") and key.split("_", 1)[1].isdigit()}
    item = queue.supervisor_decide(session, item_id, user, decisions, reason_code=reason_code, comment=comment,
                                   comments=comments)
    return _done(request, f"/calls/{item.call_id}", {"status": item.status, "outcome": item.outcome})


@router.post("/appeals/{appeal_id}/rule")
def rule_appeal(request: Request, appeal_id: int, ruling: str = Form(...), comment: str = Form(""),
                return_to: str = Form(""), user: User = Depends(require("supervisor")), session: Session = Depends(db, scope="function")) -> Response:
    row = queue.rule_appeal(session, appeal_id, user, ruling, comment)
    item = queue.get_item(session, row.item_id)
    return _done(request, return_to if return_to.startswith("/supervisor") else f"/calls/{item.call_id}",
                 {"status": item.status, "outcome": item.outcome, "ruling": row.ruling})
