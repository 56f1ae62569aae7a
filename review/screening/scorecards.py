"""A pack's scorecard (质检评分表): weighted checklist items in sections, and its validation.

The ``scorecard:`` block of a pack (packs/README.md, "Scorecards") is optional. Each item is tied to
rules of the pack (``rules``), to categories (``categories``: any rule of the pack in them), or is
answered by the reviewer (``reviewer: true``). Scoring a call against it is ``review.scorecard.scoring``;
this module only reads and checks the definition, so a bad scorecard fails the pack load like a bad
rule does, naming the file, the line and the item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from callqa.errors import RulePackError
from review.screening.pack_syntax import CATEGORIES, ID_PATTERN, key_line, line_of

DEFAULT_PASS_MARK = 80.0
Fail = Callable[[int, str, str], RulePackError]  # (line, what, reason) -> the error to raise


@dataclass(frozen=True)
class ScoreItem:
    id: str
    section: str
    title: dict[str, str]  # language (zh-CN, en) -> title; "" when the pack gave one plain string
    points: float
    critical: bool  # failing it fails the call, whatever the total
    rules: tuple[str, ...]
    categories: tuple[str, ...]
    reviewer: bool  # answered by the reviewer (pass / fail / n.a.), not by findings
    covers: frozenset[str]  # the categories whose confirmed violation fails it (a sample's verdict names one)
    line: int = 0

    def title_in(self, language: str) -> str:
        return pick_title(self.title, language)

    def matches(self, rule_id: str, category: str) -> bool:
        """A finding of this rule or category decides the item."""
        return rule_id in self.rules or category in self.categories


@dataclass(frozen=True)
class ScoreSection:
    id: str
    title: dict[str, str]
    items: tuple[ScoreItem, ...]

    def title_in(self, language: str) -> str:
        return pick_title(self.title, language)


@dataclass(frozen=True)
class Scorecard:
    pass_mark: float  # percent of the applicable points a call needs (and no critical item failed)
    sections: tuple[ScoreSection, ...]

    def items(self) -> Iterator[ScoreItem]:
        for section in self.sections:
            yield from section.items

    def item(self, item_id: str) -> ScoreItem | None:
        return next((i for i in self.items() if i.id == item_id), None)

    @property
    def total_points(self) -> float:
        return sum(i.points for i in self.items())


def pick_title(titles: dict[str, str], language: str) -> str:
    """The title in ``language``: the exact tag, then the same primary language, then English, then any."""
    if language in titles:
        return titles[language]
    primary = language.split("-")[0]
    for tag, text in titles.items():
        if tag.split("-")[0] == primary:
            return text
    return titles.get("en") or titles.get("") or next(iter(titles.values()), "")


def _title(raw: Any, fail: Fail, line: int, what: str) -> dict[str, str]:
    if isinstance(raw, str) and raw.strip():
        return {"": raw.strip()}
    if isinstance(raw, dict) and raw and all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                             for k, v in raw.items()):
        return {k: v.strip() for k, v in raw.items()}
    raise fail(line, what, "title must be a non-empty string or a mapping of language to title "
                           "({zh-CN: ..., en: ...})")


def _id(raw: Any, fail: Fail, line: int, what: str) -> str:
    if not isinstance(raw, str) or not ID_PATTERN.match(raw):
        raise fail(line, what, f"id {raw!r} must be letters, digits, '_', '.', '-' (at most 64)")
    return raw


def _names(raw: Any, fail: Fail, line: int, what: str, key: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) and v.strip() for v in raw):
        raise fail(line, what, f"{key} must be a non-empty list of names")
    return tuple(v.strip() for v in raw)


def _item(raw: Any, section: str, rules: Mapping[str, str], fail: Fail, line: int, seen: set[str]) -> ScoreItem:
    if not isinstance(raw, dict):
        raise fail(line, f"scorecard section {section}", "each item must be a mapping with id, title and points")
    line = line_of(raw, line)
    item_id = _id(raw.get("id"), fail, line, f"scorecard section {section} item")
    what = f"scorecard item {item_id}"
    if item_id in seen:
        raise fail(line, what, "duplicate item id (ids are unique across the whole scorecard)")
    seen.add(item_id)
    unknown = set(raw) - {"id", "title", "points", "weight", "critical", "rules", "categories", "reviewer"}
    if unknown:
        raise fail(line, what, f"unknown keys {sorted(unknown)}")
    title = _title(raw.get("title"), fail, key_line(raw, "title", line), what)
    if "points" in raw and "weight" in raw:
        raise fail(line, what, "give points or weight (the same thing), not both")
    points = raw.get("points", raw.get("weight"))
    if isinstance(points, bool) or not isinstance(points, int | float) or points <= 0:
        raise fail(line, what, "points must be a number above 0")
    critical = raw.get("critical", False)
    reviewer = raw.get("reviewer", False)
    if not isinstance(critical, bool) or not isinstance(reviewer, bool):
        raise fail(line, what, "critical and reviewer are true or false")
    given = [key for key in ("rules", "categories") if key in raw] + (["reviewer"] if reviewer else [])
    if len(given) != 1:
        raise fail(line, what, "give exactly one of rules: [rule ids], categories: [categories] or reviewer: true "
                               f"(found {', '.join(given) or 'none'})")
    item_rules = _names(raw["rules"], fail, line, what, "rules") if "rules" in raw else ()
    categories = _names(raw["categories"], fail, line, what, "categories") if "categories" in raw else ()
    for rule_id in item_rules:
        if rule_id not in rules:
            raise fail(line, what, f"rule {rule_id!r} is not in this pack")
    pack_categories = set(rules.values())
    for category in categories:
        if category not in CATEGORIES:
            raise fail(line, what, f"category {category!r} is not one of {', '.join(CATEGORIES)}")
        if category not in pack_categories:
            raise fail(line, what, f"no rule of this pack has category {category!r}: the item could never fail")
    covers = frozenset(categories) | frozenset(rules[r] for r in item_rules)
    return ScoreItem(id=item_id, section=section, title=title, points=float(points), critical=critical,
                     rules=item_rules, categories=categories, reviewer=reviewer, covers=covers, line=line)


def parse_scorecard(raw: Any, rules: Mapping[str, str], fail: Fail, line: int) -> Scorecard:
    """Check a pack's ``scorecard:`` block against its rules ({rule id: category}); raise RulePackError
    naming the item."""
    if not isinstance(raw, dict):
        raise fail(line, "scorecard", "scorecard must be a mapping with pass_mark and sections")
    line = line_of(raw, line)
    unknown = set(raw) - {"pass_mark", "sections"}
    if unknown:
        raise fail(line, "scorecard", f"unknown keys {sorted(unknown)}")
    pass_mark = raw.get("pass_mark", DEFAULT_PASS_MARK)
    if isinstance(pass_mark, bool) or not isinstance(pass_mark, int | float) or not 0 < pass_mark <= 100:
        raise fail(line, "scorecard", "pass_mark must be a percentage above 0 and at most 100")
    sections_raw = raw.get("sections")
    if not isinstance(sections_raw, list) or not sections_raw:
        raise fail(line, "scorecard", "sections must be a non-empty list")
    by_id = dict(rules)
    seen_sections: set[str] = set()
    seen_items: set[str] = set()
    sections = []
    for section_raw in sections_raw:
        if not isinstance(section_raw, dict):
            raise fail(line, "scorecard", "each section must be a mapping with id, title and items")
        s_line = line_of(section_raw, line)
        section_id = _id(section_raw.get("id"), fail, s_line, "scorecard section")
        what = f"scorecard section {section_id}"
        if section_id in seen_sections:
            raise fail(s_line, what, "duplicate section id")
        seen_sections.add(section_id)
        unknown = set(section_raw) - {"id", "title", "items"}
        if unknown:
            raise fail(s_line, what, f"unknown keys {sorted(unknown)}")
        title = _title(section_raw.get("title"), fail, s_line, what)
        items_raw = section_raw.get("items")
        if not isinstance(items_raw, list) or not items_raw:
            raise fail(s_line, what, "items must be a non-empty list")
        items = tuple(_item(i, section_id, by_id, fail, s_line, seen_items) for i in items_raw)
        sections.append(ScoreSection(section_id, title, items))
    return Scorecard(pass_mark=float(pass_mark), sections=tuple(sections))
