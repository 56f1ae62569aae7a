"""Append-only, hash-chained audit trail.

Each entry stores the SHA-256 of its own canonical content and of the entry
before it, so editing, deleting or reordering rows breaks the chain at a
point ``verify`` can name.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from review.store.models import AuditEvent

GENESIS = "0" * 64


def _canonical(seq: int, ts: datetime, kind: str, actor: str, call_id: str | None,
               recording_sha256: str | None, payload: dict[str, Any]) -> bytes:
    body = {
        "seq": seq,
        "ts": ts.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        "kind": kind,
        "actor": actor,
        "call_id": call_id,
        "recording_sha256": recording_sha256,
        "payload": payload,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def content_hash_of(event: AuditEvent) -> str:
    return hashlib.sha256(
        _canonical(event.seq, event.ts, event.kind, event.actor, event.call_id, event.recording_sha256,
                   event.payload)
    ).hexdigest()


def entry_hash_of(prev_hash: str, content_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{content_hash}".encode()).hexdigest()


def append(session: Session, kind: str, *, actor: str = "system", call_id: str | None = None,
           recording_sha256: str | None = None, payload: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (commit makes it durable)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # one appender at a time, released at commit: the chain stays linear
        session.execute(text("SELECT pg_advisory_xact_lock(814570)"))
    elif bind.dialect.name == "sqlite":
        # take SQLite's write lock now, not at the first insert, so the last entry we read stays last
        session.execute(text("UPDATE audit_events SET seq = seq WHERE 0"))
    last = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()
    seq = (last.seq + 1) if last else 1
    prev = last.entry_hash if last else GENESIS
    payload = json.loads(json.dumps(payload or {}, default=str))
    event = AuditEvent(seq=seq, ts=datetime.now(timezone.utc), kind=kind, actor=actor, call_id=call_id,
                       recording_sha256=recording_sha256, payload=payload, prev_hash=prev)
    event.content_hash = content_hash_of(event)
    event.entry_hash = entry_hash_of(prev, event.content_hash)
    session.add(event)
    session.flush()
    return event
