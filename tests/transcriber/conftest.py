"""Transcriber fixtures: one model cache per test session, so each model is assembled and
loaded once."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from callqa.config import TranscriberSettings
from transcriber.audio import write_wav

SR = 16000
__all__ = ["SR", "ffmpeg", "load_clip", "write_wav"]  # write_wav: re-exported for the tests
SHARED_AUDIO = Path(__file__).resolve().parents[3] / "shared" / "audio"
if not SHARED_AUDIO.exists():  # same rule as tests/conftest.py
    SHARED_AUDIO = Path(os.environ.get("CALLQA_SHARED_AUDIO", "/work/shared/audio"))


def load_clip(shared_audio: Path, name: str) -> np.ndarray:
    from transcriber.audio import decode

    return decode(shared_audio / name)[0]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", *args], check=True)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache with ``base`` assembled from the installed packages (once per session)."""
    from transcriber.models import resolve_model

    cache = tmp_path_factory.mktemp("models")
    resolve_model("base", TranscriberSettings(), cache)
    return cache


@pytest.fixture(scope="session")
def transcriber(model_cache: Path) -> Any:
    from transcriber import Transcriber

    return Transcriber(TranscriberSettings(), model_cache)


@pytest.fixture(scope="session")
def manifest() -> dict[str, dict[str, Any]]:
    path = SHARED_AUDIO / "manifest.jsonl"
    if not path.exists():
        pytest.skip(f"shared clips not found at {SHARED_AUDIO}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["file"]: r for r in rows}


@pytest.fixture
def clip() -> Callable[[Path, str], np.ndarray]:
    return load_clip
