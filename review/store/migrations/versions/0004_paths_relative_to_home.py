"""stored file paths relative to CALLQA_HOME

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:40:00

Before this revision ``calls.recording_path`` and ``transcripts.path`` held the path the
night's process used, relative to its working folder (``var/recordings/ab/<sha>.wav``) or
absolute. Both are rewritten to the path under CALLQA_HOME that the store's layout gives
them (``recordings/ab/<sha>.wav``, ``transcripts/<call>/<model>.json``), whatever folder
they were written from; a path that does not follow the layout is left as it was.
Downgrading keeps the relative paths (the old working folder is not known).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_RECORDING = re.compile(r"(?:^|/)(recordings/[0-9a-f]{2}/[0-9a-f]{64}[^/]*)$")
_TRANSCRIPT = re.compile(r"(?:^|/)(transcripts/[^/]+/[^/]+\.json)$")


def relative(path: str | None, layout: re.Pattern[str]) -> str | None:
    if not path:
        return path
    match = layout.search(path.replace("\\", "/"))
    return match.group(1) if match else path


def _rewrite(table: str, key: str, column: str, layout: re.Pattern[str]) -> None:
    conn = op.get_bind()
    t = sa.table(table, sa.column(key), sa.column(column))
    rows = conn.execute(sa.select(t.c[key], t.c[column]).where(t.c[column].is_not(None))).all()
    for row_key, path in rows:
        new = relative(path, layout)
        if new != path:
            conn.execute(t.update().where(t.c[key] == row_key).values({column: new}))


def upgrade() -> None:
    _rewrite('calls', 'id', 'recording_path', _RECORDING)
    _rewrite('transcripts', 'id', 'path', _TRANSCRIPT)


def downgrade() -> None:
    pass
