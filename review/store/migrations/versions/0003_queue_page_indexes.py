"""indexes for the queue page's filters at 100,000 items

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:35:00

The rule filter joins findings by rule and call, and the overdue filter
narrows review_items by overdue and status; without these both scan a table.
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_findings_rule_call', 'findings', ['rule_id', 'call_id'], unique=False)
    op.create_index('ix_review_items_overdue_status', 'review_items', ['overdue', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_review_items_overdue_status', table_name='review_items')
    op.drop_index('ix_findings_rule_call', table_name='findings')
