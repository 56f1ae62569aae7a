"""Engine and session for the review store: SQLite by default, PostgreSQL at scale.

The schema is owned by Alembic (``review/store/migrations``, shipped inside the
package); ``init_db`` upgrades a database to the newest revision in one
transaction, so no ``alembic.ini`` is needed anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from callqa.errors import StoreError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# any number unlikely to clash with another application's advisory locks
_MIGRATION_LOCK = 814571


@dataclass(frozen=True)
class DbRevision:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True)


# SQLite's trigram table of the search index (migration 0012): a virtual table and its shadow tables,
# which no model describes
_UNMODELLED_TABLE_PREFIX = "call_search_fts"


def comparison_options(dialect: str) -> dict[str, Any]:
    """Alembic options comparing the models with a migrated database of ``dialect``: tables the models
    cannot describe are left out, and so are indexes meant for one dialect only (``info["dialect"]``)."""

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return not (type_ == "table" and (name or "").startswith(_UNMODELLED_TABLE_PREFIX))

    def include_object(obj: Any, _name: str | None, type_: str, _reflected: bool, _compare_to: Any) -> bool:
        only = obj.info.get("dialect") if type_ == "index" else None
        return only is None or only == dialect

    return {"include_name": include_name, "include_object": include_object}


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (for `alembic` API calls)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise StoreError(f"no migrations found under {MIGRATIONS_DIR}; reinstall callqa")
    return head


def revision_of(engine: Engine) -> DbRevision:
    """The database's current revision beside the newest one this code knows."""
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the schema revision of {engine.url!r}: {exc}") from exc
    return DbRevision(current=current, head=head_revision())


def init_db(engine: Engine) -> DbRevision:
    """Upgrade the database to the newest schema revision, all in one transaction.

    Safe to call from several processes at once: on PostgreSQL an advisory lock
    and on SQLite ``BEGIN IMMEDIATE`` let one migrate while the others wait.
    A failed migration leaves the database as it was.
    """
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # pysqlite does not BEGIN before DDL on its own; without this the DDL would autocommit
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            current = MigrationContext.configure(conn).get_current_revision()
            if current is None and inspect(conn).has_table("calls"):
                raise StoreError(
                    f"the database at {engine.url!r} has callqa tables but no migration history; "
                    "it was made by an older build: back it up, then move it aside and run `callqa db upgrade`"
                )
            command.upgrade(alembic_config(conn), "head")
    except StoreError:
        raise
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the database at {engine.url!r}: {exc}") from exc
    return revision_of(engine)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
