"""scorecard_answers: reviewers' answers to scorecard items and their adjustments (with reasons)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 09:30:00

One row per review item and scorecard item (review.scorecard.records); the audit trail keeps every
version. Nothing stored before needs a row: an unanswered item is scored from the findings alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scorecard_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("score_item", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["review_items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "score_item", name="uq_scorecard_answer_item"),
    )
    op.create_index("ix_scorecard_answers_item_id", "scorecard_answers", ["item_id"], unique=False)
    op.create_index("ix_scorecard_answers_call_id", "scorecard_answers", ["call_id"], unique=False)


def downgrade() -> None:
    op.drop_table("scorecard_answers")
