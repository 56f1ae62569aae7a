"""The transcriber end to end on real clips: stereo roles and order, routing to two real models,
Simplified output within a CER bound, acoustic features, bad input in a batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from callqa.config import TranscriberSettings
from transcriber.metrics import cer, wer
from transcriber.schema import Transcript, validate

from .conftest import SR, load_clip, write_wav

pytestmark = pytest.mark.slow

AGENT_1 = "zh_aishell1-S0764W0121.wav"  # 甚至出现交易几乎停滞的情况
CUSTOMER_1 = "zh_aishell1-S0724W0121.wav"
AGENT_2 = "zh_aishell1-S0764W0122.wav"  # 一二线城市虽然也处于调整中
CUSTOMER_2 = "zh_cosyvoice-zero-shot-prompt.wav"


def _place(track: np.ndarray, clip: np.ndarray, at: float) -> tuple[float, float]:
    start = int(at * SR)
    track[start : start + clip.size] += clip
    return at, at + clip.size / SR


@pytest.fixture(scope="module")
def stereo_call(tmp_path_factory: pytest.TempPathFactory, manifest: dict[str, Any]) -> dict[str, Any]:
    """Agent and customer alternate, then a 10 s silence, then they talk over each other."""
    from .conftest import SHARED_AUDIO

    clips = {name: load_clip(SHARED_AUDIO, name) for name in (AGENT_1, CUSTOMER_1, AGENT_2, CUSTOMER_2)}
    agent, customer = np.zeros(32 * SR, np.float32), np.zeros(32 * SR, np.float32)
    turns = {
        AGENT_1: ("agent", _place(agent, clips[AGENT_1], 0.5)),
        CUSTOMER_1: ("customer", _place(customer, clips[CUSTOMER_1], 5.2)),
        AGENT_2: ("agent", _place(agent, clips[AGENT_2], 20.0)),
        CUSTOMER_2: ("customer", _place(customer, clips[CUSTOMER_2], 21.5)),  # overtalk 21.5-24.1
    }
    rng = np.random.default_rng(7)
    agent += rng.normal(0, 0.002, agent.size).astype(np.float32)  # a little line noise
    customer += rng.normal(0, 0.002, customer.size).astype(np.float32)
    path = write_wav(tmp_path_factory.mktemp("calls") / "call.wav", np.stack([agent, customer]))
    return {"path": path, "turns": turns, "manifest": manifest}


@pytest.fixture(scope="module")
def stereo_transcript(transcriber: Any, stereo_call: dict[str, Any]) -> Transcript:
    meta = {"call_id": "C-1", "started_at": "2026-11-27T09:30:00+08:00", "agent_id": "A7"}
    return transcriber.transcribe(stereo_call["path"], "C-1", meta)  # type: ignore[no-any-return]


def test_stereo_call_has_roles_true_times_and_time_order(stereo_transcript: Transcript, stereo_call: dict[str, Any]) -> None:
    t = stereo_transcript
    validate(json.loads(t.to_json()))
    assert t.channels == {"agent": 0, "customer": 1}
    assert t.started_at == "2026-11-27T09:30:00+08:00" and t.metadata["agent_id"] == "A7"
    assert t.language == "zh" and t.dialect == "mandarin" and t.model == "base"
    assert [s.start for s in t.segments] == sorted(s.start for s in t.segments)
    edits = units = 0
    for name, (role, (start, end)) in stereo_call["turns"].items():
        mine = [s for s in t.segments if s.role == role and start - 0.5 <= s.start and s.end <= end + 0.5]
        assert mine, name
        e, n = cer(stereo_call["manifest"][name]["text"], "".join(s.text for s in mine))
        edits, units = edits + e, units + n
    assert len(t.segments) == sum(
        1
        for s in t.segments
        for role, (a, b) in stereo_call["turns"].values()
        if s.role == role and a - 0.5 <= s.start and s.end <= b + 0.5
    )  # every segment lies inside exactly one turn of its own side
    assert edits / units <= 0.3, [s.text for s in t.segments]
    roles = [s.role for s in t.segments]
    assert roles.index("customer") > roles.index("agent")


def test_stereo_call_carries_acoustic_features(stereo_transcript: Transcript) -> None:
    acoustic = stereo_transcript.metadata["acoustic"]
    assert set(acoustic) == {"long_silences", "overtalk", "agent_loudness", "agent_baseline_db"}
    assert any(s["start"] < 11 and s["end"] > 19 for s in acoustic["long_silences"])  # 9.7-20 s quiet
    assert any(o["start"] < 22.5 and o["end"] > 23.5 for o in acoustic["overtalk"])
    assert len(acoustic["agent_loudness"]) >= 2
    assert -40 < acoustic["agent_baseline_db"] < -5


def test_mono_clip_is_simplified_and_close_to_its_reference(transcriber: Any, shared_audio: Path, manifest: dict[str, Any]) -> None:
    t = transcriber.transcribe(shared_audio / "zh_kimi-asr-example.wav", "K-1", {})
    assert t.channels is None and t.metadata["acoustic"] is None
    assert {s.role for s in t.segments} == {"unknown"}
    assert "这" in t.text and "這" not in t.text  # Whisper emitted Traditional; we store Simplified
    edits, n = cer(manifest["zh_kimi-asr-example.wav"]["text"], t.text)
    assert edits / n <= 0.2, t.text
    assert t.metadata["routing"]["reason"] == "detection"


def test_registry_routes_english_to_tiny_en_and_mandarin_to_base(
    model_cache: Path, shared_audio: Path, manifest: dict[str, Any], tmp_path: Path
) -> None:
    from transcriber import Transcriber
    from transcriber.dialects import DEFAULT_REGISTRY

    registry = tmp_path / "dialects.toml"
    text = DEFAULT_REGISTRY.read_text(encoding="utf-8")
    registry.write_text(text.replace('[dialects.english]\nmodel = "default"', '[dialects.english]\nmodel = "tiny.en"'))
    from transcriber.backends.faster import choose_compute_type

    tr = Transcriber(TranscriberSettings(dialects_file=str(registry)), model_cache)
    compute = choose_compute_type("auto")  # the key names what runs: int8 or float32, never "auto"
    assert tr.model_key("english") == f"faster-whisper:tiny.en:{compute}"
    assert tr.model_key("mandarin") == tr.model_key() == f"faster-whisper:base:{compute}"

    en = tr.transcribe(shared_audio / "en_jfk.wav", "E-1", {})
    assert (en.model, en.dialect, en.language) == ("tiny.en", "english", "en")
    assert en.metadata["routing"] == {"dialect": "english", "language": "en", "model": "tiny.en",
                                      "reason": "detection", "source": "detection",
                                      "detected": en.metadata["routing"]["detected"]}  # fmt: skip
    edits, n = wer(manifest["en_jfk.wav"]["text"], en.text)
    assert edits / n <= 0.15, en.text

    zh = tr.transcribe(shared_audio / AGENT_1, "Z-1", {"region": "北京"})
    assert (zh.model, zh.dialect, zh.metadata["routing"]["reason"]) == ("base", "mandarin", "metadata")


def test_silent_recording_gives_an_empty_transcript(transcriber: Any, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros((2, 5 * SR), np.float32) + 1e-4 * np.eye(2, 1))
    t = transcriber.transcribe(path, "S-1", {})
    assert t.segments == [] and t.duration_s == pytest.approx(5.0)
    assert t.metadata["routing"]["reason"] == "default"


def test_cli_batch_reports_a_bad_file_and_transcribes_the_rest(
    model_cache: Path, shared_audio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.cli import app

    monkeypatch.setenv("CALLQA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CALLQA_TRANSCRIBER__MODEL_PATHS", f"base={model_cache / 'base'}")
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"\x00\xff" * 500)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["transcribe", str(bad), str(shared_audio / AGENT_1), "--language", "zh", "--format", "srt", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert "broken.mp3" in result.output and "cannot decode audio" in result.output
    srt = (out / f"{Path(AGENT_1).stem}.srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:0") and "-->" in srt and "交易" in srt



def test_a_turn_in_another_language_is_not_lost(transcriber: Any, shared_audio: Path, tmp_path: Path) -> None:
    """Whisper ends a forced-zh window at the English turn; the turn is heard again, as English."""
    agent, customer = np.zeros(24 * SR, np.float32), np.zeros(24 * SR, np.float32)
    _place(agent, load_clip(shared_audio, "zh_kimi-asr-example.wav"), 0.0)
    _place(customer, load_clip(shared_audio, "en_jfk.wav"), 11.0)
    path = write_wav(tmp_path / "mixed.wav", np.stack([agent, customer]))
    t = transcriber.transcribe(path, "X-1", {"language": "zh"})
    said = {role: " ".join(s.text for s in t.segments if s.role == role) for role in ("agent", "customer")}
    assert "告别" in said["agent"]
    assert "country" in said["customer"].lower(), said
