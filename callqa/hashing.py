"""SHA-256 of a file, read in blocks: recordings and model files can be hundreds of MiB."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_of(path: str | Path, block: int = 1 << 22) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()
