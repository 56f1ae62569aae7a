"""Hashed n-gram features of one utterance (and of the turn before it).

Chinese is read three ways: its characters (1-3 grams), its sound (2-4 grams of the
toneless-pinyin form, so 在不还前 reads like 再不还钱) and, for the previous turn,
character bigrams. English is read as words (1-2 grams) and as letters inside words
(3-4 grams, so "arrested" shares with "arrest"). Each family is hashed into its own
stretch of one ``2**BITS`` space with CRC-32 (stable across processes and machines,
unlike ``hash``), counted sublinearly and scaled to unit length.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter

import numpy as np

from review.screening.normalize import HAN, normalize, to_homophones

# English words that say how long or how joined-up a sentence is, not what it says: as single words
# the heads learned them as signs of a violation (the corpus's threats run on with "and" and "so"), so
# a long friendly turn about the agent's own family scored as a threat. They stay inside word pairs
# ("or else", "and then") and the personal words (you, your, my) stay.
_EN_FILLER = frozenset("""a an and the or so but to of in on at for with by from as is are was were be been it its
that this these those there then than just also very really about up out""".split())
BITS = 17
SIZE = 1 << BITS
_INDEX: dict[str, int] = {}


def _grams(text: str, low: int, high: int) -> list[str]:
    return [text[i:i + n] for n in range(low, high + 1) for i in range(len(text) - n + 1)]


def _family(counts: Counter[str], tag: str, out: dict[int, float]) -> None:
    if not counts:
        return
    weights = {g: 1.0 + math.log(c) for g, c in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    for gram, weight in weights.items():
        key = f"{tag}\x00{gram}"
        index = _INDEX.get(key)
        if index is None:
            index = zlib.crc32(key.encode()) & (SIZE - 1)
            if len(_INDEX) < 500_000:  # n-grams repeat across calls; a bounded memo of their buckets
                _INDEX[key] = index
        out[index] = out.get(index, 0.0) + weight / norm


def ngram_features(text: str, context: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Sparse features as (indices, values), indices unique and sorted."""
    out: dict[int, float] = {}
    if HAN.search(text):
        norm = normalize(text, True)
        _family(Counter(_grams(norm, 1, 3)), "c", out)
        _family(Counter(_grams(to_homophones(norm), 2, 4)), "h", out)
    else:
        words = normalize(text, False).split()
        content = [w for w in words if w not in _EN_FILLER]
        _family(Counter(content + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]), "w", out)
        _family(Counter(g for w in content for g in _grams(f"<{w}>", 3, 4)), "l", out)
    if context:
        if HAN.search(context):
            _family(Counter(_grams(normalize(context, True), 2, 2)), "x", out)
        else:
            _family(Counter(normalize(context, False).split()), "y", out)
    indices = np.fromiter(sorted(out), dtype=np.int64, count=len(out))
    values = np.fromiter((out[i] for i in indices.tolist()), dtype=np.float32, count=len(out))
    return indices, values
