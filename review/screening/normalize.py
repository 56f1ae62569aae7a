"""Text normalisation for matching noisy ASR output.

Both the rule phrases and the transcript text go through the same steps, so a
phrase matches whatever way the recogniser wrote it: Traditional characters
(folded to Simplified with OpenCC), full-width letters, spaces between
characters, missing or stray punctuation, and Chinese numerals (folded to
Arabic digits). English keeps single spaces between words and is padded with
spaces so phrases match on word boundaries.

The fast path (:func:`normalize`) is a handful of C-level string operations per
segment; :func:`normalize_with_map` does the same in Python while keeping, for
every output character, the index of the input character it came from. It is
only run for segments that hold a hit, to cut the evidence out of the original
text and to look for quotes around it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_DIGITS = {"零": "0", "〇": "0", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
           "六": "6", "七": "7", "八": "8", "九": "9", "壹": "1", "贰": "2", "叁": "3", "肆": "4",
           "柒": "7", "捌": "8", "玖": "9"}
# 陆 and 伍 are left as characters: a recogniser writes 六 or 五 for a spoken number, while 陆 and
# 伍 are surnames and words (大陆, 陆续, 队伍); as digits they broke 我姓陆 and 陆音 (录音 misheard).
_UNITS = {"十": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_APOSTROPHES = "'’‘`´"

# a run of Chinese numerals that carries a unit (二十四, 一百零五, 3万): parsed to its value.
# A run must start with a digit or 十 so that words such as 万一 or 千万 stay as they are.
# The character table has already turned 三 into 3 and 佰 into 百, so the pattern is small.
_U = "十百千万亿"
UNIT_NUMERAL = re.compile(f"(?:[0-9]+[{_U}]|十)[0-9{_U}]*")
_CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_UNIT = re.compile(f"[{_U}]")
_SPACES = re.compile(r"\s+")
# the characters a Chinese negation opens with, dialect forms included (Wu 勿, Cantonese 唔 and 冇,
# southwestern 莫, northern 甭): where one follows a hit or a condition, a negation of its own may stand there
ZH_NEGATION_OPENERS = "不没别未勿唔冇莫甭"
HAN = re.compile(f"[{_CJK_CLASS}]")


SEPARATOR = "\x1f"  # joins a call's segments; no phrase and no normal text contains it


@lru_cache(maxsize=1)
def _base_table() -> dict[int, str | None]:
    """t2s, full-width, case and numerals; punctuation, symbols and spaces become a space."""
    import opencc

    table: dict[int, str | None] = {}
    chars = [chr(cp) for lo, hi in _CJK_RANGES for cp in range(lo, hi + 1)]
    # one OpenCC call for the whole block instead of one per character
    simplified = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(simplified) == len(chars):
        for src, dst in zip(chars, simplified, strict=True):
            if src != dst and len(dst) == 1:
                table[ord(src)] = dst
    for cp in range(0xFF01, 0xFF5F):  # full-width ASCII
        ch = chr(cp - 0xFEE0)
        table[cp] = ch.lower() if ch.isalnum() else " "
    for cp in range(ord("A"), ord("Z") + 1):
        table[cp] = chr(cp).lower()
    for ch, digit in _DIGITS.items():
        table[ord(ch)] = digit
    # 拾 is left alone: 收拾 and 拾掇 are everyday words, and 收10 broke phrases that hold them
    for ch, unit in (("佰", "百"), ("仟", "千")):
        table[ord(ch)] = unit
    table[ord("您")] = "你"  # the polite "you" changes nothing a rule looks for
    table[ord("著")] = "着"  # OpenCC keeps 著 (as in 著名); Traditional 等著 means 等着
    for cp in list(range(0x3000)) + list(range(0x3000, 0x3040)) + list(range(0xFE30, 0xFE70)):
        ch = chr(cp)
        if cp not in table and not ch.isalnum() and unicodedata.category(ch)[0] in "PSZC":
            table[cp] = " "
    for ch in _APOSTROPHES:  # don't -> dont, so contractions stay one word
        table[ord(ch)] = None
    table[ord(SEPARATOR)] = SEPARATOR
    for cp in range(0x3000):  # identity entries: a lookup that misses is slow in str.translate
        table.setdefault(cp, chr(cp))
    return table


@lru_cache(maxsize=1)
def cjk_table() -> dict[int, str | None]:
    """For Chinese text: punctuation and spaces vanish, so 坐 牢 and 坐，牢 read 坐牢."""
    table = {cp: (None if out == " " else out) for cp, out in _base_table().items()} | {ord(" "): None}
    for lo, hi in _CJK_RANGES:  # identity entries: a lookup that misses is slow in str.translate
        for cp in range(lo, hi + 1):
            table.setdefault(cp, chr(cp))
    return table


def latin_table() -> dict[int, str | None]:
    return _base_table()


def _as_list(table: dict[int, str | None]) -> list[str | None]:
    """A BMP-wide list version of a table: str.translate indexes a list about twice as fast
    as it hashes into a dict. Characters past the BMP fall off the end and stay as they are."""
    out: list[str | None] = [chr(cp) for cp in range(0x10000)]
    for cp, value in table.items():
        if cp < 0x10000:
            out[cp] = value
    return out


@lru_cache(maxsize=1)
def _cjk_list() -> list[str | None]:
    return _as_list(cjk_table())


@lru_cache(maxsize=1)
def _latin_list() -> list[str | None]:
    return _as_list(latin_table())




def _numeral_value(run: str) -> str:
    total, section, digits = 0, 0, ""
    for ch in run:
        if ch.isdigit() and ch.isascii():
            digits += ch
        elif ch in _UNITS:
            section += (int(digits) if digits else 1) * _UNITS[ch]
            digits = ""
        elif ch in _BIG_UNITS:
            section += int(digits) if digits else 0
            total += (section or 1) * _BIG_UNITS[ch]
            section, digits = 0, ""
    return str(total + section + (int(digits) if digits else 0))


def _unit_numeral_sub(match: re.Match[str]) -> str:
    return _numeral_value(match.group(0))


# spoken English as a recogniser writes it: "you're gonna go to jail" holds the phrase "go to jail"
_EN_INFORMAL = re.compile(r"(?<![a-z0-9])(gonna|wanna|gotta|outta|gimme)(?![a-z0-9])")
_EN_FORMAL = {"gonna": "going to", "wanna": "want to", "gotta": "got to", "outta": "out of", "gimme": "give me"}


def _formal(match: re.Match[str]) -> str:
    return _EN_FORMAL[match.group(1)]


def _latin(words: str) -> str:
    return _EN_INFORMAL.sub(_formal, words)


def normalize(text: str, cjk: bool) -> str:
    """The matching form of a text: CJK glued together, or Latin words padded with spaces."""
    if cjk:
        out = text.translate(_cjk_list())
        if _HAS_UNIT.search(out):
            out = UNIT_NUMERAL.sub(_unit_numeral_sub, out)
        return out
    return _latin(" " + " ".join(text.translate(_latin_list()).split()) + " ")


def normalize_call(texts: list[str], cjk: bool) -> list[str]:
    """Normalise every segment of a call; for Chinese in one pass over the joined text."""
    joined = SEPARATOR.join(texts)
    if not cjk:
        # str.split() collapses the spaces in C; the translate table has already turned every
        # control character into a space, so \x00 can only be the mark put in here
        words = joined.translate(_latin_list()).replace(SEPARATOR, " \x00 ").split()
        out = _latin(" " + " ".join(words) + " ").split("\x00")
        if len(out) == len(texts):
            return out
        return [normalize(t.replace(SEPARATOR, " "), False) for t in texts]
    out = normalize(joined, True).split(SEPARATOR)
    if len(out) != len(texts):  # a segment held the separator itself: do them one by one
        return [normalize(t.replace(SEPARATOR, " "), True) for t in texts]
    return out


def _sub_with_map(
    pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str], text: str, index: list[int]
) -> tuple[str, list[int]]:
    out: list[str] = []
    out_index: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        out.append(text[pos:m.start()])
        out_index.extend(index[pos:m.start()])
        piece = repl(m)
        out.append(piece)
        # spread the piece over the text it replaced, so a span ending inside it ends there too
        last = max(m.start(), m.end() - 1)
        out_index.extend(index[min(m.start() + i, last)] for i in range(len(piece)))
        pos = m.end()
    out.append(text[pos:])
    out_index.extend(index[pos:])
    return "".join(out), out_index


def normalize_with_map(text: str, cjk: bool) -> tuple[str, list[int]]:
    """Like :func:`normalize`, plus the input index of every output character (-1: padding)."""
    table = cjk_table() if cjk else latin_table()
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        mapped = table.get(ord(ch), ch)
        if mapped is None:
            continue
        for piece in mapped:
            chars.append(piece)
            index.append(i)
    out = "".join(chars)
    if cjk:
        return _sub_with_map(UNIT_NUMERAL, _unit_numeral_sub, out, index)
    out, index = _sub_with_map(_SPACES, lambda m: " ", out, index)
    lead = len(out) - len(out.lstrip())
    out = out.strip()
    return _sub_with_map(_EN_INFORMAL, _formal, " " + out + " ", [-1] + index[lead:lead + len(out)] + [-1])


def original_span(text: str, start: int, end: int, cjk: bool) -> tuple[int, int]:
    """Map a [start, end) span of ``normalize(text, cjk)`` back onto ``text``."""
    norm, index = normalize_with_map(text, cjk)
    # the padding spaces of an English phrase may stand on a quote mark: leave them out
    inside = [index[i] for i in range(start, min(end, len(index))) if index[i] >= 0 and norm[i] != " "]
    if not inside:
        return 0, len(text)
    return inside[0], inside[-1] + 1


# --- pinyin -------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def homophone_table() -> dict[int, str]:
    """Every Han character -> one private-use code per toneless syllable.

    坐, 做 and 作 all become the code of ``zuo``, so a homophone matches character
    for character and a hit's offsets are the same in both forms.
    """
    from pypinyin.pinyin_dict import pinyin_dict

    codes: dict[str, str] = {}
    table: dict[int, str] = {}
    for cp, readings in pinyin_dict.items():
        first = readings.split(",")[0]
        plain = "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))
        syllable = plain.replace("ü", "v")
        # codes in the BMP private-use area keep the text two bytes a character
        table[cp] = codes.setdefault(syllable, chr(0xE000 + len(codes)))
    return table


_HOMOPHONE_SEPARATOR = "\uf8ff"
_OTHER = "\ufffd"


@lru_cache(maxsize=1)
def _homophone_list() -> list[str | None]:
    """The homophone table over the whole BMP, with every character below U+0800 (one or two
    bytes in UTF-8) given a three-byte stand-in: ASCII letters and digits their full-width
    forms, the segment separator a private-use mark, the rest U+FFFD. Every BMP character of
    the homophone form is then three UTF-8 bytes, which PhraseMatcher uses to turn byte
    offsets into character offsets by division."""
    table = _as_list(dict(homophone_table()))
    for cp in range(0x800):
        ch = chr(cp)
        if ch.isascii() and ch.isalnum():
            table[cp] = chr(cp + 0xFEE0)
        else:
            table[cp] = _OTHER
    table[ord(SEPARATOR)] = _HOMOPHONE_SEPARATOR
    return table


def to_homophones(normalized: str) -> str:
    """``normalized`` with each Han character replaced by its syllable code (same length)."""
    return normalized.translate(_homophone_list())


@lru_cache(maxsize=1)
def _sound_list() -> list[str | None]:
    """Han code point -> the lowest code point of the same syllable (the main CJK block first)."""
    first: dict[str, int] = {}
    # prefer the main CJK block: every index and font knows it
    for cp, code in sorted(homophone_table().items(), key=lambda kv: (kv[0] < 0x4E00, kv[0])):
        first.setdefault(code, cp)
    return _as_list({cp: chr(first[code]) for cp, code in homophone_table().items()})


def sound_of(normalized: str) -> str:
    """A normalised text with each Han character in its syllable's representative form (same
    length, everything else as it is): 砸 and 杂 read alike. The search index stores it, and a
    regex rule's pattern, put in the same form, reads it for homophone hits."""
    return normalized.translate(_sound_list())
