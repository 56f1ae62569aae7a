"""Semantic rules in the engine, and how their scores combine with keyword hits.

All semantic rules of all packs that share a heads file are scored in one pass
over the call. A rule turns each hit of its category, by its role and above its
threshold (the rule's own, else the head's cross-validated one), into a finding
that cites the scored sentence.

Combining: keyword, regex and proximity rules give exact spans. When a semantic
finding and such a finding have the same category and turn, they are one finding:
the keyword finding's rule, span and evidence, carrying the semantic score and
exemplars. A semantic finding on a turn no keyword matched stands on its own; a
keyword hit the semantic stage scored low still stands (a listed phrase is
evidence enough for a reviewer to hear it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from review.screening.findings import FindingResult
from review.screening.match import LATIN_RUN, CallText, role_ok, word_times
from review.screening.normalize import HAN, normalize, to_homophones
from review.screening.packs_registry import language_family
from review.screening.reported import reported_and_rejected
from review.screening.rules import Rule, RulePack
from review.screening.semantic.heads import Heads, load_heads
from review.screening.semantic.stage import SemanticHit, score_call

_SPAN_TYPES = ("keyword", "regex", "proximity")


def _threshold(rule: Rule, heads: Heads, language: str) -> float:
    """The rule's own threshold, else the head's for the call's language (zh or en)."""
    own = rule.params.get("threshold")
    if own is not None:
        return float(own)
    return heads.threshold(_head(rule), language)


def _language(call: CallText) -> str:
    """The language whose thresholds judge ``call``: the scoring pass and each rule must agree on it."""
    return "zh" if call.cjk else "en"


def _head(rule: Rule) -> str:
    return str(rule.params.get("head") or rule.category)


@dataclass
class SemanticPlan:
    """What to score per heads file and call language: {category: (role, lowest threshold)}, and
    the heads themselves (read once when the screener is built, not once per call)."""

    rules: dict[Path, list[Rule]] = field(default_factory=dict)
    heads: dict[Path, Heads] = field(default_factory=dict)
    # the language families (zh, en) of the pack each rule came from, by rule id
    families: dict[str, frozenset[str]] = field(default_factory=dict)
    _wanted: dict[tuple[Path, str], dict[str, tuple[str, float]]] = field(default_factory=dict)

    def wanted(self, path: Path, language: str) -> dict[str, tuple[str, float]]:
        """The categories to score in a call of ``language`` (zh or en), each at the lowest threshold
        of the rules that read it in that language: the stage picks each turn's best unit among those
        that pass, so a sentence passing only another language's lower line must not displace the
        whole turn that passes this one's. A rule's own threshold counts only in its pack's languages
        (cn-collection listens lower for false legal consequences; an English call is not scored so)."""
        key = (path, language)
        if key not in self._wanted:
            wanted: dict[str, tuple[str, float]] = {}
            own = [r for r in self.rules[path] if language in self.families.get(r.id, frozenset({language}))]
            for rule in own or self.rules[path]:
                role, threshold = rule.applies_to, _threshold(rule, self.heads[path], language)
                if _head(rule) in wanted:
                    held_role, held = wanted[_head(rule)]
                    role = role if held_role == role else "either"
                    threshold = min(threshold, held)
                wanted[_head(rule)] = (role, threshold)
            self._wanted[key] = wanted
        return self._wanted[key]

    def score(self, call: CallText) -> dict[Path, list[SemanticHit]]:
        if not self.rules or not call.raw:
            return {}
        language = _language(call)
        return {path: score_call(self.heads[path], call.raw, call.roles, self.wanted(path, language), language)
                for path in self.rules}


def semantic_plan(packs: Sequence[RulePack]) -> SemanticPlan:
    plan = SemanticPlan()
    for pack in packs:
        for rule in pack.rules:
            if rule.type != "semantic":
                continue
            path = Path(rule.params["heads_path"])
            plan.heads.setdefault(path, load_heads(path))
            plan.rules.setdefault(path, []).append(rule)
            plan.families[rule.id] = frozenset(f for f in map(language_family, pack.languages) if f)
    return plan


@lru_cache(maxsize=64)
def _markers(words: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``needs_any`` words as (Chinese forms, their homophone codes for two characters or more, Latin forms)."""
    han = tuple(normalize(w, True) for w in words if HAN.search(w))
    # Latin: a whole word or words, or with a trailing * any word that starts so (fuck* for fucking)
    latin = tuple(normalize(w[:-1], False).rstrip() if w.endswith("*") else normalize(w, False)
                  for w in words if not HAN.search(w))
    return han, tuple(to_homophones(w) for w in han if len(w) >= 2), latin


def has_marker(text: str, words: tuple[str, ...]) -> bool:
    """Whether ``text`` holds one of ``words``: Chinese also as a homophone (沙比 for 傻逼), Latin as
    whole words, or as a word start where the word ends in * (fuck* holds fucking, not ass in assume)."""
    han, sounds, latin = _markers(words)
    if HAN.search(text):
        norm = normalize(text, True)
        if any(w in norm for w in han):
            return True
        heard = to_homophones(norm)
        if any(s in heard for s in sounds):
            return True
        # a Chinese sentence glues its Latin words to the characters around them (说了半天TMD合着): set
        # each letter run apart so that it reads as a whole word
        spaced = LATIN_RUN.sub(r" \g<0> ", normalize(text, False)) if latin else ""
        return any(w in spaced for w in latin)
    norm = normalize(text, False)
    return any(w in norm for w in latin)


def semantic_findings(rule: Rule, call: CallText, scored: dict[Path, list[SemanticHit]],
                      plan: SemanticPlan) -> list[FindingResult]:
    path = Path(rule.params["heads_path"])
    heads = plan.heads[path]
    threshold, head = _threshold(rule, heads, _language(call)), _head(rule)
    needs = tuple(rule.params.get("needs_any") or ())
    lawful, unless = tuple(rule.params.get("lawful_if") or ()), tuple(rule.params.get("unless_any") or ())
    model = f"{heads.meta.get('encoder', '')}; {heads.version}"
    findings = []
    for hit in scored.get(path, []):
        if hit.category != head or hit.score < threshold or not role_ok(rule.applies_to, call.roles[hit.segment]):
            continue
        cited = call.raw[hit.segment][hit.span.start:hit.span.end]
        if needs and not has_marker(cited, needs):
            continue
        if lawful and has_marker(cited, lawful) and not has_marker(cited, unless):
            continue  # 如果法院判决后仍不履行，法院可以依法强制执行: the lawful statement of it
        raw = call.raw[hit.segment]
        if reported_and_rejected(call.norm[hit.segment], len(normalize(raw[:hit.span.start], call.cjk).rstrip()),
                                 len(normalize(raw[:hit.span.end], call.cjk).rstrip()), call.cjk):
            continue  # 您说之前有人说要拘留您？那是吓唬人的: somebody else's words, rejected
        start, end = call.starts[hit.segment], call.ends[hit.segment]
        timed = word_times(call, hit.segment, hit.span)
        if timed is not None:
            start, end = timed
        findings.append(FindingResult(
            rule.id, rule.category, rule.severity, hit.segment, start, end,
            cited, rule.citation, rule.urgent,
            score=hit.score, model=model,
            exemplars=[{"text": e.text, "category": e.category, "similarity": e.similarity} for e in hit.exemplars],
        ))
    return findings


def merge_findings(findings: list[FindingResult]) -> list[FindingResult]:
    """One finding per category and turn where a span rule and the semantic stage agree."""
    semantic = [f for f in findings if f.score is not None]
    if not semantic:
        return findings
    spans: dict[tuple[str, int | None], FindingResult] = {
        (f.category, f.segment_index): f for f in findings if f.score is None and f.segment_index is not None}
    out = [f for f in findings if f.score is None]
    for finding in semantic:
        held = spans.get((finding.category, finding.segment_index))
        if held is not None:
            held.score, held.exemplars, held.model = finding.score, finding.exemplars, finding.model
        else:
            out.append(finding)
    return out
