"""The dialect registry and the routing of a call to a dialect, a language and a model.

Routing order: the call's metadata (an explicit dialect or language, or a region hint) ->
Whisper's language detection on the first speech -> the configured default. The chosen
dialect's model is used when installed, else the first installed model along its fallback chain.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from callqa.errors import ConfigError

DEFAULT_REGISTRY = Path(__file__).with_name("dialects.toml")
Reason = Literal["metadata", "detection", "fallback", "default"]


@dataclass(frozen=True)
class Dialect:
    name: str
    model: str
    language: str  # Whisper language code
    initial_prompt: str | None = None
    fallback: tuple[str, ...] = ()  # dialects whose models are tried when ours is not installed
    fallback_language: str | None = None  # for models that lack ``language`` (yue before large-v3)
    regions: tuple[str, ...] = ()


@dataclass
class Route:
    """Where a call goes, and why; recorded in the transcript's metadata["routing"]."""

    dialect: str | None
    language: str | None  # None: let the backend detect
    model: str
    reason: Reason
    source: str  # metadata | detection | default: how the dialect was chosen
    initial_prompt: str | None = None
    fallback_language: str | None = None
    detected: dict[str, Any] | None = None
    chain: list[str] = field(default_factory=list)  # models tried, in order

    def as_metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dialect": self.dialect, "language": self.language, "model": self.model,
                               "reason": self.reason, "source": self.source}  # fmt: skip
        if self.detected:
            out["detected"] = self.detected
        if len(self.chain) > 1:
            out["tried"] = self.chain
        return out


@dataclass
class DialectRegistry:
    dialects: dict[str, Dialect]
    default: str
    detect: dict[str, str]  # Whisper language code -> dialect name
    # a detection is trusted from this probability on; a language the registry does not list needs
    # more, since dialects without a Whisper code are often heard as some unrelated language
    min_probability: float = 0.5
    unlisted_min_probability: float = 0.8

    @classmethod
    def load(cls, path: str | Path | None = None) -> DialectRegistry:
        path = Path(path) if path else DEFAULT_REGISTRY
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"dialect registry {path}: {exc}; fix transcriber.dialects_file") from exc
        try:
            dialects = {
                name: Dialect(
                    name=name,
                    model=str(entry["model"]),
                    language=str(entry["language"]),
                    initial_prompt=entry.get("initial_prompt") or None,
                    fallback=tuple(entry.get("fallback", ())),
                    fallback_language=entry.get("fallback_language"),
                    regions=tuple(r.lower() for r in entry.get("regions", ())),
                )
                for name, entry in data.get("dialects", {}).items()
            }
        except (KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"dialect registry {path}: every dialect needs `model` and `language` ({exc})") from exc
        registry = cls(
            dialects,
            str(data.get("default", "mandarin")),
            dict(data.get("detect", {})),
            float(data.get("min_probability", 0.5)),
            float(data.get("unlisted_min_probability", 0.8)),
        )
        registry._check(path)
        return registry

    def _check(self, path: Path) -> None:
        names = set(self.dialects)
        wanted = {self.default, *self.detect.values()} | {f for d in self.dialects.values() for f in d.fallback}
        unknown = sorted(wanted - names)
        if unknown:
            raise ConfigError(f"dialect registry {path}: unknown dialect(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")

    def languages(self) -> set[str]:
        """Whisper language codes the registry routes: what this site expects to hear."""
        return set(self.detect) | {d.language for d in self.dialects.values()}

    def by_region(self, region: str) -> Dialect | None:
        needle = region.strip().lower()
        for dialect in self.dialects.values():
            if any(r and r in needle for r in dialect.regions):  # "Shanghai Pudong" -> wu
                return dialect
        return None

    def by_language(self, language: str) -> Dialect | None:
        if language in self.detect:
            return self.dialects[self.detect[language]]
        return next((d for d in self.dialects.values() if d.language == language), None)

    def pick_model(
        self, dialect: Dialect, available: Callable[[str], bool], default_model: str = "base"
    ) -> tuple[str, list[str]]:
        """The first installed model along the dialect's fallback chain, and the models tried.

        The model name ``default`` stands for the configured ``transcriber.model``.
        """
        tried: list[str] = []
        queue, seen = [dialect.name], set()
        while queue:
            current = self.dialects[queue.pop(0)]
            if current.name in seen:
                continue
            seen.add(current.name)
            model = default_model if current.model == "default" else current.model
            tried.append(model)
            if available(model):
                return model, tried
            queue.extend(current.fallback)
        return tried[0], tried  # nothing installed: resolving it gives the install hint

    def from_metadata(self, metadata: Mapping[str, Any]) -> tuple[Dialect | None, str | None]:
        """The dialect (or bare language) a call's metadata asks for, if any."""
        name = str(metadata.get("dialect") or "").strip().lower()
        if name:
            if name not in self.dialects:
                raise ConfigError(f"call metadata names dialect {name!r}, unknown to the registry; known: {', '.join(sorted(self.dialects))}")
            return self.dialects[name], None
        language = str(metadata.get("language") or "").strip().lower()
        if language and language != "auto":
            return self.by_language(language), language
        region = str(metadata.get("region") or "").strip()
        if region:
            return self.by_region(region), None
        return None, None


def route(
    registry: DialectRegistry,
    metadata: Mapping[str, Any],
    available: Callable[[str], bool],
    detect: Callable[[], tuple[str, float] | None],
    default_language: str = "auto",
    default_model: str = "base",
) -> Route:
    """Choose dialect, language and model for one call.

    ``detect`` runs Whisper's language identification on the first speech; it is called only when
    the metadata does not decide, and may return None when there is no speech.
    """
    dialect, language = registry.from_metadata(metadata)
    source: str = "metadata"
    detected: dict[str, Any] | None = None
    if dialect is None and language is None:
        guess = detect()
        if guess is not None:
            detected = {"language": guess[0], "probability": round(guess[1], 3)}
        listed = guess is not None and registry.by_language(guess[0]) is not None
        needed = registry.min_probability if listed else registry.unlisted_min_probability
        if guess is not None and guess[1] >= needed:
            source, language = "detection", guess[0]
            dialect = registry.by_language(language)
        else:
            source = "default"
            if default_language not in {"", "auto"}:
                language = default_language
                dialect = registry.by_language(language)
            else:
                dialect = registry.dialects[registry.default]
    if dialect is None:  # a language the registry has no dialect for: the default model decodes it
        model = default_model
        return Route(None, language, model, source, source, detected=detected, chain=[model])  # type: ignore[arg-type]
    model, tried = registry.pick_model(dialect, available, default_model)
    reason: Reason = "fallback" if model != tried[0] else source  # type: ignore[assignment]
    return Route(
        dialect=dialect.name,
        language=dialect.language,
        model=model,
        reason=reason,
        source=source,
        initial_prompt=dialect.initial_prompt,
        fallback_language=dialect.fallback_language,
        detected=detected,
        chain=tried,
    )
