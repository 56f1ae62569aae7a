"""Matching survives ASR noise without flooding false positives."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from review.screening import Screener
from review.screening.normalize import normalize, to_homophones

RuleIds = Callable[[Screener, dict[str, Any]], set[str]]
Make = Callable[..., dict[str, Any]]
FALSE_LEGAL = "cn.legal.false_consequence"


@pytest.mark.parametrize("text", [
    "你再不还钱就等着坐牢吧",
    "你再不還錢就等著坐牢吧",  # Traditional
    "你 再 不 还 钱 就 等 着 坐 牢 吧",  # spaces between characters
    "你再不还钱就等着坐，牢吧",  # stray punctuation inside the phrase
    "你再不还钱就等着做牢吧",  # homophone: 做牢 for 坐牢
    "你再不还钱就等着作牢吧",
])
def test_noisy_chinese_still_matches(cn: Screener, rule_ids: RuleIds, transcript: Make, text: str) -> None:
    assert FALSE_LEGAL in rule_ids(cn, transcript([("agent", text)]))


def test_missing_punctuation_and_chinese_numerals(cn: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    # no punctuation at all, the hotline spoken as Chinese numerals
    found = rule_ids(cn, transcript([("customer", "你们天天打电话我要打一二三七八投诉你们")]))
    assert {"cn.customer.regulator_hotline", "cn.customer.complaint"} <= found
    # 1100 yuan is not the police number 110
    assert "cn.customer.regulator_hotline" not in rule_ids(cn, transcript([("customer", "我这个月只能还一千一百块")]))


def test_numeral_folding() -> None:
    assert normalize("欠款二十四万三千元，三天内还清", True) == "欠款243000元3天内还清"
    assert normalize("3天内还清", True) == normalize("三天内还清", True)
    assert normalize("我是ＡＢＣ公司工号１２３４", True) == "我是abc公司工号1234"
    assert normalize("We WON'T sue you!", False) == " we wont sue you "
    # 陆 and 伍 are surnames and words before they are numerals in speech
    assert normalize("我姓陆，陆续还了", True) == "我姓陆陆续还了"
    assert normalize("找人收拾你", True) == "找人收拾你"
    # spoken English contractions read as the words a phrase is written with
    assert normalize("You're gonna go to jail, I gotta say", False) == " youre going to go to jail i got to say "
    assert normalize("gimme the money", False) == " give me the money "


def test_a_surname_and_a_misheard_notice_count(cn: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    opening = "您好，我是华信银行信用卡中心的陆经理，本次通话全程陆音"
    ids = rule_ids(cn, transcript([("agent", opening), ("customer", "嗯"), ("agent", "您的账单逾期了")]))
    assert not {"cn.identity.missing", "cn.recording.notice_missing"} & ids, ids


def test_homophones_need_shared_characters(cn: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    assert to_homophones(normalize("做牢", True)) == to_homophones(normalize("坐牢", True))
    # 作劳 sounds like 坐牢 but shares no character with it: a chance homophone, not a hit
    assert FALSE_LEGAL not in rule_ids(cn, transcript([("agent", "这个工作劳动强度大")]))
    # 吵你 is not 操你, even if a southern accent folds ch into c
    assert "cn.abuse.obscenity" not in rule_ids(cn, transcript([("agent", "不好意思吵你了")]))
    # 多了你 shares only 了 and 你 with 剁了你: function characters are no reason to hear a threat
    assert "cn.threat.violence" not in rule_ids(cn, transcript([("agent", "你那张信用卡欠起两万多了你晓不晓得")]))
    assert "cn.threat.violence" in rule_ids(cn, transcript([("agent", "再不还我剁了你")]))


@pytest.mark.parametrize("text", [
    "我们不会联系您的家人",
    "我们绝对不会去联系你的家人，请放心",
    "您说您担心“会不会坐牢”，这个您放心",  # quoted
    "逾期会如实上报征信",
    "如果协商不成，银行可能会依法向法院提起诉讼",
])
def test_negated_quoted_and_legitimate_chinese(cn: Screener, rule_ids: RuleIds, transcript: Make, text: str) -> None:
    found = rule_ids(cn, transcript([("agent", text)]))
    assert not {r for r in found if r.startswith(("cn.contacts", "cn.legal", "cn.impersonation"))}, found


def test_conditional_threat_is_not_read_as_negation(cn: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    assert "cn.contacts.family_threat" in rule_ids(cn, transcript([("agent", "你不还钱我们就联系你家人")]))
    assert "cn.contacts.family_threat" in rule_ids(cn, transcript([("agent", "再不还我们联系你家人")]))
    assert "cn.borrowing.induced" in rule_ids(cn, transcript([("agent", "你没钱去借网贷啊")]))
    assert "cn.threat.violence" in rule_ids(cn, transcript([("agent", "信不信我弄死你")]))
    # a hedge that only sharpens the threat is not a denial
    assert FALSE_LEGAL in rule_ids(cn, transcript([("agent", "我不是吓唬你，你真的会坐牢")]))


@pytest.mark.parametrize("text", ["我没说你会坐牢", "我不是说要让你坐牢，是提醒您按时还款", "我从来没说过要抓你"])
def test_denied_statements_are_not_threats(cn: Screener, rule_ids: RuleIds, transcript: Make, text: str) -> None:
    assert FALSE_LEGAL not in rule_ids(cn, transcript([("agent", text)]))


@pytest.mark.parametrize(("text", "flagged"), [
    ("We may refer the account for legal review.", False),
    ("I never said we would have you arrested.", False),
    ('He told me "you will be arrested" but that is not true.', False),
    ("You will not go to jail over this.", False),
    ("If you don't pay by Friday you will be arrested.", True),
    ("YOU WILL BE ARRESTED", True),
    ("You have no choice, you'll be arrested.", True),
    ("No one is going to arrest you.", False),
])
def test_english_negation_quotes_and_firm_statements(us: Screener, rule_ids: RuleIds, transcript: Make,
                                                     text: str, flagged: bool) -> None:
    found = rule_ids(us, transcript([("agent", text)], language="en"))
    assert ("us.legal.false_consequence" in found) == flagged, found


def test_roles_are_respected(cn: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    # the customer fearing jail is not the agent threatening it
    assert FALSE_LEGAL not in rule_ids(cn, transcript([("customer", "我会不会坐牢啊")]))
    # a mono recording has no roles: agent rules still apply
    assert FALSE_LEGAL in rule_ids(cn, transcript([("unknown", "你等着坐牢吧")]))


def _reference_sentences(manifest: Path, language: str) -> list[str]:
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["text"] for row in rows if row.get("language") == language and row.get("text")]


AGENT_CONDUCT_TYPES = {"keyword", "regex", "proximity"}


@pytest.mark.parametrize(("language", "screener_name"), [("zh", "cn"), ("en", "us")])
def test_ordinary_reference_sentences_trigger_no_agent_conduct_rule(
    shared_audio: Path, request: pytest.FixtureRequest, transcript: Make, language: str, screener_name: str
) -> None:
    screener: Screener = request.getfixturevalue(screener_name)
    sentences = _reference_sentences(shared_audio / "manifest.jsonl", language)
    assert len(sentences) >= 5
    conduct = {r.id for p in screener.packs for r in p.rules
               if r.applies_to in ("agent", "either") and r.type in AGENT_CONDUCT_TYPES}
    flagged = []
    for text in sentences:
        # as one agent segment, and split into short segments as an ASR would
        for segments in ([("agent", text)], [("agent", part) for part in text.split("，") if part]):
            for result in screener.screen(transcript(segments, language=language)):
                flagged += [(f.rule_id, f.evidence, text) for f in result.findings if f.rule_id in conduct]
    assert not flagged, flagged


def test_a_han_name_in_english_speech_keeps_english_matching(us: Screener, rule_ids: RuleIds,
                                                             transcript: Make) -> None:
    opening = ("agent", "Hi, this is 张三 calling from ABC Collections, a debt collector; this call may be recorded.")
    for language in ("en", "und"):  # known, and left to the text to tell
        found = rule_ids(us, transcript([opening], language=language, started_at="2026-03-02T10:00:00-05:00"))
        assert not {r for r in found if r.endswith("missing")}, found


def _one_rule_screener(tmp_path: Path, category: str, rule_type: str, params: str, examples: str) -> Screener:
    """A screener over a pack of one house rule, written as a user would write it."""
    from review.screening import load_pack

    pack_file = tmp_path / "house.yaml"
    pack_file.write_text(f"""
name: house
version: "1"
rules:
  - id: house.rule
    title: a house rule
    category: {category}
    severity: major
    type: {rule_type}
    citation: house rule
    params: {params}
    examples: {examples}
""", encoding="utf-8")
    return Screener([load_pack(str(pack_file))])


def test_numerals_match_either_way_in_a_rule(tmp_path: Path, transcript: Make) -> None:
    screener = _one_rule_screener(tmp_path, "false_legal_consequence", "keyword", "{phrases: [24小时内不还]}",
                                  "{must_trigger: [二十四小时内不还就起诉], must_not_trigger: [请在本月内还款]}")
    for text in ("二十四小时内不还就起诉", "24小时内不还就起诉", "２４小時內不還就起訴"):
        found = screener.screen(transcript([("agent", text)]))[0].findings
        assert [f.evidence for f in found] == [text[: text.index("還" if "還" in text else "还") + 1]], text


def test_a_regex_written_in_ordinary_chinese_matches_normalised_text(tmp_path: Path, transcript: Make) -> None:
    """Screening text reads 一 as 1, 零 as 0, 您 as 你: a pattern's 零件 or 王八蛋 must read the same."""
    screener = _one_rule_screener(tmp_path, "threat_violence", "regex", '{pattern: "少(?:个|几个|一个)零件|您这(?:只)?手"}',
                                  "{must_trigger: [身上哪天少个零件], must_not_trigger: [零钱不够]}")
    for text in ("你这样拖下去 身上哪天少个零件也不奇怪", "哪天少一个零件", "你这手还想不想要了"):
        assert [f.rule_id for f in screener.screen(transcript([("agent", text)]))[0].findings] == ["house.rule"], text
    assert not screener.screen(transcript([("agent", "零钱不够的话可以分两次")]))[0].findings


@pytest.mark.parametrize(("texts", "language"), [
    (["您好，我是某某银行工号1234", "你再不還錢就等著做牢吧", "我要打一二三七八"], "zh"),
    (["Hi, this is Sam from ABC.", "You'll be ARRESTED, I'm a police officer."], "en"),
    (["Hi, José here", "you will be arrested"], "en"),  # non-ASCII English: the general path
    (["𠀀坐牢", "我要投诉"], "zh"),  # a character outside the BMP: the general path
])
def test_the_fast_path_finds_what_the_general_path_finds(cn: Screener, us: Screener, texts: list[str],
                                                         language: str) -> None:
    from review.screening.match import CallText

    segments = [{"role": "agent", "start": float(i), "end": i + 0.9, "text": t} for i, t in enumerate(texts)]
    call = CallText.from_segments(segments, language)
    for screener in (cn, us):
        matcher = screener._matcher
        assert sorted(matcher.find_fast(call)) == sorted(matcher.find(call))
    assert cn._matcher.find(CallText.from_segments(segments, language)) or us._matcher.find(call)


@pytest.mark.parametrize(("text", "swore"), [
    ("TMD 说了半天 合着一分没有", True),  # a pause between the letters and the characters
    ("说了半天TMD合着一分没有", True),  # a recogniser glues them
    ("cnm这都三期了", True),
    ("我们用的是tmall的店铺", False),  # letters inside a longer Latin word
    ("atmdx这都三期了", False),
])
def test_latin_swear_words_count_inside_chinese_speech(cn: Screener, rule_ids: RuleIds, transcript: Make,
                                                       text: str, swore: bool) -> None:
    assert ("cn.abuse.obscenity" in rule_ids(cn, transcript([("agent", text)]))) is swore


def test_a_hotline_number_in_digits_counts_inside_chinese_speech(cn: Screener, rule_ids: RuleIds,
                                                                 transcript: Make) -> None:
    assert "cn.customer.complaint" in rule_ids(cn, transcript([("customer", "你们再这样我明天就打12315")]))


def test_regex_constructions_hear_homophones(cn: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    # 砸 written 杂: the pattern is read in the sound form too
    assert "cn.threat.violent_act" in rule_ids(cn, transcript([("agent", "再不还把你家门给你杂了")]))
    # but 电视 is a word: no misheard 点 (把你家点了)
    assert "cn.threat.violent_act" not in rule_ids(cn, transcript([("agent", "等我们来人把你家电视冰箱都拉走吧")]))
    # a sound match that keeps none of the pattern's own content characters is a coincidence
    assert "cn.threat.violent_act" not in rule_ids(cn, transcript([("agent", "您那边咋样了，我们下午再联系")]))
