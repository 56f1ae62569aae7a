"""Phrase matching: one Aho-Corasick automaton over a whole call, plus context checks.

Every phrase of every rule of every pack goes into one automaton: English
phrases in their normalised form, Chinese phrases in their homophone form (one
code per toneless syllable). A call is normalised once and the automaton walks
it once. A hit on a Chinese phrase is exact when the written characters are the
phrase's; otherwise it is a homophone hit, which counts only for phrases of three
or more characters (two for required statements) when at least half of the
characters are the phrase's own, so 做牢的 matches 坐牢的 but a chance run of
same-sounding characters, or 出生 for 畜生, does not.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import ahocorasick

from review.screening.clauses import clause_start
from review.screening.normalize import (
    HAN,
    SEPARATOR,
    ZH_NEGATION_OPENERS,
    normalize,
    normalize_call,
    original_span,
    sound_of,
    to_homophones,
)
from review.screening.packs_registry import language_family
from review.screening.reported import reported_and_rejected
from review.screening.slips import one_slip, sound_pattern


class PhraseHit(NamedTuple):
    phrase: int  # phrase id given by PhraseMatcher.add
    segment: int
    start: int  # offsets in the segment's normalised text
    end: int
    homophone: bool


@dataclass
class CallText:
    """A call's segments in matching form."""

    raw: list[str]
    roles: list[str]
    starts: list[float]
    ends: list[float]
    cjk: bool
    norm: list[str] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # where each segment starts in the joined text
    joined: str = ""
    words: list[Any] = field(default_factory=list)  # each segment's word timings (or None)
    _sound: str | None = field(default=None, repr=False)

    @classmethod
    def from_segments(cls, segments: list[dict[str, object]], language: str | None = None) -> CallText:
        try:  # a valid transcript has every key: index them directly, it is the hot path
            raw = [s["text"] + "" for s in segments]  # type: ignore[operator]
            roles = [s["role"] + "" for s in segments]  # type: ignore[operator]
            starts = [s["start"] + 0.0 for s in segments]  # type: ignore[operator]
            ends = [s["end"] + 0.0 for s in segments]  # type: ignore[operator]
        except (KeyError, TypeError):  # a hand-made or partial transcript: fill the gaps
            raw = [str(s.get("text") or "") for s in segments]
            roles = [str(s.get("role") or "unknown") for s in segments]
            starts = [float(s.get("start") or 0.0) for s in segments]  # type: ignore[arg-type]
            ends = [float(s.get("end") or 0.0) for s in segments]  # type: ignore[arg-type]
        family = language_family(language)
        cjk = family == "zh" if family in ("zh", "en") else _looks_chinese(raw)
        call = cls(raw=raw, roles=roles, starts=starts, ends=ends, cjk=cjk,
                   words=[s.get("words") for s in segments])
        call.norm = normalize_call(raw, cjk)
        pos = 0
        for text in call.norm:
            call.offsets.append(pos)
            pos += len(text) + 1
        call.joined = SEPARATOR.join(call.norm)
        return call

    def segment_at(self, offset: int) -> int:
        return bisect_right(self.offsets, offset) - 1

    def sound(self) -> str:
        """``joined`` in the sound form (``normalize.sound_of``), made once per call: every regex
        rule's homophone pass reads it."""
        if self._sound is None:
            self._sound = sound_of(self.joined)
        return self._sound

    def slip_matches(self, pattern: re.Pattern[str], segment: int | None = None) -> Iterator[tuple[int, int, int]]:
        """(segment, start, end) in the normalised text of each match of ``pattern`` heard with one
        misheard character (``slips.one_slip``): matched in the sound form, confirmed in the written
        one. Within one ``segment``, or across the call; a match never spans two segments."""
        sound = sound_pattern(pattern.pattern)
        if sound is None:
            return
        heard, literals = sound
        if segment is None:
            found = heard.finditer(self.sound())
        else:
            found = heard.finditer(self.sound(), self.offsets[segment], self.offsets[segment] + len(self.norm[segment]))
        for m in found:
            if SEPARATOR in m.group(0) or m.end() == m.start():
                continue
            seg = self.segment_at(m.start()) if segment is None else segment
            start, end = m.start() - self.offsets[seg], m.end() - self.offsets[seg]
            if one_slip(pattern, self.norm[seg], self.raw[seg], start, end, literals):
                yield seg, start, end


def role_ok(wanted: str, role: str) -> bool:
    """Whether a segment said by ``role`` is one a rule for ``wanted`` listens to.

    Mono recordings give "unknown": every rule applies, better one finding too many than a miss."""
    return wanted == "either" or role == wanted or role == "unknown"


_LATIN_LETTER = re.compile("[A-Za-z]")
# a run of letters and digits: a whole Latin word (or number) where a Chinese text glues it to its neighbours
LATIN_RUN = re.compile("[a-z0-9]+")


# characters that say nothing of a phrase's meaning: 多了你 shares 了 and 你 with 剁了你, and that
# is no reason to hear a threat in 两万多了你晓得不
_FUNCTION_CHARS = frozenset("你我他她它们的了着过是在就要会把给被个这那也都还吗呢吧啊哈")


def sounds_like(form: str, written: str) -> bool:
    """A homophone hit: at least half the phrase's characters written as they are, one of them a
    content character (not 你, 了, 的 ...)."""
    shared = [a for a, b in zip(form, written, strict=False) if a == b]
    return len(shared) * 2 >= len(form) and any(ch not in _FUNCTION_CHARS for ch in shared)


def _looks_chinese(texts: list[str]) -> bool:
    """For a transcript of unknown language: mostly Han characters (a name in Han script inside
    English speech does not make it Chinese; one Han character stands for about four letters)."""
    sample = " ".join(texts[:40])
    han = len(HAN.findall(sample))
    return han > 0 and han * 4 >= len(_LATIN_LETTER.findall(sample))


def _phrase_form(phrase: str) -> tuple[str, bool]:
    """The normalised key of a phrase and whether it is a Chinese (glued) form."""
    if HAN.search(phrase):
        return normalize(phrase, True), True
    return normalize(phrase, False), False


def _utf8(text: str) -> str:
    """The text's UTF-8 bytes as a latin-1 string.

    pyahocorasick looks a node's children up one by one, so a root with hundreds of
    first characters (every Chinese phrase starts differently) costs hundreds of
    comparisons per input character. Over UTF-8 bytes the root has a handful of
    children (the lead bytes), which makes the walk about ten times faster.
    """
    return text.encode("utf-8").decode("latin-1")


def _chars(data: str) -> int:
    return len(data.encode("latin-1").decode("utf-8"))


class PhraseMatcher:
    """Collects phrases, then finds all of them in a call with one automaton pass.

    Chinese phrases are keyed by their homophone form only: the automaton walks the
    call's homophone form once and each hit is then checked against the characters
    actually written (an exact hit, a homophone hit if the rule allows those, or
    nothing). English phrases are keyed by their padded lower-case form.
    """

    def __init__(self) -> None:
        self._ids: dict[tuple[str, int], int] = {}
        self.forms: list[str] = []  # phrase id -> normalised form
        # key -> (phrase id, homophones allowed: 0 none, 1 those that sounds_like allows, 2 any)
        self._keys: dict[str, list[tuple[int, int]]] = {}
        self._automaton: ahocorasick.Automaton | None = None
        # Latin phrases as a Chinese call writes them: glued to the Han characters around them (TMD说了半天),
        # where the padded English key never matches; looked up run by run of letters and digits
        self._latin: dict[str, list[int]] = {}

    def add(self, phrase: str, homophones: bool = True, min_homophone_chars: int = 3, any_sound: bool = False) -> int:
        """Register a phrase; Chinese phrases of ``min_homophone_chars`` or more also match homophones.

        Three by default: a two-character phrase that keeps one of its characters is too often an
        ordinary word (出生 for 畜生, 月底能 for 低能); required statements pass 2 and ``any_sound``,
        where a homophone with no character kept (路因 for 录音) only keeps a notice that was given
        from looking missing.
        """
        form, cjk = _phrase_form(phrase)
        if not form.strip():
            raise ValueError(f"phrase {phrase!r} is empty once punctuation is removed")
        allowed = (2 if any_sound else 1) if homophones and cjk and len(HAN.findall(form)) >= min_homophone_chars else 0
        if (form, allowed) in self._ids:
            return self._ids[(form, allowed)]
        pid = len(self.forms)
        self._ids[(form, allowed)] = pid
        self.forms.append(form)
        self._keys.setdefault(to_homophones(form) if cjk else form, []).append((pid, allowed))
        if not cjk:
            self._latin.setdefault(form.replace(" ", ""), []).append(pid)  # a Chinese call keeps no spaces
        self._automaton = None
        return pid

    @property
    def keys(self) -> dict[str, list[tuple[int, int]]]:
        return self._keys

    def _build(self) -> ahocorasick.Automaton:
        automaton = ahocorasick.Automaton()
        for key, values in self._keys.items():
            automaton.add_word(_utf8(key), (len(_utf8(key)), len(key), tuple(values)))
        automaton.make_automaton()
        return automaton

    def candidates(self, text: str) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]:
        """(character offset, length, phrase entries) of every key found in ``text``."""
        if self._automaton is None:
            self._automaton = self._build()
        data = _utf8(text)
        found = []
        # The homophone form is three bytes a character (see normalize.homophone list) and plain
        # English one, so a byte offset divides into a character offset; anything else decodes.
        width = len(data) // len(text) if text and len(data) in (len(text), 3 * len(text)) else 0
        if width:
            for end_byte, (byte_len, char_len, values) in self._automaton.iter(data):
                found.append(((end_byte - byte_len + 1) // width, char_len, values))
            return found
        last_byte = last_char = 0
        for end_byte, (byte_len, char_len, values) in self._automaton.iter(data):
            start_byte = end_byte - byte_len + 1
            if start_byte >= last_byte:  # hits come in order: decode only the stretch since the last one
                start = last_char + _chars(data[last_byte:start_byte])
            else:
                start = _chars(data[:start_byte])
            last_byte, last_char = start_byte, start
            found.append((start, char_len, values))
        return found

    def find(self, call: CallText) -> list[PhraseHit]:
        if not self._keys or not call.joined:
            return []
        text = to_homophones(call.joined) if call.cjk else call.joined
        return self.verify(call, self.candidates(text)) + self._latin_in_chinese(call)

    def _latin_in_chinese(self, call: CallText) -> list[PhraseHit]:
        """Exact hits of the Latin phrases (and numbers: 12315) in a Chinese call, as whole runs of letters
        and digits (tmd in 说了tmd合着, not in atmdx)."""
        if not call.cjk or not self._latin:
            return []
        hits: list[PhraseHit] = []
        for m in LATIN_RUN.finditer(call.joined):
            pids = self._latin.get(m.group(0))
            if pids:
                seg = bisect_right(call.offsets, m.start()) - 1
                start = m.start() - call.offsets[seg]
                hits.extend(PhraseHit(pid, seg, start, start + len(m.group(0)), False) for pid in pids)
        return hits

    def find_fast(self, call: CallText) -> list[PhraseHit]:
        """``find`` in one loop over the automaton's output, for the common case where byte
        offsets divide into character offsets (no per-hit tuples in between)."""
        if not self._keys or not call.joined:
            return []
        text = to_homophones(call.joined) if call.cjk else call.joined
        data = _utf8(text)
        width = 3 if call.cjk else 1
        if len(data) != width * len(text):
            return self.verify(call, self.candidates(text)) + self._latin_in_chinese(call)
        if self._automaton is None:
            self._automaton = self._build()
        hits: list[PhraseHit] = []
        joined, forms, offsets = call.joined, self.forms, call.offsets
        new, add = tuple.__new__, hits.append  # namedtuple's own __new__ is a Python function: skip it
        for end_byte, (byte_len, length, values) in self._automaton.iter(data):
            start = (end_byte - byte_len + 1) // width
            written = joined[start:start + length]
            seg = bisect_right(offsets, start) - 1
            seg_start = start - offsets[seg]
            for pid, allowed in values:
                form = forms[pid]
                if written == form:
                    add(new(PhraseHit, (pid, seg, seg_start, seg_start + length, False)))
                elif allowed == 2 or allowed and sounds_like(form, written):
                    add(new(PhraseHit, (pid, seg, seg_start, seg_start + length, True)))
        return hits + self._latin_in_chinese(call)

    def verify(self, call: CallText,
               candidates: list[tuple[int, int, tuple[tuple[int, int], ...]]]) -> list[PhraseHit]:
        """Keep the exact hits and the homophone hits that ``sounds_like`` the phrase."""
        hits: list[PhraseHit] = []
        joined, forms, offsets = call.joined, self.forms, call.offsets
        new, add = tuple.__new__, hits.append  # namedtuple's own __new__ is a Python function: skip it
        for start, length, values in candidates:
            written = joined[start:start + length]
            seg = bisect_right(offsets, start) - 1
            seg_start = start - offsets[seg]
            for pid, allowed in values:
                form = forms[pid]
                if written == form:
                    add(new(PhraseHit, (pid, seg, seg_start, seg_start + length, False)))
                elif allowed == 2 or allowed and sounds_like(form, written):
                    add(new(PhraseHit, (pid, seg, seg_start, seg_start + length, True)))
        return hits


# --- context: negation, hedging, quotes -------------------------------------------------

# A Chinese negation governs a hit when it ends at most three characters before it and no
# consequence clause (就, 则, 要) starts in between: 我们不会联系你家人 vs 你不还钱就联系你家人.
# A 不 that belongs to the debtor's condition (不还, 不然, 不处理) negates nothing.
# the negation words, with their dialect colouring: Wu 勿会/勿要/勿, Cantonese 唔会/唔好/唔/冇, Sichuanese and
# southwestern 莫要/莫, northern 甭 (negated_in_clause's pause check reads the same list)
_ZH_NEGATORS = (r"无需|无须|谁也不|没有人|没人|不会|不是|不要|不用|不能|没有|没|别|绝不|从不|从来没|并不|并没|不可能|不|未|"
                r"勿会|勿要|勿|唔会|唔好|唔要|唔|冇|莫要|莫|甭")
_ZH_NEGATION = re.compile(
    r"(?:(?:" + _ZH_NEGATORS + r")[^就则要]{0,3}"
    # a 把 (or written 将) sentence puts the object between the negation and the verb: 我们不会把您的欠款情况告诉您的同事
    r"|(?:不会|不要|别|没有|没|不|勿会|唔会)(?:把|将)[^就则要]{0,9})$"
)
# A 不 of the debtor's condition (再不还, 不处理, 不接电话), of a capability (还不了, 拿不出) or of a
# connective (不管, 不然) negates nothing: 明天再不还我找人整死你 is a threat. 不回 is the debtor not answering
# only before what goes unanswered (不回电话): 不回有人抓您 is a recogniser's 不会
_ZH_NOT_NEGATION = re.compile(
    r"(?:不然|要不|否则|不还|不交|不付|不给|不配合|不接|不处理|不理|不按时|不赶紧|不马上|不及时|不主动|不想办法|没钱|没有钱|"
    r"不回(?=电话|消息|信息|微信|短信|复|话|家|老家)|不联系|不肯|不想还|不打算|不吭声|不说话|不露面|不出面|不上心|不当回事|不识相|不识抬举|不听|不信|不服|不老实|"
    r"不管|不论|不光|不但|不仅|不只|不得不|不如|不要脸|不是人|不是东西|"
    r"[\u4e00-\u9fff]不(?:了|起|上(?!门)|到|完|动|下|出|清|过|住|够)|没用|没出息|没脸|没皮|没良心|没完|"
    r"不够|勿还|唔还|冇还|莫还|勿然|唔系|冇钱|"
    # 看我不撕烂你的嘴 / 看老子不收拾你: the rhetorical 不 of "see if I don't", a promise, not a denial
    r"看(?:我|老子|俺|我们|咱|我哋)(?:今天|这回|这次|回头)?(?:要是)?不|"
    # 不把钱打过来: the debtor's condition said with 把
    r"(?:不|没)把(?:这笔|欠的|欠)?(?:钱|款|账)\S{0,3})"
    # ... unless a negation of its own comes after it: in 欠钱不还 不会判刑的 the 不会 negates
    r"[^就则" + ZH_NEGATION_OPENERS + r"]{0,3}$"
)
# 我没说你会坐牢 / 不是说要起诉你: a denied statement, whatever follows it
# 不会因为还不上钱就抓人: the 就 belongs to the denied cause, not to a threat
_ZH_DENIED_CAUSE = r"(?:不会|并不会|不可能|不是)因为\S{1,8}?就?\S{0,3}$"
_ZH_DENIED_SPEECH = re.compile(r"(?:不是说|没说|没有说|并没有说|从没说|从来没说|不是讲|没讲)[^就则]{0,6}$"
                               r"|" + _ZH_DENIED_CAUSE +
                               # 没有任何规定说…: no law says so, whatever the clause then holds
                               r"|(?:没有|并没有|没)(?:任何|哪条|1条)?(?:规定|法律|条文|政策)(?:说|讲|规定)\S{0,12}$")
# 信不信 / 会不会: a question, not a denial; but 不会，不会坐牢 is a stutter of the denial
_ZH_A_NOT_A = re.compile(r"(?<!不)(.)不\1[^就则]{0,3}$")
# the greedy lead finds the negation nearest the hit: in "nobody's coming tonight, and nobody is going to
# arrest you" the second "nobody" negates, the first is too far away
_EN_NEGATION = re.compile(
    r".*\b(?:not|never|no one|nobody|noone|nobodys|noones|dont|doesnt|didnt|wont|cant|cannot|wouldnt|isnt|arent|wasnt|werent|"
    r"neither|nor|without)((?: [a-z0-9]+){0,7}) $"
)
# "no" alone is left out on purpose: "no choice, you'll go to jail" negates nothing
_EN_NEW_CLAUSE = {"we", "i", "they", "ill", "well", "theyll", "youll", "youre", "he", "she", "hell", "shell", "if",
                  "or", "otherwise", "unless", "then", "so", "but", "and", "because", "pay", "paying"}
# "I never said we would sue": a denied or reported statement, whatever clause follows
_EN_DENIED_SPEECH = re.compile(r"\b(?:never said|didnt say|not saying|never say|not say|never told you|didnt tell you"
                               r"|didnt mean|(?:nobody|no one|noone|nobodys)(?: is)? (?:saying|said|says))\b"
                               r"(?: [a-z0-9]+){0,4} $")
_QUOTE_PAIRS = (("“", "”"), ("「", "」"), ("『", "』"), ("‘", "’"))
_ZH_REPORTED = re.compile(r"(?:所谓|比如说|例如)$")


# A recogniser's slip in the negation itself (我们补会联系您的家人, 也不回有人抓您, 不会因尾欠钱坐牢) must
# not turn a reassurance into a threat: the negations of two characters or more are also read in the
# sound form. 不, 没 and 别 alone are not: too many ordinary characters sound like them (部, 每).
_ZH_SOUND_NEGATION = re.compile(sound_of(
    "(?:" + "|".join(w for w in _ZH_NEGATORS.split("|") if len(w) >= 2) + r")[^就则要]{0,3}$"))
_ZH_SOUND_DENIED = re.compile(sound_of(_ZH_DENIED_CAUSE))


def is_negated(norm_segment: str, start: int, cjk: bool) -> bool:
    """True when the text just before ``start`` negates or hedges the hit."""
    if cjk:
        before = norm_segment[max(0, start - 12):start]
        if _ZH_DENIED_SPEECH.search(before):
            return True
        if _ZH_NOT_NEGATION.search(before) or _ZH_A_NOT_A.search(before):
            return False
        if _ZH_NEGATION.search(before) or _ZH_REPORTED.search(before):
            return True
        heard = sound_of(before)
        return bool(_ZH_SOUND_NEGATION.search(heard) or _ZH_SOUND_DENIED.search(heard))
    before = " " + " ".join(norm_segment[:start].split()[-10:]) + " "
    if _EN_DENIED_SPEECH.search(before):
        return True
    m = _EN_NEGATION.search(before)
    if not m:
        return False
    gap = m.group(1).split()
    if gap[:1] == ["you"]:  # "can't you borrow...", "won't you pay...": a question that presses
        return False
    if gap[-1:] == ["or"] and len(gap) > 1:
        # "you will not be arrested or go to jail", "don't take out a cash advance or borrow from an
        # app": the negation covers both verbs, whatever the first one's object
        gap = gap[:-1]
    elif len(gap) > 3:
        return False
    return not any(word in _EN_NEW_CLAUSE for word in gap)


_ANY_QUOTE = re.compile("[\"＂“”「」『』‘’]")


def is_quoted(raw_segment: str, span: tuple[int, int]) -> bool:
    """True when the hit sits between quotation marks in the segment as written."""
    start, end = span
    head, tail = raw_segment[:start], raw_segment[end:]
    for opening, closing in _QUOTE_PAIRS:
        if head.rfind(opening) > head.rfind(closing) and closing in tail:
            return True
    for mark in ('"', "＂"):
        if head.count(mark) % 2 == 1 and mark in tail:
            return True
    return False


def evidence_span(call: CallText, hit: PhraseHit) -> tuple[int, int]:
    return original_span(call.raw[hit.segment], hit.start, hit.end, call.cjk)


def word_times(call: CallText, segment: int, span: tuple[int, int]) -> tuple[float, float] | None:
    """Start and end seconds of the words covering ``span`` of the segment's raw text, when the
    transcript has word timings that spell out the segment's text; None otherwise."""
    words = call.words[segment] if segment < len(call.words) else None
    if not words:
        return None
    try:
        pieces = [(str(w["word"]), float(w["start"]), float(w["end"])) for w in words]
    except (KeyError, TypeError, ValueError):
        return None
    spelled = "".join(p[0] for p in pieces)
    raw = call.raw[segment]
    if spelled.strip() != raw.strip():
        return None
    shift = (len(spelled) - len(spelled.lstrip())) - (len(raw) - len(raw.lstrip()))
    first, last = span[0] + shift, span[1] + shift
    begin = end = None
    pos = 0
    for text, w_start, w_end in pieces:
        w_from, pos = pos, pos + len(text)
        if begin is None and pos > first:
            begin = w_start
        if w_from < last:
            end = w_end
    return (begin, end) if begin is not None and end is not None else None


_HAN_PAUSE = re.compile(r"(?<=[\u4e00-\u9fff]) +(?=[\u4e00-\u9fff]|$)")
_BARE_NEGATION = re.compile(r"(?:" + _ZH_NEGATORS + r")(?:会|再|去|敢|用|要|想|能|可能)?$")


def negated_in_clause(raw: str, span: tuple[int, int], cjk: bool) -> bool:
    """Whether a negation in the hit's own clause, just before it, governs the hit.

    Only the words from the start of the clause (a comma, a full stop, a new conjunction) up
    to the hit are read: a negation in another clause negates nothing here.
    """
    before = raw[clause_start(raw, span[0]):span[0]]
    if not before.strip():
        return False
    norm = normalize(before, cjk)
    if not is_negated(norm, len(norm), cjk):
        return False
    if cjk:
        # a recogniser's pause after a finished negated phrase ends it: in 我也不意外 像您这么没信用的人
        # the 不 is done with 意外; in 我们不会 联系您家人 the negation still waits for its verb
        pauses = list(_HAN_PAUSE.finditer(before))
        if pauses:
            head = normalize(before[:pauses[-1].start()], cjk)
            tail = normalize(before[pauses[-1].end():], cjk)
            if not is_negated(tail, len(tail), cjk) and not _BARE_NEGATION.search(head):
                return False
    return True


def hit_counts(call: CallText, hit: PhraseHit, negation: bool) -> bool:
    """Whether a hit stands: not negated, hedged or quoted in its clause, nor somebody else's words
    reported to be rejected (when the rule asks)."""
    if not negation:
        return True
    raw = call.raw[hit.segment]
    # the whole-segment check is cheap and rules out most hits; the clause check has the last word
    if is_negated(call.norm[hit.segment], hit.start, call.cjk) \
            and negated_in_clause(raw, evidence_span(call, hit), call.cjk):
        return False
    if _ANY_QUOTE.search(raw) and is_quoted(raw, evidence_span(call, hit)):
        return False
    return not reported_and_rejected(call.norm[hit.segment], hit.start, hit.end, call.cjk)
