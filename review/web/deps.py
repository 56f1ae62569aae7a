"""Per-request dependencies: the app's state, a database session, the signed-in user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings
from callqa.errors import CallQAError
from review.accounts import sessions
from review.accounts.throttle import Limits
from review.accounts.users import UserInfo
from review.store.db import session_scope
from review.store.models import User, WebSession
from review.web.call_view import REASON_CODES
from review.web.i18n import LANGUAGE_NAMES, pick_language, translations
from review.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    CsrfRejected,
    RoleRequired,
    SessionCodec,
    SessionData,
    SignInRequired,
    csrf_matches,
    has_role,
)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class WebState:
    settings: Settings
    session_factory: sessionmaker[Session]
    codec: SessionCodec
    timeouts: sessions.Timeouts
    limits: Limits
    templates: jinja2.Environment


def state_of(request: Request) -> WebState:
    return request.app.state.callqa  # type: ignore[no-any-return]


def db(request: Request) -> Iterator[Session]:
    with session_scope(state_of(request).session_factory) as session:
        yield session


def session_data(request: Request) -> SessionData:
    """The request's session, read once and kept on request.state."""
    cached = getattr(request.state, "session", None)
    if isinstance(cached, SessionData):
        return cached
    data = state_of(request).codec.read(request)
    request.state.session = data
    return data


async def check_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    supplied = request.headers.get(CSRF_HEADER)
    if not supplied and "form" in request.headers.get("content-type", ""):
        form = await request.form()  # Starlette caches it: the route's Form fields still read it
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if not csrf_matches(session_data(request), supplied):
        raise CsrfRejected()


async def current_user(request: Request, session: Session = Depends(db, scope="function")) -> User:
    data = session_data(request)
    row = sessions.lookup(session, data.token, state_of(request).timeouts)
    if row is None:
        if data.token:
            session.commit()  # keep the "timed out" mark even though the request fails
        raise SignInRequired()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise SignInRequired()
    await check_csrf(request)
    request.state.web_session = row
    request.state.ui_language = user.ui_language
    # templates get a plain copy: an error page may render after the session was rolled back
    request.state.user = UserInfo(user.id, user.username, user.role, user.team, user.agent_id, user.active)
    return user


def web_session(request: Request) -> WebSession | None:
    """The signed-in request's session row (set by current_user)."""
    row = getattr(request.state, "web_session", None)
    return row if isinstance(row, WebSession) else None


def require(*roles: str) -> Callable[..., Any]:
    """A dependency giving the signed-in user if they hold one of the roles (admin holds all)."""

    async def dependency(user: User = Depends(current_user)) -> User:
        if not has_role(user, roles):
            raise RoleRequired(roles)
        return user

    return dependency


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def form_date(value: str, name: str) -> date | None:
    """A YYYY-MM-DD form field; empty is None, anything else a CallQAError naming the field."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CallQAError(f"{name}={value!r} is not a date (YYYY-MM-DD)") from exc


def language_of(request: Request) -> str:
    """The user's stored choice once signed in, else the browser's among the site's languages."""
    web = state_of(request).settings.web
    return pick_language(getattr(request.state, "ui_language", None), request.headers.get("accept-language", ""),
                         list(web.languages), web.default_language)


@lru_cache(maxsize=1)
def rule_titles() -> dict[str, str]:
    """Rule id -> its title in the shipped (and site) packs."""
    from review.screening.packs_registry import available_packs, load_pack

    titles: dict[str, str] = {}
    for name in available_packs():
        try:
            titles.update({r.id: r.title for r in load_pack(name).rules})
        except Exception:  # a broken site pack must not take the UI down: ids are shown instead
            continue
    return titles


def i18n_context(request: Request) -> dict[str, Any]:
    state = state_of(request)
    lang = language_of(request)
    tr = translations(lang)

    def label(value: Any) -> str:
        text = str(value)
        out = tr.gettext(text)
        return out.replace("_", " ") if out == text else out

    def reason_label(code: str) -> str:
        for codes in REASON_CODES.values():
            for c, text in codes:
                if c == code:
                    return tr.gettext(text)
        return label(code)

    ui_text = {"saved": tr.gettext("saved: %(decision)s"), "not_saved": tr.gettext("not saved"),
               "no_answer": tr.gettext("not saved: the server did not answer"),
               "choose_reason": tr.gettext("choose the reason for this false positive; it is saved once chosen"),
               "confirmed": label("confirmed"), "false_positive": label("false_positive"),
               "clean": label("clean"), "violation": label("violation")}
    return {"lang": lang, "_": tr.gettext, "ui_text": ui_text, "gettext": tr.gettext, "ngettext": tr.ngettext, "label": label,
            "reason_label": reason_label, "rule_title": lambda rule_id: rule_titles().get(rule_id, rule_id),
            "site_zone": state.settings.flows.timezone,
            "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in state.settings.web.languages]}


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    state = state_of(request)
    user = getattr(request.state, "user", None)
    data = session_data(request)
    page = state.templates.get_template(name).render(
        request=request, user=user, csrf_token=data.csrf, csrf_field=CSRF_FIELD,
        **i18n_context(request), **context
    )
    response = HTMLResponse(page, status_code=status_code)
    # a fresh visitor gets a session cookie carrying the CSRF token of the sign-in form
    if data.fresh:
        state.codec.write(response, data)
    return response
