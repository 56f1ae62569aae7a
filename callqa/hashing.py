"""The hashes callqa takes: SHA-256 of a file, read in blocks (recordings and model files can be
hundreds of MiB), and of a JSON value in its one canonical byte form (the audit chain, the evidence
pack and the ingest side of the store all hash through ``canonical_json``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def sha256_of(path: str | Path, block: int = 1 << 22) -> str:
    """Hex SHA-256 of the file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def canonical_json(value: Any) -> bytes:
    """The one byte form every hash in callqa is taken over (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def sha256_json(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def json_safe(value: Any) -> Any:
    """The value as it will read back from a JSON column (datetimes become strings)."""
    return json.loads(json.dumps(value, default=str))
