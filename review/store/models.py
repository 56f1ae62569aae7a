"""Tables of the review store (SQLAlchemy 2 typed mappings).

The machine's output (calls, transcripts, screenings, findings) is never
edited by a human action; human decisions live beside it (verdicts, appeals).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


ROLES = ("reviewer", "supervisor", "compliance", "admin")
SEVERITIES = ("critical", "major", "minor")
SEVERITY_RANK = {"critical": 3, "major": 2, "minor": 1}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(16), default="reviewer")
    team: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))  # set when the user is also an agent
    languages: Mapped[str] = mapped_column(String(255), default="")  # comma list of dialects; empty: any
    skills: Mapped[str] = mapped_column(String(255), default="")  # comma list of categories; empty: any
    review_teams: Mapped[str] = mapped_column(String(255), default="")  # comma list of teams reviewed; empty: any
    leads_team: Mapped[str | None] = mapped_column(String(64))  # the team this user leads (may appeal for it)
    ui_language: Mapped[str | None] = mapped_column(String(16))  # the web UI language chosen; null: the browser's
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Call(Base):
    __tablename__ = "calls"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # the call id
    recording_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    recording_path: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(index=True)
    duration_s: Mapped[float | None] = mapped_column(Float)
    agent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    team: Mapped[str | None] = mapped_column(String(64))
    debtor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_number: Mapped[str | None] = mapped_column(String(64), index=True)
    direction: Mapped[str | None] = mapped_column(String(16))
    answered: Mapped[bool | None] = mapped_column(Boolean)
    timezone: Mapped[str | None] = mapped_column(String(64))  # the debtor's IANA zone
    language: Mapped[str | None] = mapped_column(String(16))
    dialect: Mapped[str | None] = mapped_column(String(32))
    # registered -> transcribed -> screened; failed; deleted (retention)
    status: Mapped[str] = mapped_column(String(16), default="registered", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    metadata_json: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    transcripts: Mapped[list[Transcript]] = relationship(back_populates="call")
    findings: Mapped[list[Finding]] = relationship(back_populates="call")


class Transcript(Base):
    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("call_id", "model_key", name="uq_transcript_call_model"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    model_key: Mapped[str] = mapped_column(String(255))  # backend:model:compute_type
    backend: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    language: Mapped[str | None] = mapped_column(String(16))
    dialect: Mapped[str | None] = mapped_column(String(32))
    path: Mapped[str | None] = mapped_column(Text)  # the transcript JSON file
    document: Mapped[dict[str, Any]] = mapped_column()  # the transcript JSON itself
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="transcripts")


class Screening(Base):
    __tablename__ = "screenings"
    __table_args__ = (
        UniqueConstraint("transcript_id", "pack", "pack_version", name="uq_screening_transcript_pack"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    pack: Mapped[str] = mapped_column(String(64))
    pack_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Finding(Base):
    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    segment_index: Mapped[int | None] = mapped_column(Integer)
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(Text, default="")
    citation: Mapped[str] = mapped_column(Text, default="")
    # {"score", "exemplars": [{"text", "category", "similarity"}], "model"} when the semantic stage scored it
    semantic: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, default=None)

    call: Mapped[Call] = relationship(back_populates="findings")


class ReviewItem(Base):
    """One call waiting for (or done with) human review. At most one per call."""

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_items_lease", "status", "lease_expires_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="flagged")  # flagged | sample
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    severity_rank: Mapped[int] = mapped_column(Integer, default=0)  # 3 critical .. 0 none (samples)
    # open (claimable) -> claimed -> final; open again at stage "second" when a confirmed critical
    # finding needs four eyes; disputed (to a supervisor); final -> appealed -> final
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    stage: Mapped[str] = mapped_column(String(16), default="first")  # first | second | supervisor | appeal
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column()
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    first_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    second_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    language: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))  # category of the most severe finding
    team: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    dialect: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(16))  # violation | no_violation
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()
    # blind agreement check of a final first review (review.queue.agreement): NULL (not drawn) | open | claimed | done;
    # kept apart from status because the check never holds up the item's final outcome
    agreement_check: Mapped[str | None] = mapped_column(String(16))


# the claim query walks this index in priority order: urgent, then severity, then age
Index("ix_review_items_queue", ReviewItem.status, ReviewItem.urgent.desc(), ReviewItem.severity_rank.desc(),
      ReviewItem.created_at)
# blind checks waiting for a second reviewer, oldest first, without walking the (mostly final) items
Index("ix_review_items_agreement", ReviewItem.agreement_check, ReviewItem.created_at)
# the queue page filters by overdue and by rule (migration 0003)
Index("ix_review_items_overdue_status", ReviewItem.overdue, ReviewItem.status)
Index("ix_findings_rule_call", Finding.rule_id, Finding.call_id)
# the search page filters calls by a finding's category and by an item's outcome (migration 0012)
Index("ix_findings_category_call", Finding.category, Finding.call_id)
Index("ix_review_items_outcome_call", ReviewItem.outcome, ReviewItem.call_id)


class Verdict(Base):
    """A human decision beside a machine finding (or on a sampled call, finding_id NULL).

    One row per item, finding and stage; a reviewer changing their mind before
    submitting updates the row (the audit trail keeps every version)."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("item_id", "finding_id", "stage", name="uq_verdict_item_finding_stage"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[str] = mapped_column(String(16), default="first")  # first | second | supervisor
    # confirmed | false_positive for findings; violation | clean for a sample call
    decision: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))  # what a sample review found
    reason_code: Mapped[str] = mapped_column(String(64), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Appeal(Base):
    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), unique=True)
    appellant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ruling: Mapped[str | None] = mapped_column(String(16))  # upheld | overturned
    ruled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ruling_comment: Mapped[str | None] = mapped_column(Text)
    ruled_at: Mapped[datetime | None] = mapped_column()


class SamplingDraw(Base):
    __tablename__ = "sampling_draws"
    id: Mapped[int] = mapped_column(primary_key=True)
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column()
    seed: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    population_hash: Mapped[str] = mapped_column(String(64))
    population_size: Mapped[int] = mapped_column(Integer)
    sample: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"call_ids": [...], "strata": {...}}


class AuditEvent(Base):
    """An append-only, hash-chained log entry (see review.audit.chain)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    recording_sha256: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class WebSession(Base):
    """A signed-in browser session of the review UI, kept on the server (review.accounts.sessions).

    The cookie carries only a random token; the row is found by its SHA-256, so a copied
    database does not hand out live sessions. A row ends (``ended_at``) at sign-out, when the
    password changes, the account is deactivated or an admin revokes it, or when it times out."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the cookie's token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()  # the absolute limit, whatever the activity
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    # signed_out | password_changed | deactivated | revoked | idle | expired
    ended_reason: Mapped[str | None] = mapped_column(String(32))
    client: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    # call id -> ISO time until which a compliance officer sees its personal data unmasked
    unmasked: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SigninFailure(Base):
    """One failed sign-in, counted per account and per client address over a sliding window
    (review.accounts.throttle); in the database so that every web process sees the same counts."""

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128))  # "user:<name>" or "addr:<address>"
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ScorecardAnswer(Base):
    """A reviewer's answer to a scorecard item (``reviewer: true``) or an adjustment of a rule-tied item.

    One row per review item and scorecard item: answering again replaces the row (the audit trail keeps
    every version, as for verdicts). ``kind`` says which: an adjustment always carries its reason."""

    __tablename__ = "scorecard_answers"
    __table_args__ = (UniqueConstraint("item_id", "score_item", name="uq_scorecard_answer_item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    pack: Mapped[str] = mapped_column(String(64))  # whose scorecard the item id belongs to
    score_item: Mapped[str] = mapped_column(String(64))  # the scorecard item's id in the pack
    kind: Mapped[str] = mapped_column(String(16))  # answer | adjustment
    value: Mapped[str] = mapped_column(String(8))  # pass | fail | na
    reason: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallSearchText(Base):
    """A call's newest transcript in sound form, one line per segment (migration 0010); written and
    searched by review.search.index."""

    __tablename__ = "call_search_text"
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True)
    transcript_id: Mapped[int] = mapped_column(Integer)
    sound: Mapped[str] = mapped_column(Text, default="")


# PostgreSQL only (migration 0010): the comparison of models and migrations skips it elsewhere
Index("ix_call_search_text_sound_trgm", CallSearchText.sound, postgresql_using="gin",
      postgresql_ops={"sound": "gin_trgm_ops"}, info={"dialect": "postgresql"}).ddl_if(dialect="postgresql")
