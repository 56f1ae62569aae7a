"""Voice activity detection (Silero, as shipped with faster-whisper) and packing of speech
chunks into Whisper windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SR = 16000
SILENCE_PEAK = 1e-3  # -60 dBFS: below this everywhere, a stretch of audio holds no speech


@dataclass(frozen=True)
class VadSettings:
    threshold: float = 0.5
    min_speech_s: float = 0.25  # shorter blips (clicks, line noise) are dropped
    min_silence_s: float = 1.0  # a pause this long ends a turn
    pad_s: float = 0.5  # kept around each chunk: clipping even 0.1 s of onset changed words (希望 -> 洗澡)
    window_s: float = 28.0  # packed speech per Whisper window (30 s max, a margin for padding)


@dataclass(frozen=True)
class SpeechChunk:
    start: int  # samples, in the piece being processed
    end: int
    role: str = "unknown"  # the channel it was heard on

    def trimmed(self, pad_s: float, offset: int) -> tuple[float, float]:
        """Seconds in the recording without the padding VAD added: where the voice really is."""
        pad = int(pad_s * SR)
        start, end = self.start + pad, self.end - pad
        if end <= start:
            start = end = (self.start + self.end) // 2
        return ((offset + start) / SR, (offset + end) / SR)


def speech_chunks(audio: np.ndarray, vad: VadSettings, role: str = "unknown") -> list[SpeechChunk]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if audio.size < SR // 10 or float(np.abs(audio).max()) < SILENCE_PEAK:
        return []  # nothing to hear: skip the VAD model (hours of hold or a dead channel)
    options = VadOptions(
        threshold=vad.threshold,
        min_speech_duration_ms=int(vad.min_speech_s * 1000),
        max_speech_duration_s=vad.window_s - 2 * vad.pad_s,
        min_silence_duration_ms=int(vad.min_silence_s * 1000),
        speech_pad_ms=int(vad.pad_s * 1000),
    )
    found = get_speech_timestamps(np.ascontiguousarray(audio, dtype=np.float32), options)
    return [SpeechChunk(int(c["start"]), int(c["end"]), role) for c in found if c["end"] > c["start"]]


def pack_windows(chunks: list[SpeechChunk], window_s: float) -> list[list[SpeechChunk]]:
    """Consecutive chunks grouped so each group's speech fits in one window.

    Chunks of both channels go in time order into the same windows: Whisper hears the
    conversation as it went, and a short call needs fewer windows than two channels apart.
    """
    limit = int(window_s * SR)
    windows: list[list[SpeechChunk]] = []
    size = 0
    for chunk in chunks:
        length = chunk.end - chunk.start
        if windows and size + length <= limit:
            windows[-1].append(chunk)
            size += length
        else:
            windows.append([chunk])
            size = length
    return windows
