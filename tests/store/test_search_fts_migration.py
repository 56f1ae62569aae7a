"""Migration 0012 (SQLite's trigram table of the search index, the category and outcome indexes) goes
down and up again, and coming up indexes the calls already stored."""

from __future__ import annotations

import hashlib

from alembic import command
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import sessionmaker

from review.calls import repo
from review.search import index as search_index
from review.store.db import alembic_config, head_revision, init_db, revision_of, session_scope
from tests.web.conftest import transcript_document


def _migrate(engine: Engine, target: str, up: bool) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        (command.upgrade if up else command.downgrade)(alembic_config(conn), target)


def _indexes(engine: Engine) -> set[str | None]:
    return {i["name"] for i in inspect(engine).get_indexes("findings")} | \
        {i["name"] for i in inspect(engine).get_indexes("review_items")}


def test_0012_goes_down_and_up_and_indexes_the_stored_calls(engine: Engine) -> None:
    factory = sessionmaker(engine, expire_on_commit=False)
    sqlite = engine.dialect.name == "sqlite"
    with session_scope(factory) as s:
        repo.register_call(s, call_id="c1", recording_sha256=hashlib.sha256(b"c1").hexdigest(),
                           recording_path="c1.wav", metadata={"started_at": "2026-11-27T10:15:00+08:00"},
                           duration_s=4.0)
        repo.save_transcript(s, "c1", "faster-whisper:base:int8", transcript_document(
            "c1", [("agent", 0.0, 2.0, "我们是崔收公司的", False)]), None)
    _migrate(engine, "0010", up=False)
    assert revision_of(engine).current == "0010"
    assert "call_search_fts" not in inspect(engine).get_table_names()
    assert not {"ix_findings_category_call", "ix_review_items_outcome_call"} & _indexes(engine)
    with session_scope(factory) as s:  # no trigram table: the search walks (SQLite), pg_trgm still answers
        found = search_index.phrase_calls(s, search_index.phrase_key("催收公司"))
        assert found == (None if sqlite else ["c1"])
    assert init_db(engine).current == head_revision() == "0012"
    assert {"ix_findings_category_call", "ix_review_items_outcome_call"} <= _indexes(engine)
    with session_scope(factory) as s:
        assert search_index.phrase_calls(s, search_index.phrase_key("催收公司")) == ["c1"]
