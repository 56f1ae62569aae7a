"""`callqa report` and `callqa sample`: the morning report and the compliance sample draw."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import typer
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings, load_settings
from callqa.dates import HELP as DATE_HELP
from callqa.dates import local_midnight, parse_when
from callqa.errors import ConfigError
from review.store.db import init_db, make_engine, session_scope


class ReportFormat(StrEnum):
    html = "html"
    csv = "csv"
    json = "json"


def period(settings: Settings, since: str | None, until: str | None) -> tuple[datetime, datetime]:
    """The asked period (callqa.dates); by default yesterday, midnight to midnight in the site's time zone."""
    end = parse_when(until, settings, "--until") if until else local_midnight(settings)
    start = parse_when(since, settings, "--since") if since else end - timedelta(days=1)
    return start, end


def _sessions(settings: Settings) -> sessionmaker[Session]:
    engine = make_engine(settings.db_url)
    init_db(engine)
    return sessionmaker(engine, expire_on_commit=False)


def register(app: typer.Typer) -> None:
    """Add `report` and `sample` to the main app."""

    @app.command("report")
    def report_command(
        since: str = typer.Option(None, "--since", help=f"Start of the period: {DATE_HELP}. "
                                  "Default: yesterday 00:00."),
        until: str = typer.Option(None, "--until", help="End of the period, exclusive, read the same way. "
                                  "Default: today 00:00 in the site's time zone."),
        fmt: ReportFormat = typer.Option(ReportFormat.json, "--format", help="What to print: html, csv "
                                         "(one row per call) or json (totals and estimates)."),
        out: Path = typer.Option(None, "--out", help="Write report.json, report.csv, summary.csv and "
                                 "report.html into this folder instead of printing."),
        notify: bool = typer.Option(False, "--notify", help="With --out: announce the report on the "
                                    "configured WeCom / DingTalk / Slack webhooks."),
        sla_hours: float = typer.Option(None, "--sla-hours", help="Also count open items older than this "
                                        "as overdue. Default: queue.sla_hours."),
    ) -> None:
        """Print or write the compliance report of a period: volumes, findings, backlog, estimates, failures."""
        from review.reports.notify import send_report
        from review.reports.report import build_report, write_report

        settings = load_settings()
        start, end = period(settings, since, until)
        with session_scope(_sessions(settings)) as session:
            report = build_report(session, start, end,
                                  sla_hours=settings.queue.sla_hours if sla_hours is None else sla_hours)
        if out is None:
            if notify:
                raise ConfigError("--notify needs --out: the message links to the written report files")
            if fmt is ReportFormat.json:
                typer.echo(report.to_json())
            elif fmt is ReportFormat.csv:
                typer.echo(report.rows_csv(), nl=False)
            else:
                from review.reports.render import render_html

                typer.echo(render_html(report))
            return
        paths = write_report(report, out)
        for kind, path in paths.items():
            typer.echo(f"{kind}: {path}")
        if notify:
            for delivery in send_report(report, paths, settings.notify):
                state = "sent" if delivery.ok else f"FAILED ({delivery.error}); kept in {delivery.undelivered}"
                typer.echo(f"notify {delivery.channel}: {state} after {delivery.attempts} attempt(s)")

    @app.command("sample")
    def sample_command(
        since: str = typer.Option(None, "--since", help=f"Start of the period to sample: {DATE_HELP}. "
                                  "Default: yesterday 00:00."),
        until: str = typer.Option(None, "--until", help="End of the period, exclusive, read the same way. "
                                  "Default: today 00:00 in the site's time zone."),
        seed: str = typer.Option(None, "--seed", help="Seed of the draw (recorded in the audit trail). "
                                                       "Default: a fresh random one."),
        verify: int = typer.Option(None, "--verify", help="Instead of drawing: recompute draw ID from its "
                                                           "audit entry and compare it with the stored sample."),
    ) -> None:
        """Draw the compliance sample of unflagged calls for a period and queue it for review (idempotent)."""
        from review.sampling.draw import draw_sample, verify_draw

        settings = load_settings()
        sessions = _sessions(settings)
        if verify is not None:
            with session_scope(sessions) as session:
                check = verify_draw(session, verify)
            typer.echo(json.dumps({"draw_id": check.draw_id, "ok": check.ok, "problems": check.problems,
                                   "sample_size": len(check.recomputed)}, ensure_ascii=False, indent=2))
            if not check.ok:
                raise typer.Exit(1)
            return
        start, end = period(settings, since, until)
        with session_scope(sessions) as session:
            draw = draw_sample(session, start, end, settings.sampling, seed, actor="cli")
            summary = {"draw_id": draw.id, "period_start": start.isoformat(), "period_end": end.isoformat(),
                       "seed": draw.seed, "population_size": draw.population_size,
                       "population_hash": draw.population_hash,
                       "sampled": len(draw.sample.get("call_ids", [])),
                       "strata": {k: {"N": v["N"], "n": v["n"]} for k, v in draw.sample.get("strata", {}).items()}}
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
