"""Every command reads --since/--until the same way: without an offset, in the site's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import typer.main
from typer.testing import CliRunner

from callqa.config import Settings
from callqa.dates import local_midnight, parse_when
from callqa.errors import ConfigError
from flows.backfill import backfill_period
from flows.cli import app
from flows.commands.report import period


def test_offset_less_values_are_site_local_and_offsets_are_kept(plain_settings: Settings) -> None:
    plain_settings.flows.timezone = "Asia/Shanghai"
    assert parse_when("2026-11-27", plain_settings, "--since") == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    assert parse_when("2026-11-27T08:30", plain_settings, "--since") == datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
    assert parse_when("2026-11-27T08:30+00:00", plain_settings, "--since") == datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    assert parse_when("2026-11-27T08:30Z", plain_settings, "--since") == datetime(2026, 11, 27, 8, 30, tzinfo=UTC)
    plain_settings.flows.timezone = "America/Chicago"
    assert parse_when("2026-07-01", plain_settings, "--since") == datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    with pytest.raises(ConfigError, match="--until '27/11/2026' is not a date"):
        parse_when("27/11/2026", plain_settings, "--until")
    plain_settings.flows.timezone = "Mars/Olympus"
    with pytest.raises(ConfigError, match="not an IANA zone"):
        parse_when("2026-11-27", plain_settings, "--since")


def test_backfill_report_and_sample_agree(plain_settings: Settings) -> None:
    plain_settings.flows.timezone = "Asia/Shanghai"
    for since, until in [("2026-11-01", "2026-11-02"), ("2026-11-01T06:00", "2026-11-01T18:00+08:00")]:
        assert backfill_period(plain_settings, since, until) == period(plain_settings, since, until)
    start, end = period(plain_settings, None, None)
    assert end == local_midnight(plain_settings) and (end - start).days == 1


def test_every_date_option_says_how_it_is_read() -> None:
    runner = CliRunner()
    for command in (["backfill"], ["report"], ["sample"]):
        output = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "300"}).output
        text = " ".join(output.replace("│", " ").split())
        assert "without an offset it is read in the site's time zone" in text, command
    root = typer.main.get_command(app)
    dated = [name for name, cmd in root.commands.items()  # type: ignore[attr-defined]
             if any(p.name in ("since", "until") for p in cmd.params)]
    assert sorted(dated) == ["backfill", "report", "sample"]
