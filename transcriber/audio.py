"""Decode recordings to float32 16 kHz, one row per channel.

ffmpeg does the decoding and resampling (any of wav, mp3, m4a, amr, opus, flac; 8 kHz telephone
audio comes out at 16 kHz), streamed through a pipe so a recording of many hours is read in
bounded blocks (``iter_blocks``). PyAV answers ``probe`` without starting a process.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callqa.errors import AudioDecodeError

SAMPLE_RATE = 16000
FFMPEG_HINT = "install ffmpeg (`make sysdeps`, or apt-get install ffmpeg)"


@dataclass(frozen=True)
class AudioInfo:
    duration_s: float
    channels: int
    sample_rate: int


def _fail(path: Path, cause: str) -> AudioDecodeError:
    return AudioDecodeError(f"{path}: cannot decode audio: {cause}; check the file or re-export it as WAV")


def probe(path: str | Path) -> AudioInfo:
    """Duration, channel count and native sample rate of the first audio stream."""
    import av

    path = Path(path)
    if not path.is_file():
        raise _fail(path, "file does not exist")
    if path.stat().st_size == 0:
        raise _fail(path, "file is empty (0 bytes)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise _fail(path, "no audio stream (not an audio file)")
            stream = container.streams.audio[0]
            channels = stream.codec_context.channels or 1
            rate = stream.codec_context.sample_rate or stream.rate or 0
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
    except AudioDecodeError:
        raise
    except Exception as exc:  # PyAV raises one class per FFmpeg error code
        raise _fail(path, f"not a readable audio file ({exc})") from exc
    if rate <= 0:
        raise _fail(path, "audio stream has no sample rate")
    return AudioInfo(duration_s=max(duration, 0.0), channels=int(channels), sample_rate=int(rate))


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise AudioDecodeError(f"ffmpeg is not installed; {FFMPEG_HINT}")
    return exe


def iter_blocks(path: str | Path, sr: int = SAMPLE_RATE, block_s: float = 300.0) -> Iterator[np.ndarray]:
    """Yield the audio as consecutive ``(channels, samples)`` float32 blocks of ``block_s`` seconds.

    Memory stays at one block however long the recording is. Raises AudioDecodeError naming the
    file when ffmpeg fails or the file holds no samples at all.
    """
    path = Path(path)
    info = probe(path)
    channels = info.channels
    cmd = [
        _ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
        "-map", "0:a:0", "-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", str(channels), "-ar", str(sr), "-",
    ]  # fmt: skip
    frame_bytes = 4 * channels
    block_bytes = int(block_s * sr) * frame_bytes
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    total = 0
    try:
        pending = b""
        while True:
            data = proc.stdout.read(block_bytes - len(pending))
            if not data:
                break
            pending += data
            if len(pending) < block_bytes:
                continue
            total += len(pending)
            yield np.frombuffer(pending, dtype="<f4").reshape(-1, channels).T.copy()
            pending = b""
        usable = len(pending) - len(pending) % frame_bytes
        if usable:
            total += usable
            yield np.frombuffer(pending[:usable], dtype="<f4").reshape(-1, channels).T.copy()
        stderr = proc.stderr.read().decode("utf-8", "replace").strip()
        code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if code != 0:
        last = stderr.splitlines()[-1] if stderr else f"ffmpeg exited with {code}"
        raise _fail(path, last)
    if total == 0:
        raise _fail(path, "no audio samples (empty or truncated)")


def decode(path: str | Path, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The whole recording as ``(channels, samples)`` float32 at ``sr``; for short files.

    Use ``iter_blocks`` for recordings that may run for hours.
    """
    blocks = list(iter_blocks(path, sr))
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=1)


def split_channels(audio: np.ndarray, agent: int, customer: int) -> dict[str, np.ndarray] | None:
    """``{"agent": ..., "customer": ...}`` for a two-channel recording, None for mono.

    A stereo file whose channels carry the same signal (mono saved as stereo) counts as mono,
    so it is not transcribed twice with made-up roles.
    """
    if audio.ndim != 2 or audio.shape[0] < 2 or max(agent, customer) >= audio.shape[0]:
        return None
    heard = float(np.abs(audio[agent]).max(initial=0.0)) > 1e-3  # two silent sides prove nothing
    if heard and np.allclose(audio[agent], audio[customer], atol=1e-4):
        return None
    return {"agent": audio[agent], "customer": audio[customer]}


def write_wav(path: str | Path, audio: np.ndarray, sr: int = SAMPLE_RATE) -> Path:
    """Write ``(channels, samples)`` (or mono ``(samples,)``) float audio in [-1, 1] as 16-bit PCM WAV."""
    import wave

    data = np.atleast_2d(audio)
    pcm = (np.clip(data, -1.0, 1.0) * 32767).astype("<i2").T.copy()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(data.shape[0])
        out.setsampwidth(2)
        out.setframerate(sr)
        out.writeframes(pcm.tobytes())
    return path


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to full scale; -120 for digital silence."""
    if samples.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return max(20.0 * np.log10(rms), -120.0) if rms > 0 else -120.0
