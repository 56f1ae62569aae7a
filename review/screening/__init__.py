"""Screening: rule packs x transcripts -> findings.

``load_packs`` picks and validates packs, ``Screener`` runs them over a
transcript dict, ``history_for`` supplies prior calls for the frequency rules.
"""

from __future__ import annotations

from review.screening.engine import FindingResult, Screener, ScreenResult
from review.screening.history import CallHistory, history_for
from review.screening.packs_registry import available_packs, load_pack, pack_names_for
from review.screening.rules import CATEGORIES, Rule, RulePack

_screeners: dict[tuple[tuple[str, str, int], ...], tuple[Screener, list[RulePack]]] = {}


def screener_for(packs: list[RulePack]) -> Screener:
    """A Screener for these packs, built once per process (building the automaton takes a while)."""
    key = tuple((str(p.path), p.version, id(p)) for p in packs)
    if key not in _screeners:
        if len(_screeners) > 32:  # packs reloaded many times: drop the old ones
            _screeners.clear()
        _screeners[key] = (Screener(packs), list(packs))  # the packs are kept so their ids stay theirs
    return _screeners[key][0]


def load_packs(names: list[str] | None, language: str | None) -> list[RulePack]:
    """The named packs (names or .yaml paths), or, with no names, the packs for ``language``.

    Without names the setting ``[screening] packs`` wins when set; otherwise
    Chinese (zh, yue, wuu, nan, ...) gets cn-collection and English us-regf.
    A site folder ``[screening] packs_dir`` is searched before the shipped packs.
    """
    from callqa.config import load_settings

    settings = load_settings().screening
    if not names:
        names = list(settings.packs) or pack_names_for(language)
    return [load_pack(name, settings.packs_dir or None) for name in names]


__all__ = [
    "CATEGORIES",
    "CallHistory",
    "FindingResult",
    "Rule",
    "RulePack",
    "ScreenResult",
    "Screener",
    "available_packs",
    "history_for",
    "load_pack",
    "load_packs",
    "screener_for",
]
