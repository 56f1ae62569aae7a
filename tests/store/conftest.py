"""Helpers for the store tests: users, and calls taken through the real ingest path."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from review.calls.repo import register_call, save_screening, save_transcript
from review.queue.lifecycle import enqueue
from review.store.models import Call, ReviewItem, User

MODEL_KEY = "faster-whisper:base:int8"


@dataclass
class FakeFinding:
    rule_id: str
    category: str
    severity: str
    urgent: bool = False
    segment_index: int | None = 0
    start: float | None = 0.0
    end: float | None = 2.0
    evidence: str = "你今天必须还钱"
    citation: str = "test rule"


@dataclass
class FakeResult:
    pack: str = "cn-test"
    pack_version: str = "1"
    findings: list[FakeFinding] = field(default_factory=list)


def transcript_doc(call_id: str, text: str = "您好，这里是催收中心。") -> dict[str, Any]:
    return {
        "call_id": call_id, "started_at": "2026-11-02T10:00:00+08:00", "duration_s": 12.5,
        "language": "zh", "dialect": "mandarin", "backend": "faster-whisper", "model": "base",
        "channels": {"agent": 0, "customer": 1},
        "segments": [{"role": "agent", "start": 0.0, "end": 2.0, "text": text, "avg_logprob": -0.2,
                      "no_speech_prob": 0.01, "words": None}],
        "metadata": {},
    }


def sha_of(call_id: str) -> str:
    return hashlib.sha256(f"recording of {call_id}".encode()).hexdigest()


def ingest(session: Session, call_id: str, findings: list[FakeFinding], *, agent_id: str = "A1",
           team: str = "T1", dialect: str = "mandarin") -> Call:
    """Register, transcribe and screen one call through the repo API."""
    call, _ = register_call(session, call_id=call_id, recording_sha256=sha_of(call_id),
                            recording_path=f"/rec/{call_id}.wav",
                            metadata={"agent_id": agent_id, "team": team, "language": "zh", "dialect": dialect,
                                      "started_at": "2026-11-02T10:00:00+08:00", "answered": True},
                            duration_s=12.5)
    transcript, _ = save_transcript(session, call_id, MODEL_KEY, transcript_doc(call_id), None)
    save_screening(session, call_id, transcript.id, FakeResult(findings=findings))
    return call


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def make_user(db: Session) -> Callable[..., User]:
    def _make(username: str, role: str = "reviewer", **kw: Any) -> User:
        user = User(username=username, role=role, **kw)
        db.add(user)
        db.commit()
        return user

    return _make


@pytest.fixture
def flagged(db: Session) -> Callable[..., ReviewItem]:
    """A call with the given findings, ingested and enqueued; returns its review item."""

    def _make(call_id: str, *severities: str, urgent: bool = False, **kw: Any) -> ReviewItem:
        findings = [FakeFinding(rule_id=f"R{i}", category="threat", severity=s, urgent=urgent)
                    for i, s in enumerate(severities or ("major",))]
        ingest(db, call_id, findings, **kw)
        item, _ = enqueue(db, call_id)
        db.commit()
        return item

    return _make
