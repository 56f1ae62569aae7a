"""faster-whisper (CTranslate2) backend: the default on CPU, int8.

Models are loaded once per process and shared, keyed by (folder, compute type, threads), so a
worker that transcribes a thousand calls loads each model once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from callqa.errors import TranscriptionError
from transcriber.backends.base import BackendResult, DecodeOptions, RawSegment, RawWord

_models: dict[tuple[str, str, int], Any] = {}
_lock = threading.Lock()


def cpu_threads(threads: int) -> int:
    """``threads`` if set, else the cores this process may use (CTranslate2's own default is 4)."""
    if threads > 0:
        return threads
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_whisper_model(path: Path, compute_type: str = "int8", threads: int = 0, device: str = "cpu") -> Any:
    """The shared ``faster_whisper.WhisperModel`` for this folder and settings."""
    from faster_whisper import WhisperModel

    key = (str(Path(path).resolve()), compute_type, cpu_threads(threads))
    with _lock:
        model = _models.get(key)
        if model is None:
            try:
                model = WhisperModel(key[0], device=device, compute_type=compute_type, cpu_threads=key[2])
            except (RuntimeError, ValueError, OSError) as exc:
                raise TranscriptionError(
                    f"cannot load the Whisper model in {path} with compute type {compute_type!r} ({exc}); "
                    "check transcriber.compute_type (int8, int8_float32, float32) and the model folder"
                ) from exc
            _models[key] = model
        return model


class FasterWhisperBackend:
    name = "faster-whisper"

    def __init__(self, model_path: Path, model_name: str, compute_type: str = "int8", threads: int = 0) -> None:
        self.model_name = model_name
        self.compute_type = compute_type
        self.model = load_whisper_model(model_path, compute_type, threads)

    @property
    def multilingual(self) -> bool:
        return bool(self.model.model.is_multilingual)

    @property
    def languages(self) -> list[str]:
        """Whisper language codes this model can decode (``yue`` only from large-v3 on)."""
        return list(self.model.supported_languages)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        language, probability, _ = self.model.detect_language(audio=np.ascontiguousarray(audio, dtype=np.float32))
        return str(language), float(probability)

    def language_probabilities(self, audio: np.ndarray) -> dict[str, float]:
        """Every language's probability for (the first 30 s of) the audio."""
        if not self.multilingual:
            return {"en": 1.0}
        _, _, everything = self.model.detect_language(audio=np.ascontiguousarray(audio, dtype=np.float32))
        return {str(code): float(p) for code, p in everything}

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> BackendResult:
        language = options.language
        if not self.multilingual:
            language = "en"
        segments, info = self.model.transcribe(
            np.ascontiguousarray(audio, dtype=np.float32),
            language=language,
            beam_size=options.beam_size,
            initial_prompt=options.initial_prompt,
            condition_on_previous_text=options.condition_on_previous_text,
            temperature=list(options.temperature),
            compression_ratio_threshold=options.compression_ratio_threshold,
            log_prob_threshold=options.log_prob_threshold,
            no_speech_threshold=options.no_speech_threshold,
            word_timestamps=options.word_timestamps,
            max_new_tokens=options.max_new_tokens,
            vad_filter=False,
        )
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
        return BackendResult(segments=raw, language=info.language, language_probability=info.language_probability)
