"""The admin's view of who is signed in, and the revoke that ends a session at once."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from review.accounts import sessions
from review.accounts.users import get_user
from review.audit import chain as audit
from review.store.models import User, WebSession
from review.web.deps import db, render, require, state_of

router = APIRouter(include_in_schema=False)


@router.get("/admin/sessions")
def active_sessions(request: Request, user: User = Depends(require("admin")),
                    session: Session = Depends(db, scope="function")) -> Response:
    rows = sessions.active(session, state_of(request).timeouts)
    return render(request, "admin_sessions.html", {"rows": rows, "timeouts": state_of(request).timeouts})


@router.post("/admin/sessions/{session_id}/revoke")
def revoke(session_id: str, user: User = Depends(require("admin")),
           session: Session = Depends(db, scope="function")) -> Response:
    row = session.get(WebSession, session_id)
    if row is not None and sessions.end_by_id(session, session_id, "revoked"):
        owner = session.get(User, row.user_id)
        audit.append(session, "session_revoked", actor=user.username,
                     payload={"user": owner.username if owner else row.user_id, "sessions": 1})
    return RedirectResponse("/admin/sessions", status_code=303)


@router.post("/admin/users/{username}/revoke")
def revoke_user(username: str, user: User = Depends(require("admin")),
                session: Session = Depends(db, scope="function")) -> Response:
    owner = get_user(session, username)
    ended = sessions.end_all(session, owner.id, "revoked")
    audit.append(session, "session_revoked", actor=user.username, payload={"user": owner.username, "sessions": ended})
    return RedirectResponse("/admin/sessions", status_code=303)
