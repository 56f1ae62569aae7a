"""Decoding: formats, 8 kHz telephone audio, stereo split, bounded blocks, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from callqa.errors import AudioDecodeError
from transcriber import audio

from .conftest import SR, ffmpeg, write_wav


def _tone(seconds: float, freq: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("ext,codec", [("mp3", "libmp3lame"), ("m4a", "aac"), ("opus", "libopus"), ("flac", "flac")])
def test_compressed_formats_decode_to_16k_float32(tmp_path: Path, ext: str, codec: str) -> None:
    src = write_wav(tmp_path / "src.wav", _tone(3.0, 440))
    dst = tmp_path / f"clip.{ext}"
    ffmpeg("-i", str(src), "-c:a", codec, str(dst))
    x = audio.decode(dst)
    assert x.dtype == np.float32 and x.shape[0] == 1
    assert abs(x.shape[1] / SR - 3.0) < 0.1
    assert 0.15 < float(np.abs(x).max()) < 0.45  # the tone, not silence or noise


def test_amr_telephone_file_decodes(tmp_path: Path) -> None:
    # AMR-NB storage format (RFC 4867): magic, then 20 ms frames; 0x04 heads a 4.75 kbit/s frame
    amr = tmp_path / "call.amr"
    amr.write_bytes(b"#!AMR\n" + (b"\x04" + bytes(12)) * 150)
    info = audio.probe(amr)
    assert info.sample_rate == 8000 and info.channels == 1
    x = audio.decode(amr)
    assert x.shape[0] == 1 and abs(x.shape[1] / SR - 3.0) < 0.1


def test_8khz_input_is_resampled_to_16khz(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "phone.wav", _tone(2.0, 300, sr=8000), sr=8000)
    assert audio.probe(path).sample_rate == 8000
    x = audio.decode(path)
    assert x.shape == (1, 2 * SR)
    spectrum = np.abs(np.fft.rfft(x[0]))
    assert abs(np.argmax(spectrum) * SR / x.shape[1] - 300) < 2  # same pitch, twice the samples


def test_stereo_split_puts_agent_left_and_customer_right(tmp_path: Path) -> None:
    left, right = _tone(1.0, 200), _tone(1.0, 900) * 0.5
    x = audio.decode(write_wav(tmp_path / "call.wav", np.stack([left, right])))
    assert audio.probe(tmp_path / "call.wav").channels == 2
    roles = audio.split_channels(x, agent=0, customer=1)
    assert roles is not None
    assert np.allclose(roles["agent"], left, atol=1e-3) and np.allclose(roles["customer"], right, atol=1e-3)
    swapped = audio.split_channels(x, agent=1, customer=0)
    assert swapped is not None and np.allclose(swapped["agent"], right, atol=1e-3)
    assert audio.split_channels(np.stack([left, left]), 0, 1) is None  # mono saved as stereo
    assert audio.split_channels(x[:1], 0, 1) is None


def test_long_recordings_come_in_bounded_blocks(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "long.wav", np.zeros((2, 130 * 8000), dtype=np.float32), sr=8000)
    blocks = list(audio.iter_blocks(path, block_s=60))
    assert [b.shape for b in blocks] == [(2, 60 * SR), (2, 60 * SR), (2, 10 * SR)]


@pytest.mark.parametrize(
    "name,content,cause",
    [
        ("empty.wav", b"", "empty"),
        ("notes.mp3", "这不是音频 this is text\n".encode() * 50, "not a readable audio file"),
        ("noise.wav", bytes(range(256)) * 40, "not a readable audio file"),
        ("header_only.wav", None, "no audio samples"),
    ],
)
def test_bad_files_raise_an_error_naming_file_and_cause(tmp_path: Path, name: str, content: bytes | None, cause: str) -> None:
    path = tmp_path / name
    if content is None:  # a WAV header with its data cut off
        path.write_bytes(write_wav(tmp_path / "full.wav", _tone(1.0, 440)).read_bytes()[:44])
    else:
        path.write_bytes(content)
    with pytest.raises(AudioDecodeError) as err:
        audio.decode(path)
    assert str(path) in str(err.value) and cause in str(err.value)


def test_truncated_mp3_gives_the_audio_that_is_there(tmp_path: Path) -> None:
    src = write_wav(tmp_path / "src.wav", _tone(6.0, 440))
    full = tmp_path / "full.mp3"
    ffmpeg("-i", str(src), "-c:a", "libmp3lame", "-b:a", "64k", str(full))
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    x = audio.decode(cut)
    assert 2.0 < x.shape[1] / SR < 4.0


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="nope.wav.*does not exist"):
        audio.probe(tmp_path / "nope.wav")


def test_rms_dbfs() -> None:
    assert audio.rms_dbfs(np.zeros(100, dtype=np.float32)) == -120.0
    assert abs(audio.rms_dbfs(np.ones(100, dtype=np.float32) * 0.1) + 20.0) < 1e-6
