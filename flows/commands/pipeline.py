"""CLI commands of the pipeline: run, schedule, backfill, retention, demo."""

from __future__ import annotations

# isort: off
import flows.prefect_env  # noqa: F401  - sets Prefect's offline defaults before Prefect reads them
# isort: on

import json
from pathlib import Path

import typer

from callqa.config import load_settings
from callqa.dates import HELP as DATE_HELP


def run(
    inbox: str = typer.Option("", "--inbox", help="Folder or fsspec URL (s3://..., sftp://...) to ingest; "
                              "default: flows.inbox, else $CALLQA_HOME/inbox."),
    as_json: bool = typer.Option(False, "--json", help="Print the night's summary as JSON at the end."),
    quiet: bool = typer.Option(False, "--quiet", help="No per-recording progress lines."),
) -> None:
    """Run one night now, through Prefect: ingest, transcribe, screen, queue, sample, report."""
    from flows.nightly import run_nightly
    from flows.render import night_table

    settings = load_settings()
    summary = run_nightly(settings, inbox or None, show_progress=not quiet)
    typer.echo(night_table(summary))
    if as_json:
        data = summary.to_dict()
        data.pop("outcomes")
        typer.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def schedule(
    cron: str = typer.Option("", help="Cron expression for the nightly run (default: flows.cron, 0 1 * * *)."),
    timezone: str = typer.Option("", help="IANA time zone of the schedule (default: flows.timezone, Asia/Shanghai)."),
) -> None:
    """Serve the nightly, backfill and retention flows on their schedules (needs PREFECT_API_URL).

    Start a server first with `prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api.
    Each scheduled run prints its progress here.
    """
    from flows.deploy import deployments, serve_all

    settings = load_settings()
    settings.flows.cron = cron or settings.flows.cron
    settings.flows.timezone = timezone or settings.flows.timezone
    _, info = deployments(settings)
    for item in info:
        typer.echo(f"{item.name}: " + (f"cron '{item.cron}' ({item.timezone})" if item.cron else "on demand"))
    serve_all(settings)


def backfill(
    since: str = typer.Option(..., help=f"Start (inclusive): {DATE_HELP}."),
    until: str = typer.Option(..., help="End (exclusive), read the same way."),
    rescreen_only: bool = typer.Option(False, "--rescreen-only", help="Keep stored transcripts; screen them "
                                       "with the current rule packs (after a pack change)."),
    retranscribe: bool = typer.Option(False, "--retranscribe", help="Transcribe with the current model where "
                                      "it has no transcript yet, retrying failed calls too (after a model change)."),
    quiet: bool = typer.Option(False, "--quiet", help="No per-call progress lines."),
) -> None:
    """Run stored recordings of a date range through the pipeline again (through Prefect)."""
    from flows.backfill import run_backfill_now
    from flows.render import night_table

    summary = run_backfill_now(load_settings(), since, until, rescreen_only=rescreen_only,
                               retranscribe=retranscribe, show_progress=not quiet)
    typer.echo(night_table(summary))


def retention(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would be deleted."),
    anonymise: bool = typer.Option(False, "--anonymise", help="Mask personal numbers in old transcripts "
                                   "instead of removing their text."),
) -> None:
    """Delete recordings (with their cached copies and pictures) and strip transcripts older than the
    retention periods (flows.*_retention_days). Paths resolve under CALLQA_HOME, wherever this runs.

    Each file is checked gone after deletion and only real deletions are audited; a file that cannot be
    deleted is listed as a failure (exit status 1) and its call stays held for the next run."""
    from flows.retention import apply_retention

    settings = load_settings()
    result = apply_retention(settings, dry_run=dry_run, anonymise=anonymise)
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {len(result.recordings_deleted)} recording(s) older than "
               f"{settings.flows.recording_retention_days} days ({len(result.files_deleted)} file(s)); "
               f"{'would strip' if dry_run else 'stripped'} {len(result.transcripts_stripped)} transcript(s) "
               f"older than {settings.flows.transcript_retention_days} days")
    if dry_run:
        for path in result.files_deleted:
            typer.echo(f"  {path}")
    for failure in result.failures:
        typer.secho(f"FAIL {failure}", fg=typer.colors.RED, err=True)
    if result.failures:
        typer.echo(f"{len(result.failures)} failure(s): those calls stay held; fix the cause and run again")
        raise typer.Exit(1)


def demo(
    examples: Path | None = typer.Option(None, help="Folder of example recordings with metadata.csv "
                                         "(default: the repository's examples/recordings)."),
) -> None:
    """Run the nightly flow once on the example recordings and print what it did."""
    from flows.demo import EXAMPLES, run_demo
    from flows.demo import render as render_demo

    settings = load_settings()
    typer.echo(f"callqa demo: CALLQA_HOME={settings.home}, database {settings.db_url}")
    result = run_demo(settings, examples or EXAMPLES)
    typer.echo(render_demo(result, settings))
    if result.problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("run")(run)
    app.command("schedule")(schedule)
    app.command("backfill")(backfill)
    app.command("retention")(retention)
    app.command("demo")(demo)
