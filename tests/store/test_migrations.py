"""The schema comes from the packaged Alembic migrations and matches the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from callqa.errors import StoreError
from review.store.db import comparison_options, head_revision, init_db, make_engine, revision_of
from review.store.models import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        opts = {"compare_type": True, **comparison_options(conn.dialect.name)}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
    assert revision_of(engine).up_to_date


def test_init_db_is_idempotent_and_needs_no_alembic_ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no alembic.ini here
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'x.db'}")
    assert init_db(engine).current == head_revision()
    assert init_db(engine).current == head_revision()
    assert {"calls", "review_items", "audit_events", "alembic_version"} <= set(inspect(engine).get_table_names())


def test_database_made_without_migrations_is_refused_with_advice(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    Base.metadata.create_all(engine)
    with pytest.raises(StoreError, match="no migration history.*callqa db upgrade"):
        init_db(engine)


def test_a_failing_migration_leaves_the_database_untouched(engine: Engine, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import review.store.db as db

    scripts = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = head_revision()
    (scripts / "versions" / "9999_broken.py").write_text(
        f"import sqlalchemy as sa\nfrom alembic import op\n\nrevision = '9999'\ndown_revision = '{head}'\n"
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n"
        "    op.create_table('scratch', sa.Column('id', sa.Integer, primary_key=True))\n"
        "    op.add_column('calls', sa.Column('extra', sa.Integer))\n"
        "    op.execute('SELECT * FROM no_such_table')\n\n\ndef downgrade() -> None:\n    pass\n"
    )
    monkeypatch.setattr(db, "MIGRATIONS_DIR", scripts)
    with pytest.raises(StoreError, match="cannot migrate"):
        init_db(engine)
    tables = set(inspect(engine).get_table_names())
    assert "scratch" not in tables
    assert "extra" not in {c["name"] for c in inspect(engine).get_columns("calls")}
    assert revision_of(engine).current == head


def _migrate(url: str) -> None:
    init_db(make_engine(url))


def test_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    import multiprocessing

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_migrate, args=(url,)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert revision_of(make_engine(url)).up_to_date
