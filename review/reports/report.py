"""The morning report of one period: volumes, findings, backlog, estimates and failures.

``build_report`` reads the store; ``write_report`` turns the result into
report.json, report.csv (one row per call), summary.csv and report.html
(charts embedded as PNG data URIs, so the file travels alone by mail).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callqa.errors import CallQAError
from review.reports.model import Report
from review.reports.render import render_html
from review.sampling.draw import as_utc, call_time, current_findings_stmt
from review.sampling.estimates import estimate
from review.scorecard.records import scored_calls, summarise
from review.store.models import SEVERITY_RANK, Call, Finding, ReviewItem


def _iso(value: datetime | None) -> str:
    return as_utc(value).isoformat() if value else ""


def _overdue(session: Session, now: datetime, sla_hours: float | None) -> list[dict[str, Any]]:
    open_items = select(ReviewItem).where(ReviewItem.status != "final")
    if sla_hours is not None:
        cutoff = now - timedelta(hours=sla_hours)
        open_items = open_items.where(or_(ReviewItem.overdue.is_(True), ReviewItem.created_at < cutoff))
    else:
        open_items = open_items.where(ReviewItem.overdue.is_(True))
    rows = []
    for item in session.execute(open_items.order_by(ReviewItem.created_at)).scalars():
        age = (now - as_utc(item.created_at)).total_seconds() / 3600.0
        rows.append({"item_id": item.id, "call_id": item.call_id, "kind": item.kind, "status": item.status,
                     "agent_id": item.agent_id, "team": item.team, "created_at": _iso(item.created_at),
                     "age_hours": round(age, 1)})
    return rows


def build_report(session: Session, since: datetime, until: datetime, *, sla_hours: float | None = None,
                 now: datetime | None = None, confidence: float = 0.95) -> Report:
    """Everything the morning report shows for calls in [since, until).

    Failures are failed calls of the period plus any registered from
    ``since`` up to ``now`` (the night's run). Overdue items are the open
    backlog as of ``now`` (whatever their call's date): items the queue
    marked overdue, and with ``sla_hours`` also any open item older than
    the SLA.
    """
    since, until = as_utc(since), as_utc(until)
    if until <= since:
        raise CallQAError(f"report period {since.isoformat()} .. {until.isoformat()} is empty; "
                          "give --until after --since")
    now = as_utc(now or datetime.now(UTC))
    when = call_time()
    # plain rows, not ORM objects: a month of calls is hundreds of thousands of them
    calls = session.execute(
        select(Call.id, Call.started_at, Call.duration_s, Call.agent_id, Call.team, Call.status)
        .where(when >= since, when < until).order_by(when, Call.id)).all()
    ids = [c.id for c in calls]
    findings: dict[str, list[Finding]] = defaultdict(list)
    items: dict[str, ReviewItem] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for f in session.execute(current_findings_stmt().where(Finding.call_id.in_(chunk))).scalars():
            findings[f.call_id].append(f)
        for queued in session.execute(select(ReviewItem).where(ReviewItem.call_id.in_(chunk))).scalars():
            items[queued.call_id] = queued
    est = estimate(session, since, until, confidence=confidence)

    severity: dict[str, dict[str, int]] = {s: {"findings": 0, "calls": 0} for s in SEVERITY_RANK}
    agents: dict[str, dict[str, Any]] = {}
    teams: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for call in calls:
        fs = findings.get(call.id, [])
        item = items.get(call.id)
        top = max((f.severity for f in fs), key=lambda s: SEVERITY_RANK.get(s, 0), default="")
        for f in fs:
            severity.setdefault(f.severity, {"findings": 0, "calls": 0})["findings"] += 1
        if top:
            severity[top]["calls"] += 1
        outcome = item.outcome if item else None
        for table, key, extra in ((agents, call.agent_id or "(none)", {"team": call.team or ""}),
                                  (teams, call.team or "(none)", {})):
            row = table.setdefault(key, {**extra, "calls": 0, "audio_hours": 0.0, "flagged": 0, "findings": 0,
                                         "sampled": 0, "violations": 0})
            row["calls"] += 1
            row["audio_hours"] += (call.duration_s or 0.0) / 3600.0
            row["flagged"] += 1 if fs else 0
            row["findings"] += len(fs)
            row["sampled"] += 1 if item is not None and item.kind == "sample" else 0
            row["violations"] += 1 if outcome == "violation" else 0
        rows.append({"call_id": call.id, "started_at": _iso(call.started_at), "agent_id": call.agent_id or "",
                     "team": call.team or "", "duration_s": call.duration_s, "status": call.status,
                     "flagged": bool(fs), "findings": len(fs), "max_severity": top,
                     "rules": ";".join(sorted({f.rule_id for f in fs})),
                     "review_kind": item.kind if item else "", "review_status": item.status if item else "",
                     "outcome": outcome or "", "overdue": bool(item and item.overdue)})
    failures = [
        {"call_id": c.id, "recording_path": c.recording_path, "error": c.error or "(no error recorded)",
         "registered_at": _iso(c.created_at)}
        for c in session.execute(
            select(Call).where(Call.status == "failed")
            # registered during the night's run (after ``until``) counts too: that is when failures happen
            .where(or_((when >= since) & (when < until), (Call.created_at >= since) & (Call.created_at <= now)))
            .order_by(Call.created_at)).scalars()
    ]
    scores = list(scored_calls(session, since, until))  # scored once, summarised both ways
    return Report(
        since=since, until=until, generated_at=now, calls=len(calls),
        calls_by_status=dict(sorted(Counter(c.status for c in calls).items())),
        audio_hours=sum((c.duration_s or 0.0) for c in calls) / 3600.0,
        flagged=sum(1 for c in calls if findings.get(c.id)),
        sampled=sum(1 for i in items.values() if i.kind == "sample"),
        reviewed=sum(1 for i in items.values() if i.outcome is not None),
        by_severity=severity, by_rule=[t.row() for t in est.rules],
        by_agent=[{"agent_id": k, **_rounded(v)} for k, v in sorted(agents.items())],
        by_team=[{"team": k, **_rounded(v)} for k, v in sorted(teams.items())],
        overdue=_overdue(session, now, sla_hours), violation_rate=est.violation_rate, miss_rate=est.miss_rate,
        rule_precision=est.rule_precision, kappa=est.kappa, coverage=est.coverage, failures=failures,
        notes=est.notes, rows=rows,
        scores_by_agent=[s.as_dict("agent") for s in summarise(scores, "agent")],
        scores_by_team=[s.as_dict("team") for s in summarise(scores, "team")],
    )


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}


def write_report(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write the report's files into ``out_dir`` (created); returns {"json", "csv", "summary_csv", "html"}."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CallQAError(f"cannot create the report folder {out_dir}: {exc}; choose another --out") from exc
    paths = {"json": out_dir / "report.json", "csv": out_dir / "report.csv",
             "summary_csv": out_dir / "summary.csv", "html": out_dir / "report.html"}
    # JSON and CSV first: they need no plotting, so a chart failure cannot cost the numbers
    _write(paths["json"], report.to_json())
    _write(paths["csv"], report.rows_csv())
    _write(paths["summary_csv"], report.summary_csv())
    _write(paths["html"], render_html(report))
    return paths


def _write(path: Path, content: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)  # readers never see half a file
