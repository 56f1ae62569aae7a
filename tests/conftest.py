"""Fixtures shared by every test area: settings under a temp CALLQA_HOME and
a migrated database, SQLite always and PostgreSQL when the local server answers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings, load_settings

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"
if not SHARED_AUDIO.exists():  # a clone that sits elsewhere: CALLQA_SHARED_AUDIO tells
    SHARED_AUDIO = Path(os.environ.get("CALLQA_SHARED_AUDIO", "/work/shared/audio"))
PG_ADMIN_URL = os.environ.get("CALLQA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_answers() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


POSTGRES_UP = _postgres_answers()


@pytest.fixture
def shared_audio() -> Path:
    if not (SHARED_AUDIO / "manifest.jsonl").exists():
        pytest.skip(f"shared clips not found at {SHARED_AUDIO}")
    return SHARED_AUDIO


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with CALLQA_HOME in a temp dir and a SQLite database there."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("CALLQA_HOME", str(home))
    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALLQA_CONFIG", raising=False)
    return load_settings()


def _sqlite_engine(tmp_path: Path) -> Engine:
    from review.store.db import init_db, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    init_db(engine)
    return engine


def _postgres_engine() -> tuple[Engine, str]:
    from review.store.db import init_db

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    # every connection of this engine sees only its own schema, so parallel runs never collide
    engine = create_engine(PG_ADMIN_URL, connect_args={"options": f"-csearch_path={schema}"})
    init_db(engine)
    return engine, schema


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: SQLite always, PostgreSQL when it answers."""
    if request.param == "sqlite":
        eng = _sqlite_engine(tmp_path)
        yield eng
        eng.dispose()
        return
    if not POSTGRES_UP:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 does not answer")
    eng, schema = _postgres_engine()
    yield eng
    eng.dispose()
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    eng = _sqlite_engine(tmp_path)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
