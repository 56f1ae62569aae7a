"""Metadata and call-history rule types (review.screening.conditions) and the pack retention floor."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callqa.errors import ConfigError, RulePackError
from review.calls.repo import register_call, save_screening, save_transcript
from review.screening import Screener, history_for
from review.screening.packs_registry import check_recording_retention
from review.screening.rules import parse_pack

Make = Callable[..., dict[str, Any]]


def _ids(screener: Screener, doc: dict[str, Any], history: Any = ()) -> set[str]:
    return {f.rule_id for r in screener.screen(doc, history) for f in r.findings}


def test_a_stop_request_found_on_a_stored_call_flags_the_next_call(session_factory: sessionmaker[Session],
                                                                   us: Screener, transcript: Make) -> None:
    first = transcript([("agent", "This is Sam from ABC, a debt collector."), ("customer", "Stop calling me.")],
                       call_id="first", language="en", started_at="2026-03-02T10:00:00-05:00",
                       timezone="America/New_York", debtor_id="D-7", debt_id="DEBT-7")
    with session_factory() as session:
        register_call(session, call_id="first", recording_sha256=hashlib.sha256(b"first").hexdigest(),
                      recording_path="/r/first.wav", metadata=first["metadata"] | {"started_at": first["started_at"]},
                      duration_s=10.0)
        row, _ = save_transcript(session, "first", "test:model:int8", first, None)
        for result in us.screen(first):
            save_screening(session, "first", row.id, result)
        session.commit()
    later = transcript([("agent", "Hello")], call_id="later", language="en", started_at="2026-03-20T10:00:00-05:00",
                       timezone="America/New_York", debtor_id="D-7", debt_id="DEBT-7")
    with session_factory() as session:
        history = history_for(session, [later])
    stored = next(h for h in history if h.call_id == "first")
    assert "finding:us.customer.stop_request" in stored.flags and stored.debt_id == "DEBT-7"
    findings = [f for r in us.screen(later, history) for f in r.findings if f.rule_id == "us.contact.after_stop_request"]
    assert len(findings) == 1 and "first" in findings[0].evidence


def test_frequency_findings_say_the_presumption_is_rebuttable(us: Screener, transcript: Make) -> None:
    from review.screening import CallHistory

    talk = CallHistory.from_mapping({"call_id": "t", "started_at": "2026-03-02T10:00:00-05:00", "debtor_id": "D-1",
                                     "answered": True, "direction": "inbound", "debt_id": "X"})
    call = transcript([("agent", "Hello")], language="en", started_at="2026-03-04T10:00:00-05:00",
                      timezone="America/New_York", debt_id="X")
    (finding,) = [f for r in us.screen(call, [talk]) for f in r.findings
                  if f.rule_id == "us.frequency.after_conversation"]
    assert "rebuttable" in finding.evidence and "consumer's call" in finding.evidence


def test_calling_hours_check_every_zone_the_consumer_may_be_in(us: Screener, transcript: Make) -> None:
    call = transcript([("agent", "Hello")], language="en", started_at="2026-03-02T10:00:00-05:00",
                      timezones=["America/New_York", "America/Los_Angeles"])
    assert "us.hours.calling" in _ids(us, call)
    call["metadata"]["hours_consented"] = True
    assert "us.hours.calling" not in _ids(us, call)


def test_retention_shorter_than_two_years_is_refused_under_cn_collection() -> None:
    with pytest.raises(ConfigError, match=r"cn-collection.*第六十八条"):
        check_recording_retention(700, ["cn-collection"])
    with pytest.raises(ConfigError, match="cn-collection"):
        check_recording_retention(700, [])  # packs chosen by language: cn-collection is among them
    check_recording_retention(730, ["cn-collection"])
    check_recording_retention(30, ["us-regf"])


def test_condition_params_are_checked(tmp_path: Path) -> None:
    text = """name: t
version: "1"
rules:
  - id: t.bad
    title: bad
    category: call_frequency
    severity: minor
    type: call_pattern
    citation: x
    params: {kind: calls_in_window, days: 7}
    examples: {must_trigger: [a], must_not_trigger: [b]}
"""
    with pytest.raises(RulePackError, match="needs max"):
        parse_pack(text, tmp_path / "t.yaml")
