"""Append-only, hash-chained audit trail.

Each entry stores the SHA-256 of its own canonical content and of the entry
before it, so editing, deleting or reordering rows breaks the chain at a
point ``verify`` can name. Deleting the newest entries leaves a shorter chain
that is still valid in itself: compare ``VerifyResult.head_hash`` with a head
published earlier (``callqa audit verify --expect-head``) to catch that too.

Kinds in use: ingested, transcribed, screened, failed, enqueued, claimed,
released, lease_expired, verdict, submitted, second_review,
supervisor_decision, overdue, appeal, ruling, sampling_draw, pii_unmask,
export, rule_pack_change, retention_recording_deleted, retention_files_deleted,
retention_failed, retention_transcript_stripped, retention_transcript_anonymised, scorecard_answer
(a scorecard item answered, adjusted with its reason, or cleared: review.scorecard.records).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session, SessionTransaction

from callqa.errors import AuditChainError
from callqa.hashing import canonical_json, json_safe
from review.store.models import AuditEvent

GENESIS = "0" * 64
_CHAIN_LOCK = 814570  # the PostgreSQL advisory lock that keeps the chain linear


def _utc(ts: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written as UTC
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _canonical(seq: int, ts: datetime, kind: str, actor: str, call_id: str | None,
               recording_sha256: str | None, payload: dict[str, Any]) -> bytes:
    body = {
        "seq": seq,
        "ts": _utc(ts).isoformat(timespec="microseconds"),
        "kind": kind,
        "actor": actor,
        "call_id": call_id,
        "recording_sha256": recording_sha256,
        "payload": payload,
    }
    return canonical_json(body)


def content_hash_of(event: AuditEvent) -> str:
    return hashlib.sha256(
        _canonical(event.seq, event.ts, event.kind, event.actor, event.call_id, event.recording_sha256,
                   event.payload)
    ).hexdigest()


def entry_hash_of(prev_hash: str, content_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}:{content_hash}".encode()).hexdigest()


def append(session: Session, kind: str, *, actor: str = "system", call_id: str | None = None,
           recording_sha256: str | None = None, payload: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event in the caller's transaction (commit makes it durable).

    Appenders are serialised until their commit, so the chain stays linear
    however many processes write; keep transactions that append short, or use
    ``append_on_commit``."""
    return _append_many(session, [dict(kind=kind, actor=actor, call_id=call_id,
                                       recording_sha256=recording_sha256, payload=payload)])[0]


def _append_many(session: Session, entries: list[dict[str, Any]]) -> list[AuditEvent]:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # one appender at a time, released at commit: the chain stays linear
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    elif bind.dialect.name == "sqlite":
        # take SQLite's write lock now, not at the first insert, so the last entry we read stays last
        session.execute(text("UPDATE audit_events SET seq = seq WHERE 0"))
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0], last[1]) if last else (0, GENESIS)
    rows = []
    for entry in entries:
        seq += 1
        row = AuditEvent(seq=seq, ts=datetime.now(UTC), kind=entry["kind"], actor=entry["actor"],
                         call_id=entry["call_id"], recording_sha256=entry["recording_sha256"],
                         payload=json_safe(entry["payload"] or {}), prev_hash=prev)
        row.content_hash = content_hash_of(row)
        row.entry_hash = prev = entry_hash_of(prev, row.content_hash)
        rows.append(row)
    session.add_all(rows)
    session.flush()
    return rows


_PENDING = "callqa.audit.pending"


def append_on_commit(session: Session, kind: str, *, actor: str = "system", call_id: str | None = None,
                     recording_sha256: str | None = None, payload: dict[str, Any] | None = None) -> None:
    """Queue an event that is appended when the session commits (dropped if it rolls back).

    The chain lock is then held only for the appends and the commit, not for
    the whole transaction, which keeps many concurrent reviewers fast. A
    missing ``recording_sha256`` is filled in from the call."""
    session.info.setdefault(_PENDING, []).append(dict(
        kind=kind, actor=actor, call_id=call_id, recording_sha256=recording_sha256,
        payload=json_safe(payload or {})))


@sa_event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending: list[dict[str, Any]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    # the commit would flush the caller's other changes after this hook, under the chain lock, where a
    # wait on a row lock would stall every appender: flush them first
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        _append_server_side(session, pending)
        return
    missing = {e["call_id"] for e in pending if e["call_id"] and not e["recording_sha256"]}
    if missing:  # looked up before taking the chain lock
        from review.store.models import Call

        shas = dict(session.execute(select(Call.id, Call.recording_sha256).where(Call.id.in_(missing))).all())
        for e in pending:
            e["recording_sha256"] = e["recording_sha256"] or shas.get(e["call_id"])
    _append_many(session, pending)


def _split_canonical(ts: datetime, kind: str, actor: str, call_id: str | None, recording_sha256: str | None,
                     payload: dict[str, Any]) -> tuple[bytes, bytes]:
    """The canonical content of an entry without its seq: the bytes before and after the seq digits.

    Keys sort as actor, call_id, kind, payload, recording_sha256, seq, ts, so the seq sits between
    everything else and the time; ``prefix + str(seq) + suffix == _canonical(seq, ...)``."""
    rest = canonical_json({"kind": kind, "actor": actor, "call_id": call_id, "recording_sha256": recording_sha256,
                           "payload": payload})
    stamp = canonical_json(_utc(ts).isoformat(timespec="microseconds"))
    return rest[:-1] + b',"seq":', b',"ts":' + stamp + b"}"


def _append_server_side(session: Session, pending: list[dict[str, Any]]) -> None:
    """PostgreSQL: lock, read the head, number, hash and insert in one call (migration 0006), so the
    chain's single head is held for one round trip and the commit rather than four."""
    now = datetime.now(UTC)
    payloads = [json_safe(e["payload"] or {}) for e in pending]
    parts = [_split_canonical(now, e["kind"], e["actor"], e["call_id"], e["recording_sha256"], p)
             for e, p in zip(pending, payloads, strict=True)]
    session.execute(text(
        "SELECT callqa_audit_append(CAST(:ts AS timestamptz[]), CAST(:kind AS text[]), CAST(:actor AS text[]), "
        "CAST(:call_id AS text[]), CAST(:sha AS text[]), CAST(:payload AS text[]), CAST(:prefix AS bytea[]), "
        "CAST(:suffix AS bytea[]), :lock)"), {
        "ts": [now] * len(pending), "kind": [e["kind"] for e in pending], "actor": [e["actor"] for e in pending],
        "call_id": [e["call_id"] for e in pending], "sha": [e["recording_sha256"] for e in pending],
        "payload": [json.dumps(p, ensure_ascii=False) for p in payloads],
        "prefix": [a for a, _ in parts], "suffix": [b for _, b in parts], "lock": _CHAIN_LOCK})


@sa_event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    # a commit has written them already; a rollback or close must not carry them into the next transaction
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int  # how many entries were checked
    head_seq: int  # seq of the last good entry (0 for an empty chain)
    head_hash: str  # entry hash of the last good entry: publish it to catch truncation later
    bad_seq: int | None = None
    bad_id: int | None = None
    reason: str | None = None

    def raise_if_broken(self) -> None:
        if not self.ok:
            raise AuditChainError(self.reason or "the audit chain does not verify")


def check_entry(seq: int, ts: datetime, kind: str, actor: str, call_id: str | None,
                recording_sha256: str | None, payload: dict[str, Any], prev_hash: str, content_hash: str,
                entry_hash: str) -> str | None:
    """Why one entry does not hash to what it claims, or None (shared with the evidence pack)."""
    recomputed = hashlib.sha256(
        _canonical(seq, ts, kind, actor, call_id, recording_sha256, payload)
    ).hexdigest()
    if recomputed != content_hash:
        return "its content does not match its content hash (the row was edited)"
    if entry_hash_of(prev_hash, content_hash) != entry_hash:
        return "its entry hash does not match its previous and content hashes (a hash was rewritten)"
    return None


def verify(session: Session, *, expect_head: str | None = None, batch: int = 2000) -> VerifyResult:
    """Walk the whole chain in seq order and name the first entry that fails.

    Caught: an edited row (content hash), a rewritten hash (entry hash), a
    deleted or inserted row (seq gap, previous hash), rows reordered by seq or
    id. With ``expect_head`` (an entry hash published earlier) a chain cut
    short at the end is caught too."""
    prev_hash, expected_seq, last_id, count = GENESIS, 1, 0, 0
    seen_head = expect_head is None
    # plain rows, not ORM objects: a long chain streams through without filling the session
    columns = [AuditEvent.id, AuditEvent.seq, AuditEvent.ts, AuditEvent.kind, AuditEvent.actor,
               AuditEvent.call_id, AuditEvent.recording_sha256, AuditEvent.payload, AuditEvent.prev_hash,
               AuditEvent.content_hash, AuditEvent.entry_hash]
    stmt = select(*columns).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    for event in session.execute(stmt):
        problem = None
        if event.seq != expected_seq:
            problem = (f"seq {event.seq} follows seq {expected_seq - 1}: "
                       f"entry {expected_seq} was deleted or the rows were renumbered")
        elif event.prev_hash != prev_hash:
            problem = "its previous hash does not match the entry before it (an entry was deleted, inserted or moved)"
        elif event.id <= last_id:
            problem = f"its row id {event.id} is lower than the entry before it (rows were reordered)"
        else:
            problem = check_entry(event.seq, event.ts, event.kind, event.actor, event.call_id,
                                  event.recording_sha256, event.payload, event.prev_hash, event.content_hash,
                                  event.entry_hash)
        if problem:
            return VerifyResult(False, count, expected_seq - 1, prev_hash, event.seq, event.id,
                                f"audit entry seq {event.seq} (id {event.id}, {event.kind}) fails: {problem}; "
                                f"entries before it verify")
        prev_hash, expected_seq, last_id = event.entry_hash, event.seq + 1, event.id
        seen_head = seen_head or event.entry_hash == expect_head
        count += 1
    if not seen_head:
        return VerifyResult(False, count, expected_seq - 1, prev_hash, None, None,
                            f"the expected head {expect_head} is not in the chain: entries after seq "
                            f"{expected_seq - 1} were deleted, or the head belongs to another database")
    return VerifyResult(True, count, expected_seq - 1, prev_hash)

