"""Running every rule's must-trigger and must-not-trigger examples (``callqa rules test``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from review.screening.engine import Screener
from review.screening.findings import FindingResult
from review.screening.history import CallHistory
from review.screening.packs_registry import language_family
from review.screening.rules import Example, Rule, RulePack

_DEFAULT_START = {"zh": "2026-03-02T10:00:00+08:00", "en": "2026-03-02T10:00:00-05:00"}


@dataclass(frozen=True)
class ExampleOutcome:
    pack: str
    rule_id: str
    expected: bool  # True: must trigger
    passed: bool
    line: int
    text: str
    got: str  # the evidence found, or "" when nothing fired


def example_transcript(example: Example, pack: RulePack, call_id: str) -> dict[str, Any]:
    """A small transcript for one example: 5 s per segment unless the example says when."""
    language = pack.languages[0] if pack.languages else "zh"
    family = language_family(language) or "zh"
    segments: list[dict[str, Any]] = []
    for index, (role, text, start) in enumerate(example.segments):
        begin = float(index * 5) if start is None else start
        segments.append({"role": role, "start": begin, "end": begin + 4.5, "text": text, "avg_logprob": None,
                         "no_speech_prob": None, "words": None})
    metadata: dict[str, Any] = {"call_id": call_id, "debtor_id": "D-EXAMPLE", "phone_number": "+0-EXAMPLE",
                                "answered": True, "direction": "outbound", "timezone": pack.timezone}
    metadata.update(example.metadata)
    started_at = metadata.get("started_at") or _DEFAULT_START.get(family, "2026-03-02T10:00:00+00:00")
    duration = max([float(s["end"]) for s in segments] + [0.0])
    return {"call_id": call_id, "started_at": started_at, "duration_s": duration,
            "language": language, "dialect": None, "backend": "example", "model": "example", "channels": None,
            "segments": segments, "metadata": metadata}


def _history(example: Example, transcript: dict[str, Any]) -> list[CallHistory]:
    meta = transcript["metadata"]
    calls = []
    for index, prior in enumerate(example.history):
        data = {"debtor_id": meta.get("debtor_id"), "phone_number": meta.get("phone_number"),
                "direction": "outbound", "timezone": meta.get("timezone"), "call_id": f"prior-{index}", **prior}
        calls.append(CallHistory.from_mapping(data))
    return calls


def _describe(example: Example) -> str:
    if example.segments:
        return " | ".join(f"{role}: {text}" for role, text, _ in example.segments)
    return str({k: v for k, v in example.metadata.items() if k != "acoustic"} or example.metadata)


def _from_rule(finding: FindingResult, rule: Rule) -> bool:
    """A semantic rule's finding may have been merged into a keyword finding of its category."""
    if finding.rule_id == rule.id:
        return True
    return rule.type == "semantic" and finding.category == rule.category and finding.score is not None


def run_rule_examples(screener: Screener, pack: RulePack, rule: Rule) -> list[ExampleOutcome]:
    outcomes = []
    for expected, examples in ((True, rule.must_trigger), (False, rule.must_not_trigger)):
        for index, example in enumerate(examples):
            transcript = example_transcript(example, pack, f"{rule.id}-example-{index}")
            results = screener.screen(transcript, _history(example, transcript))
            found = [f for r in results if r.pack == pack.name for f in r.findings if _from_rule(f, rule)]
            outcomes.append(ExampleOutcome(pack.name, rule.id, expected, bool(found) == expected, example.line,
                                           _describe(example), found[0].evidence if found else ""))
    return outcomes


def run_pack_examples(pack: RulePack) -> list[ExampleOutcome]:
    screener = Screener([pack])
    return [outcome for rule in pack.rules for outcome in run_rule_examples(screener, pack, rule)]
