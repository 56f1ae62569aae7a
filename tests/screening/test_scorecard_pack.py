"""A pack's scorecard block: the shipped ones load; a bad one fails the pack, naming the file and the item."""

from __future__ import annotations

from pathlib import Path

import pytest

from callqa.errors import RulePackError
from review.screening import load_pack

PACK = """\
name: site
version: "1"
rules:
  - id: site.threat
    title: threat
    category: threat_violence
    severity: critical
    type: keyword
    citation: house rule 1
    params: {phrases: [弄死你]}
    examples: {must_trigger: [我弄死你], must_not_trigger: [你好]}
  - id: site.identity
    title: identity
    category: missing_self_identification
    severity: major
    type: required
    citation: house rule 2
    params: {groups: [[工号]], window_seconds: 30}
    examples: {must_trigger: [你好], must_not_trigger: [我的工号是1234]}
scorecard:
  pass_mark: 80
  sections:
    - id: opening
      title: {zh-CN: 开场, en: Opening}
      items:
        - id: identity
          title: {zh-CN: 报工号, en: Gave a staff number}
          points: 20
          rules: [site.identity]
        - id: purpose
          title: 说明来电目的
          points: 10
          reviewer: true
    - id: conduct
      title: Conduct
      items:
        - id: no_threats
          title: No threats
          weight: 70
          critical: true
          categories: [threat_violence]
"""


def _load(text: str, tmp_path: Path) -> object:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return load_pack(str(path))


def _error(text: str, tmp_path: Path) -> str:
    with pytest.raises(RulePackError) as info:
        _load(text, tmp_path)
    return str(info.value)


def test_a_scorecard_loads_with_sections_items_and_titles_by_language(tmp_path: Path) -> None:
    pack = _load(PACK, tmp_path)
    card = pack.scorecard  # type: ignore[attr-defined]
    assert card.pass_mark == 80 and card.total_points == 100
    assert [s.id for s in card.sections] == ["opening", "conduct"]
    identity, purpose, threats = list(card.items())
    assert identity.rules == ("site.identity",) and identity.covers == {"missing_self_identification"}
    assert purpose.reviewer and not purpose.rules and not purpose.categories
    assert threats.critical and threats.points == 70 and threats.covers == {"threat_violence"}
    assert identity.title_in("zh-CN") == "报工号" and identity.title_in("en") == "Gave a staff number"
    assert identity.title_in("fr") == "Gave a staff number"  # English when the language has none
    assert purpose.title_in("en") == "说明来电目的"  # a plain title serves every language
    assert card.sections[0].title_in("zh-CN") == "开场"


def test_a_pack_without_a_scorecard_has_none(tmp_path: Path) -> None:
    assert _load(PACK.split("scorecard:")[0], tmp_path).scorecard is None  # type: ignore[attr-defined]


def test_shipped_packs_each_carry_a_scorecard_of_100_points() -> None:
    for name in ("cn-collection", "us-regf"):
        card = load_pack(name).scorecard
        assert card is not None and card.total_points == 100, name
        items = list(card.items())
        assert any(i.reviewer for i in items) and any(i.rules for i in items) and any(i.critical for i in items)
        assert all(i.title_in("zh-CN") and i.title_in("en") for i in items)
    assert load_pack("cn-collection").scorecard.item("identity").title_in("zh-CN") == "表明机构和姓名或工号"  # type: ignore[union-attr]


@pytest.mark.parametrize(("change", "reason", "what"), [
    (("rules: [site.identity]", "rules: [site.nope]"), "rule 'site.nope' is not in this pack", "scorecard item identity"),
    (("categories: [threat_violence]", "categories: [obscenity]"), "no rule of this pack has category 'obscenity'",
     "scorecard item no_threats"),
    (("categories: [threat_violence]", "categories: [rudeness]"), "category 'rudeness' is not one of",
     "scorecard item no_threats"),
    (("          reviewer: true", "          reviewer: true\n          rules: [site.threat]"), "exactly one of",
     "scorecard item purpose"),
    (("          rules: [site.identity]\n", ""), "exactly one of", "scorecard item identity"),
    (("          points: 10\n", ""), "points must be a number above 0", "scorecard item purpose"),
    (("points: 20", "points: -5"), "points must be a number above 0", "scorecard item identity"),
    (("- id: purpose", "- id: identity"), "duplicate item id", "scorecard item identity"),
    (("title: 说明来电目的", "title: {zh-CN: ''}"), "title must be", "scorecard item purpose"),
    (("          critical: true", "          critical: yes please"), "critical and reviewer are true or false",
     "scorecard item no_threats"),
    (("          critical: true", "          colour: red"), "unknown keys ['colour']", "scorecard item no_threats"),
    (("pass_mark: 80", "pass_mark: 180"), "pass_mark must be a percentage", "scorecard"),
    (("      items:\n        - id: no_threats", "      items: []\n      x:\n        - id: no_threats"),
     "unknown keys ['x']", "scorecard section conduct"),
])
def test_a_bad_scorecard_fails_the_pack_naming_file_and_item(tmp_path: Path, change: tuple[str, str], reason: str,
                                                            what: str) -> None:
    assert change[0] in PACK
    message = _error(PACK.replace(*change), tmp_path)
    assert f"{tmp_path / 'site.yaml'}:" in message
    assert f": {what}: " in message and reason in message, message
