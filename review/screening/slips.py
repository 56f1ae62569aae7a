"""One misheard character inside a regex construction: 把你家门给你砸了 written 把你家门给你杂了.

A pattern's Han characters are always literals, so the pattern put in the sound form (each Han
character as its syllable's representative, ``normalize.sound_of``) matches whatever sounds the
same. A sound match counts only when putting back one character to a same-sounding character the
pattern names gives an exact match, and when the written character is not part of a word of its
own in the sentence (电视 is no misheard 点, 装死 no misheard 撞死): a recogniser's slip makes
nonsense, the right word makes sense. Words come from jieba's dictionary.
"""

from __future__ import annotations

import re
from functools import lru_cache

from review.screening.normalize import HAN, original_span, sound_of


@lru_cache(maxsize=256)
def sound_pattern(pattern: str) -> tuple[re.Pattern[str], dict[str, str]] | None:
    """The pattern in the sound form, and its Han literals by their sound; None without Han."""
    literals: dict[str, str] = {}
    for ch in sorted(set(HAN.findall(pattern))):
        literals[sound_of(ch)] = literals.get(sound_of(ch), "") + ch
    return (re.compile(sound_of(pattern)), literals) if literals else None


def one_slip(pattern: re.Pattern[str], norm: str, raw: str, start: int, end: int, literals: dict[str, str]) -> bool:
    """Whether the span ``[start, end)`` of a normalised segment is an exact match of ``pattern`` but
    for one misheard character."""
    if len(HAN.findall(norm[start:end])) < 3:
        return False  # 多你 sounds like 剁你: two characters are too few to tell
    first, last = original_span(raw, start, end, True)
    if re.search(r"[，。！？；、,.!?;\s]", raw[first:last].strip()):
        # across a pause the words belong to different thoughts; a recogniser that writes no
        # punctuation marks its pauses with spaces (强多了 您现在有收入吗 is no 剁了你)
        return False
    for i in range(start, end):
        for ch in literals.get(sound_of(norm[i]), ""):
            if ch == norm[i]:
                continue
            m = pattern.search(norm[:i] + ch + norm[i + 1:], max(0, start - 2))
            if m is not None and m.start() <= i < m.end() and _stands_alone(norm, i):
                return True
    return False


def _stands_alone(norm: str, i: int) -> bool:
    """Whether the character at ``i`` is a word by itself in the segment (jieba's segmentation)."""
    pos = 0
    for word in _words(norm):
        if pos <= i < pos + len(word):
            return len(word) == 1
        pos += len(word)
    return True


@lru_cache(maxsize=1024)
def _words(norm: str) -> tuple[str, ...]:
    import jieba  # type: ignore[import-untyped]

    jieba.setLogLevel(60)  # its dictionary-loading chatter is not ours to print
    return tuple(jieba.cut(norm, HMM=False))
