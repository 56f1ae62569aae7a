"""What screening produces: findings, grouped per pack into a screen result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass  # not frozen: review.calls.repo's FindingLike protocol declares plain attributes
class FindingResult:
    rule_id: str
    category: str
    severity: str
    segment_index: int | None  # None: a finding about the call as a whole (absence, hours, frequency)
    start: float | None
    end: float | None
    evidence: str
    citation: str
    urgent: bool = False
    # set when the semantic stage scored this moment: its probability, the two nearest labelled
    # exemplars (why it scored so), and the encoder and corpus the heads were trained with
    score: float | None = None
    exemplars: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScreenResult:
    pack: str
    pack_version: str
    findings: list[FindingResult] = field(default_factory=list)
    call_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "pack": self.pack, "pack_version": self.pack_version,
                "findings": [f.to_dict() for f in self.findings]}
