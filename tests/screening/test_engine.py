"""Metadata, frequency (with the real store), acoustic rules and the result shape."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from review.calls.repo import register_call
from review.screening import CallHistory, Screener, history_for

Make = Callable[..., dict[str, Any]]
RuleIds = Callable[[Screener, dict[str, Any]], set[str]]


def test_result_shape_pack_version_and_urgency(cn: Screener, transcript: Make) -> None:
    results = cn.screen(transcript([("agent", "您好，我是某某银行工号1234，本次通话将被录音"),
                                    ("customer", "我真的不想活了")]))
    assert [r.pack for r in results] == ["cn-collection"] and results[0].pack_version.startswith("2026.3+corpus.")
    (finding,) = results[0].findings
    assert (finding.category, finding.urgent, finding.segment_index) == ("customer_vulnerability", True, 1)
    assert (finding.start, finding.end, finding.evidence) == (5.0, 9.5, "不想活了")
    assert finding.citation
    assert results[0].to_dict()["call_id"] == "call-1"


def test_clean_professional_call_has_no_findings(cn: Screener, transcript: Make) -> None:
    call = transcript([
        ("agent", "您好，我是某某银行信用卡中心的工作人员，工号1234，本次通话将被录音"),
        ("customer", "你好，什么事"),
        ("agent", "您的信用卡本期账单已经逾期三天了，逾期会如实上报征信，请问您什么时候方便还款"),
        ("customer", "我明天就还"),
        ("agent", "好的，您可以通过手机银行还款，感谢您的配合，再见"),
    ])
    assert cn.screen(call)[0].findings == []


def test_calling_hours_use_the_debtors_zone(us: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    call = transcript([("agent", "hello")], language="en", started_at="2026-03-03T02:30:00Z")
    assert "us.hours.calling" in rule_ids(us, call)  # 21:30 in New York (the pack default)
    call["metadata"]["timezone"] = "America/Los_Angeles"  # 18:30 there
    assert "us.hours.calling" not in rule_ids(us, call)


def test_mono_recording_skips_acoustic_rules(cn: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    loud = {"agent_baseline_db": -30.0, "agent_loudness": [{"start": 1.0, "end": 5.0, "db": -10.0}],
            "overtalk": [{"start": 10.0, "end": 20.0}], "long_silences": [{"start": 30.0, "end": 90.0}]}
    found = rule_ids(cn, transcript([("agent", "喂")], acoustic=loud))
    assert {"cn.acoustic.shouting", "cn.acoustic.overtalk", "cn.acoustic.long_silence"} <= found
    assert not {r for r in rule_ids(cn, transcript([("agent", "喂")], acoustic=None)) if "acoustic" in r}


def _store_call(session: Session, call_id: str, started: datetime, **meta: Any) -> None:
    sha = hashlib.sha256(call_id.encode()).hexdigest()
    register_call(session, call_id=call_id, recording_sha256=sha, recording_path=f"/r/{call_id}.wav",
                  metadata={"started_at": started.isoformat(), "debtor_id": "D-9", "phone_number": "+1555",
                            "direction": "outbound", **meta}, duration_s=60.0)


def test_seven_in_seven_counts_store_and_batch_once(session_factory: sessionmaker[Session], us: Screener,
                                                    transcript: Make) -> None:
    day0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with session_factory() as session:
        for i in range(6):  # six stored, unanswered calls on six days
            _store_call(session, f"old-{i}", day0 + timedelta(days=i), answered=False)
        _store_call(session, "other-debtor", day0, answered=False, debtor_id="D-OTHER")
        session.commit()

    def call(call_id: str, when: datetime) -> dict[str, Any]:
        return transcript([("agent", "hello")], call_id=call_id, language="en", started_at=when.isoformat(),
                          debtor_id="D-9", phone_number="+1555", answered=False)

    seventh = call("old-5", day0 + timedelta(days=5))  # also stored: must not count twice
    eighth = call("new-8", day0 + timedelta(days=6))
    with session_factory() as session:
        history = history_for(session, [seventh, eighth])
    assert len([h for h in history if h.debtor_id == "D-9"]) == 7
    ids = {f.rule_id for f in us.screen(eighth, history)[0].findings}
    assert "us.frequency.seven_in_seven" not in ids  # 6 stored + this one = 7: at the limit
    ninth = call("new-9", day0 + timedelta(days=6, hours=2))
    with session_factory() as session:
        history = history_for(session, [eighth, ninth])
    assert "us.frequency.seven_in_seven" in {f.rule_id for f in us.screen(ninth, history)[0].findings}


def test_call_after_a_conversation(session_factory: sessionmaker[Session], us: Screener, transcript: Make) -> None:
    talk = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with session_factory() as session:
        _store_call(session, "talk", talk, answered=True)
        session.commit()
        later = transcript([("agent", "hello")], call_id="later", language="en",
                           started_at=(talk + timedelta(days=3)).isoformat(), debtor_id="D-9")
        findings = us.screen(later, history_for(session, [later]))[0].findings
    (finding,) = [f for f in findings if f.rule_id == "us.frequency.after_conversation"]
    assert "talk" in finding.evidence


def test_unanswered_attempts_per_local_day(cn: Screener, transcript: Make) -> None:
    # the day is the debtor's, not UTC's: these six fall on 2 March in UTC but on 3 March in Shanghai
    base = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 01:00 on 3 March in Shanghai
    prior = [CallHistory(f"p{i}", base + timedelta(hours=i), "D-1", "13800000000", False, "outbound", None)
             for i in range(6)]
    now = base + timedelta(hours=7)
    call = transcript([("agent", "喂")], started_at=now.isoformat(), answered=False)
    assert "cn.frequency.unanswered" in {f.rule_id for f in cn.screen(call, prior)[0].findings}
    # 09:00-14:00 on 2 March in Shanghai: the same UTC date as the call, but yesterday for the debtor
    yesterday = [CallHistory(f"y{i}", base - timedelta(hours=16 - i), "D-1", "13800000000", False, "outbound", None)
                 for i in range(6)]
    assert "cn.frequency.unanswered" not in {f.rule_id for f in cn.screen(call, yesterday)[0].findings}


def test_findings_are_timed_to_the_words_when_the_transcript_has_them(cn: Screener, transcript: Make) -> None:
    call = transcript([("agent", "您好，我是某某银行工号1234，本次通话将被录音"), ("agent", "你再不还就坐牢")])
    text = call["segments"][1]["text"]
    call["segments"][1]["words"] = [{"word": ch, "start": 5.0 + i * 0.25, "end": 5.2 + i * 0.25, "probability": 0.9}
                                    for i, ch in enumerate(text)]
    (finding,) = [f for f in cn.screen(call)[0].findings if f.rule_id == "cn.legal.false_consequence"]
    assert (finding.start, finding.end, finding.segment_index) == (6.25, 6.7, 1)  # 坐 at index 5, 牢 at 6
