"""Progress lines for a night: files done of total, audio hours, throughput, time left."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TextIO

from flows.steps import CallOutcome


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(max(0.0, seconds))))


@dataclass
class Progress:
    total: int
    out: TextIO | None = None  # None: stdout at the time of writing (so captured output works)
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    failed: int = 0
    audio_s: float = 0.0

    def line(self, outcome: CallOutcome) -> str:
        self.done += 1
        self.failed += 0 if outcome.ok else 1
        self.audio_s += outcome.duration_s
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        rate = (self.audio_s / 3600) / (elapsed / 3600) if elapsed > 0 else 0.0
        state = "ok" if outcome.ok else f"FAILED ({(outcome.error or '')[:80]})"
        if outcome.ok and outcome.flagged:
            state = f"flagged ({outcome.findings} finding{'s' if outcome.findings != 1 else ''})"
        return (f"[{self.done}/{self.total}] {outcome.name}: {state} | audio {self.audio_s / 3600:.3f} h, "
                f"{rate:.1f} audio h per wall h | elapsed {_clock(elapsed)}, ETA {_clock(left)}")

    def report(self, outcome: CallOutcome) -> None:
        print(self.line(outcome), file=self.out or sys.stdout, flush=True)

    def start(self, discovered: int, skipped: int, resumed: int) -> None:
        print(f"nightly: {self.total} recording(s) to process ({discovered} in the inbox, {skipped} already done, "
              f"{resumed} resumed from an earlier run)", file=self.out or sys.stdout, flush=True)
