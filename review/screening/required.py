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

# what an agent drops when saying the organisation's name aloud (乐享借科技有限公司 -> 乐享借)
_LEGAL_SUFFIX = re.compile(r"(?:股份|有限|责任|公司|集团|科技|信息|网络|技术|咨询|服务|管理|\s|inc|llc|ltd|corp|co)+$",
                           re.IGNORECASE)


def _spoken_forms(value: str, cjk: bool) -> set[str]:
    full = normalize(value, cjk).strip()
    short = _LEGAL_SUFFIX.sub("", full).strip()
    return {form for form in (full, short) if len(form) >= (2 if cjk else 3)}


def part_said(part: RequiredPart, call: CallText, opening: Sequence[int], meta: Mapping[str, Any]) -> bool:
    """Whether the patterns or metadata names of ``part`` are heard in the ``opening`` turns."""
    texts = [call.norm[i] for i in opening]
    if any(pattern.search(text) for pattern in part.patterns for text in texts):
        return True
    for key in part.metadata:
        value = meta.get(key)
        names = value if isinstance(value, list) else [value]
        for name in names:
            if isinstance(name, str) and name.strip():
                forms = _spoken_forms(name, call.cjk)
                if any(form in text for form in forms for text in texts):
                    return True
    return False
