"""Clean Whisper's text: Simplified Chinese, no hallucinated credits, no runaway repetition,
and a flag on segments a human should listen to."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Lines Whisper is known to invent over silence, music or noise (learned from subtitle files).
# A segment is dropped when, stripped of punctuation and spaces, it contains one of these.
HALLUCINATIONS: tuple[str, ...] = (
    "字幕由amara.org社区提供",
    "字幕由amara.org社群提供",
    "subtitlesbytheamara.orgcommunity",
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "明镜与点点栏目",
    "优优独播剧场",
    "yoyotelevisionseriesexclusive",
    "中文字幕志愿者",
    "字幕志愿者",
    "小编字幕",
    "本字幕由",
    "字幕提供",
    "感谢观看",
    "谢谢观看",
    "謝謝觀看",
    "thanksforwatching",
    "thankyouforwatching",
    "pleasesubscribe",
    "likeandsubscribe",
    "请订阅",
    "订阅我的频道",
)
# Lines that are hallucinations only when they are all a segment says.
WHOLE_LINE_HALLUCINATIONS: frozenset[str] = frozenset({"you", "字幕", "中文字幕"})

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
# a unit of 2-30 characters repeated 4 or more times in a row ("我们我们我们我们...")
_REPEATED_UNIT = re.compile(r"(\S.{1,29}?)(\s*)(?:\1\s*){2,}\1", re.DOTALL)
# one character repeated 6 or more times ("哈哈哈哈哈哈哈哈...")
_REPEATED_CHAR = re.compile(r"(\S)\1{5,}")


@dataclass(frozen=True)
class Confidence:
    """Thresholds below which a segment is marked for a human to listen to."""

    min_avg_logprob: float = -1.0
    max_no_speech_prob: float = 0.6
    max_compression_ratio: float = 2.4
    min_word_probability: float = 0.45


@lru_cache(maxsize=1)
def _t2s() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))  # type: ignore[attr-defined]


def _key(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()


_HALLUCINATION_KEYS = tuple(_key(h) for h in HALLUCINATIONS)
_WHOLE_KEYS = frozenset(_key(h) for h in WHOLE_LINE_HALLUCINATIONS)


def is_hallucination(text: str) -> bool:
    key = _key(text)
    if not key:
        return True  # punctuation only
    return key in _WHOLE_KEYS or any(h in key for h in _HALLUCINATION_KEYS)


def collapse_repetitions(text: str) -> str:
    """Cut runaway loops down to two copies; normal doubling ("好的好的") is kept."""
    text = _REPEATED_CHAR.sub(lambda m: m.group(1) * 3, text)
    return _REPEATED_UNIT.sub(lambda m: m.group(1) + m.group(2) + m.group(1), text)


def is_chinese(language: str | None) -> bool:
    return (language or "") in {"zh", "yue"}


def clean_text(text: str, language: str | None) -> str:
    # U+FFFD: a character Whisper split across tokens and never finished
    text = unicodedata.normalize("NFC", text).replace("\ufffd", "").strip()
    if is_chinese(language) or re.search(r"[\u4e00-\u9fff]", text):
        text = to_simplified(text)
    return collapse_repetitions(text).strip()


def low_confidence(
    avg_logprob: float | None,
    no_speech_prob: float | None,
    compression_ratio: float | None,
    word_probabilities: list[float] | None,
    thresholds: Confidence = Confidence(),
) -> bool:
    if avg_logprob is not None and avg_logprob < thresholds.min_avg_logprob:
        return True
    if no_speech_prob is not None and no_speech_prob > thresholds.max_no_speech_prob:
        return True
    if compression_ratio is not None and compression_ratio > thresholds.max_compression_ratio:
        return True
    if word_probabilities:
        mean = sum(word_probabilities) / len(word_probabilities)
        if mean < thresholds.min_word_probability:
            return True
    return False
