"""A negation governs its own clause only; negating the debt condition never hides a hit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from review.screening import Screener
from review.screening.clauses import clause_start, sentences
from review.screening.match import negated_in_clause

RuleIds = Callable[[Screener, dict[str, Any]], set[str]]
Make = Callable[..., dict[str, Any]]


def _keyword_ids(screener: Screener, transcript: dict[str, Any]) -> set[str]:
    return {f.rule_id for r in screener.screen(transcript) for f in r.findings if ".semantic." not in f.rule_id}


@pytest.mark.parametrize(("text", "rule"), [
    ("钱都还不了，你个穷鬼", "cn.abuse.insult"),  # a capability 不 in another clause
    ("钱都还不了你个穷鬼", "cn.abuse.insult"),  # the same with no punctuation at all (ASR)
    ("明天再不还，我找人收拾你", "cn.threat.violence"),  # the debt condition
    ("你不接电话是吧，我们就联系你家人", "cn.contacts.family_threat"),
    ("不处理的话我们找你父母", "cn.contacts.family_threat"),
    ("我不是吓唬你，你会坐牢的", "cn.legal.false_consequence"),  # the negation sits in the first clause
    ("不管你怎么说，再拖就让你好看", "cn.threat.violence"),
    ("今天不把钱打过来后果自负", "cn.threat.veiled_consequence"),  # the condition said with 把
    ("你再不还，我们就将你的情况告诉你的家人", "cn.contacts.reach_out"),
    ("您再不兑现我也不意外 像您这么没信用的人我们见多了", "cn.abuse.insult_forms"),  # a pause ends 不意外
    ("再拖着不还 看老子不找人收拾你", "cn.threat.violence"),  # "see if I don't": a promise
])
def test_negation_stays_in_its_clause(cn: Screener, transcript: Make, text: str, rule: str) -> None:
    assert rule in _keyword_ids(cn, transcript([("agent", text)]))


@pytest.mark.parametrize(("text", "rule"), [
    ("我们不会找人收拾你的，请放心", "cn.threat.violence"),
    ("您放心，我们绝对不会联系你家人", "cn.contacts.family_threat"),
    ("这是民事纠纷，没有人会抓你", "cn.legal.false_consequence"),
    ("我们不会把您的欠款情况告诉您的同事", "cn.contacts.reach_out"),  # a 把 sentence, not the condition
    ("我们 不会 把您的情况告诉您的同事", "cn.contacts.reach_out"),  # a pause inside the negation
    ("我们这边没人 找人收拾你", "cn.threat.violence"),  # a pause after 没人, still waiting for its verb
    ("您放心 无需 担心有人上门找你麻烦", "cn.threat.violence"),
    ("我们不会将您的欠款情况告知您的家人和同事", "cn.contacts.reach_out"),  # 将, the written 把
    ("我哋唔会将你嘅欠款话畀你屋企人知", "cn.contacts.reach_out"),
    ("我们补会联系您的家人和单位", "cn.contacts.family_threat"),  # 不会 misheard as 补会
    ("欠款属于民事纠纷 不会因尾欠钱本身坐牢", "cn.legal.false_consequence"),  # 因为 misheard as 因尾
    ("欠钱不还 不会判刑的 您放心", "cn.legal.false_consequence"),  # the debt condition, then a negation of its own
    ("我们也不回联系您家里人和单位", "cn.contacts.reach_out"),  # 不会 misheard as 不回, which is no 不回电话
    ("也不回有人抓您", "cn.legal.false_consequence"),
    ("侬勿要转到私人账户 只认App里向", "cn.payment.private_channel"),  # Wu 勿要: a warning, no request
    ("你唔好转去私人户口 净系App还", "cn.payment.private_channel"),  # Cantonese 唔好
])
def test_negation_inside_the_clause_still_counts(cn: Screener, transcript: Make, text: str, rule: str) -> None:
    assert rule not in _keyword_ids(cn, transcript([("agent", text)]))


def test_english_negation_is_clause_bound(us: Screener, transcript: Make) -> None:
    hit = transcript([("agent", "I won't lie to you. If this isn't paid by Friday you will be arrested.")],
                     language="en")
    assert "us.legal.false_consequence" in _keyword_ids(us, hit)
    denied = transcript([("agent", "Nobody is saying you will be arrested, this is a civil matter.")], language="en")
    assert "us.legal.false_consequence" not in _keyword_ids(us, denied)
    both = transcript([("agent", "You will not be arrested or go to jail over this debt.")], language="en")
    assert "us.legal.false_consequence" not in _keyword_ids(us, both)  # one negation, two verbs
    either = transcript([("agent", "Don't pay or go to jail, your choice.")], language="en")
    assert "us.legal.false_consequence" in _keyword_ids(us, either)
    # the negation reaches the second verb however long the first one's object
    advice = transcript([("agent", "Please don't go running to a payday lender or borrow money from your mom for this.")],
                        language="en")
    assert "us.borrowing.induced" not in _keyword_ids(us, advice)
    pressed = transcript([("agent", "If you can't pay, borrow money from your brother or something.")], language="en")
    assert "us.borrowing.induced" in _keyword_ids(us, pressed)


def test_clause_and_sentence_spans() -> None:
    text = "钱都还不了，你个穷鬼"
    assert text[clause_start(text, text.index("你个")):] == "你个穷鬼"
    assert not negated_in_clause(text, (text.index("穷鬼"), len(text)), True)
    assert negated_in_clause("我们不会收拾你", (4, 7), True)
    long = "你每天几点送孩子上学我们都清楚。路上车多，小心点！你看着办"
    assert [long[a:b] for a, b in sentences(long)] == ["你每天几点送孩子上学我们都清楚", "路上车多，小心点", "你看着办"]
    english = "Pay $3.50 now. Or else."
    assert [english[a:b] for a, b in sentences(english)] == ["Pay $3.50 now", "Or else"]


@pytest.mark.parametrize(("text", "category"), [
    ("你他妈连狗都不如", "obscenity"), ("有你好看的", "threat_violence"), ("小心你的小命", "threat_violence"),
    ("你个垃圾", "insult_abuse"), ("脑残，说多少遍了", "insult_abuse"), ("你个畜生", "insult_abuse"),
    ("烂人一个", "insult_abuse"), ("日你先人板板，还不还", "obscenity"), ("你个扑街", "insult_abuse"),
])
def test_slang_and_dialect_in_the_lists(cn: Screener, transcript: Make, text: str, category: str) -> None:
    found = {f.category for r in cn.screen(transcript([("agent", text)])) for f in r.findings if ".semantic." not in f.rule_id}
    assert category in found, text


@pytest.mark.parametrize("text", ["你妈妈的身体还好吧", "您路上小心点，我们下午再联系", "方便说一下您的出生年月吗",
                                  "月底能全还吧", "我是工号JR-205的专员"])
def test_lists_leave_ordinary_words_alone(cn: Screener, transcript: Make, text: str) -> None:
    found = {f.category for r in cn.screen(transcript([("agent", text)])) for f in r.findings if ".semantic." not in f.rule_id}
    assert not found & {"obscenity", "insult_abuse", "threat_violence"}, found


@pytest.mark.parametrize(("text", "flagged"), [
    ("侬再勿还，阿拉就打电话到侬屋里厢寻侬爷娘讲讲清爽", True),  # Wu: the debtor's 勿还 negates nothing
    ("阿拉勿会上门个，也勿会去寻侬屋里厢人", False),  # Wu: 勿会 is "won't"
    ("你唔还钱，我就打去你屋企", True),
    ("我们唔会打俾你屋企人", False),
    ("我们不会把您的欠款情况告诉您的同事", False),  # 把 puts the object between negation and verb
    ("再不还我们就去找你们公司领导", True),
])
def test_dialect_negation_and_ba_sentences(cn: Screener, transcript: Make, text: str, flagged: bool) -> None:
    ids = _keyword_ids(cn, transcript([("agent", text)]))
    assert ("cn.contacts.reach_out" in ids) is flagged, ids


def test_a_long_english_sentence_is_cut_into_pieces_a_head_can_judge() -> None:
    text = ("Let me explain where it stands so nothing surprises you, "
            "and then we can look at the hardship plan together before Friday.")
    pieces = [text[a:b] for a, b in sentences(text)]
    assert len(pieces) == 2  # cut once, not into four-word fragments ("so nothing surprises you")
    assert all(len(p.split()) >= 6 for p in pieces)
    chinese = "您先别着急，我跟您把情况说清楚，然后我们再看看分期的方案，这个月底之前办好就行，您看可以吗"
    assert all(b - a <= 48 for a, b in sentences(chinese))  # Chinese keeps its shorter pieces
