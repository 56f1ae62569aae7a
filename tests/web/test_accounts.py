"""Accounts: argon2id hashes, roles, sign-in checks, and the `callqa users` commands."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from callqa.config import Settings
from callqa.errors import AccountError, NotFoundError
from review.accounts import users as accounts
from review.store.db import session_scope
from review.store.models import User


def test_add_authenticate_and_change(sqlite_engine: Engine) -> None:
    factory = sessionmaker(sqlite_engine, expire_on_commit=False)
    with session_scope(factory) as session:
        user = accounts.add_user(session, "wang.li", "long enough pw", "reviewer", team="t1")
        assert user.password_hash.startswith("$argon2id$") and "long enough pw" not in user.password_hash
        assert accounts.authenticate(session, "wang.li", "long enough pw") is not None
        assert accounts.authenticate(session, "wang.li", "wrong password") is None
        assert accounts.authenticate(session, "nobody", "long enough pw") is None
        accounts.set_password(session, "wang.li", "another long pw")
        assert accounts.authenticate(session, "wang.li", "long enough pw") is None
        assert accounts.set_role(session, "wang.li", "supervisor").role == "supervisor"
        accounts.set_active(session, "wang.li", False)
        assert accounts.authenticate(session, "wang.li", "another long pw") is None
    with session_scope(factory) as session:
        with pytest.raises(AccountError, match="already exists"):
            accounts.add_user(session, "wang.li", "long enough pw")
        with pytest.raises(AccountError, match="at least 10"):
            accounts.add_user(session, "zhao", "short")
        with pytest.raises(AccountError, match="unknown role 'boss'"):
            accounts.add_user(session, "zhao", "long enough pw", "boss")
        with pytest.raises(AccountError, match="not valid"):
            accounts.add_user(session, "a b<script>", "long enough pw")
        with pytest.raises(NotFoundError, match="callqa users add ghost"):
            accounts.set_role(session, "ghost", "admin")


def test_default_cost_is_rfc9106(sqlite_engine: Engine) -> None:
    accounts.set_hash_cost()
    factory = sessionmaker(sqlite_engine, expire_on_commit=False)
    with session_scope(factory) as session:
        strong = accounts.add_user(session, "li", "long enough pw").password_hash
    assert "m=65536,t=3,p=4" in strong
    # a hash made with weaker parameters still verifies, and is upgraded at sign-in
    accounts.set_hash_cost(time_cost=1, memory_kib=1024, parallelism=1)
    with session_scope(factory) as session:
        accounts.set_password(session, "li", "long enough pw")
    accounts.set_hash_cost()
    with session_scope(factory) as session:
        assert accounts.authenticate(session, "li", "long enough pw") is not None
        assert "m=65536,t=3,p=4" in session.execute(select(User.password_hash)).scalar_one()


def test_users_cli(settings: Settings) -> None:
    from flows.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["users", "add", "chen", "--role", "supervisor", "--leads-team", "t9",
                                 "--password-stdin"], input="a long password\n")
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["users", "role", "chen", "compliance"])
    assert result.exit_code == 0 and "now compliance" in result.output
    result = runner.invoke(app, ["users", "passwd", "chen", "--password-stdin"], input="short\n")
    assert result.exit_code != 0 and "at least 10" in str(result.exception or result.output)
    listing = runner.invoke(app, ["users", "list"])
    assert "chen" in listing.output and "compliance" in listing.output
    result = runner.invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output
