"""ASR-style noise: what a speech recogniser does to a Chinese or English sentence.

Used twice: to train the heads on noisy copies of the corpus (so a homophone error
does not hide a threat) and by ``bench/screen_quality.py`` to measure how much
recall survives a recogniser. Chinese characters are replaced by another character
with the same toneless pinyin (再不还钱 -> 在不还前), drawn from a vocabulary of
ordinary characters so the errors look like a recogniser's, and a few characters
are dropped. English loses a few words and gets sound-alike swaps.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from review.screening.normalize import HAN

_EN_SOUNDALIKE = {
    "debt": "that", "arrest": "a rest", "jail": "gel", "sue": "see", "court": "caught", "police": "please",
    "collector": "collect her", "wage": "age", "your": "you're", "their": "there", "to": "too", "owe": "oh",
    "lawsuit": "law suit", "warrant": "war ant", "boss": "bus", "family": "fam lee", "pay": "play",
}


@lru_cache(maxsize=1)
def _syllables() -> dict[str, str]:
    from pypinyin.pinyin_dict import pinyin_dict

    out = {}
    for cp, readings in pinyin_dict.items():
        first = readings.split(",")[0]
        out[chr(cp)] = "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))
    return out


class AsrNoise:
    """Deterministic noise at a given substitution and deletion rate."""

    def __init__(self, vocabulary: Iterable[str], substitution: float = 0.12, deletion: float = 0.03,
                 seed: int = 0) -> None:
        syllables = _syllables()
        groups: dict[str, list[str]] = defaultdict(list)
        for ch in sorted({c for text in vocabulary for c in text if HAN.match(c)}):
            if ch in syllables:
                groups[syllables[ch]].append(ch)
        self._same_sound = {ch: [o for o in group if o != ch] for group in groups.values() for ch in group}
        self.substitution, self.deletion = substitution, deletion
        self._rng = random.Random(seed)

    def chinese(self, text: str) -> str:
        out = []
        for ch in text:
            if HAN.match(ch):
                roll = self._rng.random()
                if roll < self.deletion:
                    continue
                others = self._same_sound.get(ch)
                if others and roll < self.deletion + self.substitution:
                    ch = self._rng.choice(others)
            out.append(ch)
        return "".join(out)

    def english(self, text: str) -> str:
        out = []
        for word in text.split(" "):
            roll = self._rng.random()
            if roll < self.deletion:
                continue
            bare = word.strip(".,!?").lower()
            if bare in _EN_SOUNDALIKE and roll < self.deletion + self.substitution:
                word = _EN_SOUNDALIKE[bare]
            out.append(word)
        return " ".join(out)

    def __call__(self, text: str) -> str:
        return self.chinese(text) if HAN.search(text) else self.english(text)
