"""Text clean-up: Simplified Chinese, hallucinations, runaway repetition, low confidence."""

from __future__ import annotations

from transcriber.metrics import cer, digits_to_chinese, wer
from transcriber.normalize import clean_text, collapse_repetitions, is_hallucination, low_confidence


def test_traditional_chinese_comes_out_simplified() -> None:
    assert clean_text("這並不是告別，這是一個篇章的結束", "zh") == "这并不是告别，这是一个篇章的结束"


def test_english_text_is_left_alone() -> None:
    assert clean_text(" Ask not what your country can do for you. ", "en") == "Ask not what your country can do for you."


def test_known_subtitle_hallucinations_are_recognised() -> None:
    for line in ("字幕由Amara.org社区提供", "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", "Thanks for watching!", "谢谢观看。", "...", "You"):
        assert is_hallucination(line), line
    for line in ("我会按时还款", "Thank you, goodbye.", "你好，请问是张先生吗？"):
        assert not is_hallucination(line), line


def test_runaway_repetition_is_cut_to_two_copies() -> None:
    assert collapse_repetitions("我们还款" + "我们还款" * 20) == "我们还款我们还款"
    assert collapse_repetitions("no no no no no no") == "no no"
    assert collapse_repetitions("哈" * 30) == "哈哈哈"
    assert collapse_repetitions("好的好的，谢谢") == "好的好的，谢谢"  # ordinary doubling stays


def test_low_confidence_flags_doubtful_segments() -> None:
    assert not low_confidence(-0.3, 0.05, 1.4, [0.9, 0.8])
    assert low_confidence(-1.4, 0.05, 1.4, None)
    assert low_confidence(-0.3, 0.05, 3.1, None)  # repetitive text
    assert low_confidence(-0.3, 0.9, 1.4, None)  # probably no speech
    assert low_confidence(-0.5, 0.1, 1.5, [0.2, 0.3, 0.4])


def test_error_rates_ignore_script_punctuation_and_digit_style() -> None:
    assert cer("甚至出现交易几乎停滞的情况", "甚至出現交易幾乎停滯的情況。") == (0, 13)
    assert cer("二零一三年涨了百分之十五", "2013年涨了15%") == (0, 12)
    assert digits_to_chinese("还款105元") == "还款一百零五元"
    assert digits_to_chinese("早晨7.半到9.半") == "早晨七点半到九点半"
    assert wer("And so, my fellow Americans", "and so my fellow americans") == (0, 5)
    assert wer("pay the debt today", "pay debt to day") == (3, 4)  # deletion, substitution, insertion
