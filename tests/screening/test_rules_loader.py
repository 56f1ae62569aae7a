"""A bad pack fails whole, naming file, line and reason; packs are chosen by language."""

from __future__ import annotations

from pathlib import Path

import pytest

from callqa.errors import RulePackError
from review.screening import Screener, load_pack, load_packs
from review.screening.rules import parse_pack
from tests.screening.conftest import make_transcript

GOOD_RULE = """\
name: site
version: "1"
rules:
  - id: site.one
    title: one
    category: insult_abuse
    severity: major
    type: keyword
    citation: house rule 1
    params: {phrases: [废物]}
    examples: {must_trigger: [你真是个废物], must_not_trigger: [你好]}
"""


def _error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_pack(str(path))
    return str(info.value)


def test_a_good_site_pack_loads_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(GOOD_RULE, encoding="utf-8")
    pack = load_pack(str(path))
    assert (pack.name, pack.version, [r.id for r in pack.rules]) == ("site", "1", ["site.one"])


def test_unknown_category_names_file_line_and_rule(tmp_path: Path) -> None:
    bad = GOOD_RULE + GOOD_RULE.split("rules:\n", 1)[1].replace("site.one", "site.two").replace(
        "insult_abuse", "rudeness")
    message = _error(bad, tmp_path)
    assert f"{tmp_path / 'site.yaml'}:14:" in message
    assert "rule site.two" in message and "'rudeness'" in message


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    message = _error(GOOD_RULE.replace("params: {phrases: [废物]}", "params: {phrases: [废物}"), tmp_path)
    assert "site.yaml:10:" in message  # the params line


@pytest.mark.parametrize(("change", "reason"), [
    (("examples: {must_trigger: [你真是个废物], must_not_trigger: [你好]}", "examples: {must_trigger: [x]}"),
     "must_not_trigger"),
    (("type: keyword", "type: regex"), "needs pattern"),
    (("params: {phrases: [废物]}", "params: {phrases: []}"), "phrases must be a non-empty list"),
    (("severity: major", "severity: huge"), "severity 'huge'"),
    (("    citation: house rule 1\n", ""), "missing citation"),
    (("params: {phrases: [废物]}", "params: {phrases: [废物]}\n    colour: red"), "unknown keys ['colour']"),
    (("type: keyword", "type: keyword\n    yields_to: [rudeness]"), "yields_to must be a list of other categories"),
    (("type: keyword", "type: keyword\n    yields_to: [insult_abuse]"), "yields_to must be a list of other categories"),
])
def test_invalid_rules_are_refused(tmp_path: Path, change: tuple[str, str], reason: str) -> None:
    message = _error(GOOD_RULE.replace(*change), tmp_path)
    assert reason in message and "site.yaml:" in message


REQUIRED_RULE = GOOD_RULE.replace("type: keyword", "type: required").replace(
    "params: {phrases: [废物]}", "params: {window_seconds: 30, groups: [[工号]], unless: UNLESS}")


@pytest.mark.parametrize(("unless", "reason"), [
    ("{role: customer, phrases: [打错了], first_turns: 0}", "first_turns must be a positive"),
    ("{role: customer, patterns: ['打错(了']}", "unless pattern"),
    ("{role: customer}", "unless needs phrases or patterns"),
    ("{role: customer, phrases: [打错了], when: x}", "unknown unless keys ['when']"),
])
def test_invalid_third_party_gates_are_refused(tmp_path: Path, unless: str, reason: str) -> None:
    message = _error(REQUIRED_RULE.replace("UNLESS", unless), tmp_path)
    assert reason in message and "site.yaml:" in message


def test_bad_regex_and_duplicate_ids(tmp_path: Path) -> None:
    regex = GOOD_RULE.replace("type: keyword", "type: regex").replace("{phrases: [废物]}", "{pattern: '(废物'}")
    assert "not a valid regular expression" in _error(regex, tmp_path)
    duplicate = GOOD_RULE + GOOD_RULE.split("rules:\n", 1)[1]
    assert "duplicate rule id" in _error(duplicate, tmp_path)


def test_nothing_is_half_loaded() -> None:
    text = GOOD_RULE + GOOD_RULE.split("rules:\n", 1)[1].replace("site.one", "site.two").replace("major", "x")
    with pytest.raises(RulePackError):
        parse_pack(text, Path("inline.yaml"))


@pytest.mark.parametrize(("language", "expected"), [
    ("zh", "cn-collection"), ("yue", "cn-collection"), ("wuu", "cn-collection"), ("nan", "cn-collection"),
    ("zh-TW", "cn-collection"), ("en", "us-regf"),
])
def test_default_pack_by_language(language: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLQA_CONFIG", raising=False)
    monkeypatch.delenv("CALLQA_SCREENING__PACKS", raising=False)
    assert [p.name for p in load_packs(None, language)] == [expected]


def test_unknown_language_and_unknown_name_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLQA_SCREENING__PACKS", raising=False)
    with pytest.raises(RulePackError, match="--pack"):
        load_packs(None, "fr")
    with pytest.raises(RulePackError, match="known: .*cn-collection"):
        load_packs(["no-such-pack"], "zh")


def test_site_folder_and_setting_choose_packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "site.yaml").write_text(GOOD_RULE, encoding="utf-8")
    monkeypatch.setenv("CALLQA_SCREENING__PACKS_DIR", str(tmp_path))
    monkeypatch.setenv("CALLQA_SCREENING__PACKS", "site,us-regf")
    assert [p.name for p in load_packs(None, "zh")] == ["site", "us-regf"]


YIELDING_PACK = GOOD_RULE.replace("params: {phrases: [废物]}", "params: {phrases: [后果自负]}\n    yields_to: [false_legal_consequence]").replace(
    "category: insult_abuse", "category: threat_violence").replace(
    "must_trigger: [你真是个废物]", "must_trigger: [不还钱后果自负]") + """\
  - id: site.jail
    title: jail
    category: false_legal_consequence
    severity: major
    type: keyword
    citation: house rule 2
    params: {phrases: [坐牢]}
    examples: {must_trigger: [你要坐牢], must_not_trigger: [你好]}
"""


def test_a_generic_cue_gives_way_to_the_finding_its_turn_names(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(YIELDING_PACK, encoding="utf-8")
    screener = Screener([load_pack(str(path))])
    call = make_transcript([("agent", "你不还钱就等着坐牢 后果自负"), ("agent", "明天不还钱 后果自负")])
    found = {(f.rule_id, f.segment_index) for r in screener.screen(call) for f in r.findings}
    # the first turn names the consequence (jail): its 后果自负 is part of that claim; the second names none
    assert found == {("site.jail", 0), ("site.one", 1)}
