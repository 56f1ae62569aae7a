"""Reported and rejected: an agent repeating what somebody else said, in order to reject it.

"您说之前有人说要拘留您十五天？那纯属吓唬人，是违规的" holds 拘留您, and "Someone told you you'd be
arrested? That's not true" holds "arrested", yet both are what a compliant agent should say.
Quotation marks catch the written form; speech has none, so the construction is read instead: a
hit stands aside when its turn *attributes* words to somebody (有人说, 他骂您, 您说, someone told
you) and, after the hit, *rejects* them (违规, 吓唬, 没这回事, not true, not allowed). Both are
needed: "你说你没钱？等着坐牢吧" attributes but does not reject, so the threat stands.
"""

from __future__ import annotations

import re

from review.screening.normalize import ZH_NEGATION_OPENERS

# the text is normalised: no punctuation, 您 written 你
_ZH_ATTRIBUTED = re.compile(
    r"(?:有人|别人|别个|他们|他|她|那人|那个人|那位|对方|同事|之前的?\S{0,6}?|以前的?\S{0,6}?|前面的?\S{0,6}?|上次的?\S{0,6}?)"
    r"(?:跟你|和你|对你|给你|同你|俾你)?(?:说|讲|骂|吓唬|威胁|编|话)"
    r"|网上(?:说|传|讲)|听说|传言|外面(?:说|传)|都(?:说|传)|(?:那个|那位|之前那个|上个|上1个)\S{0,4}?(?:说|讲)|(?:催收员|专员|业务员|工作人员)\S{0,2}?(?:说|讲)"
    r"|你(?:是)?说|你讲|你刚才(?:说|讲)|你话|说你是|骂你|叫你"
    # the debtor's own fear, to be answered: 您担心会坐牢？不会的
    r"|你(?:是不是|是|也|就|最)?(?:在)?(?:担心|害怕|怕|顾虑|担忧|心里慌)"
    # an act put as a supposition, to be disowned: 如果有同事打到侬单位，搿个是勿应该额
    r"|(?:如果|要是|假如|若是?)(?:之前)?有(?:同事|人|催收员|工作人员|我们的人)"
)
# a hit inside a rhetorical rejection: 哪有欠钱就坐牢的道理, 怎么可能抓你, 谁说要抓你了 (and in dialect 哪个说,
# 边个话, 啥人讲); "who said we would NOT sue" asserts, so no negation may stand between
_ZH_INSIDE_REJECTION = re.compile(r"(?:哪有|哪里有|怎么可能|哪会|(?:谁|哪个|边个|啥人)(?:跟你|同你)?(?:说|讲|话)(?:过|了)?"
                                  r"(?=[^" + ZH_NEGATION_OPENERS + r"]{0,6}$))\S{0,6}$")
# a hit named as a topic and dismissed at once, with nobody quoted: 坐牢什么的 没有的事, 抓人 不存在的
_ZH_DISMISSED = re.compile(r"(?:什么的|啥的|之类的|这些|这种事|这个事|那些)?(?:啊|呀|嘛|哦|呢)?(?:都|那都|这都|那是|这是|纯属|根本)?"
                           r"(?:没有的事|没这回事|没有这回事|没这事|不存在的?|是?不可能的?|瞎说的?|胡说的?|谣言|是假的|假的|吓唬人的?|唬人的?)")
_ZH_REJECTED = re.compile(
    r"违规|不对|不允许|不合规|不合法|是违法|吓唬|吓人|没这回事|没有这回事|是不可能的|不可能的事|不会的|道歉|编的|编出来|"
    r"瞎说|胡说|乱说|假的|不是真的|投诉他|投诉她|投诉那个|可以投诉|举报|不存在|纯属|别信|不用怕|不用担心|你放心|处理了|"
    r"处分|开除|辞退|整改|不代表|不应该|勿应该|唔应该|唔应|哪有\S{0,8}道理|哪有这种事|哪有这回事|唔啱|唔会嘅|冇咁嘅事|"
    # the customer's own proposal turned down: 您说转我微信？这个不行
    r"这个不行|那不行|是不行的|不可以的?|收不了|不能收|我们不收|不是我们(?:公司|这边|平台|机构)?的?(?:人|员工)|可以\S{0,4}?投诉"
)
_EN_ATTRIBUTED = re.compile(
    r"\b(?:someone|somebody|they|he|she|the other (?:agent|collector|guy|rep)|another (?:agent|collector|rep)"
    r"|previous (?:agent|collector|rep)|your (?:brother|sister|mom|mother|dad|father|wife|husband|friend)"
    r"|whoever|(?:that|the|another|some) (?:other )?(?:agency|company|collector|agent|guy|person|caller|rep|lady|man|woman))"
    r" (?:said|says|told|tell|telling|threatened|called)\b|\byou (?:said|say|were told|heard|mentioned)\b"
    # the debtor's own fear, to be answered: "you're worried about being arrested? don't be"
    r"|\b(?:youre|you are|you were|you seem|you sound) (?:\w+ )?(?:scared|worried|afraid|concerned|frightened|nervous)\b"
)
_EN_REJECTED = re.compile(
    r"\b(?:not true|isnt true|never true|not allowed|against (?:the )?(?:law|policy|rules)|shouldnt have|should not have"
    r"|apologi[sz]e|sorry about that|thats wrong|was wrong|is wrong|thats false|not how (?:it|this) works"
    r"|cant happen|wont happen|made (?:it|that) up|not legal|illegal|report (?:him|her|that|them)|not going to happen"
    r"|nothing like that|no such thing|dont worry|wasnt us|was not us|(?:is|its|thats) a scam|cant (?:accept|take) (?:that|it)"
    r"|civil (?:matter|debt|case|issue)|(?:is|its) civil|not (?:a )?criminal|dont be\b"
    r"|we dont (?:do|take|accept) that)\b"
)


def reported_and_rejected(norm_segment: str, start: int, end: int, cjk: bool) -> bool:
    """Whether the hit at [start, end) of a normalised segment is somebody else's words that the
    speaker attributes and then rejects."""
    attributed, rejected = (_ZH_ATTRIBUTED, _ZH_REJECTED) if cjk else (_EN_ATTRIBUTED, _EN_REJECTED)
    if cjk and (_ZH_INSIDE_REJECTION.search(norm_segment, max(0, start - 10), start)
                or _ZH_DISMISSED.match(norm_segment, end)):
        return True
    if rejected.search(norm_segment, end) and attributed.search(norm_segment):
        return True
    # a hit that is the whole sentence holds both: "whoever told you you'd be arrested was wrong"
    said = attributed.search(norm_segment, start, end)
    return said is not None and rejected.search(norm_segment, said.end(), end) is not None
