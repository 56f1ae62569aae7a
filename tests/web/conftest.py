"""Web UI fixtures: a real stereo WAV, real store rows (call, transcript, findings, queue item), users,
and a signed-in TestClient."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings
from review.accounts import users as accounts
from review.calls import repo
from review.queue import lifecycle as queue
from review.store.db import session_scope
from transcriber import audio

PASSWORD = "correct horse battery"
CALL_ID = "call-0001"
SCRIPT = "<script>alert('pwned')</script>"
# (role, start, end, text, low_confidence)
SEGMENTS = [
    ("agent", 0.5, 2.5, "您好，我是催收员，你今天必须还钱，不然我告诉你家人", False),
    ("customer", 2.8, 4.6, f"我的电话是一三八一二三四五六七八，{SCRIPT}", True),
    ("agent", 5.0, 6.5, "再不还款就起诉你，让你坐牢", False),
    ("customer", 6.8, 7.8, "好的好的", False),
]


@pytest.fixture(autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """argon2id at 1 MiB, 1 pass: the same code path, without 0.5 s per hash on a busy CI machine."""
    accounts.set_hash_cost(time_cost=1, memory_kib=1024, parallelism=1)
    yield
    accounts.set_hash_cost()


@dataclass
class FindingSpec:
    rule_id: str
    category: str
    severity: str
    segment_index: int | None
    start: float | None
    end: float | None
    evidence: str
    citation: str = "《互联网金融逾期债务催收自律公约》第二十二条"
    urgent: bool = False


@dataclass
class ScreenSpec:
    pack: str
    pack_version: str
    findings: list[FindingSpec]


FINDINGS = [
    FindingSpec("cn.third_party.family", "third_party_disclosure", "major", 0, 0.5, 2.5, "不然我告诉你家人"),
    FindingSpec("cn.threat.prison", "threat", "critical", 2, 5.0, 6.5, "让你坐牢"),
]


def write_wav(path: Path, seconds: float = 8.0, rate: int = 16000, variant: int = 0) -> Path:
    """A stereo 16-bit WAV: agent tones on the left where the agent speaks, customer tones on the right."""
    t = np.arange(int(seconds * rate)) / rate
    left, right = np.zeros_like(t), np.zeros_like(t)
    for role, start, end, _text, _low in SEGMENTS:
        on = (t >= start) & (t < end)
        if role == "agent":
            left[on] = 0.5 * np.sin(2 * np.pi * 440 * t[on])
        else:
            right[on] = 0.5 * np.sin(2 * np.pi * 660 * t[on])
    left[0] = variant / 32767  # a different file (and SHA-256) per variant
    return audio.write_wav(path, np.stack([left, right]), rate)


def transcript_document(call_id: str, segments: list[tuple[str, float, float, str, bool]]) -> dict[str, object]:
    return {
        "call_id": call_id, "started_at": "2026-11-27T10:15:00+08:00", "duration_s": 8.0, "language": "zh",
        "dialect": "mandarin", "backend": "faster-whisper", "model": "base", "channels": {"agent": 0, "customer": 1},
        "segments": [{"role": r, "start": s, "end": e, "text": x, "avg_logprob": -0.3 if not low else -1.4,
                      "no_speech_prob": 0.01, "words": None, "low_confidence": low}
                     for r, s, e, x, low in segments],
        "metadata": {"phone_number": "13812345678"},
    }


def seed_call(session: Session, wav: Path, call_id: str = CALL_ID, *, agent_id: str = "A1", team: str = "team-a",
              segments: list[tuple[str, float, float, str, bool]] | None = None,
              findings: list[FindingSpec] | None = None) -> int:
    """Register, transcribe, screen and enqueue one call the way the pipeline does; the item id."""
    data = wav.read_bytes()
    repo.register_call(session, call_id=call_id, recording_sha256=hashlib.sha256(data).hexdigest(),
                       recording_path=str(wav), duration_s=8.0,
                       metadata={"agent_id": agent_id, "team": team, "phone_number": "13812345678",
                                 "debtor_id": "D-77", "dialect": "mandarin", "language": "zh",
                                 "started_at": "2026-11-27T10:15:00+08:00", "direction": "outbound"})
    transcript, _ = repo.save_transcript(session, call_id, "faster-whisper:base:int8",
                                         transcript_document(call_id, segments or SEGMENTS), None)
    repo.save_screening(session, call_id, transcript.id, ScreenSpec("cn-collection", "1", findings or FINDINGS))
    item, _ = queue.enqueue(session, call_id, "flagged")
    return item.id


@dataclass
class WebEnv:
    settings: Settings
    factory: sessionmaker[Session]
    wav: Path
    item_id: int


def add_users(session: Session) -> None:
    accounts.add_user(session, "alice", PASSWORD, "reviewer")
    accounts.add_user(session, "bob", PASSWORD, "reviewer")
    accounts.add_user(session, "sam", PASSWORD, "supervisor")
    accounts.add_user(session, "carol", PASSWORD, "compliance")
    accounts.add_user(session, "lee", PASSWORD, "reviewer", leads_team="team-a")
    accounts.add_user(session, "agent1", PASSWORD, "reviewer", agent_id="A1")


def build_env(settings: Settings, engine: Engine, tmp_path: Path) -> WebEnv:
    factory = sessionmaker(engine, expire_on_commit=False)
    settings.web.default_language = "en"  # these tests read English pages; test_i18n asks for Chinese
    wav = write_wav(tmp_path / "call-0001.wav")
    with session_scope(factory) as session:
        add_users(session)
        item_id = seed_call(session, wav)
    return WebEnv(settings, factory, wav, item_id)


@pytest.fixture
def web_env(settings: Settings, sqlite_engine: Engine, tmp_path: Path) -> WebEnv:
    return build_env(settings, sqlite_engine, tmp_path)


@pytest.fixture
def web_env_any(settings: Settings, engine: Engine, tmp_path: Path) -> WebEnv:
    """The same data on SQLite and on PostgreSQL."""
    return build_env(settings, engine, tmp_path)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; the CSRF token of the new session."""
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_of(page.text), "next": "/queue"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/queue").text)


@pytest.fixture
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., TestClient]]:
    """make() gives a fresh browser-like client on the test's data (web_env_any if used, else web_env)."""
    from review.web import create_app

    clients: list[TestClient] = []
    name = "web_env_any" if "web_env_any" in request.fixturenames else "web_env"

    def make(env: WebEnv | None = None) -> TestClient:
        env = env or request.getfixturevalue(name)
        client = TestClient(create_app(env.settings, session_factory=env.factory), raise_server_exceptions=False)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()
