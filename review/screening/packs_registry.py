"""Finding rule packs by name or path, and choosing them by transcript language."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import yaml

from callqa.errors import ConfigError, RulePackError
from review.screening.rules import RulePack, load_pack_file

SHIPPED_DIR = Path(__file__).with_name("packs")
# ISO 639 codes Whisper or the dialect router may give for Chinese speech
CHINESE_LANGUAGES = frozenset({"zh", "yue", "wuu", "nan", "hak", "cmn", "cjy", "hsn", "gan", "cdo", "mnp"})
PACK_BY_LANGUAGE = {"zh": "cn-collection", "en": "us-regf"}

_cache: dict[Path, tuple[float, RulePack]] = {}


def _search_dirs(extra: str | os.PathLike[str] | None) -> list[Path]:
    dirs = [Path(extra)] if extra else []
    return dirs + [SHIPPED_DIR]


def available_packs(extra_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """Pack name (file stem) -> file; a site folder's pack shadows a shipped one of the same name."""
    found: dict[str, Path] = {}
    for folder in reversed(_search_dirs(extra_dir)):
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")):
                found[path.stem] = path
    return found


def load_pack(name_or_path: str, extra_dir: str | os.PathLike[str] | None = None) -> RulePack:
    """A pack by shipped/site name or by file path; cached until the file changes."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        path = candidate
        if not path.is_file():
            raise RulePackError(f"rule pack file {path} does not exist; check the path")
    else:
        packs = available_packs(extra_dir)
        if name_or_path not in packs:
            raise RulePackError(f"no rule pack named {name_or_path!r}; known: {', '.join(sorted(packs)) or 'none'}"
                                " (or pass a .yaml path)")
        path = packs[name_or_path]
    path = path.resolve()
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    pack = load_pack_file(path)
    _cache[path] = (mtime, pack)
    return pack


@lru_cache(maxsize=256)
def language_family(language: str | None) -> str | None:
    if not language:
        return None
    base = language.lower().replace("_", "-").split("-")[0]
    return "zh" if base in CHINESE_LANGUAGES else base


def pack_names_for(language: str | None) -> list[str]:
    """The default packs for a transcript language (all shipped packs when it is unknown)."""
    family = language_family(language)
    if family is None:
        return sorted(PACK_BY_LANGUAGE.values())
    if family not in PACK_BY_LANGUAGE:
        raise RulePackError(f"no default rule pack for language {language!r}; choose one with --pack "
                            f"(known: {', '.join(sorted(available_packs()))})")
    return [PACK_BY_LANGUAGE[family]]


# a pack may require recordings be kept a minimum time (cn-collection: two years)

def recording_retention_minimum(pack_names: Sequence[str], packs_dir: str | None = None) -> tuple[int, str] | None:
    """The longest ``recording_retention.min_days`` any of these packs sets, with the pack and
    the rule it rests on (``None`` when none sets one)."""
    known = available_packs(packs_dir or None)
    best: tuple[int, str] | None = None
    for name in pack_names:
        path = known.get(name)
        if path is None:
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue  # loading the pack for screening reports the problem
        need = data.get("recording_retention") if isinstance(data, dict) else None
        if not isinstance(need, dict) or not isinstance(need.get("min_days"), int):
            continue
        what = f"rule pack {name}, {need.get('rule', '')}: {need.get('summary', '')}".rstrip(": ")
        if best is None or need["min_days"] > best[0]:
            best = (need["min_days"], what)
    return best


def check_recording_retention(days: int, pack_names: Sequence[str], packs_dir: str | None = None) -> None:
    """Refuse a recording retention shorter than a pack in use requires (ConfigError naming the rule).

    ``pack_names`` empty means packs are chosen by transcript language, so every default pack is in use.
    """
    need = recording_retention_minimum(list(pack_names) or sorted(set(PACK_BY_LANGUAGE.values())), packs_dir)
    if need is not None and days < need[0]:
        raise ConfigError(f"[flows] recording_retention_days = {days} is shorter than the {need[0]} days that "
                          f"{need[1]} requires; set recording_retention_days to {need[0]} or more")
