"""Loading-time checks of the metadata and history rule types (``conditions`` evaluates them).

Kept apart from the evaluation so the pack loader (``rules``) needs nothing of the engine's
matching: the loader sits below the engine, and this module below both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TYPES = ("hours", "call_pattern", "flagged", "guarded_proximity")
PATTERN_KINDS = ("calls_in_window", "after_conversation", "after_request", "repeat_contact")
ZONE_KEYS = ("timezone", "area_code_timezone", "address_timezone")
_DEFAULT_CONSENT_FLAGS = ("consented", "hours_consented")


# --- loading ----------------------------------------------------------------------------

def check_params(rule_type: str, params: dict[str, Any], fail: Callable[[str], Exception]) -> None:
    """Validate (and normalise in place) the params of one of TYPES; ``fail`` builds the error."""

    def strings(key: str, required: bool = False) -> tuple[str, ...]:
        value = params.get(key)
        if value is None and not required:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise fail(f"{key} must be a non-empty list of non-empty strings")
        return tuple(v.strip() for v in value)

    def mapping(key: str, required: bool = False) -> dict[str, Any]:
        value = params.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict) or not value:
            raise fail(f"{key} must be a mapping of metadata keys to values")
        return dict(value)

    def number(key: str, kind: type = int) -> None:
        value = params.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not isinstance(value, int)):
            raise fail(f"rule type {rule_type} needs {key} ({kind.__name__})")

    if rule_type == "hours":
        for key in ("earliest", "latest"):
            value = params.get(key)
            try:
                time.fromisoformat(str(value))
            except ValueError:
                raise fail(f"{key} must be HH:MM, not {value!r}") from None
            if not isinstance(value, str) or len(value) != 5:
                raise fail(f"{key} must be HH:MM, not {value!r}")
        params["consent_flags"] = strings("consent_flags") or _DEFAULT_CONSENT_FLAGS
        # which rulebook binds the creditor (a bank's guideline or the lenders' convention): a regex on its name
        for key in ("when_creditor", "unless_creditor"):
            if key in params:
                try:
                    params[key] = re.compile(str(params[key]))
                except re.error as exc:
                    raise fail(f"{key} is not a valid regular expression: {exc}") from None
        params["zones_if_unknown"] = strings("zones_if_unknown")
        for zone in params["zones_if_unknown"]:
            if zone_or_none(zone) is None:
                raise fail(f"zones_if_unknown: {zone!r} is not an IANA time zone")
    elif rule_type == "call_pattern":
        kind = params.get("kind")
        if kind not in PATTERN_KINDS:
            raise fail(f"call_pattern kind must be one of {', '.join(PATTERN_KINDS)}")
        if kind == "calls_in_window":
            number("max")
        if kind in ("calls_in_window", "after_conversation"):
            number("days")
        if kind == "after_request":
            params["request_flags"] = strings("request_flags", required=True)
        if kind == "repeat_contact":
            params["when"] = mapping("when", required=True)
            if not all(v is True for v in params["when"].values()):
                raise fail("repeat_contact: when takes metadata flags set to true (location_call: true)")
        params["lift_flags"] = strings("lift_flags")
        match_on = params.setdefault("match_on", "phone" if kind == "repeat_contact" else "debtor")
        if match_on not in ("debtor", "phone"):
            raise fail("match_on must be debtor or phone")
    elif rule_type in ("flagged", "guarded_proximity"):
        params["when"] = mapping("when")
        params["unless"] = mapping("unless")
        params["exclude"] = strings("exclude")
        params.setdefault("outbound_only", rule_type == "flagged")
        if not isinstance(params["outbound_only"], bool):
            raise fail("outbound_only must be true or false")
        if rule_type == "flagged":
            params["phrases"] = strings("phrases")
            absent = params.get("absent") or []
            if not isinstance(absent, list):
                raise fail("absent must be a list of phrase groups")
            params["absent"] = tuple(tuple(_group(g, fail)) for g in absent)
            if params["phrases"] and params["absent"]:
                raise fail("flagged takes phrases or absent, not both")
            if not (params["when"] or params["unless"] or params["phrases"]):
                raise fail("flagged needs when, unless or phrases")
        else:
            for key in ("first", "then", "unless_said"):
                side = params.get(key)
                if side is None and key == "unless_said":
                    continue
                if not isinstance(side, dict) or side.get("role", "either") not in ("agent", "customer", "either"):
                    raise fail(f"{key} must be a mapping with role (agent, customer, either) and phrases")
                params[key] = (side.get("role", "either"), _group(side.get("phrases"), fail))
            if not isinstance(params.get("within_segments"), int) or isinstance(params.get("within_segments"), bool):
                raise fail("guarded_proximity needs within_segments (int)")


def _group(value: Any, fail: Callable[[str], Exception]) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str | int) and str(v).strip() for v in value):
        raise fail("phrases must be a non-empty list of non-empty strings")
    return [str(v).strip() for v in value]


@lru_cache(maxsize=512)
def zone_or_none(name: str | None) -> ZoneInfo | None:
    """The IANA zone of that name, or None for an empty or unknown name."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
