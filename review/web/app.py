"""The review web app: ``create_app(settings)`` builds the FastAPI application."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callqa.config import Settings, load_settings
from callqa.dates import site_zone
from callqa.errors import (
    AccountError,
    CallQAError,
    NotFoundError,
    PermissionDeniedError,
    QueueConflictError,
)
from review.accounts.sessions import Timeouts
from review.accounts.throttle import Limits
from review.web.deps import WebState, render, wants_json
from review.web.i18n import N_, when
from review.web.security import (
    CsrfRejected,
    RoleRequired,
    SessionCodec,
    SignInRequired,
    cookies_secure,
    load_secret_key,
)

log = logging.getLogger("callqa.web")
HERE = Path(__file__).resolve().parent
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; media-src 'self'; script-src 'self'; style-src 'self'; "
     b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
NO_STORE = (b"cache-control", b"no-store")
# an absolute path whose first folder exists on this machine (URL paths such as /calls/x do not)
_FS_PATH = re.compile(r"(?<![\w.:/])/([^\s/'\"<>;,()]+)(?:/[^\s/'\"<>;,()]+)+")


def scrub_paths(detail: str, home: Path) -> str:
    """The message without file-system paths: error pages never tell where files live."""
    detail = detail.replace(str(home.resolve()), "$CALLQA_HOME")
    return _FS_PATH.sub(lambda m: "[file]" if Path("/" + m.group(1)).exists() else m.group(0), detail)


class SecurityHeaders:
    """Adds the headers to every response (plain ASGI, so audio streaming is untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        cacheable = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if cacheable or k.lower() != b"cache-control"]
                # call pages, audio, pictures and the API carry personal data: no browser or proxy keeps them
                message["headers"] = headers + SECURITY_HEADERS + ([] if cacheable else [NO_STORE])
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error(request: Request, status: int, title: str, detail: str) -> Response:
    detail = scrub_paths(detail, Path(request.app.state.callqa.settings.home))
    if wants_json(request):
        return JSONResponse({"error": title, "detail": detail}, status_code=status)
    return render(request, "error.html", {"status": status, "title": title, "detail": detail}, status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        if wants_json(request):
            return JSONResponse({"error": "sign in required", "detail": "sign in at /login first"}, 401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = "/queue"
        response = RedirectResponse(f"/login?next={target}", status_code=303)
        return response

    @app.exception_handler(CsrfRejected)
    async def csrf(request: Request, exc: CsrfRejected) -> Response:
        return _error(request, 403, N_("form expired or forged"),
                      N_("the request did not carry this session's CSRF token; reload the page and try again"))

    @app.exception_handler(RoleRequired)
    async def role(request: Request, exc: RoleRequired) -> Response:
        return _error(request, 403, N_("not allowed"), str(exc))

    status_of: list[tuple[type[CallQAError], int, str]] = [
        (NotFoundError, 404, N_("not found")),
        (PermissionDeniedError, 403, N_("not allowed")),
        (QueueConflictError, 409, N_("conflict")),
        (AccountError, 400, N_("bad request")),
    ]

    @app.exception_handler(CallQAError)
    async def domain(request: Request, exc: CallQAError) -> Response:
        for cls, status, title in status_of:
            if isinstance(exc, cls):
                return _error(request, status, title, str(exc))
        return _error(request, 400, N_("cannot do that"), str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: N_("not found"), 405: N_("method not allowed"), 416: N_("range not satisfiable")}.get(
            exc.status_code, N_("error"))
        return _error(request, exc.status_code, title, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()
        )
        return _error(request, 422, N_("invalid request"), problems)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(request, 500, N_("internal error"), N_("something went wrong on the server; the server log has it"))


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               session_factory: sessionmaker[Session] | None = None) -> FastAPI:
    """The review app for the configured database (migrated on start)."""
    from review.store.db import init_db, make_engine

    settings = settings or load_settings()
    if session_factory is None:
        if engine is None:
            engine = make_engine(settings.db_url)
            init_db(engine)
        session_factory = sessionmaker(engine, expire_on_commit=False)
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # transcript text is whatever a caller said: always escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],  # {% trans %}: gettext/ngettext come with each render (review.web.i18n)
    )
    templates.filters["hms"] = _hms
    templates.filters["when"] = when(site_zone(settings))  # the site's time zone, offset shown
    app = FastAPI(title="callqa review API", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.callqa = WebState(
        settings=settings,
        session_factory=session_factory,
        codec=SessionCodec(load_secret_key(settings), int(settings.web.session_hours * 3600),
                           cookies_secure(settings.web.secure_cookies, settings.web.host)),
        timeouts=Timeouts(idle=timedelta(minutes=settings.web.session_idle_minutes),
                          absolute=timedelta(hours=settings.web.session_hours)),
        limits=Limits(settings.web.signin_max_failures, settings.web.signin_max_failures_per_address,
                      timedelta(seconds=settings.web.signin_window_seconds)),
        templates=templates,
    )
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from review.web import (
        routes_admin,
        routes_api,
        routes_auth,
        routes_dashboard,
        routes_media,
        routes_pages,
        routes_search,
        routes_supervisor,
    )

    for module in (routes_auth, routes_pages, routes_media, routes_supervisor, routes_dashboard, routes_search,
                   routes_admin, routes_api):
        app.include_router(module.router)
    app.add_middleware(SecurityHeaders)
    return app


def _hms(seconds: Any) -> str:
    if seconds is None:
        return "-"
    total = int(float(seconds))
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}" if total >= 3600 else \
        f"{total // 60}:{total % 60:02d}"
