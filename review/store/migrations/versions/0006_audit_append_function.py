"""PostgreSQL: append audit entries to the hash chain in one server-side call

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 20:10:00

The chain has one head, so appenders take a lock until their commit. Done from Python,
taking the lock, reading the head and inserting the entries are three round trips, each
needing the appender's process to be scheduled (and its interpreter lock) while every
other appender waits. This function does the three in one call: the caller sends each
entry's canonical content split around its seq (``prefix`` and ``suffix``, computed
before the lock); the function numbers the entries, hashes them exactly as
``review.audit.chain`` does (SHA-256 of the canonical JSON, then of ``prev:content``) and
inserts them. SQLite keeps the Python path.
"""

from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION callqa_audit_append(
    p_ts timestamptz[], p_kind text[], p_actor text[], p_call_id text[], p_sha text[], p_payload text[],
    p_prefix bytea[], p_suffix bytea[], p_lock bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_seq integer;
    v_prev text;
    v_content text;
    v_entry text;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock);
    -- a fresh snapshot per statement (READ COMMITTED, volatile): the head committed before the lock
    SELECT seq, entry_hash INTO v_seq, v_prev FROM audit_events ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        v_seq := 0;
        v_prev := repeat('0', 64);
    END IF;
    FOR i IN 1 .. coalesce(array_length(p_kind, 1), 0) LOOP
        v_seq := v_seq + 1;
        v_content := encode(sha256(p_prefix[i] || convert_to(v_seq::text, 'UTF8') || p_suffix[i]), 'hex');
        v_entry := encode(sha256(convert_to(v_prev || ':' || v_content, 'UTF8')), 'hex');
        INSERT INTO audit_events (seq, ts, kind, actor, call_id, recording_sha256, payload, prev_hash,
                                  content_hash, entry_hash)
        VALUES (v_seq, p_ts[i], p_kind[i], p_actor[i], p_call_id[i], p_sha[i], p_payload[i]::json, v_prev,
                v_content, v_entry);
        v_prev := v_entry;
    END LOOP;
    RETURN v_seq;
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS callqa_audit_append(timestamptz[], text[], text[], text[], text[], "
                   "text[], bytea[], bytea[], bigint)")
