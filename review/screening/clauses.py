"""Clauses and sentences of a segment as written.

Matching works on normalised text with the punctuation gone, but two things need
the punctuation back: a negation governs only its own clause (``钱都还不了，你个穷鬼``
is an insult whatever came before the comma), and the semantic stage scores a
turn sentence by sentence so that a finding cites the sentence that was said,
not the whole turn. Both read the raw segment text through this module.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from review.screening.normalize import HAN

# A comma or a full stop ends a clause; so does a conjunction that starts a new one when a
# recogniser left the punctuation out (ASR output often has none). A full stop between
# digits (3.5) is a decimal point, not a break.
_CLAUSE_BREAK = re.compile(
    r"[，,。！？!?；;：:、\n…～~—]+|(?<![0-9])\.(?![0-9])|\s{2,}"
    r"|(?=但是|可是|不过|然后|所以|否则|要不然|不然的话)"
    r"|\b(?=but |so |otherwise |because |and then )",
    re.IGNORECASE,
)
# for the semantic stage's clauses only: a recogniser writes a pause in Chinese as a space, and a
# clause read apart there (您这学历估计也就认识几个字) says what the run-on around it hides. Negation
# keeps the plain breaks: 我们 不会 联系你家人 is one clause.
_PAUSE_BREAK = re.compile(_CLAUSE_BREAK.pattern + r"|(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[。！？!?；;\n…]+|(?<![0-9A-Z])\.(?![0-9])")
# a long run-on turn without any punctuation is cut at clause-like words, then at a length
_LONG = 48
_LATIN_FACTOR = 2


class Span(NamedTuple):
    start: int
    end: int


def clause_start(raw: str, position: int) -> int:
    """Where the clause holding ``raw[position]`` starts."""
    start = 0
    for m in _CLAUSE_BREAK.finditer(raw, 0, position):
        if m.end() <= position:
            start = m.end()
    return start


def _split(raw: str, pattern: re.Pattern[str]) -> list[Span]:
    spans, pos = [], 0
    for m in pattern.finditer(raw):
        if m.start() > pos:
            spans.append(Span(pos, m.start()))
        pos = max(pos, m.end())
    if pos < len(raw):
        spans.append(Span(pos, len(raw)))
    return [_strip(raw, s) for s in spans if raw[s.start:s.end].strip()]


def _strip(raw: str, span: Span) -> Span:
    text = raw[span.start:span.end]
    lead = len(text) - len(text.lstrip())
    return Span(span.start + lead, span.start + len(text.rstrip()))


def sentences(raw: str) -> list[Span]:
    """The sentences of a segment, as spans of ``raw``; a very long one is cut into clauses
    of at most about ``_LONG`` characters so one embedding does not average a whole speech."""
    return [piece for sentence in whole_sentences(raw) for piece in sentence_pieces(raw, sentence)]


def whole_sentences(raw: str) -> list[Span]:
    """The sentences of a segment, uncut (``sentences`` cuts the long ones into pieces)."""
    return _split(raw, _SENTENCE_BREAK)


def sentence_pieces(raw: str, sentence: Span) -> list[Span]:
    """One sentence of ``raw`` as ``sentences`` reads it: whole, or cut at clause breaks when very long."""
    # English says in about twice the characters what Chinese says: a 48-character English piece is
    # a fragment ("is a hardship plan") that no head can judge
    longest = _LONG if HAN.search(raw) else _LONG * _LATIN_FACTOR
    if sentence.end - sentence.start <= longest:
        return [sentence] if sentence.end > sentence.start else []
    out: list[Span] = []
    piece_start = sentence.start
    last_end = sentence.start
    for clause in _split(raw[sentence.start:sentence.end], _CLAUSE_BREAK):
        c_start, c_end = sentence.start + clause.start, sentence.start + clause.end
        if c_end - piece_start > longest and last_end > piece_start:
            out.append(_strip(raw, Span(piece_start, last_end)))
            piece_start = c_start
        last_end = c_end
    out.append(_strip(raw, Span(piece_start, last_end)))
    return [s for s in out if s.end > s.start]


def clauses(raw: str) -> list[Span]:
    """The clauses of a text (between commas, full stops and clause-starting conjunctions)."""
    return _split(raw, _CLAUSE_BREAK)


def pause_clauses(raw: str) -> list[Span]:
    """``clauses``, also cut where a Chinese recogniser wrote a pause as a space."""
    return _split(raw, _PAUSE_BREAK)
