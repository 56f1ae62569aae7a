"""The openai-whisper backend on the converted base model gives the same text as faster-whisper
on the same weights, on real Mandarin and English clips."""

from __future__ import annotations

from pathlib import Path

import pytest

from callqa.config import TranscriberSettings
from transcriber.audio import decode, write_wav
from transcriber.backends.base import DecodeOptions
from transcriber.backends.faster import FasterWhisperBackend
from transcriber.backends.openai_backend import OpenAIWhisperBackend
from transcriber.convert import CHECKPOINT_NAME
from transcriber.models import resolve_model

pytestmark = pytest.mark.slow

# short, clean clips: greedy decoding of the same weights must agree on every token
CLIPS = {
    "zh_aishell1-S0764W0121.wav": "zh",
    "zh_wenetspeech-net-Y0000000000.wav": "zh",
    "en_editx-zero-shot.wav": "en",
}
GREEDY = DecodeOptions(beam_size=1, temperature=(0.0,))


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return resolve_model("base", TranscriberSettings(), tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def backends(base_dir: Path) -> tuple[OpenAIWhisperBackend, FasterWhisperBackend]:
    # float32 on the CTranslate2 side too, so both compute with the very same weights
    return OpenAIWhisperBackend(base_dir, "base"), FasterWhisperBackend(base_dir, "base", compute_type="float32")


def test_converted_model_transcribes_like_faster_whisper(
    shared_audio: Path, base_dir: Path, backends: tuple[OpenAIWhisperBackend, FasterWhisperBackend]
) -> None:
    ours, faster = backends
    assert (base_dir / CHECKPOINT_NAME).is_file()
    # base has 99 language tokens: Cantonese (yue) arrived with large-v3
    assert "zh" in ours.languages and "yue" not in ours.languages and len(ours.languages) == 99
    assert set(ours.languages) <= set(faster.languages)
    for clip, language in CLIPS.items():
        audio = decode(shared_audio / clip)[0]
        lang_o, prob_o = ours.detect_language(audio)
        lang_f, prob_f = faster.detect_language(audio)
        assert lang_o == lang_f == language, clip
        assert abs(prob_o - prob_f) < 0.05, (clip, prob_o, prob_f)

        got = ours.transcribe(audio, GREEDY)
        want = faster.transcribe(audio, GREEDY)
        assert got.language == language
        text = "".join(s.text for s in got.segments).strip()
        assert text, clip
        assert text == "".join(s.text for s in want.segments).strip(), clip
        assert got.segments[0].start == pytest.approx(want.segments[0].start, abs=0.2)
        assert got.segments[-1].end == pytest.approx(want.segments[-1].end, abs=0.5)
        assert got.segments[0].avg_logprob == pytest.approx(want.segments[0].avg_logprob, abs=0.05)


def test_word_timestamps_and_detection_inside_transcribe(
    shared_audio: Path, backends: tuple[OpenAIWhisperBackend, FasterWhisperBackend]
) -> None:
    ours, _ = backends
    audio = decode(shared_audio / "zh_wenetspeech-net-Y0000000000.wav")[0]
    result = ours.transcribe(audio, DecodeOptions(language=None, beam_size=1, temperature=(0.0,),
                                                  word_timestamps=True))
    assert result.language == "zh" and result.language_probability > 0.5
    words = [w for s in result.segments for w in s.words or []]
    assert "".join(w.word for w in words).strip() == "".join(s.text for s in result.segments).strip()
    assert all(0.0 <= w.start <= w.end <= 1.8 + 0.05 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


def test_transcriber_gives_the_same_transcript_from_either_backend(
    shared_audio: Path, base_dir: Path, tmp_path: Path
) -> None:

    import numpy as np

    from transcriber.pipeline import Transcriber
    from transcriber.schema import validate

    agent = decode(shared_audio / "zh_aishell1-S0764W0121.wav")[0]
    customer = decode(shared_audio / "zh_wenetspeech-net-Y0000000000.wav")[0]
    gap = np.zeros(16000, np.float32)
    left = np.concatenate([gap, agent, gap, np.zeros_like(customer), gap])
    right = np.concatenate([gap, np.zeros_like(agent), gap, customer, gap])
    call = tmp_path / "call.wav"
    write_wav(call, np.stack([left, right]))

    texts = {}
    for backend, compute_type in (("openai-whisper", "float32"), ("faster-whisper", "float32")):
        settings = TranscriberSettings(backend=backend, compute_type=compute_type, beam_size=1,
                                       model_paths={"base": str(base_dir)})
        transcript = Transcriber(settings, base_dir.parent).transcribe(call, "call-1", {"language": "zh"})
        validate(transcript.to_dict(), backend)
        assert transcript.backend == backend and transcript.model == "base"
        assert [s.role for s in transcript.segments] == ["agent", "customer"], transcript.segments
        assert transcript.segments[1].start > len(agent) / 16000 + 1.0
        texts[backend] = [s.text for s in transcript.segments]
    assert texts["openai-whisper"] == texts["faster-whisper"]
    assert "交易" in texts["openai-whisper"][0] and "知道" in texts["openai-whisper"][1]
