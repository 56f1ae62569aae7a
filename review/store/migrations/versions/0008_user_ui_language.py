"""users.ui_language: the review UI language a user chose

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 20:50:00

Null (every user stored before) means: the browser's Accept-Language among the site's languages.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("ui_language", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("ui_language")
