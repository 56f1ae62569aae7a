"""Structural checks for required statements (self-identification, recording notice, mini-Miranda).

A required rule lists parts that must all be said in the opening; a part is said
when one of its phrases is heard (the automaton does that), when one of its
patterns matches an opening turn, or when the agent says a name the call's metadata
holds (the creditor or agency). Patterns read the normalised text: no punctuation,
Simplified characters, digits for numerals, 你 for 您, English lower-case and padded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from review.screening.match import CallText
from review.screening.normalize import normalize
from review.screening.rules import RequiredPart

# what an agent drops when saying the organisation's name aloud (乐享借科技有限公司 -> 乐享借,
# Redline Portfolio Services -> Redline Portfolio)
_LEGAL_SUFFIX = re.compile(r"(?:股份|有限|责任|公司|集团|科技|信息|网络|技术|咨询|服务|管理|\s|inc|llc|ltd|corp|co)+$",
                           re.IGNORECASE)
_EN_TRADE_WORDS = frozenset(
    "services service recovery recoveries receivables partners group solutions associates management financial "
    "collections collection agency company llc inc ltd corp co the of and".split())
# leading words too common to stand for a company on their own (First National ..., Credit One ...)
_EN_COMMON_LEAD = frozenset(
    "first national american united global premier capital credit account accounts portfolio general central "
    "north south east west new one best great pacific atlantic midwest southern northern eastern western "
    "consumer financial debt bank legal law".split())


def _spoken_forms(value: str, cjk: bool) -> set[str]:
    full = normalize(value, cjk).strip()
    forms = {full, _LEGAL_SUFFIX.sub("", full).strip()}
    if not cjk:
        words = full.split()
        while len(words) > 1 and words[-1] in _EN_TRADE_WORDS:
            words = words[:-1]
        forms.add(" ".join(words))
        # "Cascade Recovery" for Cascade Account Recovery: a distinctive first word names the company
        if words and len(words[0]) >= 4 and words[0] not in _EN_COMMON_LEAD | _EN_TRADE_WORDS:
            forms.add(words[0])
    return {form for form in forms if len(form) >= (2 if cjk else 3)}


def metadata_names(part: RequiredPart, meta: Mapping[str, Any]) -> list[str]:
    """The names the call's metadata gives for ``part`` (creditor, agency ...), in the pack's key order."""
    names: list[str] = []
    for key in part.metadata:
        value = meta.get(key)
        for name in value if isinstance(value, list) else [value]:
            if isinstance(name, str) and name.strip():
                names.append(name)
    return names


def part_said(part: RequiredPart, call: CallText, opening: Sequence[int], names: Sequence[str],
              homophones: bool = False) -> bool:
    """Whether the patterns of ``part`` or the ``names`` its metadata keys hold (``metadata_names``) are
    heard in the ``opening`` turns (only the names, for a ``metadata_only`` part with names). With
    ``homophones``, a Chinese pattern also counts with one misheard character (我是账律师 for 张律师,
    通话路音 for 录音): a statement that was made must not look missing for a recogniser's slip."""
    texts = [call.norm[i] for i in opening]
    if not (part.metadata_only and names):
        if any(pattern.search(t) for pattern in part.patterns for t in texts):
            return True
        if homophones and call.cjk and any(any(call.slip_matches(pattern, i)) for pattern in part.patterns
                                           for i in opening):
            return True
    forms = {form if call.cjk else f" {form} " for name in names for form in _spoken_forms(name, call.cjk)}
    return any(form in text for form in forms for text in texts)
