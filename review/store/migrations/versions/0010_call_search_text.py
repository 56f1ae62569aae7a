"""call_search_text: each call's newest transcript in sound form, for transcript search

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 10:00:00

One row per call (review.search.index): the normalised text of every segment with each Han
character replaced by a representative of its pinyin syllable, so a phrase search tolerates a
recogniser's homophone slips. On PostgreSQL a pg_trgm GIN index serves the substring test when
the extension can be created (otherwise the search scans in call order and stops at a page).
Existing calls are indexed here; new ones when their transcript is saved.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_search_text",
        sa.Column("call_id", sa.String(128), sa.ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("transcript_id", sa.Integer(), nullable=False),
        sa.Column("sound", sa.Text(), nullable=False, server_default=""),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():  # a role that may not create extensions keeps the table, unindexed
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                bind.exec_driver_sql("CREATE INDEX ix_call_search_text_sound_trgm ON call_search_text "
                                     "USING gin (sound gin_trgm_ops)")
        except DBAPIError:
            pass
    from review.search.index import backfill

    backfill(Session(bind=bind), only_missing=False)


def downgrade() -> None:
    op.drop_table("call_search_text")
