"""Somebody else's words, repeated by the agent to reject them, are no violation; repeated without
rejecting them, or rejected without being anybody else's, they still are."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from review.screening import Screener
from review.screening.normalize import normalize
from review.screening.reported import reported_and_rejected

RuleIds = Callable[[Screener, dict[str, Any]], set[str]]
Make = Callable[..., dict[str, Any]]
CN_CONTENT = ("cn.legal", "cn.threat", "cn.abuse", "cn.impersonation", "cn.semantic.threat",
              "cn.semantic.false", "cn.semantic.insult")


def _content(ids: set[str]) -> set[str]:
    return {i for i in ids if i.startswith(CN_CONTENT)}


@pytest.mark.parametrize("text", [
    "您说之前有人说要拘留您十五天？那纯属吓唬人，是违规的，您可以投诉他",
    "那个催收员讲不还就等着坐牢，这个是不对的，我代表公司向您道歉",
    "他骂您老赖？那是他不对，我们已经处理了",
    "您说坐牢？哪有欠钱就坐牢的道理，最多就是征信受影响",
    "如果有同事打到您单位去找您领导，这个是不应该的，我记录下来反馈",
    "这个您放心，欠款属于民事纠纷，不会因为还不上钱就抓人坐牢的",  # a denied cause, not a threat
    "网上说的影响子女上学那些都不是真的，您别担心",
    "没有任何规定说父母逾期孩子就不能读书",  # no law says so
    "那个，欠款是民事纠纷，不会，不会坐牢的",  # a stuttered denial is no 会不会 question
    "坐牢什么的 没有的事 这就是个民事纠纷",  # named as a topic and dismissed at once
    "哪个说要抓你嘛 莫听别个乱说 这个就是欠款",  # "who said": a rhetorical rejection, in Sichuanese
    "您说有人说要让您坐牢 那个不是我们公司的人 您可以录音投诉",  # disowned: not one of ours
])
def test_a_rejected_report_is_no_violation(cn: Screener, rule_ids: RuleIds, transcript: Make, text: str) -> None:
    assert not _content(rule_ids(cn, transcript([("agent", text)])))


@pytest.mark.parametrize("text", [
    "你说你没钱？行，那你就等着坐牢吧",  # attributed, never rejected
    "你不还钱就等着坐牢，这不是吓唬你",  # rejects, but nobody else said it
    "抓你 这不是不可能的 你等着",  # a dismissal denied is an assertion
])
def test_a_threat_that_is_only_attributed_still_counts(cn: Screener, rule_ids: RuleIds, transcript: Make,
                                                       text: str) -> None:
    assert _content(rule_ids(cn, transcript([("agent", text)])))


def test_english_reports() -> None:
    rejected = normalize("Someone told you you'd be arrested? That's not true, this is a civil matter.", False)
    assert reported_and_rejected(rejected, rejected.index("arrested"), rejected.index("arrested") + 8, False)
    kept = normalize("You said you can't pay? Then you'll be arrested, simple as that.", False)
    assert not reported_and_rejected(kept, kept.index("arrested"), kept.index("arrested") + 8, False)


@pytest.mark.parametrize("text", [
    "如果法院判决后您仍然不履行，法院可以依法强制执行，比如冻结名下存款",  # the lawful statement of it
    "您放心，正常的借款逾期属于民事纠纷，不会因为欠钱本身坐牢",
])
def test_lawful_legal_information_is_no_false_consequence(cn: Screener, rule_ids: RuleIds, transcript: Make,
                                                          text: str) -> None:
    assert not {i for i in rule_ids(cn, transcript([("agent", text)])) if "legal" in i}


def test_an_english_consequence_denied_in_the_passive(us: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    said = "No. You cannot be arrested or jailed for not paying a credit card debt, and I would never tell you otherwise."
    assert not {i for i in rule_ids(us, transcript([("agent", said)], language="en")) if "legal" in i}
    assert {i for i in rule_ids(us, transcript([("agent", "You will be arrested if you don't pay today.")],
                                                language="en")) if "legal" in i}


@pytest.mark.parametrize(("text", "language"), [
    ("您说转我微信？这个不行，我们只走官方还款渠道", "zh"),  # the customer's proposal, turned down
    ("您说之前的人让您转他个人微信？那不是我们的人，别转", "zh"),
    ("Someone told you to pay with gift cards? That wasn't us.", "en"),
    ("You said you'd rather Venmo me? Sorry, I can't accept that.", "en"),
])
def test_a_refused_private_payment_is_no_request(cn: Screener, us: Screener, rule_ids: RuleIds, transcript: Make,
                                                 text: str, language: str) -> None:
    screener = cn if language == "zh" else us
    found = rule_ids(screener, transcript([("agent", text)], language=language))
    assert not {i for i in found if "payment" in i}


def test_a_private_payment_request_still_counts(cn: Screener, us: Screener, rule_ids: RuleIds,
                                                transcript: Make) -> None:
    assert {i for i in rule_ids(cn, transcript([("agent", "官方渠道太慢了，你直接转我微信就行")])) if "payment" in i}
    assert {i for i in rule_ids(us, transcript([("agent", "Just Venmo me the three hundred and we're good.")],
                                                language="en")) if "payment" in i}


@pytest.mark.parametrize("said", [
    "Nobody's going to arrest you, ma'am.",
    "I promise you won't get arrested over this.",
    "There's no such thing as debtor's prison here, you're not going to jail.",
    "Whoever told you you'd be arrested was wrong.",
    "That other agency threatened to press charges? That's illegal, you can report them.",
    "You're worried about being arrested? Don't be. This is a civil debt.",
])
def test_english_reassurance_is_no_false_consequence(us: Screener, rule_ids: RuleIds, transcript: Make,
                                                     said: str) -> None:
    assert not {i for i in rule_ids(us, transcript([("agent", said)], language="en")) if "legal" in i}


@pytest.mark.parametrize("said", [
    "You don't pay by Friday, you're going to jail.",
    "You're worried? You should be, there's a warrant with your name on it.",
])
def test_english_threats_beside_those_words_still_count(us: Screener, rule_ids: RuleIds, transcript: Make,
                                                        said: str) -> None:
    assert {i for i in rule_ids(us, transcript([("agent", said)], language="en")) if "legal" in i}


def test_the_debtors_fear_answered_is_no_threat(cn: Screener, rule_ids: RuleIds, transcript: Make) -> None:
    assert not _content(rule_ids(cn, transcript([("agent", "您担心会坐牢？不会的 这是民事纠纷")])))
    assert not {i for i in rule_ids(cn, transcript([("agent", "您怕我们联系您家人？我们不会的")])) if "contacts" in i}
    assert _content(rule_ids(cn, transcript([("agent", "你怕什么 等着坐牢吧")])))
