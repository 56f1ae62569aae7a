"""findings.semantic: the semantic stage's score, nearest exemplars, encoder and corpus

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 20:40:00

A finding the semantic stage scored keeps why it scored: the probability, the two
nearest labelled exemplars and the model (encoder and corpus version). Null for
findings of keyword, regex and call-level rules, and for every finding stored before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("semantic", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("semantic")
