"""Call-like stereo recordings built from the shared clips, for the speed and pipeline benches.

Each clip is one turn; turns alternate between the agent (left) and the customer (right)
channel with short gaps, one hold pause sits in the middle of every call, and both channels
carry a little line noise (hiss and mains hum). The reference of a call is its clips'
reference texts in time order. Everything is seeded, so two runs build the same files.

    from common_calls import build_calls
    calls = build_calls(Path("/work/shared/audio"), Path("/tmp/calls"), languages=("zh", "en"))
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from transcriber.audio import decode, write_wav  # noqa: E402

SR = 16000
DEFAULT_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"


@dataclass
class Turn:
    clip: str
    channel: int  # 0 agent (left), 1 customer (right)
    start: float
    end: float
    text: str


@dataclass
class CallRecording:
    path: Path
    language: str  # "zh" or "en": how the call is scored (CER or WER)
    duration_s: float
    turns: list[Turn] = field(default_factory=list)

    @property
    def reference(self) -> str:
        """The reference texts in time order (the turns never overlap)."""
        return ("" if self.language in {"zh", "yue"} else " ").join(t.text for t in self.turns)


def manifest(audio_dir: Path) -> list[dict[str, object]]:
    path = audio_dir / "manifest.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} not found; pass --audio-dir pointing at the shared clips")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pick_clips(audio_dir: Path, language: str, limit: int | None, dialects: tuple[str, ...] = ()) -> list[dict[str, object]]:
    """Clips for calls scored as ``language``, in manifest order: Mandarin for zh, English for en,
    plus any ``dialects`` named (wu, minnan: scored by CER against their Chinese reference)."""
    wanted = set(dialects) | {"zh": {"mandarin"}, "en": {"english"}}.get(language, set())
    clips = [c for c in manifest(audio_dir) if c.get("dialect") in wanted]
    return clips[:limit] if limit is not None else clips


def _line_noise(rng: np.random.Generator, samples: int, level_dbfs: float) -> np.ndarray:
    t = np.arange(samples) / SR
    hiss = rng.standard_normal(samples) * 10 ** (level_dbfs / 20)
    hum = 10 ** ((level_dbfs - 6) / 20) * np.sqrt(2) * np.sin(2 * np.pi * 50 * t + rng.uniform(0, 2 * np.pi))
    return (hiss + hum).astype(np.float32)


def build_call(
    audio_dir: Path,
    clips: list[dict[str, object]],
    path: Path,
    language: str,
    seed: int = 0,
    hold_s: float = 8.0,
    noise_dbfs: float = -55.0,
) -> CallRecording:
    """One stereo call: the clips as alternating turns, gaps of 0.3-1.2 s, a hold pause mid-call."""
    rng = np.random.default_rng(seed)
    pieces: list[tuple[int, int, np.ndarray]] = []  # (channel, start sample, samples)
    turns: list[Turn] = []
    cursor = int(0.5 * SR)
    hold_after = len(clips) // 2 - 1  # the agent puts the customer on hold after this turn
    for i, clip in enumerate(clips):
        samples = decode(audio_dir / str(clip["file"]))[0]
        channel = i % 2
        pieces.append((channel, cursor, samples))
        turns.append(Turn(str(clip["file"]), channel, cursor / SR, (cursor + samples.size) / SR, str(clip["text"])))
        cursor += samples.size + int(rng.uniform(0.3, 1.2) * SR)
        if i == hold_after and len(clips) > 1:
            cursor += int(hold_s * SR)
    total = cursor + int(0.5 * SR)
    audio = np.stack([_line_noise(rng, total, noise_dbfs) for _ in range(2)])
    for channel, start, samples in pieces:
        audio[channel, start : start + samples.size] += samples
    write_wav(path, audio)
    return CallRecording(path=path, language=language, duration_s=total / SR, turns=turns)


def build_calls(
    audio_dir: Path,
    out_dir: Path,
    languages: tuple[str, ...] = ("zh", "en"),
    clips_per_language: int | None = None,
    clips_per_call: int = 8,
    dialects: tuple[str, ...] = (),
) -> list[CallRecording]:
    """Calls of up to ``clips_per_call`` turns each, one language per call (as real calls are)."""
    calls: list[CallRecording] = []
    for language in languages:
        clips = pick_clips(audio_dir, language, clips_per_language, dialects)
        for n, first in enumerate(range(0, len(clips), clips_per_call)):
            group = clips[first : first + clips_per_call]
            path = out_dir / f"call_{language}_{n:02d}.wav"
            calls.append(build_call(audio_dir, group, path, language, seed=len(calls)))
    return calls
