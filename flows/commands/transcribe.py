"""``callqa transcribe FILE...``: transcribe recordings without the database or the flow."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from callqa.config import load_settings
from callqa.errors import CallQAError


class OutputFormat(StrEnum):
    json = "json"
    srt = "srt"
    vtt = "vtt"
    txt = "txt"


def transcribe(
    files: list[Path] = typer.Argument(..., help="Recordings (wav, mp3, m4a, amr, opus, flac); stereo: agent left, customer right."),
    language: str = typer.Option("auto", "--language", "-l", help="auto (detect), a Whisper code (zh, yue, en...) or a dialect name (wu, minnan...)."),
    backend: str | None = typer.Option(None, "--backend", help="faster-whisper (default) or openai-whisper."),
    model: str | None = typer.Option(None, "--model", help="Model name: base, tiny.en, or a name listed in transcriber.model_paths."),
    fmt: OutputFormat = typer.Option(OutputFormat.json, "--format", "-f", help="Output format."),
    output_dir: Path | None = typer.Option(None, "--output-dir", "-o", help="Write <name>.<format> files here instead of printing."),
) -> None:
    """Transcribe recordings; a bad file is reported and the rest go on (exit 1 if any failed)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from transcriber import Transcriber
    from transcriber.formats import render

    settings = load_settings()
    if backend:
        settings.transcriber.backend = backend
    if model:
        settings.transcriber.model = model
    transcriber = Transcriber(settings.transcriber, settings.model_cache)
    metadata: dict[str, str] = {}
    if language and language != "auto":
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        code = language.lower()
        if code not in transcriber.registry.dialects and code not in _LANGUAGE_CODES:
            raise typer.BadParameter(
                f"{language!r} is neither a Whisper language code (zh, yue, en...) nor a dialect "
                f"({', '.join(sorted(transcriber.registry.dialects))})",
                param_hint="--language",
            )
        metadata["dialect" if code in transcriber.registry.dialects else "language"] = code
    if output_dir:
        output_dir.mkdir(parents=True, exist_ok=True)
    err = Console(stderr=True)
    failed = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as progress:  # fmt: skip
        task = progress.add_task("transcribing", total=len(files))
        ready: dict[int, str] = {}  # rendered, waiting for the files before them (stdout keeps input order)
        printed = 0
        # files side by side, one per core: a single call leaves a core idle between its windows
        for index, result in transcriber.transcribe_many((path, path.stem, metadata) for path in files):
            path = files[index]
            if isinstance(result, CallQAError):
                failed += 1
                err.print(f"[red]error:[/red] {result}", markup=True, highlight=False)
                ready[index] = ""
            else:
                text = render(result, fmt.value)
                if output_dir:
                    (output_dir / f"{path.stem}.{fmt.value}").write_text(text, encoding="utf-8")
                ready[index] = "" if output_dir else text
            while printed in ready:
                text = ready.pop(printed)
                if text:
                    progress.console.file.flush()
                    sys.stdout.write(text)
                    sys.stdout.flush()
                printed += 1
            progress.update(task, description=path.name)
            progress.advance(task)
    if failed:
        err.print(f"{failed} of {len(files)} file(s) failed")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``callqa transcribe`` to the main app."""
    app.command("transcribe")(transcribe)
