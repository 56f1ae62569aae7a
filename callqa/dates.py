"""One reading of the dates and times given to any command (``--since``, ``--until``, ...).

A date (``2026-11-27``) is its midnight; a date-time without an offset (``2026-11-27T08:00``)
is read in the site's time zone (``flows.timezone``, default Asia/Shanghai); with an offset
(``2026-11-27T08:00+08:00``, ``...Z``) it means what it says. The result is always UTC, which
is how the store keeps every time.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callqa.config import Settings
from callqa.errors import ConfigError

HELP = ("a date (2026-11-27) or ISO date-time (2026-11-27T08:00); without an offset it is read in the site's "
        "time zone (flows.timezone), with one (2026-11-27T08:00+08:00) as given")


def site_zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.flows.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"flows.timezone={settings.flows.timezone!r} is not an IANA zone "
                          "(e.g. Asia/Shanghai)") from exc


def parse_when(value: str, settings: Settings, option: str) -> datetime:
    """``value`` as an aware UTC time; offset-less values are the site's local time."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ConfigError(f"{option} {value!r} is not a date (2026-11-27) or ISO date-time "
                          "(2026-11-27T08:00 or 2026-11-27T08:00+08:00)") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=site_zone(settings))).astimezone(UTC)


def local_midnight(settings: Settings, now: datetime | None = None) -> datetime:
    """Today's 00:00 in the site's time zone, as UTC."""
    zone = site_zone(settings)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    return datetime.combine(today, time(0), tzinfo=zone).astimezone(UTC)
