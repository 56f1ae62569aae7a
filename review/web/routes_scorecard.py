"""The call page's scorecard form: answer a reviewer item, adjust a rule-tied one (with a reason), clear."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from review.queue import lifecycle as queue
from review.scorecard.records import record_answer
from review.store.models import User
from review.web.deps import db, require, wants_json

router = APIRouter(include_in_schema=False)


@router.post("/items/{item_id}/scorecard")
def answer(request: Request, item_id: int, score_item: str = Form(...), value: str = Form(...),
           reason: str = Form(""), user: User = Depends(require("reviewer", "supervisor", "compliance")),
           session: Session = Depends(db, scope="function")) -> Response:
    # a missing reason or an unknown item is a ScorecardError: 400 with the message (review.web.app)
    row = record_answer(session, item_id, user, score_item.strip(), value.strip(), reason)
    item = queue.get_item(session, item_id)
    target = f"/calls/{item.call_id}#score-{score_item.strip()}"
    if wants_json(request) or request.headers.get("x-requested-with") == "fetch":
        return JSONResponse({"ok": True, "next": target, "score_item": score_item,
                             "value": row.value if row is not None else None})
    return RedirectResponse(target, status_code=303)
