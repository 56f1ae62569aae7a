"""Transcript search for supervisors and compliance officers: every hit opens the call at its moment."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from callqa.dates import site_zone
from review.accounts import sessions
from review.store.models import User
from review.web import search_view as sv
from review.web.deps import db, form_date, render, require, state_of, web_session
from review.web.queue_view import filter_options

router = APIRouter(include_in_schema=False)
# the whole centre's transcripts: a reviewer sees the calls of their queue, not this
ROLES = ("supervisor", "compliance")


@router.get("/search")
def search(request: Request, phrase: str = "", rule: str = "", category: str = "", agent: str = "",
           team: str = "", date_from: str = "", date_to: str = "", verdict: str = "", after: str = "",
           user: User = Depends(require(*ROLES)), session: Session = Depends(db, scope="function")) -> Response:
    f = sv.SearchFilter(phrase=phrase.strip()[:200], rule=rule.strip(), category=category.strip(),
                        agent=agent.strip(), team=team.strip(), date_from=form_date(date_from, "date_from"),
                        date_to=form_date(date_to, "date_to"), verdict=verdict if verdict in sv.VERDICTS else "",
                        after=after)
    page = None
    if not f.empty:
        row = web_session(request)
        page = sv.search(session, f, site_zone(state_of(request).settings),
                         lambda call_id: not sessions.is_unmasked(row, call_id))
    return render(request, "search.html", {"f": f, "page": page, "verdicts": sv.VERDICTS,
                                           "options": filter_options(session)})
