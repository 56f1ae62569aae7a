"""Alembic environment: always handed a live connection by ``review.store.db.init_db``."""

from __future__ import annotations

from alembic import context

from review.store.db import comparison_options
from review.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through review.store.db.init_db (or `callqa db upgrade`)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: batch mode rebuilds the table instead
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    **comparison_options(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
