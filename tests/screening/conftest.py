"""Helpers for the screening tests: small transcripts built in code."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from review.screening import Screener, load_pack
from review.screening.rules import RulePack

Seg = tuple[str, str] | tuple[str, str, float]


def make_transcript(segments: Sequence[Seg], *, call_id: str = "call-1", language: str = "zh",
                    started_at: str | None = "2026-03-02T10:00:00+08:00", **metadata: Any) -> dict[str, Any]:
    segs: list[dict[str, Any]] = []
    for index, seg in enumerate(segments):
        start = float(seg[2]) if len(seg) == 3 else index * 5.0  # type: ignore[misc]
        segs.append({"role": seg[0], "start": start, "end": start + 4.5, "text": seg[1], "avg_logprob": -0.2,
                     "no_speech_prob": 0.01, "words": None})
    meta = {"call_id": call_id, "debtor_id": "D-1", "phone_number": "13800000000", "answered": True,
            "direction": "outbound", **metadata}
    return {"call_id": call_id, "started_at": started_at, "duration_s": max([float(s["end"]) for s in segs] + [0.0]),
            "language": language, "dialect": None, "backend": "test", "model": "test",
            "channels": {"agent": 0, "customer": 1}, "segments": segs, "metadata": meta}


@pytest.fixture(scope="session")
def cn_pack() -> RulePack:
    return load_pack("cn-collection")


@pytest.fixture(scope="session")
def us_pack() -> RulePack:
    return load_pack("us-regf")


@pytest.fixture(scope="session")
def cn(cn_pack: RulePack) -> Screener:
    return Screener([cn_pack])


@pytest.fixture(scope="session")
def us(us_pack: RulePack) -> Screener:
    return Screener([us_pack])


@pytest.fixture(scope="session")
def rule_ids() -> Callable[[Screener, dict[str, Any]], set[str]]:
    def run(screener: Screener, transcript: dict[str, Any]) -> set[str]:
        return {f.rule_id for r in screener.screen(transcript) for f in r.findings}

    return run


@pytest.fixture(scope="session")
def transcript() -> Callable[..., dict[str, Any]]:
    """Build a transcript dict: transcript([("agent", "text"), ...], **metadata)."""
    return make_transcript
