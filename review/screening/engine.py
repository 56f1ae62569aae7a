"""The screener: rule packs x one transcript -> findings per pack."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from datetime import time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from review.screening import conditions
from review.screening.compiled import Compiled
from review.screening.condition_params import TYPES as CONDITION_TYPES
from review.screening.condition_params import zone_or_none
from review.screening.findings import FindingResult, ScreenResult
from review.screening.history import CallHistory
from review.screening.match import (
    CallText,
    PhraseHit,
    PhraseMatcher,
    evidence_span,
    hit_counts,
    role_ok,
    word_times,
)
from review.screening.normalize import SEPARATOR
from review.screening.required import metadata_names, part_said
from review.screening.rules import Gate, RulePack
from review.screening.semantic_rules import merge_findings, semantic_findings, semantic_plan
from review.screening.us_states import debtor_state


class Screener:
    """Screens transcripts with a fixed set of packs; build once, reuse for many calls."""

    def __init__(self, packs: Sequence[RulePack]) -> None:
        self.packs = list(packs)
        self._matcher = PhraseMatcher()
        self._rules: list[list[Compiled]] = []
        for pack in self.packs:
            compiled = []
            for rule in pack.rules:
                c = Compiled(rule, pack)
                p, add = rule.params, self._matcher.add
                if rule.type == "keyword":
                    c.main = {add(x, rule.homophones) for x in p["phrases"]}
                    c.exclude = {add(x, False) for x in p["exclude"]}
                elif rule.type == "proximity":
                    c.first = {add(x, rule.homophones) for x in p["first"].phrases}
                    c.then = {add(x, rule.homophones) for x in p["then"].phrases}
                elif rule.type == "required":
                    c.groups = [{add(x, rule.homophones, 2, any_sound=True) for x in part.phrases} for part in p["groups"]]
                    if "unless" in p:
                        c.gate = {add(x, rule.homophones) for x in p["unless"].phrases}
                elif rule.type == "semantic" and "after" in p:
                    c.gate = {add(x, rule.homophones) for x in p["after"].phrases}
                elif rule.type == "regex":  # optional prefilter: the regex runs only when one of these is hit
                    c.main = {add(x, False) for x in p["requires"]}
                if rule.type == "keyword" and p["match"] != "none" or rule.type == "regex":
                    c.trigger = frozenset(c.main)
                elif rule.type == "proximity":
                    c.trigger = frozenset(c.first)
                compiled.append(c)
            self._rules.append(compiled)
        self._semantic = semantic_plan(self.packs)
        # per pack, the rules whose generic cue gives way to a more specific finding on its turn
        self._yields = [{rule.id: rule.yields_to for rule in pack.rules if rule.yields_to} for pack in self.packs]

    def screen(self, transcript: Mapping[str, Any], history: Sequence[CallHistory] = ()) -> list[ScreenResult]:
        """One ScreenResult per pack, findings in time order.

        ``transcript`` is a valid transcript dict (callers check it with transcriber.schema.validate;
        checking it here would cost more than the screening). ``history`` holds prior calls for the
        frequency rules (history_for); this call itself may be among them.
        """
        call = CallText.from_segments(list(transcript.get("segments") or []), transcript.get("language"))
        by_phrase: dict[int, list[PhraseHit]] = defaultdict(list)
        for hit in self._matcher.find_fast(call):
            by_phrase[hit.phrase].append(hit)
        hit_phrases = by_phrase.keys()
        this_call = CallHistory.from_transcript(transcript)
        meta = transcript.get("metadata") or {}
        scored = self._semantic.score(call)
        results = []
        for pack, compiled, yields in zip(self.packs, self._rules, self._yields, strict=True):
            findings: list[FindingResult] = []
            for c in compiled:
                if c.rule.type == "semantic":
                    found = semantic_findings(c.rule, call, scored, self._semantic)
                    if "after" in c.rule.params and found:
                        gates = _hits(call, by_phrase, c.gate, c.rule.params["after"].role)
                        first = min((h.segment for h in gates), default=None)
                        found = [f for f in found if first is not None and (f.segment_index or 0) >= first]
                    findings.extend(found)
                    continue
                if c.trigger and c.trigger.isdisjoint(hit_phrases):
                    continue  # the common case for most rules: none of their phrases is in the call
                findings.extend(_evaluate(c, call, by_phrase, transcript, meta, this_call, history))
            findings = _without_yielded(merge_findings(findings), yields)
            findings.sort(key=lambda f: (f.start if f.start is not None else -1.0, f.rule_id))
            results.append(ScreenResult(pack.name, pack.version, findings, str(transcript.get("call_id", ""))))
        return results


def _without_yielded(findings: list[FindingResult], yields: dict[str, tuple[str, ...]]) -> list[FindingResult]:
    """Drop the findings of generic cues whose turn also holds a span finding of a category they yield
    to, unless the semantic stage also heard the cue's own category there (its score was merged in)."""
    on_turn: dict[int, set[str]] = defaultdict(set)
    for f in findings:
        # only a listed phrase or pattern names the specific claim: a semantic score alone may have
        # read the generic cue itself as the claim (派人上门 scores as a legal consequence)
        if f.segment_index is not None and f.score is None:
            on_turn[f.segment_index].add(f.category)
    return [f for f in findings if f.segment_index is None or f.score is not None
            or on_turn[f.segment_index].isdisjoint(yields.get(f.rule_id, ()))]


def _finding(c: Compiled, call: CallText | None, seg: int | None, evidence: str,
             start: float | None = None, end: float | None = None) -> FindingResult:
    rule = c.rule
    if call is not None and seg is not None:
        start, end = call.starts[seg], call.ends[seg]
    return FindingResult(rule.id, rule.category, rule.severity, seg, start, end, evidence, rule.citation, rule.urgent)


def _hit_finding(c: Compiled, call: CallText, hit: PhraseHit) -> FindingResult:
    """A finding on one hit: the words said, timed to the words when the transcript has them."""
    a, b = evidence_span(call, hit)
    finding = _finding(c, call, hit.segment, call.raw[hit.segment][a:b].strip() or call.raw[hit.segment])
    timed = word_times(call, hit.segment, (a, b))
    if timed is not None:
        finding.start, finding.end = timed
    return finding


def _hits(call: CallText, by_phrase: dict[int, list[PhraseHit]], phrases: set[int], role: str) -> list[PhraseHit]:
    found = [h for p in phrases & by_phrase.keys() for h in by_phrase[p] if role_ok(role, call.roles[h.segment])]
    found.sort(key=lambda h: (h.segment, h.start))
    return found


def _evaluate(c: Compiled, call: CallText, by_phrase: dict[int, list[PhraseHit]], transcript: Mapping[str, Any],
              meta: Mapping[str, Any], this_call: CallHistory, history: Sequence[CallHistory]) -> list[FindingResult]:
    kind = c.rule.type
    if kind == "keyword":
        if c.rule.params["match"] != "none" and c.main.isdisjoint(by_phrase.keys()):
            return []  # the common case: none of the rule's phrases is in the call
        return _keyword(c, call, by_phrase)
    if kind == "regex":
        if c.main and c.main.isdisjoint(by_phrase.keys()):
            return []
        return _regex(c, call)
    if kind == "proximity":
        if c.first.isdisjoint(by_phrase.keys()) or c.then.isdisjoint(by_phrase.keys()):
            return []
        return _proximity(c, call, by_phrase)
    if kind == "required":
        return _required(c, call, by_phrase, meta)
    if kind == "calling_hours":
        return _calling_hours(c, this_call)
    if kind == "frequency":
        return _frequency(c, this_call, history)
    if kind == "acoustic":
        return _acoustic(c, meta)
    if kind in CONDITION_TYPES:  # metadata and call-history rules
        return conditions.evaluate(c, call, meta, this_call, history)
    return []


def _keyword(c: Compiled, call: CallText, by_phrase: dict[int, list[PhraseHit]]) -> list[FindingResult]:
    rule, mode = c.rule, c.rule.params["match"]
    hits = _hits(call, by_phrase, c.main, rule.applies_to)
    if mode == "none":
        if hits or not any(role_ok(rule.applies_to, r) for r in call.roles):
            return []
        return [_finding(c, None, None, f"none of: {', '.join(rule.params['phrases'][:4])}", 0.0, 0.0)]
    excluded = {h.segment for p in c.exclude for h in by_phrase.get(p, ())}
    per_segment: dict[int, list[PhraseHit]] = defaultdict(list)
    for hit in hits:
        if hit.segment not in excluded and hit_counts(call, hit, rule.negation):
            per_segment[hit.segment].append(hit)
    needed = {"any": 1, "all": len(c.main), "at_least": rule.params.get("min", 1)}[mode]
    findings = []
    for seg_hits in per_segment.values():
        if len({h.phrase for h in seg_hits}) >= needed:
            findings.append(_hit_finding(c, call, seg_hits[0]))
    return findings


def _regex(c: Compiled, call: CallText) -> list[FindingResult]:
    """Matches of the pattern in the normalised text; for Chinese also a match in the sound form
    that is one misheard character away from an exact match (砸 written 杂, 折 written 者)."""
    rule = c.rule
    pattern, exclude = rule.params["pattern"], rule.params.get("exclude_pattern")
    findings: list[FindingResult] = []
    flagged: set[int] = set()
    for seg, start, end, slip in _regex_spans(pattern, call, call.cjk and rule.homophones):
        if seg in flagged or not role_ok(rule.applies_to, call.roles[seg]):
            continue
        if exclude is not None and exclude.search(call.norm[seg]):
            continue
        hit = PhraseHit(-1, seg, start, end, slip)
        if hit_counts(call, hit, rule.negation):
            flagged.add(seg)
            findings.append(_hit_finding(c, call, hit))
    return findings


def _regex_spans(pattern: re.Pattern[str], call: CallText, slips: bool) -> Iterator[tuple[int, int, int, bool]]:
    """(segment, start, end, heard with a slip) of the exact matches, then of the slipped ones."""
    for m in pattern.finditer(call.joined):
        if SEPARATOR in m.group(0) or m.end() == m.start():
            continue
        seg = call.segment_at(m.start())
        yield seg, m.start() - call.offsets[seg], m.end() - call.offsets[seg], False
    if slips:
        for seg, start, end in call.slip_matches(pattern):
            yield seg, start, end, True


def _proximity(c: Compiled, call: CallText, by_phrase: dict[int, list[PhraseHit]]) -> list[FindingResult]:
    rule, p = c.rule, c.rule.params
    firsts = _hits(call, by_phrase, c.first, p["first"].role)
    if not firsts:
        return []
    max_segments = p.get("within_segments")
    max_seconds = p.get("within_seconds")
    findings, flagged = [], set()
    for hit in _hits(call, by_phrase, c.then, p["then"].role):
        if hit.segment in flagged:
            continue
        for first in firsts:
            gap_segments = hit.segment - first.segment
            gap_seconds = call.starts[hit.segment] - call.ends[first.segment]
            if p["ordered"] and (gap_segments < 0 or (gap_segments == 0 and first.start >= hit.start)):
                continue
            if max_segments is not None and abs(gap_segments) > max_segments:
                continue
            if max_seconds is not None and abs(gap_seconds) > max_seconds:
                continue
            if hit_counts(call, hit, rule.negation):
                flagged.add(hit.segment)
                findings.append(_hit_finding(c, call, hit))
            break
    return findings


def _required(c: Compiled, call: CallText, by_phrase: dict[int, list[PhraseHit]],
              meta: Mapping[str, Any]) -> list[FindingResult]:
    rule = c.rule
    window = float(rule.params["window_seconds"])
    if meta.get("answered") is False or not any(role_ok(rule.applies_to, r) for r in call.roles):
        return []  # no conversation, nothing the agent had to say
    if "unless" in rule.params and _gate_heard(c, call, by_phrase, rule.params["unless"]):
        return []  # e.g. a location call with a third party: the disclosure must not be made at all
    states = rule.params.get("only_in_states")
    if states and debtor_state(meta) not in (states | {None}):
        return []  # a state's law (all-party consent to record): this debtor lives elsewhere; unknown -> applies
    missing = []
    keys, starts, roles, role = by_phrase.keys(), call.starts, call.roles, rule.applies_to
    opening = [i for i, start in enumerate(starts) if start < window and role_ok(role, roles[i])]
    for group, part in zip(c.groups, rule.params["groups"], strict=True):
        names = metadata_names(part, meta)
        phrases = set() if part.metadata_only and names else group & keys
        if not any(starts[h.segment] < window and role_ok(role, roles[h.segment])
                   for p in phrases for h in by_phrase[p]) and not part_said(part, call, opening, names,
                                                                            rule.homophones):
            missing.append(part.label)
    if not missing:
        return []
    return [_finding(c, None, None, f"not said in the first {window:g} s: {'; '.join(missing)}", 0.0, window)]


def _gate_heard(c: Compiled, call: CallText, by_phrase: dict[int, list[PhraseHit]], gate: Gate) -> bool:
    """Whether a phrase or pattern of ``gate`` is said by its role within its first turns."""
    turns = [i for i, r in enumerate(call.roles) if role_ok(gate.role, r)][:gate.first_turns]
    if not turns:
        return False
    last = turns[-1]
    if any(h.segment <= last for h in _hits(call, by_phrase, c.gate, gate.role)):
        return True
    return any(pattern.search(call.norm[i]) for pattern in gate.patterns for i in turns)


@lru_cache(maxsize=64)
def _clock(hhmm: str) -> time:
    return time.fromisoformat(hhmm)


def _zone(name: str | None, default: str) -> ZoneInfo:
    return zone_or_none(name) or ZoneInfo(default)


def _calling_hours(c: Compiled, this_call: CallHistory) -> list[FindingResult]:
    if this_call.started_at is None or not this_call.outbound:
        return []
    zone = _zone(this_call.timezone, c.pack.timezone)
    local = this_call.started_at.astimezone(zone)
    earliest, latest = _clock(c.rule.params["earliest"]), _clock(c.rule.params["latest"])
    if earliest <= local.time().replace(tzinfo=None) < latest:
        return []
    return [_finding(c, None, None, f"call placed at {local:%H:%M} local time ({zone.key}); allowed "
                     f"{earliest:%H:%M}-{latest:%H:%M}", 0.0, 0.0)]


def _frequency(c: Compiled, this_call: CallHistory, history: Sequence[CallHistory]) -> list[FindingResult]:
    p, now = c.rule.params, this_call.started_at
    if now is None or not this_call.outbound:
        return []
    kind = p["kind"]
    earlier = [h for h in history if h.call_id != this_call.call_id and h.started_at is not None
               and h.outbound and h.started_at <= now]
    if kind == "unanswered_per_day":
        if not this_call.phone_number or this_call.answered is not False:
            return []
        zone = _zone(this_call.timezone, c.pack.timezone)
        day = now.astimezone(zone).date()
        count = 1 + sum(1 for h in earlier if h.phone_number == this_call.phone_number and h.answered is False
                        and h.started_at is not None and h.started_at.astimezone(zone).date() == day)
        if count > p["max"]:
            return [_finding(c, None, None, f"unanswered attempt {count} to {this_call.phone_number} on {day}"
                             f" (limit {p['max']})", 0.0, 0.0)]
        return []
    if not this_call.debtor_id:
        return []
    since = now - timedelta(days=float(p["days"]))
    same_debt = [h for h in earlier if h.debtor_id == this_call.debtor_id and h.started_at is not None
                 and h.started_at > since]
    if kind == "calls_in_window":
        count = 1 + len(same_debt)
        if count > p["max"]:
            return [_finding(c, None, None, f"call {count} about debtor {this_call.debtor_id} within "
                             f"{p['days']:g} days (limit {p['max']})", 0.0, 0.0)]
        return []
    talks = [h for h in same_debt if h.answered]
    if talks:
        last = max(talks, key=lambda h: h.started_at or now)
        when = last.started_at or now
        return [_finding(c, None, None, f"call placed {_ago(now - when)} after a conversation on "
                         f"{when:%Y-%m-%d %H:%M %Z} (call {last.call_id})", 0.0, 0.0)]
    return []


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _acoustic(c: Compiled, meta: Mapping[str, Any]) -> list[FindingResult]:
    acoustic = meta.get("acoustic")
    if not isinstance(acoustic, Mapping):
        return []  # mono recording or no measurements: nothing to judge
    p, kind = c.rule.params, c.rule.params["kind"]
    findings = []
    if kind in ("long_silence", "overtalk"):
        key = "long_silences" if kind == "long_silence" else "overtalk"
        for span in acoustic.get(key) or []:
            start, end = _span(span)
            if end - start >= float(p["min_seconds"]):
                label = "silence" if kind == "long_silence" else "both channels speaking"
                findings.append(_finding(c, None, None, f"{label} for {end - start:.1f} s", start, end))
        return findings
    baseline = acoustic.get("agent_baseline_db")
    if not isinstance(baseline, int | float) or math.isnan(baseline):
        return []
    for span in acoustic.get("agent_loudness") or []:
        start, end = _span(span)
        db = span.get("db") if isinstance(span, Mapping) else None
        if isinstance(db, int | float) and db - baseline >= float(p["db_above_baseline"]) \
                and end - start >= float(p.get("min_seconds", 0)):
            findings.append(_finding(c, None, None, f"agent at {db:.1f} dB, {db - baseline:.1f} dB above "
                                     "their baseline", start, end))
    return findings


def _span(span: Any) -> tuple[float, float]:
    if not isinstance(span, Mapping):
        return 0.0, 0.0
    try:
        return float(span.get("start", 0.0)), float(span.get("end", 0.0))
    except (TypeError, ValueError):
        return 0.0, 0.0

