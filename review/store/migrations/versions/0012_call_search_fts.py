"""call_search_fts: a trigram full-text index of call_search_text on SQLite

Revision ID: 0012
Revises: 0010
Create Date: 2026-11-30 11:00:00

Without it a phrase found in few calls (or none) made SQLite test every call's sound text with
LIKE, newest first: the whole table at 100,000 calls. An FTS5 table with the trigram tokenizer
answers a phrase of three characters or more from its index. It is contentless (the text lives in
call_search_text already) and keyed by transcript id, which never changes for a row, rather than
by call_search_text's rowid, which VACUUM may renumber. Triggers keep it in step with every write
to call_search_text, bulk loads included. An SQLite built without FTS5 or the trigram tokenizer
(before 3.34) keeps the LIKE search; review.search.index checks which one it has.

PostgreSQL needs no table here: the pg_trgm index of migration 0010 serves the same test. Both
databases gain indexes for the search page's category and verdict filters, so a category or an
outcome held by few calls is found without reading every finding or item.
Revision 0011 was reserved and never used, so this one follows 0010.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.exc import OperationalError

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None

_CREATE = (
    "CREATE VIRTUAL TABLE call_search_fts USING fts5(sound, content='', tokenize='trigram')",
    # a contentless table forgets the text: a delete names the old values it indexed
    "CREATE TRIGGER call_search_fts_ai AFTER INSERT ON call_search_text BEGIN "
    "INSERT INTO call_search_fts(rowid, sound) VALUES (new.transcript_id, new.sound); END",
    "CREATE TRIGGER call_search_fts_ad AFTER DELETE ON call_search_text BEGIN "
    "INSERT INTO call_search_fts(call_search_fts, rowid, sound) VALUES ('delete', old.transcript_id, old.sound); "
    "END",
    "CREATE TRIGGER call_search_fts_au AFTER UPDATE ON call_search_text BEGIN "
    "INSERT INTO call_search_fts(call_search_fts, rowid, sound) VALUES ('delete', old.transcript_id, old.sound); "
    "INSERT INTO call_search_fts(rowid, sound) VALUES (new.transcript_id, new.sound); END",
    "INSERT INTO call_search_fts(rowid, sound) SELECT transcript_id, sound FROM call_search_text",
)


def upgrade() -> None:
    op.create_index("ix_findings_category_call", "findings", ["category", "call_id"])
    op.create_index("ix_review_items_outcome_call", "review_items", ["outcome", "call_id"])
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    try:
        with bind.begin_nested():  # no FTS5 or no trigram tokenizer: nothing is created, LIKE stays
            for statement in _CREATE:
                bind.exec_driver_sql(statement)
    except OperationalError:
        pass


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("call_search_fts_ai", "call_search_fts_ad", "call_search_fts_au"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS call_search_fts")
    op.drop_index("ix_review_items_outcome_call", table_name="review_items")
    op.drop_index("ix_findings_category_call", table_name="findings")
