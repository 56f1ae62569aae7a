"""Supervisor views: second reviews and disagreements, appeals, overdue items, summaries."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from review.queue import lifecycle as queue
from review.queue.base import took_part
from review.store.models import User
from review.web import supervisor_view as sv
from review.web.deps import db, render, require

router = APIRouter(include_in_schema=False)


@router.get("/supervisor")
def supervisor(request: Request, tab: str = "second", user: User = Depends(require("supervisor", "compliance")),
               session: Session = Depends(db, scope="function")) -> Response:
    tab = tab if tab in sv.TABS else "second"
    context: dict[str, object] = {"tab": tab, "tabs": sv.TABS, "stats": queue.stats(session),
                                  "can_rule": user.role in ("supervisor", "admin")}
    if tab == "second":
        context["rows"] = sv.second_reviews(session)
    elif tab == "overdue":
        context["rows"] = sv.overdue_items(session)
    elif tab == "appeals":
        context["appeals"] = appeals = sv.pending_appeals(session)
        # whoever took part in an item may not rule on its appeal: the form is not offered to them
        context["took_part"] = {a.appeal_id: took_part(session, queue.get_item(session, a.item_id), user)
                                for a in appeals}
    elif tab == "agents":
        context["agents"] = sv.agent_summary(session)
    else:
        context["rules"] = sv.rule_summary(session)
    return render(request, "supervisor.html", context)
