"""The JSON API (same session cookie; state changes need the X-CSRF-Token header).

Its OpenAPI document is at /api/openapi.json, for signed-in users only.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from callqa.dates import site_zone
from review.accounts import sessions
from review.privacy import mask_document
from review.queue import lifecycle as queue
from review.store.models import ReviewItem, User
from review.web.call_view import build_call_view, latest_transcript, load_call
from review.web.deps import current_user, db, require, rule_titles, session_data, state_of, web_session
from review.web.queue_view import STATUS_TABS, QueueFilter, queue_page

router = APIRouter(prefix="/api", tags=["review"])
REVIEWERS = ("reviewer", "supervisor", "compliance")
DB = Depends(db, scope="function")


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    team: str | None
    leads_team: str | None
    csrf_token: str = Field(description="send it as X-CSRF-Token on every POST")


class ItemOut(BaseModel):
    id: int
    call_id: str
    kind: str
    status: str
    stage: str
    urgent: bool
    severity_rank: int
    category: str | None
    team: str | None
    agent_id: str | None
    dialect: str | None
    outcome: str | None
    overdue: bool
    created_at: datetime
    lease_expires_at: datetime | None

    @classmethod
    def of(cls, item: ReviewItem, blind: bool = False) -> ItemOut:
        out = cls.model_validate(item, from_attributes=True)
        # the holder of a blind agreement check (review.queue.agreement) is not told the first review's outcome
        return out.model_copy(update={"outcome": None}) if blind else out


class QueueOut(BaseModel):
    total: int
    counts: dict[str, int]
    overdue: int
    page: int
    pages: int
    items: list[dict[str, Any]]


class VerdictIn(BaseModel):
    finding_id: int | None = Field(None, description="empty for a sampled call's whole-call verdict")
    decision: Literal["confirmed", "false_positive", "violation", "clean"]
    reason_code: str = ""
    comment: str = ""
    category: str | None = Field(None, description="the category violated, for a sample 'violation'")


class AppealIn(BaseModel):
    reason: str = Field(min_length=1)


class RulingIn(BaseModel):
    ruling: Literal["upheld", "overturned"]
    comment: str = ""


class DecideIn(BaseModel):
    decisions: dict[int, Literal["confirmed", "false_positive"]]
    reason_code: str = ""
    comment: str = ""  # for every finding without its own comment
    comments: dict[int, str] = {}  # finding id -> the supervisor's comment on it


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, user: User = Depends(current_user)) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/me", response_model=UserOut)
def me(request: Request, user: User = Depends(current_user)) -> UserOut:
    return UserOut(id=user.id, username=user.username, role=user.role, team=user.team,
                   leads_team=user.leads_team, csrf_token=session_data(request).csrf)


@router.get("/queue", response_model=QueueOut, summary="Review items by priority, filtered, with counts")
def list_queue(request: Request, status: str = "open", team: str = "", agent: str = "", rule: str = "",
               severity: str = "", dialect: str = "", overdue: bool = False, page: int = 1,
               user: User = Depends(current_user), session: Session = DB) -> QueueOut:
    f = QueueFilter(status=status if status in STATUS_TABS else "open", team=team, agent=agent, rule=rule,
                    severity=severity, dialect=dialect, overdue=overdue, page=page)
    data = queue_page(session, user, f, state_of(request).settings.web.page_size)
    return QueueOut(total=data.total, counts=data.counts, overdue=data.overdue_count, page=data.page,
                    pages=data.pages, items=[asdict(r) for r in data.rows])


@router.post("/queue/claim-next", response_model=ItemOut | None,
             summary="Claim the highest-priority item you may take (null when none)")
def claim_next(request: Request, user: User = Depends(require(*REVIEWERS)), session: Session = DB) -> Any:
    q = state_of(request).settings.queue
    item = queue.claim_next(session, user, lease_seconds=q.lease_seconds, max_open=q.max_open_per_reviewer)
    return ItemOut.of(item, blind=item.agreement_check == "claimed") if item else None


@router.post("/items/{item_id}/claim", response_model=ItemOut)
def claim(request: Request, item_id: int, user: User = Depends(require(*REVIEWERS)),
          session: Session = DB) -> ItemOut:
    q = state_of(request).settings.queue
    item = queue.claim(session, item_id, user, lease_seconds=q.lease_seconds, max_open=q.max_open_per_reviewer)
    return ItemOut.of(item, blind=item.agreement_check == "claimed")


@router.get("/calls/{call_id}", summary="A call: metadata, transcript (masked), findings, verdicts, appeal")
def call_detail(request: Request, call_id: str, user: User = Depends(current_user),
                session: Session = DB) -> dict[str, Any]:
    call, item = load_call(session, user, call_id)
    masked = not sessions.is_unmasked(web_session(request), call_id)
    view = build_call_view(session, user, call, item, masked, site_zone(state_of(request).settings), rule_titles())
    transcript = latest_transcript(session, call_id)
    document = transcript.document if transcript else None
    if document is not None and masked:
        document = mask_document(document)
    appeal = None
    if view.appeal is not None:
        appeal = {"id": view.appeal.id, "by": view.appeal_by, "reason": view.appeal.reason,
                  "ruling": view.appeal.ruling, "ruling_comment": view.appeal.ruling_comment}
    return {
        "call_id": call.id, "masked": masked, "metadata": dict(view.metadata), "duration_s": view.duration_s,
        "item": ItemOut.of(item, blind=view.blind).model_dump(mode="json") if item else None,
        "findings": [asdict(f) for f in view.findings],
        "sample_verdicts": [asdict(v) for v in view.sample_verdicts],
        "appeal": appeal, "transcript": document,
        "audio_url": f"/calls/{call.id}/audio", "picture_url": f"/calls/{call.id}/picture.png",
    }


@router.post("/items/{item_id}/verdicts", summary="Record (or replace) your verdict at the item's stage")
def verdict(item_id: int, body: VerdictIn, user: User = Depends(require(*REVIEWERS)),
            session: Session = DB) -> dict[str, Any]:
    if body.finding_id is None:
        saved = queue.record_sample_verdict(session, item_id, user, body.decision, body.category,
                                            body.reason_code, body.comment)
    else:
        saved = queue.record_verdict(session, item_id, body.finding_id, user, body.decision, body.reason_code,
                                     body.comment)
    return {"id": saved.id, "finding_id": saved.finding_id, "stage": saved.stage, "decision": saved.decision}


@router.post("/items/{item_id}/submit", response_model=ItemOut)
def submit(request: Request, item_id: int, user: User = Depends(require(*REVIEWERS)), session: Session = DB) -> ItemOut:
    q = state_of(request).settings.queue
    return ItemOut.of(queue.submit(session, item_id, user, agreement_share=q.agreement_share,
                                   agreement_salt=q.agreement_salt))


@router.post("/items/{item_id}/decide", response_model=ItemOut, summary="A supervisor settles a disagreement")
def decide(item_id: int, body: DecideIn, user: User = Depends(require("supervisor")),
           session: Session = DB) -> ItemOut:
    return ItemOut.of(queue.supervisor_decide(session, item_id, user, dict(body.decisions),
                                              reason_code=body.reason_code, comment=body.comment,
                                              comments=body.comments))


@router.post("/items/{item_id}/appeal", summary="The agent's team lead appeals a final violation")
def appeal(request: Request, item_id: int, body: AppealIn, user: User = Depends(current_user),
           session: Session = DB) -> dict[str, Any]:
    row = queue.appeal(session, item_id, user, body.reason,
                       window_days=state_of(request).settings.queue.appeal_window_days)
    return {"appeal_id": row.id, "item_id": item_id, "status": "appealed"}


@router.post("/appeals/{appeal_id}/ruling", summary="A supervisor's final ruling on an appeal")
def ruling(appeal_id: int, body: RulingIn, user: User = Depends(require("supervisor")),
           session: Session = DB) -> dict[str, Any]:
    row = queue.rule_appeal(session, appeal_id, user, body.ruling, body.comment)
    item = queue.get_item(session, row.item_id)
    return {"appeal_id": row.id, "ruling": row.ruling, "item_id": item.id, "outcome": item.outcome}


@router.get("/stats", summary="Queue counts: by status, stage, overdue, outcomes, appeals")
def stats(user: User = Depends(require("supervisor", "compliance")), session: Session = DB) -> dict[str, Any]:
    return asdict(queue.stats(session))

