"""Find new recordings in the inbox (a folder or any fsspec URL) and stage them locally.

Remote inboxes (``s3://bucket/prefix``, ``sftp://host/dir``...) take their credentials from
the environment, as fsspec's backends do. Every recording is copied into the local store
under its SHA-256, so the review UI can play it and the inbox may be cleaned by its owner.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec

from callqa.errors import IngestError
from callqa.hashing import sha256_of
from flows.sidecar import FOLDER_SIDECARS, CallMetadata, SidecarIndex, normalise_row, parse_rows

AUDIO_SUFFIXES = {".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a", ".aac", ".amr", ".wma", ".webm"}


@dataclass(frozen=True)
class SourceFile:
    url: str  # as fsspec names it: a local path or protocol://...
    name: str
    size: int
    mtime: str  # whatever the storage reports, as text; part of the ledger key

    @property
    def ledger_key(self) -> str:
        return f"{self.url}|{self.size}|{self.mtime}"


@dataclass
class Discovered:
    source: SourceFile
    metadata: CallMetadata | None  # None when the sidecar row is bad
    error: str | None = None  # why the metadata could not be read


@dataclass(frozen=True)
class Staged:
    path: Path  # the local copy under recordings_dir
    sha256: str
    size: int


def _mtime(info: dict[str, Any]) -> str:
    for key in ("mtime", "LastModified", "last_modified", "updated", "modified", "time"):
        value = info.get(key)
        if value is not None:
            return value.isoformat() if isinstance(value, datetime) else str(value)
    return ""


def _read_sidecar_index(fs: Any, folder: str) -> SidecarIndex | str | None:
    """The folder-level sidecar, None if there is none, or the error text if it is unreadable."""
    for name in FOLDER_SIDECARS:
        path = f"{folder.rstrip('/')}/{name}"
        if not fs.exists(path):
            continue
        where = fs.unstrip_protocol(path)
        try:
            with fs.open(path, "rb") as fh:
                text = fh.read().decode("utf-8")
            return SidecarIndex.from_rows(parse_rows(text, name.rsplit(".", 1)[1], where), where)
        except (IngestError, UnicodeDecodeError) as exc:
            return str(exc)
    return None


def _own_sidecar(fs: Any, path: str, files: set[str]) -> tuple[dict[str, Any] | None, str]:
    stem = str(PurePosixPath(path).with_suffix(""))
    for candidate in (f"{path}.json", f"{stem}.json"):
        if candidate in files:
            where = fs.unstrip_protocol(candidate)
            with fs.open(candidate, "rb") as fh:
                rows = parse_rows(fh.read().decode("utf-8"), "json", where)
            if len(rows) != 1:
                raise IngestError(f"{where}: a per-recording sidecar holds one object, found {len(rows)}")
            return rows[0], where
    return None, ""


def discover(inbox: str, site_timezone: str) -> list[Discovered]:
    """Every audio file under ``inbox`` with its metadata; IngestError if the inbox cannot be listed."""
    try:
        fs, root = fsspec.core.url_to_fs(inbox)
        if not fs.exists(root):
            raise IngestError(f"inbox {inbox} does not exist; create it or set flows.inbox / --inbox")
        listing: dict[str, dict[str, Any]] = fs.find(root, detail=True)
    except (OSError, ValueError, ImportError) as exc:
        raise IngestError(f"cannot list the inbox {inbox}: {exc}") from exc
    files = set(listing)
    indexes: dict[str, SidecarIndex | str | None] = {}
    found: list[Discovered] = []
    for path in sorted(listing):
        info = listing[path]
        name = PurePosixPath(path).name
        if PurePosixPath(path).suffix.lower() not in AUDIO_SUFFIXES or info.get("type") == "directory":
            continue
        source = SourceFile(url=fs.unstrip_protocol(path), name=name, size=int(info.get("size") or 0),
                            mtime=_mtime(info))
        folder = str(PurePosixPath(path).parent)
        if folder not in indexes:
            indexes[folder] = _read_sidecar_index(fs, folder)
        index = indexes[folder]
        try:
            if isinstance(index, str):
                raise IngestError(index)
            row, where = _own_sidecar(fs, path, files)
            if row is None and index is not None:
                row, where = index.row_for(name), f"{index.source} (row for {name})"
            metadata = normalise_row(row or {}, name, site_timezone, where or name)
            found.append(Discovered(source, metadata))
        except (IngestError, UnicodeDecodeError) as exc:
            found.append(Discovered(source, None, str(exc)))
    return found


def stage(source: SourceFile, recordings_dir: Path) -> Staged:
    """Copy the recording into the local store, named by its SHA-256; OSError on storage trouble."""
    recordings_dir.mkdir(parents=True, exist_ok=True)
    fs, path = fsspec.core.url_to_fs(source.url)
    suffix = PurePosixPath(source.name).suffix.lower()
    fd, tmp_name = tempfile.mkstemp(dir=recordings_dir, suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if "file" in fs.protocol or "local" in fs.protocol:
            shutil.copyfile(path, tmp)
        else:
            fs.get_file(path, str(tmp))
        sha = sha256_of(tmp)
        final = recordings_dir / sha[:2] / f"{sha}{suffix}"
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            tmp.unlink()
        else:
            os.replace(tmp, final)
        return Staged(final, sha, final.stat().st_size)
    finally:
        tmp.unlink(missing_ok=True)


def remove_source(url: str) -> None:
    """Delete a file from the inbox (after it was quarantined); missing files are fine."""
    fs, path = fsspec.core.url_to_fs(url)
    if fs.exists(path):
        fs.rm_file(path)


class Ledger:
    """Inbox files already ingested (url|size|mtime -> SHA-256), so a night need not re-read them.

    Only a shortcut: correctness rests on the SHA-256 check in the store, so a lost ledger
    costs one re-read of the inbox, never a duplicate.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self.entries[entry["key"]] = entry["sha256"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line torn by a crash mid-write

    def get(self, source: SourceFile) -> str | None:
        return self.entries.get(source.ledger_key)

    def add(self, source: SourceFile, sha256: str) -> None:
        if self.entries.get(source.ledger_key) == sha256:
            return
        self.entries[source.ledger_key] = sha256
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": source.ledger_key, "sha256": sha256}) + "\n")
