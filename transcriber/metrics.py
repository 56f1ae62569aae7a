"""Error rates for judging transcripts against references (benches and tests).

Chinese: character error rate after converting both sides to Simplified, reading digits out as
Chinese numbers, and stripping punctuation and spaces. English: word error rate on lowercased
words without punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from transcriber.normalize import to_simplified

_DIGITS = "零一二三四五六七八九"
_UNITS = ((10**8, "亿"), (10**4, "万"), (1000, "千"), (100, "百"), (10, "十"))
_NUMBER = re.compile(r"(\d+)(\.\d+)?(%|年)?")
_HALF_PAST = re.compile(r"(\d+)\.(?=半)")
_NON_WORD = re.compile(r"[^\w']+|_", re.UNICODE)


def _integer(n: int) -> str:
    if n < 10:
        return _DIGITS[n]
    for value, unit in _UNITS:
        if n >= value:
            high, low = divmod(n, value)
            head = "" if (value == 10 and high == 1) else _integer(high)
            if low == 0:
                tail = ""
            elif low < value // 10:
                tail = "零" + _integer(low)
            else:
                tail = _integer(low)
            return head + unit + tail
    return str(n)


def digits_to_chinese(text: str) -> str:
    """Read Arabic numbers out as Chinese: 2013年 -> 二零一三年, 15 -> 十五, 3.5% -> 百分之三点五."""

    def read(m: re.Match[str]) -> str:
        whole, frac, suffix = m.group(1), m.group(2) or "", m.group(3) or ""
        if suffix == "年" and len(whole) == 4 and not frac:
            return "".join(_DIGITS[int(d)] for d in whole) + "年"
        spoken = _integer(int(whole)) if len(whole) <= 12 else "".join(_DIGITS[int(d)] for d in whole)
        if frac:
            spoken += "点" + "".join(_DIGITS[int(d)] for d in frac[1:])
        if suffix == "%":
            return "百分之" + spoken
        return spoken + suffix

    text = _HALF_PAST.sub(r"\1点", text)  # Whisper writes 七点半 as 7.半
    return _NUMBER.sub(read, text)


def normalize_zh(text: str) -> str:
    text = to_simplified(unicodedata.normalize("NFKC", text))
    text = digits_to_chinese(text)
    return _NON_WORD.sub("", text).lower()


def normalize_en(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower().replace("-", " ")
    return [w.strip("'") for w in _NON_WORD.sub(" ", text).split() if w.strip("'")]


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def cer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference characters) of Chinese text; sum both over clips for a corpus CER."""
    ref, hyp = normalize_zh(reference), normalize_zh(hypothesis)
    return edit_distance(list(ref), list(hyp)), len(ref)


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference words) of English text."""
    ref, hyp = normalize_en(reference), normalize_en(hypothesis)
    return edit_distance(ref, hyp), len(ref)


def error_rate(language: str, reference: str, hypothesis: str) -> tuple[int, int]:
    return cer(reference, hypothesis) if language in {"zh", "yue"} else wer(reference, hypothesis)
