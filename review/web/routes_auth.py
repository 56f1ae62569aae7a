"""Sign in and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from review.accounts import sessions, throttle
from review.accounts import users as accounts
from review.store.models import User
from review.web.deps import check_csrf, current_user, db, render, session_data, state_of
from review.web.i18n import N_
from review.web.security import SessionData, client_address

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # only a path on this site: never an absolute or scheme-relative URL (open redirect)
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "username": ""})


@router.post("/login")
async def login(request: Request, username: str = Form(...), password: str = Form(...),
                next: str = Form("/queue"), session: Session = Depends(db, scope="function")) -> Response:
    await check_csrf(request)
    state = state_of(request)
    client = client_address(request, state.settings.web.trusted_proxies)
    wait = throttle.retry_after(session, username, client, state.limits)
    if wait:
        response = render(request, "login.html", {
            "next": _safe_next(next), "username": username,
            "error": N_("too many failed sign-ins; try again in %(minutes)s minute(s)"),
            "error_args": {"minutes": (wait + 59) // 60}}, 429)
        response.headers["retry-after"] = str(wait)
        return response
    user = accounts.authenticate(session, username, password)
    if user is None:
        throttle.failed(session, username, client, state.limits)
        return render(request, "login.html", {
            "next": _safe_next(next), "username": username, "error": N_("wrong user name or password")}, 401)
    throttle.succeeded(session, username, state.limits)
    sessions.end(session, session_data(request).token, "signed_out")  # a second sign-in replaces the first
    token = sessions.start(session, user, state.timeouts, client=client,
                           user_agent=request.headers.get("user-agent", ""))
    # a new CSRF token at sign-in: a token seen before sign-in is worth nothing after it
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    state.codec.write(redirect, SessionData(token=token))
    return redirect


@router.post("/logout")
async def logout(request: Request, session: Session = Depends(db, scope="function")) -> Response:
    await check_csrf(request)
    sessions.end(session, session_data(request).token, "signed_out")
    response = RedirectResponse("/login", status_code=303)
    state_of(request).codec.write(response, SessionData())
    return response


@router.post("/preferences/language")
def choose_language(request: Request, language: str = Form(...), next: str = Form("/queue"),
                    user: User = Depends(current_user), session: Session = Depends(db, scope="function")) -> Response:
    """The signed-in user's UI language, kept with the account (one of the site's languages)."""
    offered = list(state_of(request).settings.web.languages)
    if language not in offered:
        raise HTTPException(400, f"language {language!r} is not offered here; choose one of {', '.join(offered)}")
    row = session.get(User, user.id)
    if row is not None:
        row.ui_language = language
    return RedirectResponse(_safe_next(next), status_code=303)
