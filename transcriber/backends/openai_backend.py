"""openai-whisper (PyTorch, CPU, float32) backend.

It reads the same CTranslate2 model folders as the faster-whisper backend,
through a checkpoint converted once (``transcriber.convert``), so switching
``transcriber.backend`` needs no other model. Models are loaded once per
process and shared; decoding on one model is serialised because openai-whisper
installs its key/value-cache hooks on the shared modules for each decode.
"""

from __future__ import annotations

import base64
import gzip
import threading
from pathlib import Path
from typing import Any

import numpy as np

from callqa.errors import CallQAError, TranscriptionError
from transcriber.backends.base import BackendResult, DecodeOptions, RawSegment, RawWord
from transcriber.convert import openai_checkpoint


class _Loaded:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.lock = threading.Lock()


_models: dict[str, _Loaded] = {}
_load_lock = threading.Lock()


def _alignment_dump(heads: list[list[int]], n_layer: int, n_head: int) -> bytes:
    """The encoding ``Whisper.set_alignment_heads`` expects (base85 of a gzipped bool mask)."""
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in heads:
        mask[layer, head] = True
    return base64.b85encode(gzip.compress(mask.tobytes()))


def _serial_dtw() -> None:
    """Compile openai-whisper's word-timestamp DTW without numba's ``parallel=True``.

    Its loops are sequential anyway (no prange), so the result is the same; but measured here,
    after the first parallel call numba's worker thread kept spinning and every later decode in
    the process cost 2.5-3x the CPU time (48 s instead of 18 s for 20 s of audio).
    """
    import numba
    import whisper.timing as timing

    if not getattr(timing, "_callqa_serial_dtw", False):
        timing.dtw_cpu = numba.njit(timing.dtw_cpu.py_func)  # type: ignore[attr-defined]
        timing._callqa_serial_dtw = True  # type: ignore[attr-defined]


def load_openai_model(model_path: Path, threads: int = 0) -> Any:
    """The shared ``whisper.Whisper`` model for a CTranslate2 folder, converting it on first use."""
    _serial_dtw()
    import torch
    import whisper

    if threads > 0:  # torch's thread pool is per process: the last backend built sets it
        torch.set_num_threads(threads)
    checkpoint = openai_checkpoint(Path(model_path))
    key = str(checkpoint.resolve())
    with _load_lock:
        loaded = _models.get(key)
        if loaded is None:
            try:  # what whisper.load_model(path) does, keeping the extra keys of our checkpoint
                data = torch.load(key, map_location="cpu", weights_only=True)
                model = whisper.model.Whisper(whisper.model.ModelDimensions(**data["dims"]))
                model.load_state_dict(data["model_state_dict"])
                heads = data.get("alignment_heads") or []
                del data
            except (RuntimeError, ValueError, OSError, KeyError, TypeError) as exc:
                raise TranscriptionError(
                    f"cannot load the converted openai-whisper checkpoint {checkpoint} ({exc}); delete it "
                    "so that it is converted again from model.bin"
                ) from exc
            if heads:
                model.set_alignment_heads(_alignment_dump(heads, model.dims.n_text_layer, model.dims.n_text_head))
            model.eval()
            loaded = _models[key] = _Loaded(model)
        return loaded


class OpenAIWhisperBackend:
    name = "openai-whisper"
    # openai-whisper on CPU computes in float32 only; the transcriber.compute_type setting is ignored
    compute_type = "float32"
    concurrency = 1  # one torch model per process, used under a lock

    def __init__(self, model_path: Path, model_name: str, compute_type: str = "float32", threads: int = 0) -> None:
        self.model_name = model_name
        self._loaded = load_openai_model(model_path, threads)
        self.model = self._loaded.model

    @property
    def multilingual(self) -> bool:
        return bool(self.model.is_multilingual)

    @property
    def languages(self) -> list[str]:
        """Whisper language codes this model can decode (``yue`` only from large-v3 on)."""
        from whisper.tokenizer import LANGUAGES

        return list(LANGUAGES)[: self.model.num_languages] if self.multilingual else ["en"]

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        if not self.multilingual:
            return "en", 1.0
        import whisper

        mel = whisper.log_mel_spectrogram(
            whisper.pad_or_trim(np.ascontiguousarray(audio, dtype=np.float32)), n_mels=self.model.dims.n_mels
        )
        with self._loaded.lock:
            _, probs = self.model.detect_language(mel)
        language = max(probs, key=probs.get)
        return str(language), float(probs[language])

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> BackendResult:
        import whisper

        audio = np.ascontiguousarray(audio, dtype=np.float32)
        language, probability = options.language, 1.0
        if not self.multilingual:
            language = "en"
        elif language is None:
            language, probability = self.detect_language(audio)
        decode: dict[str, Any] = {
            "task": "transcribe",
            "language": language,
            "fp16": False,
            # beam size 1 is greedy decoding, as in faster-whisper; openai-whisper's greedy path is beam_size=None
            "beam_size": options.beam_size if options.beam_size > 1 else None,
            "patience": options.patience if options.beam_size > 1 else None,
            "best_of": 5,  # the candidates per sampled fallback, as in faster-whisper and the whisper CLI
        }
        if options.max_new_tokens is not None:
            decode["sample_len"] = options.max_new_tokens
        try:
            with self._loaded.lock:
                result = whisper.transcribe(
                    self.model,
                    audio,
                    verbose=None,
                    temperature=tuple(options.temperature),
                    compression_ratio_threshold=options.compression_ratio_threshold,
                    logprob_threshold=options.log_prob_threshold,
                    no_speech_threshold=options.no_speech_threshold,
                    condition_on_previous_text=options.condition_on_previous_text,
                    initial_prompt=options.initial_prompt,
                    word_timestamps=options.word_timestamps,
                    **decode,
                )
        except CallQAError:
            raise
        except (RuntimeError, ValueError, IndexError) as exc:
            raise TranscriptionError(f"openai-whisper failed on {len(audio) / 16000:.1f} s of audio ({exc})") from exc
        return BackendResult(
            segments=[_segment(s) for s in result["segments"]],
            language=str(result.get("language") or language),
            language_probability=probability,
        )


def _segment(s: dict[str, Any]) -> RawSegment:
    words = s.get("words")
    return RawSegment(
        start=float(s["start"]),
        end=float(s["end"]),
        text=str(s["text"]),
        avg_logprob=float(s["avg_logprob"]),
        no_speech_prob=float(s["no_speech_prob"]),
        compression_ratio=float(s.get("compression_ratio", 0.0)),
        temperature=float(s.get("temperature") or 0.0),
        words=[RawWord(float(w["start"]), float(w["end"]), str(w["word"]), float(w["probability"])) for w in words]
        if words
        else None,
    )
