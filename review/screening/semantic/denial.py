"""Denials: the clauses in which the speaker says what they will NOT do.

A sentence embedding of 我们不会联系您的家人 sits next to 我们会联系您的家人: the words are
the same. So a sentence that scored as a violation and holds a denial clause is scored
again without it; what is left must pass on its own (不是我说你，你就是个老赖 still does,
我们是受托的催收公司，不是司法机关 does not). A denial clause starts, after an optional
subject (we, I, nobody, 我们, 没有人...), with a denial (won't, never, 不会, 不建议, 不是...).
The debtor's condition (你再不还, if you don't pay) is not a denial: its subject is you.
"""

from __future__ import annotations

import re

from review.screening.clauses import Span, clauses
from review.screening.normalize import HAN, normalize

_ZH = re.compile(
    r"^(?:[您你]?(?:放心|别担心|不用担心|请放心)[吧啊]?)?"
    r"(?:我们|我|咱们|咱|公司|这边|我这边|我们这边|银行|平台|机构|没有人|没人|谁也|谁都|任何人|这个|这|那)?"
    r"(?:绝对|肯定|也|都|是|并|从来|一定|根本|当然|确实|真的|压根)*"
    r"(?:不会|不建议|不存在|不可能|不需要|无需|从不|从没|从来没|没有|没|并不|并没有|不要求|不允许|不得|不是|不用|绝不|不能够|不能)"
)
# the words a spoken denial may start with ("look, nobody ...", "and honestly, you won't ..."); a denial
# by the speaker (_EN) may also start politely or with "don't worry"
_EN_LEAD_WORDS = "and|but|so|look|listen|honestly|no|well|again|relax"
_EN_LEAD = r"^(?:(?:" + _EN_LEAD_WORDS + r")\s+)*"
# "I promise ...", "trust me, ...": a reassurance put before the denial itself
_EN_REASSURE = r"(?:(?:i (?:can )?(?:promise|swear|guarantee|assure)(?: you)?|trust me|believe me|rest assured)(?: that)?\s+)?"
_EN = re.compile(
    r"^(?:(?:" + _EN_LEAD_WORDS + r"|sir|maam|of course|dont worry)\s+)*" + _EN_REASSURE +
    r"(?:we|i|nobody|no one|noone|our company|the company|this office|that|this|it|there|theres|thats|nobodys|noones|"
    r"were|im|ive|weve|youre not going|you are not going|you will not|you wont|"
    # what the creditor cannot do: "they can't just take your car without a court process"
    r"they|theyre|the creditor|your creditor|the bank|the lender|the hospital)\b"
    r"(?:\s+(?:are|am|is|will|would|do|does|did|have|has|can|could|should|re|d|ll|s|really|ever|absolutely|"
    r"definitely|certainly))*"
    r"\s*(?:not|never|no|wont|dont|doesnt|didnt|cant|cannot|isnt|arent|wouldnt|shouldnt|going to|gonna|"
    # a distance to the step named before: "we are nowhere near that" (not "nowhere near done with you")
    r"(?:nowhere near|far from) (?:that|this|there|it|anything like))\b"
)
# a consequence denied in the passive: "you cannot be arrested for a credit card debt"
# and in the active with the debtor as subject: "you won't get arrested", "you're not going to jail"
_EN_PASSIVE = re.compile(_EN_LEAD + _EN_REASSURE +
                         r"(?:you|he|she|they)\s+"
                         r"(?:cannot|cant|can not|will not|wont|will never|are not going to|arent going to|"
                         r"is not going to|isnt going to|are not gonna|arent gonna)\s+(?:be|get|go|end up)\b"
                         r"|" + _EN_LEAD + _EN_REASSURE +
                         r"(?:youre|hes|shes|theyre) not (?:going to|gonna) (?:be|get|go|end up|jail|prison)\b")
_EN_NOBODY = re.compile(_EN_LEAD + _EN_REASSURE +
                        r"(?:nobody|no one|noone|nobodys|noones)\b"
                        # "there's no such thing as debtor's prison", "there is no warrant"
                        r"|" + _EN_LEAD + r"(?:there is|theres) no "
                        r"(?:such thing|way|chance|warrant|case|criminal|arrest)\b"
                        # "nothing has been filed", "no lawsuit has been filed against you"
                        r"|" + _EN_LEAD + r"(?:nothing|no (?:lawsuit|suit|case|warrant|judgment|charge)s?)\s+"
                        r"(?:(?:has|have|is|was|will|s)\s+)?(?:been\s+|be\s+|being\s+)?"
                        r"(?:filed|started|opened|issued|sent|reported|happening|going to happen|gonna happen|happen)\b")
# advice against the violation (you should never send money to an individual's Venmo); a bare
# imperative "don't" is left out: "don't make me come over there" is a threat
_EN_ADVICE = re.compile(r"^(?:(?:and|but|so|also|again|just)\s+)*(?:you should never|you should not|you shouldnt|"
                        r"you must never|you must not|please never|please do not|please dont|never)\b")
# "don't take out a payday loan for this": a bare "don't" that warns off borrowing or paying a stranger
_EN_WARN_OFF = re.compile(r"^(?:(?:and|but|so|also|again|just|please|honestly|look|and please)\s+)*(?:dont|do not)\s+"
                          r"(?:(?:\w+\s+){0,3}?)(?:take out|borrow|run to|go running|max out|put (?:it|this|that) on|"
                          r"apply for|sign up for|pawn|sell|send (?:money|cash|anything)|pay (?:anyone|anybody|someone))\b")
# a pejorative said of the debtor only to deny it: "you're not an idiot, you trusted somebody", "that
# doesn't make you a bad parent" ("nobody thinks you're lazy" is _EN_NOBODY's); a tag question turns it
# into the insult it denies ("you're not stupid, are you?"), and what the list does not hold stays with
# the heads ("you're not a man", "you're not even a person": a person or parent only with its adjective)
_EN_PEJORATIVE = (r"(?:(?:a|an|some|the)\s+)?(?:(?:bad|terrible|horrible|awful)\s+(?:person|people|parent|mom|mother|"
                  r"dad|father)|idiot|stupid|dumb|fool|foolish|deadbeat|failure|loser|lazy|criminal|crook|thief|liar|"
                  r"irresponsible|careless|worthless|useless|fraud|scammer|moron)s?\b")
_EN_NOT_PEJORATIVE = re.compile(
    _EN_LEAD + _EN_REASSURE +
    r"(?:(?:youre|you are) not|(?:that|this|it) (?:doesnt|does not|dont) (?:make|mean) (?:you|youre))\s*"
    + _EN_PEJORATIVE + r"(?!.*\b(?:are you|do you|right)\W*$)")
# the tag question, when the clauses cut it off: "you're not stupid, | are you?"
_EN_TAG = re.compile(r"^\W*(?:are you|do you|right|huh)\b")
_EN_UNTIL = re.compile(r"\b(?:until|till|unless)\b")
_EN_NEGATED_VERB = re.compile(r"\b(?:not|never|wont|dont|cant|cannot|isnt|arent|wouldnt|nobody|no one|"
                              r"nowhere near|far from)\b")


def is_denial(clause: str, after: str = "") -> bool:
    """Whether ``clause`` denies what it names; ``after``: the text that follows it in the sentence."""
    if HAN.search(clause):
        return bool(_ZH.match(normalize(clause, True)))
    text = normalize(clause, False).strip()
    if _EN_UNTIL.search(text):
        return False  # "we won't stop calling until you pay" promises the opposite
    if _EN_NOBODY.match(text) or _EN_ADVICE.match(text) or _EN_PASSIVE.match(text) or _EN_WARN_OFF.match(text):
        return True
    if _EN_NOT_PEJORATIVE.match(text):
        return not _EN_TAG.match(normalize(after, False).strip())
    match = _EN.match(text)
    return match is not None and bool(_EN_NEGATED_VERB.search(text[:match.end() + 1]))


# a list goes on after a comma: "we will never ask for gift cards, a wire to a person, or a personal Zelle"
# denies all three; a new clause starts with a subject or a connective and is not part of the list
_LIST_BREAK = re.compile(r"^[\s,，、]*$")
_EN_NEW_CLAUSE_START = re.compile(
    r"^(?:we|i|you|he|she|they|it|its|that|thats|this|there|theres|if|but|so|because|please|let|lets|just|then|"
    r"now|otherwise|unless|when|once|which|who|im|were|youre|youll|well|ill)\b")
# ... and holds no verb of its own: "your sister will hear from us" is a new statement, not an item
_EN_VERB = re.compile(r"\b(?:will|would|can|could|should|shall|must|may|might|is|are|was|were|am|be|been|have|has|"
                      r"had|do|does|did|gonna|going|wont|cant|dont|ll|re|s)\b")


def _list_item(clause: str, separator: str) -> bool:
    """Whether ``clause`` reads as one more item of the list before it: a short noun phrase after a comma
    (a wire to a person), or in Chinese after the enumeration comma 、 (支付宝)."""
    if HAN.search(clause):
        return "、" in separator and len(HAN.findall(clause)) <= 8
    text = normalize(clause, False).strip()
    words = text.split()
    return 0 < len(words) <= 8 and not _EN_NEW_CLAUSE_START.match(text) and not _EN_VERB.search(text)


def without_denials(text: str) -> list[Span] | None:
    """The clauses of ``text`` that are not denials, or None when it holds no denial at all. The items of a
    list that a denial opens are denied with it."""
    parts = clauses(text)
    kept: list[Span] = []
    denying = False
    previous_end = 0
    for part in parts:
        clause = text[part.start:part.end]
        if is_denial(clause, text[part.end:]):
            denying = True
        elif denying and _LIST_BREAK.match(text[previous_end:part.start]) \
                and _list_item(clause, text[previous_end:part.start]):
            pass  # still the denied list
        else:
            denying = False
            kept.append(part)
        previous_end = part.end
    return None if len(kept) == len(parts) else kept
