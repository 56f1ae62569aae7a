"""Acoustic features of a two-channel call for the screening engine's acoustic rules.

Computed from where each channel has speech (voice activity) and from the agent's level, and
stored in the transcript as metadata["acoustic"]:
``{"long_silences": [{"start","end"}], "overtalk": [{"start","end"}],
"agent_loudness": [{"start","end","db"}], "agent_baseline_db": float | None}``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from callqa.intervals import Interval, union

LONG_SILENCE_S = 8.0  # both channels quiet at least this long
OVERTALK_S = 1.5  # both channels speaking together at least this long


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    a, b = union(a), union(b)
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def gaps(active: list[Interval], duration: float) -> list[Interval]:
    out: list[Interval] = []
    cursor = 0.0
    for start, end in union(active):
        if start > cursor:
            out.append((cursor, start))
        cursor = max(cursor, end)
    if duration > cursor:
        out.append((cursor, duration))
    return out


def _spans(intervals: list[Interval], minimum: float) -> list[dict[str, float]]:
    return [{"start": round(float(s), 2), "end": round(float(e), 2)} for s, e in intervals if e - s >= minimum]


@dataclass
class AcousticCollector:
    """Accumulates speech intervals and agent levels while a long call is processed in pieces."""

    agent_speech: list[Interval] = field(default_factory=list)
    customer_speech: list[Interval] = field(default_factory=list)
    agent_levels: list[dict[str, float]] = field(default_factory=list)

    def add_speech(self, role: str, intervals: list[Interval]) -> None:
        (self.agent_speech if role == "agent" else self.customer_speech).extend(intervals)

    def add_agent_level(self, start: float, end: float, db: float) -> None:
        self.agent_levels.append({"start": round(float(start), 2), "end": round(float(end), 2), "db": round(float(db), 1)})

    def result(self, duration_s: float) -> dict[str, Any]:
        quiet = gaps(self.agent_speech + self.customer_speech, duration_s)
        both = intersect(self.agent_speech, self.customer_speech)
        levels = sorted(self.agent_levels, key=lambda x: x["start"])
        baseline = round(float(statistics.median(x["db"] for x in levels)), 1) if levels else None
        return {
            "long_silences": _spans(quiet, LONG_SILENCE_S),
            "overtalk": _spans(both, OVERTALK_S),
            "agent_loudness": levels,
            "agent_baseline_db": baseline,
        }
