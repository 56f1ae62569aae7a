"""blind agreement checks: review_items.agreement_check

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agreement_check', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_review_items_agreement', ['agreement_check', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_index('ix_review_items_agreement')
        batch_op.drop_column('agreement_check')
