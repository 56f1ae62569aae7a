"""Audio in, transcript out: ``Transcriber(settings, model_cache).transcribe(path, call_id, metadata)``,
or ``.transcribe_many(jobs)`` for many recordings side by side (one per core)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transcriber.schema import Segment, Transcript, Word

if TYPE_CHECKING:
    from transcriber.pipeline import Transcriber

__all__ = ["Segment", "Transcriber", "Transcript", "Word"]


def __getattr__(name: str) -> Any:
    # the pipeline pulls in numpy and faster-whisper; readers of transcriber.schema need neither
    if name == "Transcriber":
        from transcriber.pipeline import Transcriber

        return Transcriber
    raise AttributeError(name)
