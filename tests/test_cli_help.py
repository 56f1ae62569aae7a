"""Every command and command group of the CLI has help text, and --help works."""

from __future__ import annotations

from typing import Any

import typer.main
from typer.testing import CliRunner

from flows.cli import app


def walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    # typer bundles its own click, so groups are recognised by their sub-commands, not by class
    found = [(path, command)]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found += walk(sub, (*path, name))
    return found


def test_every_command_has_help_text() -> None:
    root = typer.main.get_command(app)
    commands = walk(root)
    assert len(commands) > 10, "the CLI lost its commands"
    missing = [" ".join(p) for p, cmd in commands if p and not (cmd.help or "").strip()]
    assert not missing, f"commands without help text: {missing}"


def test_help_runs_for_every_command() -> None:
    runner = CliRunner()
    for path, _ in walk(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_the_commands_other_tools_rely_on_exist() -> None:
    names = {" ".join(p) for p, _ in walk(typer.main.get_command(app))}
    for expected in ["run", "schedule", "transcribe", "screen", "rules", "queue", "audit", "serve", "users", "report"]:
        assert expected in names, f"callqa {expected} is missing"
