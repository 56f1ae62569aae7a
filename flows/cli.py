"""The ``callqa`` command: one Typer app, one command group per area."""

from __future__ import annotations

import sys

import typer

from callqa.errors import CallQAError
from flows.commands import pipeline, queue, report, screen, transcribe, web

app = typer.Typer(
    name="callqa",
    help="Call-recording transcription and compliance review for collection call centres.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

for module in (transcribe, screen, queue, web, report, pipeline):
    module.register(app)


def main() -> None:
    try:
        app()
    except CallQAError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
