"""Routing a call to a dialect, a language and a model, and why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from callqa.errors import ConfigError
from transcriber.dialects import DialectRegistry, route

REGISTRY = DialectRegistry.load()
INSTALLED = {"base", "tiny.en"}


def _available(name: str) -> bool:
    return name in INSTALLED


def _detector(result: tuple[str, float] | None) -> tuple[Callable[[], tuple[str, float] | None], list[int]]:
    calls: list[int] = []

    def detect() -> tuple[str, float] | None:
        calls.append(1)
        return result

    return detect, calls


def test_explicit_metadata_wins_and_detection_is_not_run() -> None:
    detect, calls = _detector(("en", 0.99))
    r = route(REGISTRY, {"language": "zh"}, _available, detect)
    assert (r.dialect, r.language, r.model, r.reason) == ("mandarin", "zh", "base", "metadata")
    assert calls == []


def test_region_hint_maps_to_a_dialect_that_falls_back_to_the_mandarin_model() -> None:
    detect, calls = _detector(("zh", 0.99))
    r = route(REGISTRY, {"region": "Shanghai"}, _available, detect)
    assert (r.dialect, r.language, r.model, r.reason, r.source) == ("wu", "zh", "base", "fallback", "metadata")
    assert r.as_metadata()["tried"] == ["whisper-wu", "base"]
    assert calls == []


def test_an_installed_dialect_model_is_used_without_a_code_change(tmp_path: Path) -> None:
    r = route(REGISTRY, {"dialect": "wu"}, lambda m: m in INSTALLED | {"whisper-wu"}, lambda: None)
    assert (r.dialect, r.model, r.reason) == ("wu", "whisper-wu", "metadata")


def test_detection_routes_when_metadata_is_silent() -> None:
    detect, calls = _detector(("en", 0.97))
    r = route(REGISTRY, {"call_id": "x"}, _available, detect)
    assert (r.dialect, r.language, r.reason) == ("english", "en", "detection")
    assert r.detected == {"language": "en", "probability": 0.97}
    assert calls == [1]


def test_cantonese_keeps_a_language_for_models_without_yue() -> None:
    r = route(REGISTRY, {"language": "yue"}, _available, lambda: None)
    assert (r.dialect, r.language, r.fallback_language, r.model) == ("cantonese", "yue", "zh", "base")


def test_unsure_detection_of_an_unlisted_language_goes_to_the_default() -> None:
    # a Minnan clip is heard as Vietnamese at 0.55 by base
    r = route(REGISTRY, {}, _available, lambda: ("vi", 0.55))
    assert (r.dialect, r.language, r.reason) == ("mandarin", "zh", "default")
    sure = route(REGISTRY, {}, _available, lambda: ("fr", 0.95))
    assert (sure.dialect, sure.language, sure.reason) == (None, "fr", "detection")


def test_no_speech_falls_to_the_configured_default() -> None:
    assert route(REGISTRY, {}, _available, lambda: None).dialect == "mandarin"
    r = route(REGISTRY, {}, _available, lambda: None, default_language="en")
    assert (r.dialect, r.reason) == ("english", "default")


def test_default_model_follows_the_configured_model() -> None:
    r = route(REGISTRY, {"language": "en"}, _available, lambda: None, default_model="tiny.en")
    assert r.model == "tiny.en"


def test_unknown_dialect_in_metadata_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="klingon.*known: cantonese"):
        route(REGISTRY, {"dialect": "klingon"}, _available, lambda: None)


def test_a_registry_with_a_dangling_fallback_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "d.toml"
    bad.write_text('default = "a"\n[dialects.a]\nmodel = "base"\nlanguage = "zh"\nfallback = ["b"]\n')
    with pytest.raises(ConfigError, match="unknown dialect.*b"):
        DialectRegistry.load(bad)
