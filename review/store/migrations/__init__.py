"""Alembic migrations of the review store; run them with ``review.store.db.init_db``."""
