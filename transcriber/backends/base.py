"""The one small protocol every ASR backend implements.

A backend sees mono 16 kHz float32 audio of one channel and returns raw
segments; routing, roles, normalisation and filtering happen above it, so
both backends give the same transcript schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class DecodeOptions:
    language: str | None = None  # None: let the backend detect
    beam_size: int = 5
    patience: float = 1.0  # beam search stops once beam_size * patience hypotheses have finished
    initial_prompt: str | None = None
    condition_on_previous_text: bool = False
    temperature: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    word_timestamps: bool = False
    max_new_tokens: int | None = None  # bounds one decoding attempt; None: the model's limit


@dataclass
class RawWord:
    start: float
    end: float
    word: str
    probability: float


@dataclass
class RawSegment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float = 0.0
    temperature: float = 0.0
    words: list[RawWord] | None = None


@dataclass
class BackendResult:
    segments: list[RawSegment] = field(default_factory=list)
    language: str = ""
    language_probability: float = 0.0


class Backend(Protocol):
    name: str  # "faster-whisper" | "openai-whisper"
    model_name: str
    concurrency: int  # windows worth decoding at once (from threads other calls are not using)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """Language code and probability for (the first 30 s of) the audio."""
        ...

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> BackendResult:
        """Transcribe mono 16 kHz float32 audio; times are seconds from its start."""
        ...
