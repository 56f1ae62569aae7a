"""Personal numbers in transcripts are found and masked, however they were spoken."""

from __future__ import annotations

import pytest

from review.privacy import find_pii, id_card_valid, luhn_valid, mask_document, mask_text


@pytest.mark.parametrize(("text", "kind", "digits"), [
    ("我的手机是13812345678谢谢", "phone", "13812345678"),
    ("号码是一三八 一二三四 五六七八", "phone", "13812345678"),
    ("幺三九幺二三四五六七八", "phone", "13912345678"),
    ("打这个一五零-两两三三-四四五五", "phone", "15022334455"),
    ("１３８１２３４５６７８", "phone", "13812345678"),
    ("+86 138 1234 5678", "phone", "8613812345678"),
    ("座机0755-12345678", "phone", "075512345678"),
    ("电话8765432", "phone", "8765432"),
    ("身份证11010519491231002X好的", "id_card", "11010519491231002X"),
    ("身份证号一一零一零五一九四九一二三一零零二X", "id_card", "11010519491231002X"),
    ("卡号4111 1111 1111 1111", "bank_card", "4111111111111111"),
    ("call me on five five five one two three four five six seven eight", "number", "55512345678"),
    ("call me at (555) 123-4567 tomorrow", "phone", "5551234567"),
    ("my number is 555-123-4567", "phone", "5551234567"),
    ("reach me on +1 555 123 4567", "phone", "15551234567"),
    ("it's five five five, one two three, four five six seven", "phone", "5551234567"),
    ("oh two oh. five five five. one two one two", "phone", "0205551212"),
    ("my SSN is 123-45-6789.", "ssn", "123456789"),
    ("social security number one two three four five six seven eight nine", "ssn", "123456789"),
    ("write to john.smith+bills@example.co.uk please", "email", "john.smith+bills@example.co.uk"),
    ("it's five five five, double two three, four five six seven", "phone", "5552234567"),
    ("triple five one two three four five six seven", "phone", "5551234567"),
    ("email me at john dot smith at gmail dot com", "email", "john dot smith at gmail dot com"),
])
def test_found(text: str, kind: str, digits: str) -> None:
    spans = find_pii(text)
    assert [(s.kind, s.digits) for s in spans] == [(kind, digits)]


@pytest.mark.parametrize("text", [
    "还款5000元，一共两三个月",
    "金额8765432元",  # a seven-digit amount, with no phone word nearby
    "一个一个来，三四天以后",
    "第1、2、3条",
    "you owe 1,234,567.89 dollars",  # an amount, not an SSN
    "order 123456789 shipped",  # nine digits, no SSN layout or words
    "on 2026.11.29 at 10.30",
    "we talked at length about a double one bed",
    "",
])
def test_left_alone(text: str) -> None:
    assert find_pii(text) == []
    assert mask_text(text) == text


def test_mask_keeps_length_and_last_digits() -> None:
    text = "我的电话是一三八一二三四五六七八，身份证11010519491231002X。"
    masked = mask_text(text)
    assert len(masked) == len(text)
    assert "*******五六七八" in masked and "**************002X" in masked
    assert "一三八" not in masked and "110105" not in masked


def test_checks() -> None:
    assert id_card_valid("11010519491231002X") and not id_card_valid("110105194912310021")
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


def test_mask_document_covers_words_and_metadata() -> None:
    doc = {"segments": [{"role": "customer", "start": 0.0, "end": 2.0, "text": "电话13812345678",
                         "words": [{"start": 0, "end": 1, "word": "电话138", "probability": 0.9},
                                   {"start": 1, "end": 2, "word": "12345678", "probability": 0.9}]}],
           "metadata": {"phone_number": "13812345678", "nested": [{"id": "11010519491231002X"}]}}
    masked = mask_document(doc)
    assert masked["segments"][0]["text"] == "电话*******5678"
    assert "".join(w["word"] for w in masked["segments"][0]["words"]) == "电话*******5678"
    assert masked["metadata"]["phone_number"] == "*******5678"
    assert masked["metadata"]["nested"][0]["id"].endswith("002X") and "1101" not in str(masked["metadata"])
    assert doc["segments"][0]["text"] == "电话13812345678"  # the original is untouched


def test_english_masks_keep_length_and_little_else() -> None:
    text = "call (555) 123-4567, SSN 123-45-6789, mail jo.doe@example.com, or five five five one two three four five six seven"
    masked = mask_text(text)
    assert len(masked) == len(text)
    assert "(***) ***-4567" in masked and "***-**-**89" in masked and "j*****@example.com" in masked
    assert "**** **** **** *** *** ***** four five six seven" in masked
    for secret in ("555", "123-45", "jo.doe", "five five five"):
        assert secret not in masked
