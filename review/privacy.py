"""Personal data in transcripts: find phone, ID-card, bank-card and US social security numbers and
e-mail addresses, and mask them.

Callers read numbers out digit by digit, and the recogniser writes them as
Arabic digits, full-width digits, Chinese numerals (一三八…, 幺 for one,
两 for two) or English words, often mixed and spaced. A number is a chain of
such digit tokens with at most three separator characters between them (spaces,
dashes, dots, brackets: "(555) 123-4567"). North American ten-digit numbers, and
nine-digit SSNs written 123-45-6789 or said after "social security", are found too;
an e-mail address keeps its first character and its domain.

Masking keeps the text the same length (each hidden token becomes as many
``*`` as it had characters), so character offsets computed on the original
text, such as a finding's highlighted evidence, still line up.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

_CJK_DIGITS = {
    "零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
    "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
    "壹": "1", "贰": "2", "叁": "3", "肆": "4", "伍": "5", "陆": "6", "柒": "7", "捌": "8", "玖": "9",
}
_WORD_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
                "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_WORDS = "|".join(_WORD_DIGITS)
_TOKEN = re.compile(
    r"(?P<rep>\b(?:double|triple)[ -](?:" + _WORDS + r")\b)"  # "double five" is 55
    r"|(?P<word>\b(?:" + _WORDS + r")\b)"
    r"|(?P<char>[0-9０-９" + "".join(_CJK_DIGITS) + r"])"
    r"|(?P<x>[Xx×Ｘ])",
    re.IGNORECASE,
)
# between two digits of one number: spaces, dashes, commas, dots, and the brackets of "(555) 123-4567"
_SEPARATOR = re.compile(r"^[ \t\-–—,，.()]{0,3}$")
_PHONE_CONTEXT = re.compile(r"(电话|手机|号码|座机|打给|联系|分机|phone|call|number|mobile)", re.IGNORECASE)
_SSN_CONTEXT = re.compile(r"(social|security|ssn|ss#|taxpayer|itin)", re.IGNORECASE)
_SSN_LAYOUT = re.compile(r"^\d{3}[ -]\d{2}[ -]\d{4}$")
_SPOKEN_EMAIL = re.compile(
    r"\b([a-z0-9]+(?:\s+(?:dot|underscore|dash)\s+[a-z0-9]+)*)\s+at\s+"
    r"(?:[a-z0-9]+\s+dot\s+)+(?:com|net|org|edu|gov|io|co|uk|us|ca|cn|info|biz)\b", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9][A-Za-z0-9._%+-]*)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
MASK = "*"


@dataclass(frozen=True)
class PiiSpan:
    kind: str  # phone | id_card | bank_card | ssn | email | number
    start: int  # character offsets in the text, end exclusive
    end: int
    digits: str  # the number as Arabic digits (X for an ID card's check character)
    tokens: tuple[tuple[int, int], ...]  # each digit token's span, for masking


def _digit_of(token: str) -> str:
    times, _, word = token.lower().replace("-", " ").partition(" ")
    if word and times in ("double", "triple"):
        return _WORD_DIGITS[word] * (2 if times == "double" else 3)
    if token in _CJK_DIGITS:
        return _CJK_DIGITS[token]
    if "０" <= token <= "９":
        return chr(ord(token) - ord("０") + ord("0"))
    return _WORD_DIGITS.get(token.lower(), token)


def id_card_valid(number: str) -> bool:
    """GB 11643 check character of an 18-character resident ID number."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for i, d in enumerate(reversed(number)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _plausible_birth(number: str, offset: int, year_digits: int) -> bool:
    part = number[offset:offset + year_digits + 4]
    if len(part) != year_digits + 4 or not part.isdigit():
        return False
    month, day = int(part[year_digits:year_digits + 2]), int(part[year_digits + 2:])
    return 1 <= month <= 12 and 1 <= day <= 31


def ssn_valid(number: str) -> bool:
    """The shape the SSA issues: no area 000, 666 or 9xx, no group 00, no serial 0000."""
    return (len(number) == 9 and number.isdigit() and number[:3] not in ("000", "666") and number[0] != "9"
            and number[3:5] != "00" and number[5:] != "0000")


def _classify(digits: str, context: str, layout: str = "") -> str | None:
    n = len(digits)
    if n == 18 and (id_card_valid(digits) or (digits.endswith("X") and _plausible_birth(digits, 6, 4))):
        return "id_card"
    if n == 15 and _plausible_birth(digits, 6, 2) and digits[0] != "0":
        return "id_card"
    if n == 11 and digits[0] == "1" and digits[1] in "3456789":
        return "phone"
    if n in (13, 15) and digits.startswith(("86", "0086")) and digits[-11] == "1":
        return "phone"
    if 16 <= n <= 19 and luhn_valid(digits):
        return "bank_card"
    if 10 <= n <= 12 and digits[0] == "0":
        return "phone"  # landline with area code
    if n == 10 and digits[0] in "23456789":
        return "phone"  # North American number: the area code never starts with 0 or 1
    if n == 11 and digits[0] == "1" and digits[1] in "23456789":
        return "phone"  # the same with the country code 1
    if n == 9 and ssn_valid(digits) and (_SSN_LAYOUT.match(layout) or _SSN_CONTEXT.search(context)):
        return "ssn"  # US social security number: written 123-45-6789, or said where the words say so
    if 7 <= n <= 8 and _PHONE_CONTEXT.search(context):
        return "phone"  # local landline, only where the words around say so
    if n >= 11 and "X" not in digits:
        return "number"  # long identifiers the recogniser garbled: hide them all the same
    return None


def find_pii(text: str) -> list[PiiSpan]:
    """Every phone, ID-card and bank-card number in the text, in order."""
    chains: list[list[re.Match[str]]] = []
    for match in _TOKEN.finditer(text):
        is_x = match.group("x") is not None
        if chains and _SEPARATOR.match(text[chains[-1][-1].end():match.start()]):
            if chains[-1][-1].group("x") is None:
                chains[-1].append(match)
                continue
        if not is_x:
            chains.append([match])
    spans: list[PiiSpan] = []
    for chain in chains:
        # an X belongs to a number only as an ID card's last character
        while chain and chain[-1].group("x") is not None and len(chain) != 18:
            chain.pop()
        digits = "".join("X" if m.group("x") else _digit_of(m.group(0)) for m in chain)
        if len(digits) < 7:
            continue
        start, end = chain[0].start(), chain[-1].end()
        kind = _classify(digits, text[max(0, start - 24):start], text[start:end])
        if kind is not None:
            spans.append(PiiSpan(kind, start, end, digits, tuple(m.span() for m in chain)))
    for match in (*_EMAIL.finditer(text), *_SPOKEN_EMAIL.finditer(text)):
        # the address's user part, one token per character after the first, so masking keeps the domain
        first = match.start(1) + 1
        spans.append(PiiSpan("email", match.start(), match.end(), match.group(0),
                             tuple((i, i + 1) for i in range(first, match.end(1))) + ((match.end(1), match.end(1)),)))
    return sorted(spans, key=lambda span: span.start)


def mask_text(text: str) -> str:
    """The text with each found number hidden but its last digits (4 of long numbers, 2 of short)."""
    if not text:
        return text
    spans = find_pii(text)
    if not spans:
        return text
    chars = list(text)
    for span in spans:
        keep = 1 if span.kind == "email" else 4 if len(span.digits) >= 9 and span.kind != "ssn" or \
            len(span.digits) >= 11 else 2
        for start, end in span.tokens[:-keep]:
            chars[start:end] = MASK * (end - start)
    return "".join(chars)


def mask_value(value: Any) -> Any:
    """Mask every string inside nested dicts and lists (metadata holds phone numbers too)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    return value


def mask_document(document: dict[str, Any]) -> dict[str, Any]:
    """A masked deep copy of a transcript document: segment text, words and metadata."""
    doc = copy.deepcopy(document)
    for segment in doc.get("segments") or []:
        segment["text"] = mask_text(segment.get("text") or "")
        words = segment.get("words")
        if words:
            # mask the words as one string so a number spread over several words is still found
            joined = mask_text("".join(w.get("word", "") for w in words))
            pos = 0
            for w in words:
                length = len(w.get("word", ""))
                w["word"] = joined[pos:pos + length]
                pos += length
    if isinstance(doc.get("metadata"), dict):
        doc["metadata"] = mask_value(doc["metadata"])
    return doc
