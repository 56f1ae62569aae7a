"""faster-whisper (CTranslate2) backend: the default on CPU (int8 with AVX-512 VNNI, else float32).

Models are loaded once per process and shared, keyed by (folder, compute type, threads per
decode, decodes at once), so a worker that transcribes a thousand calls loads each model once.

The encoder pass over a 30 s window costs as much as decoding a sentence, so the backend keeps
the encoder outputs of the last few windows: language identification, the transcription of the
same window and its temperature fallbacks all reuse one pass instead of encoding again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callqa.errors import TranscriptionError
from transcriber.backends.base import BackendResult, DecodeOptions, RawSegment, RawWord

_models: dict[tuple[str, str, int, int], Any] = {}
_lock = threading.Lock()
_CACHED_WINDOWS = 8  # encoder outputs kept per backend (about 3 MB each for base)


def cpu_cores() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def thread_layout(threads: int = 0, workers: int = 0) -> tuple[int, int]:
    """(threads per decode, decodes at once) for CTranslate2 on the CPU.

    Whisper's decoder multiplies small matrices, one token at a time: on the 2-core machine
    this was written on, one beam search took 0.94 s with two threads and 0.57 s with one, and
    two single-threaded searches side by side took 0.61 s together. So by default each decode
    gets one thread and as many run at once as there are cores.
    """
    per_decode = threads if threads > 0 else 1
    at_once = workers if workers > 0 else max(1, cpu_cores() // per_decode)
    return per_decode, at_once


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def choose_cpu_isa(isa: str = "auto") -> str | None:
    """Set CTranslate2's instruction set (``CT2_FORCE_CPU_ISA``) before its first model loads.

    CTranslate2 takes AVX-512 only on Intel; on an AMD CPU with AVX-512 VNNI it falls back to
    AVX2, whose 8-bit products saturate in 16 bits. On this project's AMD machine that cost int8
    1.5 points of Mandarin CER (0.1345 against 0.1211 with AVX-512, quality bench) and 8 % more
    time. ``auto`` picks AVX512 where the CPU has VNNI; an explicit ``CT2_FORCE_CPU_ISA`` wins.
    Returns the ISA asked for, or None when CTranslate2 chooses. Process-wide, first load only.
    """
    if os.environ.get("CT2_FORCE_CPU_ISA"):
        return os.environ["CT2_FORCE_CPU_ISA"]
    wanted = isa.strip().upper()
    if wanted == "AUTO":
        flags = cpu_flags()
        wanted = "AVX512" if {"avx512f", "avx512bw", "avx512vl", "avx512_vnni"} <= flags else ""
    if wanted in ("", "DEFAULT"):
        return None
    if wanted not in ("GENERIC", "AVX", "AVX2", "AVX512", "NEON"):
        raise TranscriptionError(f"transcriber.cpu_isa = {isa!r} is unknown; use auto, default, AVX2 or AVX512")
    os.environ["CT2_FORCE_CPU_ISA"] = wanted
    return wanted


VNNI_FLAGS = frozenset({"avx512f", "avx512bw", "avx512vl", "avx512_vnni"})


def planned_cpu_isa(isa: str = "auto") -> str | None:
    """The instruction set ``choose_cpu_isa`` would ask CTranslate2 for, without setting anything."""
    if os.environ.get("CT2_FORCE_CPU_ISA"):
        return os.environ["CT2_FORCE_CPU_ISA"].strip().upper()
    wanted = isa.strip().upper()
    if wanted == "AUTO":
        return "AVX512" if VNNI_FLAGS <= cpu_flags() else None
    return None if wanted in ("", "DEFAULT") else wanted


def choose_compute_type(compute_type: str = "auto", isa: str = "auto") -> str:
    """``auto``: int8 where CTranslate2 runs AVX-512 with VNNI, float32 everywhere else.

    The quality bench (bench/asr_quality.py) showed why: with AVX-512 VNNI, int8 matched plain
    faster-whisper's float32 on every dialect and was the fastest; without it (AVX2, whose
    8-bit products saturate in 16 bits) int8 lost 1.5 points of Mandarin CER, more on telephone
    audio, so the default would be worse than plain faster-whisper there. Any other value is
    returned as it is.
    """
    if compute_type.strip().lower() != "auto":
        return compute_type
    return "int8" if planned_cpu_isa(isa) == "AVX512" and VNNI_FLAGS <= cpu_flags() else "float32"


def load_whisper_model(
    path: Path, compute_type: str = "auto", threads: int = 0, device: str = "cpu", workers: int = 0, isa: str = "auto"
) -> Any:
    """The shared ``faster_whisper.WhisperModel`` for this folder and settings."""
    from faster_whisper import WhisperModel

    per_decode, at_once = thread_layout(threads, workers)
    if device == "cpu":
        compute_type = choose_compute_type(compute_type, isa)
    key = (str(Path(path).resolve()), compute_type, per_decode, at_once)
    with _lock:
        model = _models.get(key)
        if model is None:
            if device == "cpu":
                choose_cpu_isa(isa)
            try:
                model = WhisperModel(
                    key[0], device=device, compute_type=compute_type, cpu_threads=per_decode, num_workers=at_once
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise TranscriptionError(
                    f"cannot load the Whisper model in {path} with compute type {compute_type!r} ({exc}); "
                    "check transcriber.compute_type (int8, int8_float32, float32) and the model folder"
                ) from exc
            _models[key] = model
        return model


@dataclass
class _Encoded:
    key: bytes  # digest of the audio it was computed from
    features: np.ndarray  # log-Mel frames of the whole audio
    encoder_output: Any  # ctranslate2.StorageView of the first 30 s


class FasterWhisperBackend:
    name = "faster-whisper"

    def __init__(
        self, model_path: Path, model_name: str, compute_type: str = "auto", threads: int = 0, workers: int = 0,
        isa: str = "auto",
    ) -> None:
        self.model_name = model_name
        self.compute_type = choose_compute_type(compute_type, isa)
        self.model = load_whisper_model(model_path, compute_type, threads, workers=workers, isa=isa)
        self.concurrency = thread_layout(threads, workers)[1]  # windows worth decoding at once
        self._cache: OrderedDict[bytes, _Encoded] = OrderedDict()  # recent windows, oldest first
        self._cache_lock = threading.Lock()
        self.encoder_passes = 0  # how many windows this backend encoded (tests and benchmarks read it)

    def _encoded(self, audio: np.ndarray) -> _Encoded:
        """Features and encoder output of ``audio``'s first 30 s, reused when the same audio comes again."""
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        key = hashlib.blake2b(audio.tobytes(), digest_size=16).digest()
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        from faster_whisper.audio import pad_or_trim

        model = self.model
        features = model.feature_extractor(audio)
        # the same frames generate_segments encodes for its first window, so it can take this output
        first = features[:, : min(model.feature_extractor.nb_max_frames, features.shape[-1] - 1)]
        encoded = _Encoded(key, features, model.encode(pad_or_trim(first)))
        with self._cache_lock:
            self.encoder_passes += 1
            self._cache[key] = encoded
            while len(self._cache) > _CACHED_WINDOWS:
                self._cache.popitem(last=False)
        return encoded

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    @property
    def languages(self) -> list[str]:
        """Whisper language codes this model can decode (``yue`` only from large-v3 on)."""
        return list(self.model.supported_languages)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        probabilities = self.language_probabilities(audio)
        language = max(probabilities, key=lambda code: probabilities[code])
        return language, probabilities[language]

    def language_probabilities(self, audio: np.ndarray) -> dict[str, float]:
        """Every language's probability for (the first 30 s of) the audio."""
        if not self.multilingual:
            return {"en": 1.0}
        found = self.model.model.detect_language(self._encoded(audio).encoder_output)[0]
        return {str(token)[2:-2]: float(p) for token, p in found}  # "<|zh|>" -> "zh"

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> BackendResult:
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        language, probability = options.language, 1.0
        if not self.multilingual:
            language = "en"
        elif language is None:
            language, probability = self.detect_language(audio)
        encoded = self._encoded(audio)
        tokenizer = Tokenizer(self.model.hf_tokenizer, self.multilingual, task="transcribe", language=language)
        # what WhisperModel.transcribe builds from the same arguments, minus its own feature and
        # encoder pass: generate_segments takes the encoder output of the first window
        settings = TranscriptionOptions(
            beam_size=options.beam_size, best_of=5, patience=options.patience, length_penalty=1,
            repetition_penalty=1, no_repeat_ngram_size=0, log_prob_threshold=options.log_prob_threshold,
            no_speech_threshold=options.no_speech_threshold,
            compression_ratio_threshold=options.compression_ratio_threshold,
            condition_on_previous_text=options.condition_on_previous_text, prompt_reset_on_temperature=0.5,
            temperatures=list(options.temperature), initial_prompt=options.initial_prompt, prefix=None,
            suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]), without_timestamps=False,
            max_initial_timestamp=1.0, word_timestamps=options.word_timestamps,
            prepend_punctuations="\"'“¿([{-", append_punctuations="\"'.。,，!！?？:：”)]}、", multilingual=False,
            max_new_tokens=options.max_new_tokens, clip_timestamps="0", hallucination_silence_threshold=None,
            hotwords=None,
        )  # fmt: skip
        segments = self.model.generate_segments(encoded.features, tokenizer, settings, False, encoded.encoder_output)
        raw = [
            RawSegment(
                start=float(s.start),
                end=float(s.end),
                text=s.text,
                avg_logprob=float(s.avg_logprob),
                no_speech_prob=float(s.no_speech_prob),
                compression_ratio=float(s.compression_ratio),
                temperature=float(s.temperature or 0.0),
                words=[RawWord(float(w.start), float(w.end), w.word, float(w.probability)) for w in s.words]
                if s.words
                else None,
            )
            for s in segments  # a generator: decoding happens here
        ]
        return BackendResult(segments=raw, language=language, language_probability=probability)
