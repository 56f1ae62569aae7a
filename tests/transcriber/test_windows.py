"""Pipeline mechanics with a scripted backend (no model): the per-window decoding time cap,
true times across packed windows and across the pieces of a long recording."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from callqa.config import TranscriberSettings
from transcriber import pipeline
from transcriber.backends.base import BackendResult, DecodeOptions, RawSegment, RawWord

from .conftest import SR, load_clip, write_wav


class ScriptedBackend:
    """Returns one word every 0.5 s of the audio it is given; optionally looping and slow."""

    name = "scripted"
    model_name = "base"
    languages = ["zh", "en"]

    def __init__(self, compression_ratio: float = 1.2, delay_s: float = 0.0, concurrency: int = 1) -> None:
        self.compression_ratio = compression_ratio
        self.delay_s = delay_s
        self.concurrency = concurrency
        self.calls: list[tuple[float, tuple[float, ...]]] = []

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        return "zh", 0.99

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> BackendResult:
        time.sleep(self.delay_s)
        seconds = audio.size / SR
        self.calls.append((seconds, options.temperature))
        words = [RawWord(t, t + 0.4, f"词{i}", 0.9) for i, t in enumerate(np.arange(0.05, seconds - 0.4, 0.5))]
        segment = RawSegment(0.0, seconds, "".join(w.word for w in words), -0.2, 0.01, self.compression_ratio, words=words)
        return BackendResult([segment], "zh", 1.0)


def _transcriber(backend: ScriptedBackend, **settings: float) -> pipeline.Transcriber:
    tr = pipeline.Transcriber(TranscriberSettings(**settings), Path("/nonexistent-cache"))  # type: ignore[arg-type]
    tr._backends["base"] = backend  # the scripted backend stands in for the model
    return tr


def test_decoding_a_looping_window_stops_at_the_time_cap(shared_audio: Path, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "clip.wav", load_clip(shared_audio, "nan_breeze-taigi-test.wav"))
    backend = ScriptedBackend(compression_ratio=5.0, delay_s=0.3)  # every attempt "fails"
    t = _transcriber(backend, max_decode_seconds_per_segment=0.5).transcribe(path, "N-1", {"language": "zh"})
    assert [temp for _, temp in backend.calls] == [(0.0,), (0.2,)]  # not all six temperatures
    assert t.metadata["decode_capped_windows"] == 1
    assert t.segments and all(s.low_confidence for s in t.segments)  # kept, but flagged for a human


def test_fallback_stops_at_the_first_good_attempt(shared_audio: Path, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "clip.wav", load_clip(shared_audio, "zh_aishell1-S0764W0121.wav"))
    backend = ScriptedBackend()
    t = _transcriber(backend).transcribe(path, "M-1", {"language": "zh"})
    assert [temp for _, temp in backend.calls] == [(0.0,)]
    assert "decode_capped_windows" not in t.metadata and not t.segments[0].low_confidence


def test_long_recording_in_pieces_keeps_true_times(
    shared_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "PIECE_S", 20.0)
    monkeypatch.setattr(pipeline, "READ_S", 4.0)
    names = ["zh_aishell1-S0764W0121.wav", "zh_aishell1-S0724W0121.wav", "zh_aishell1-S0764W0122.wav",
             "zh_cosyvoice-zero-shot-prompt.wav", "zh_aishell2-IT0011W0001.wav"]  # fmt: skip
    track = np.zeros(75 * SR, np.float32)
    placed = []
    for name, at in zip(names, (2.0, 17.0, 31.0, 47.5, 66.0), strict=True):
        clip = load_clip(shared_audio, name)
        track[int(at * SR) : int(at * SR) + clip.size] = clip
        placed.append((at, at + clip.size / SR))
    path = write_wav(tmp_path / "long.wav", track)
    backend = ScriptedBackend()
    t = _transcriber(backend).transcribe(path, "L-1", {"language": "zh"})
    assert t.duration_s == pytest.approx(75.0, abs=0.01)
    assert max(seconds for seconds, _ in backend.calls) <= 28.0
    assert len(backend.calls) >= 3  # several pieces, not one 75 s buffer
    for seg in t.segments:
        inside = [i for i, (a, b) in enumerate(placed) if a - 0.4 <= seg.start and seg.end <= b + 0.4]
        assert len(inside) == 1, (seg.start, seg.end, placed)
    assert {i for seg in t.segments for i, (a, b) in enumerate(placed) if a - 0.4 <= seg.start <= b} == set(range(5))


class CountingBackend(ScriptedBackend):
    """A scripted backend that records how many decodes were in flight at once."""

    def __init__(self, concurrency: int) -> None:
        super().__init__(delay_s=0.2, concurrency=concurrency)
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> BackendResult:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return super().transcribe(audio, options)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_windows_decoded_side_by_side_give_the_same_transcript(shared_audio: Path, tmp_path: Path) -> None:
    names = ["zh_aishell1-S0764W0121.wav", "zh_aishell1-S0724W0121.wav", "zh_aishell1-S0764W0122.wav",
             "zh_cosyvoice-zero-shot-prompt.wav", "zh_aishell2-IT0011W0001.wav", "zh_kimi-asr-example.wav",
             "zh_editx-speed.wav", "zh_fireredtts2-S2.wav"]  # fmt: skip
    parts = []
    for name in names:  # about 45 s of speech with short pauses: two windows of one piece
        parts += [load_clip(shared_audio, name), np.zeros(int(1.5 * SR), np.float32)]
    path = write_wav(tmp_path / "busy.wav", np.concatenate(parts))
    one_by_one, side_by_side = CountingBackend(concurrency=1), CountingBackend(concurrency=2)
    first = _transcriber(one_by_one).transcribe(path, "W-1", {"language": "zh"})
    second = _transcriber(side_by_side).transcribe(path, "W-1", {"language": "zh"})
    assert len(one_by_one.calls) >= 2 and one_by_one.most_in_flight == 1
    assert side_by_side.most_in_flight == 2
    assert [(s.start, s.end, s.text) for s in second.segments] == [(s.start, s.end, s.text) for s in first.segments]


@pytest.mark.slow
def test_a_recording_over_two_hours_is_processed_in_bounded_memory(tmp_path: Path) -> None:
    import subprocess
    import tracemalloc

    path = tmp_path / "night.flac"  # 2 h 10 min of a dead line, stereo
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "anullsrc=r=8000:cl=stereo", "-t", "7800", str(path)], check=True)  # fmt: skip
    backend = ScriptedBackend()
    tracemalloc.start()
    try:
        t = _transcriber(backend).transcribe(path, "H-1", {"language": "zh"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert t.duration_s == pytest.approx(7800.0, abs=0.1)
    assert t.segments == [] and backend.calls == []
    assert t.metadata["acoustic"]["long_silences"] == [{"start": 0.0, "end": 7800.0}]
    assert peak < 250 * 2**20  # the whole file at 16 kHz float32 would take 998 MiB


class ListeningBackend(ScriptedBackend):
    """A scripted backend whose language identification gives a fixed distribution."""

    def __init__(self, probabilities: dict[str, float]) -> None:
        super().__init__()
        self.probabilities = probabilities
        self.languages = ["zh", "en", "vi"]

    def language_probabilities(self, audio: np.ndarray) -> dict[str, float]:
        return self.probabilities


@pytest.mark.parametrize(
    "probabilities,expected",
    [
        # what base hears on the Minnan clip: Vietnamese, with a little Chinese and English
        ({"vi": 0.846, "th": 0.1, "zh": 0.0105, "en": 0.0039}, ("zh", "mandarin", "detection")),
        ({"vi": 0.995, "zh": 0.001, "en": 0.001}, ("vi", None, "detection")),  # a Vietnamese call
        ({"en": 0.7, "zh": 0.25, "vi": 0.05}, ("en", "english", "detection")),
    ],
)
def test_detection_chooses_among_the_sites_languages(
    shared_audio: Path, tmp_path: Path, probabilities: dict[str, float], expected: tuple[str, str | None, str]
) -> None:
    path = write_wav(tmp_path / "clip.wav", load_clip(shared_audio, "nan_breeze-taigi-test.wav"))
    t = _transcriber(ListeningBackend(probabilities)).transcribe(path, "D-1", {})
    assert (t.language, t.dialect, t.metadata["routing"]["reason"]) == expected
