"""Sign in and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from review import accounts
from review.web.deps import check_csrf, db, render, state_of
from review.web.security import SessionData, password_fingerprint

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
    client = request.client.host if request.client else "unknown"
    wait = state.throttle.retry_after(username, client)
    if wait:
        return render(request, "login.html", {
            "next": _safe_next(next), "username": username,
            "error": f"too many failed sign-ins; try again in {wait // 60 + 1} minutes"}, 429)
    user = accounts.authenticate(session, username, password)
    if user is None:
        state.throttle.failed(username, client)
        return render(request, "login.html", {
            "next": _safe_next(next), "username": username, "error": "wrong user name or password"}, 401)
    state.throttle.succeeded(username)
    # a new CSRF token at sign-in: a token seen before sign-in is worth nothing after it
    fresh = SessionData(uid=user.id, pw=password_fingerprint(user))
    response = RedirectResponse(_safe_next(next), status_code=303)
    state.codec.write(response, fresh)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await check_csrf(request)
    response = RedirectResponse("/login", status_code=303)
    state_of(request).codec.write(response, SessionData())
    return response
