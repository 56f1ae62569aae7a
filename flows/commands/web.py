"""`callqa serve` (the review web UI) and `callqa users` (its accounts)."""

from __future__ import annotations

import sys

import typer
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import load_settings


def _session_factory() -> sessionmaker[Session]:
    from review.store.db import init_db, make_engine

    settings = load_settings()
    engine = make_engine(settings.db_url)
    init_db(engine)
    return sessionmaker(engine, expire_on_commit=False)


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def register(app: typer.Typer) -> None:
    """Add `serve` and the `users` group to the main app."""

    @app.command("serve")
    def serve(
        host: str = typer.Option(None, help="Address to listen on (default: [web] host, 127.0.0.1)."),
        port: int = typer.Option(None, help="Port to listen on (default: [web] port, 8000)."),
        log_level: str = typer.Option("info", help="uvicorn log level."),
    ) -> None:
        """Start the review web UI (FastAPI under uvicorn) on the configured database."""
        import uvicorn

        from review.web import create_app

        settings = load_settings()
        settings.web.host = host or settings.web.host  # web.secure_cookies "auto" looks at the address served
        application = create_app(settings)
        uvicorn.run(application, host=settings.web.host, port=port or settings.web.port,
                    log_level=log_level, proxy_headers=False)

    users = typer.Typer(help="Manage the review UI's user accounts (argon2-hashed passwords, roles).",
                        no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def add(
        username: str = typer.Argument(..., help="Sign-in name."),
        role: str = typer.Option("reviewer", help="reviewer | supervisor | compliance | admin."),
        team: str = typer.Option("", help="The user's own team."),
        agent_id: str = typer.Option("", help="Agent id if the user also takes calls (never reviews their own)."),
        leads_team: str = typer.Option("", help="Team this user leads (may appeal its outcomes)."),
        review_teams: str = typer.Option("", help="Comma list of teams to review; empty: any."),
        languages: str = typer.Option("", help="Comma list of languages or dialects; empty: any."),
        skills: str = typer.Option("", help="Comma list of finding categories; empty: any."),
        password_stdin: bool = typer.Option(False, help="Read the password from one line of stdin."),
    ) -> None:
        """Add a user; the password is prompted for (or read from stdin)."""
        from review.accounts import users as accounts
        from review.store.db import session_scope

        password = _password(password_stdin)
        with session_scope(_session_factory()) as session:
            accounts.add_user(session, username, password, role, team=team or None, agent_id=agent_id or None,
                              leads_team=leads_team or None, review_teams=review_teams, languages=languages,
                              skills=skills)
        typer.echo(f"added {username} ({role})")

    @users.command("passwd")
    def passwd(
        username: str = typer.Argument(..., help="Sign-in name."),
        password_stdin: bool = typer.Option(False, help="Read the password from one line of stdin."),
    ) -> None:
        """Set a new password; the user's open sessions end."""
        from review.accounts import users as accounts
        from review.store.db import session_scope

        password = _password(password_stdin)
        with session_scope(_session_factory()) as session:
            accounts.set_password(session, username, password)
        typer.echo(f"password of {username} changed")

    @users.command("role")
    def role(
        username: str = typer.Argument(..., help="Sign-in name."),
        new_role: str = typer.Argument(..., help="reviewer | supervisor | compliance | admin."),
    ) -> None:
        """Change a user's role."""
        from review.accounts import users as accounts
        from review.store.db import session_scope

        with session_scope(_session_factory()) as session:
            accounts.set_role(session, username, new_role)
        typer.echo(f"{username} is now {new_role}")

    @users.command("revoke")
    def revoke(username: str = typer.Argument(..., help="Sign-in name.")) -> None:
        """End every signed-in session of a user now (the admin's Sessions page does the same)."""
        from review.accounts import sessions
        from review.accounts.users import get_user
        from review.audit import chain as audit
        from review.store.db import session_scope

        with session_scope(_session_factory()) as session:
            ended = sessions.end_all(session, get_user(session, username).id, "revoked")
            audit.append(session, "session_revoked", payload={"user": username, "sessions": ended})
        typer.echo(f"ended {ended} session(s) of {username}")

    @users.command("list")
    def list_users() -> None:
        """List users with their role, team and state."""
        from review.accounts import users as accounts
        from review.store.db import session_scope

        with session_scope(_session_factory()) as session:
            rows = accounts.list_users(session)
        for u in rows:
            state = "" if u.active else "  (inactive)"
            typer.echo(f"{u.username:<24} {u.role:<11} team={u.team or '-'} agent={u.agent_id or '-'}{state}")
        if not rows:
            typer.echo("no users yet; add one with `callqa users add NAME --role admin`")

