"""What makes the transcriber fast, held to what a user would notice: one encoder pass per
window, calls side by side giving the same text as one at a time, a bad file among them
reported on its own, and the channel layout a call's metadata names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callqa.config import TranscriberSettings
from callqa.errors import AudioDecodeError, TranscriptionError
from transcriber.backends.faster import choose_cpu_isa, thread_layout

from .conftest import SR, load_clip, write_wav

MANDARIN = "zh_aishell1-S0764W0121.wav"  # 甚至出现交易几乎停滞的情况
OTHER = "zh_cosyvoice-zero-shot-prompt.wav"


def test_one_decode_per_core_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("transcriber.backends.faster.cpu_cores", lambda: 4)
    assert thread_layout() == (1, 4)
    assert thread_layout(threads=2) == (2, 2)
    assert thread_layout(threads=2, workers=1) == (2, 1)


def test_cpu_isa_choice_respects_an_explicit_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CT2_FORCE_CPU_ISA", "AVX2")
    assert choose_cpu_isa("AVX512") == "AVX2"  # the operator's variable wins
    monkeypatch.setenv("CT2_FORCE_CPU_ISA", "")
    assert choose_cpu_isa("default") is None and not os.environ["CT2_FORCE_CPU_ISA"]
    assert choose_cpu_isa("avx2") == "AVX2" and os.environ["CT2_FORCE_CPU_ISA"] == "AVX2"
    monkeypatch.setenv("CT2_FORCE_CPU_ISA", "")
    with pytest.raises(TranscriptionError, match="cpu_isa"):
        choose_cpu_isa("SSE9")


@pytest.mark.slow
def test_language_detection_and_decoding_share_one_encoder_pass(model_cache: Path, shared_audio: Path) -> None:
    from transcriber import Transcriber

    tr = Transcriber(TranscriberSettings(), model_cache)
    t = tr.transcribe(shared_audio / MANDARIN, "M-1", {})  # no language given: it is detected
    assert t.metadata["routing"]["source"] == "detection" and t.language == "zh"
    assert "交易" in t.text
    assert tr.backend("base").encoder_passes == 1  # was 2: detection encoded the window a second time


@pytest.mark.slow
def test_calls_side_by_side_match_one_at_a_time_and_a_bad_file_stays_alone(
    transcriber: Any, shared_audio: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00not really a wave file")
    paths = [shared_audio / MANDARIN, bad, shared_audio / OTHER]
    alone = {i: transcriber.transcribe(p, p.stem, {"language": "zh"}).text for i, p in enumerate(paths) if p != bad}
    together = dict(transcriber.transcribe_many((p, p.stem, {"language": "zh"}) for p in paths))
    assert sorted(together) == [0, 1, 2]
    assert isinstance(together[1], AudioDecodeError) and "broken.wav" in str(together[1])
    assert {i: r.text for i, r in together.items() if i != 1} == alone


@pytest.mark.slow
def test_agent_on_the_right_is_read_from_the_calls_metadata(transcriber: Any, shared_audio: Path, tmp_path: Path) -> None:
    agent, customer = np.zeros(12 * SR, np.float32), np.zeros(12 * SR, np.float32)
    said = load_clip(shared_audio, MANDARIN)
    answered = load_clip(shared_audio, OTHER)
    agent[SR // 2 : SR // 2 + said.size] = said
    customer[6 * SR : 6 * SR + answered.size] = answered[: 6 * SR]
    path = write_wav(tmp_path / "right.wav", np.stack([customer, agent]))  # agent on channel 1

    swapped = transcriber.transcribe(path, "R-1", {"language": "zh", "channels": {"agent": 1, "customer": 0}})
    assert swapped.channels == {"agent": 1, "customer": 0}
    assert swapped.metadata["channels"] == {"agent": 1, "customer": 0}
    assert "交易" in "".join(s.text for s in swapped.segments if s.role == "agent")
    default = transcriber.transcribe(path, "R-2", {"language": "zh"})
    assert "交易" in "".join(s.text for s in default.segments if s.role == "customer")

    with pytest.raises(TranscriptionError, match=r"right\.wav.*channels"):
        transcriber.transcribe(path, "R-3", {"channels": {"agent": 1}})
