"""ASR backends behind one protocol (``base.Backend``); ``create_backend`` picks one by name."""

from __future__ import annotations

from pathlib import Path

from callqa.errors import ConfigError
from transcriber.backends.base import Backend, BackendResult, DecodeOptions, RawSegment, RawWord

BACKENDS = ("faster-whisper", "openai-whisper")

__all__ = ["BACKENDS", "Backend", "BackendResult", "DecodeOptions", "RawSegment", "RawWord", "create_backend"]


def create_backend(
    backend: str, model_path: Path, model_name: str, compute_type: str, threads: int, workers: int = 0,
    isa: str = "auto",
) -> Backend:
    """A loaded backend; the model behind it is shared by every backend built on the same folder."""
    if backend == "faster-whisper":
        from transcriber.backends.faster import FasterWhisperBackend

        return FasterWhisperBackend(model_path, model_name, compute_type, threads, workers, isa)
    if backend == "openai-whisper":
        from transcriber.backends.openai_backend import OpenAIWhisperBackend

        return OpenAIWhisperBackend(model_path, model_name, compute_type, threads)
    raise ConfigError(f"transcriber.backend = {backend!r} is unknown; use one of: {', '.join(BACKENDS)}")
