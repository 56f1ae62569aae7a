"""``callqa demo``: the nightly flow once, through Prefect, on examples/recordings, then the
reviewers' part, simulated from the scripts' ground truth through the real queue commands.

Everything lands under CALLQA_HOME (default ./var): the SQLite database, the assembled
Whisper model, the recordings, transcripts and the reports. Run it again and it finds the
work done (idempotent) and shows the same state.

The simulated reviewers know each call's truth (examples/recordings/labels.json, made from the
scripts in examples/scripts): a finding whose category the script contains is confirmed, any
other is a false positive; a sampled call is a violation when its script has one. They act
through ``callqa queue claim | verdict | submit`` (run in this process), so the queue's rules
hold: a confirmed critical finding goes to a second reviewer. The morning report is then
written again, and its estimates are shown beside the truth the scripts know.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callqa.config import Settings
from flows import worker
from flows.nightly import NightSummary, run_nightly
from flows.render import table
from flows.sidecar import SidecarIndex, call_id_from_name, parse_rows

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "recordings"
DEMO_ACCOUNTS = (("demo-reviewer", "reviewer"), ("demo-reviewer-2", "reviewer"), ("demo-supervisor", "supervisor"),
                 ("demo-admin", "admin"))
DEMO_PASSWORD = "callqa-demo-2026"  # noqa: S105 - printed on screen on purpose: demo data only
FIRST, SECOND, SUPERVISOR = "demo-reviewer", "demo-reviewer-2", "demo-supervisor"
MUST_FLAG = ("EN-01", "ZH-07", "ZH-10")  # explicit threats: the demo fails if these are not flagged
STAGED = {".wav", ".mp3", ".flac", ".ogg", ".opus", ".csv"}
SIDECARS = ("metadata.json", "metadata.csv")


@dataclass
class DemoCall:
    call_id: str
    file: str
    status: str = "missing"
    language: str = ""
    transcribed: bool = False
    rules: list[str] = field(default_factory=list)
    review: str = ""


@dataclass
class ReviewLog:
    """What the simulated reviewers did."""

    commands: list[str] = field(default_factory=list)  # each command line with its output
    verdicts: int = 0
    items_final: int = 0
    second_reviews: int = 0
    disputes: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class DemoResult:
    summary: NightSummary
    calls: list[DemoCall]
    accounts: list[str]
    accounts_note: str
    problems: list[str]
    review: ReviewLog = field(default_factory=ReviewLog)
    report: dict[str, Any] = field(default_factory=dict)  # the morning report after the reviews
    report_dir: str | None = None
    truth: dict[str, Any] = field(default_factory=dict)  # the same figures from the scripts


def stage_examples(settings: Settings, examples: Path = EXAMPLES) -> Path:
    """Copy the example recordings and their sidecar into $CALLQA_HOME/inbox/examples."""
    if _sidecar(examples) is None:
        from callqa.errors import ConfigError

        raise ConfigError(f"{examples} holds no example recordings (metadata.json or metadata.csv missing); "
                          "run from the repository root or pass --examples")
    inbox = settings.home / "inbox" / "examples"
    inbox.mkdir(parents=True, exist_ok=True)
    for path in sorted(examples.iterdir()):
        # the recordings and their sidecar; never labels.json: the pipeline must not see the truth
        if path.is_file() and (path.suffix.lower() in STAGED or path.name in SIDECARS):
            target = inbox / path.name
            if not target.exists() or target.stat().st_size != path.stat().st_size:
                shutil.copy2(path, target)
    return inbox


def _sidecar(examples: Path) -> Path | None:
    return next((examples / name for name in SIDECARS if (examples / name).exists()), None)


def example_calls(examples: Path) -> list[tuple[str, str]]:
    """(call id, file name) of every example recording, from its sidecar."""
    source = _sidecar(examples)
    if source is None:
        return []
    rows = parse_rows(source.read_text(encoding="utf-8"), source.suffix.lstrip("."), str(source))
    index = SidecarIndex.from_rows(rows, str(source))
    return [(str(row.get("call_id") or call_id_from_name(name)), name) for name, row in index.by_name.items()]


def load_truth(examples: Path) -> dict[str, dict[str, Any]]:
    """call id -> its labels (categories, turns) from labels.json; empty when there is none."""
    path = examples / "labels.json"
    if not path.exists():
        return {}
    return {c["call_id"]: c for c in json.loads(path.read_text(encoding="utf-8"))["calls"]}


def _accounts(settings: Settings) -> tuple[list[str], str]:
    try:
        from review.accounts import users as accounts
    except ImportError:
        return [], "review/accounts/users.py is not there yet: no demo sign-in accounts were created"
    from callqa.errors import AccountError
    from review.store.db import session_scope

    made: list[str] = []
    with session_scope(worker.session_factory(settings)) as session:
        for username, role in DEMO_ACCOUNTS:
            try:
                accounts.add_user(session, username, DEMO_PASSWORD, role)
            except AccountError:
                pass  # made by an earlier demo run
            made.append(f"{username} ({role})")
    return made, f"demo sign-in accounts (review/accounts/users.py), password {DEMO_PASSWORD!r}"


def _state(settings: Settings, pairs: list[tuple[str, str]]) -> list[DemoCall]:
    from review.store.db import session_scope
    from review.store.models import Call, Finding, ReviewItem, Transcript

    calls = []
    with session_scope(worker.session_factory(settings)) as session:
        for call_id, name in pairs:
            row = DemoCall(call_id, name)
            call = session.get(Call, call_id)
            if call is not None:
                row.status, row.language = call.status, call.language or ""
                row.transcribed = session.execute(
                    select(Transcript.id).where(Transcript.call_id == call_id).limit(1)).first() is not None
                row.rules = sorted(set(session.execute(
                    select(Finding.rule_id).where(Finding.call_id == call_id)).scalars()))
                item = session.execute(select(ReviewItem).where(ReviewItem.call_id == call_id)).scalar_one_or_none()
                row.review = item.kind if item is not None else ""
            calls.append(row)
    return calls


def check(calls: list[DemoCall], summary: NightSummary) -> list[str]:
    """What the demo promises: all transcribed, the explicit threats flagged and queued, nothing failed."""
    problems = [f"{c.file}: not transcribed (status {c.status})" for c in calls if not c.transcribed]
    problems += [f"{f.name} failed: {f.reason}" for f in summary.failures]
    for threat in (c for c in calls if c.call_id in MUST_FLAG):
        if not (threat.rules and threat.review == "flagged"):
            problems.append(f"{threat.file}: its threats were not flagged and queued "
                            f"(findings {threat.rules or 'none'}, review item {threat.review or 'none'})")
    return problems


def _cli(args: list[str], log: ReviewLog, *, show: bool = False) -> str:
    """Run one ``callqa`` command in this process, as a supervisor would type it; its output is kept."""
    from typer.main import get_command

    from callqa.errors import CallQAError
    from flows.cli import app

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            get_command(app).main(args=args, prog_name="callqa", standalone_mode=False)
    except CallQAError as exc:
        log.errors.append(f"callqa {shlex.join(args)}: {exc}")
    text = out.getvalue().strip()
    log.commands.append(f"$ callqa {shlex.join(args)}" + (f"\n    {text}" if text and show else ""))
    return text


def _near(finding: Any, turns: list[dict[str, Any]], indexes: list[int], slack: float = 3.0) -> bool:
    """Whether the finding sits on (or within ``slack`` seconds of) one of the labelled turns."""
    if -1 in indexes or finding.start is None:
        return True
    for index in indexes:
        turn = turns[index] if 0 <= index < len(turns) else {}
        if "start" not in turn or turn["start"] - slack <= finding.start <= turn["end"] + slack:
            return True  # (labels without times: the category alone decides)
    return False


def truthful_decision(finding: Any, labels: dict[str, Any] | None) -> tuple[str, str]:
    """(decision, reason code) a reviewer who knows the script gives a finding."""
    if labels is not None:
        category = labels["categories"].get(finding.category)
        if category is not None and _near(finding, labels["turns"], category["turns"]):
            return "confirmed", "clear"
    if finding.category.startswith("missing_"):
        return "false_positive", "asr_error"  # the script says it: the transcript lost it
    return "false_positive", "context"


def simulate_review(settings: Settings, truth: dict[str, dict[str, Any]]) -> ReviewLog:
    """Play the reviewers' part from the scripts' truth, through `callqa queue` commands."""
    from review.sampling.draw import current_findings_stmt
    from review.store.db import session_scope
    from review.store.models import Finding, ReviewItem

    log = ReviewLog()
    factory = worker.session_factory(settings)
    for _ in range(3):  # first reviews, then the second reviews they open, then any disputes
        with session_scope(factory) as session:
            items = [(i.id, i.call_id, i.kind, i.stage, i.status) for i in session.execute(
                select(ReviewItem).where(ReviewItem.status.in_(("open", "claimed", "disputed")))
                .order_by(ReviewItem.id)).scalars()]
            findings = {call_id: list(session.execute(
                current_findings_stmt().where(Finding.call_id == call_id).order_by(Finding.id)).scalars())
                for _, call_id, *_ in items}
        if not items:
            break
        for item_id, call_id, kind, stage, status in items:
            labels = truth.get(call_id)
            if status == "disputed":
                decisions = [f"{f.id}={truthful_decision(f, labels)[0]}" for f in findings[call_id]
                             if f.severity == "critical"]
                _cli(["queue", "decide", str(item_id), "-u", SUPERVISOR, *[a for d in decisions
                      for a in ("--decision", d)], "--reason", "script"], log)
                log.disputes += 1
                continue
            user = FIRST if stage == "first" else SECOND
            _cli(["queue", "claim", str(item_id), "-u", user], log)
            if kind == "sample":
                wrong = sorted((labels or {}).get("categories", {}))
                args = ["--decision", "violation", "--category", wrong[0]] if wrong else ["--decision", "clean"]
                _cli(["queue", "verdict", str(item_id), "-u", user, *args], log)
                log.verdicts += 1
            else:
                for finding in findings[call_id]:
                    decision, reason = truthful_decision(finding, labels)
                    if stage == "second" and not (finding.severity == "critical" and decision == "confirmed"):
                        continue  # only confirmed critical findings come to a second reviewer
                    _cli(["queue", "verdict", str(item_id), "-u", user, "--finding", str(finding.id),
                          "--decision", decision, "--reason", reason], log)
                    log.verdicts += 1
            shown = _cli(["queue", "submit", str(item_id), "-u", user], log, show=True)
            log.second_reviews += stage == "second"
            log.items_final += " final " in f" {shown} "
    return log


def _period(settings: Settings, call_ids: list[str]) -> tuple[str, str] | None:
    """The local days (site time zone) the example calls fall on, as --since / --until."""
    from flows.closing import local_days
    from review.store.db import session_scope

    with session_scope(worker.session_factory(settings)) as session:
        days = local_days(session, call_ids, settings.flows.timezone)
    if not days:
        return None
    return days[0].isoformat(), (days[-1] + timedelta(days=1)).isoformat()


def truth_figures(settings: Settings, truth: dict[str, dict[str, Any]], call_ids: list[str]) -> dict[str, Any]:
    """The violation rate, miss rate and rule precision the scripts' truth gives for these calls."""
    from review.sampling.draw import current_findings_stmt
    from review.store.db import session_scope
    from review.store.models import Finding

    with session_scope(worker.session_factory(settings)) as session:
        findings = list(session.execute(current_findings_stmt().where(Finding.call_id.in_(call_ids))).scalars())
    flagged = {f.call_id for f in findings}
    violating = {c for c in call_ids if truth.get(c, {}).get("categories")}
    unflagged = [c for c in call_ids if c not in flagged]
    rules: dict[str, list[int]] = {}
    for f in findings:
        rules.setdefault(f.rule_id, []).append(truthful_decision(f, truth.get(f.call_id))[0] == "confirmed")
    return {
        "calls": len(call_ids), "violating": len(violating), "flagged": len(flagged),
        "violation_rate": len(violating) / len(call_ids) if call_ids else None,
        "miss_rate": len(violating - flagged) / len(unflagged) if unflagged else None,
        "missed_calls": sorted(violating - flagged),
        "rule_precision": {r: sum(v) / len(v) for r, v in sorted(rules.items())},
        "rule_findings": {r: len(v) for r, v in sorted(rules.items())},
    }


def run_demo(settings: Settings, examples: Path = EXAMPLES, *, review: bool = True) -> DemoResult:
    inbox = stage_examples(settings, examples)
    summary = run_nightly(settings, str(inbox))
    accounts, note = _accounts(settings)
    calls = _state(settings, example_calls(examples))
    result = DemoResult(summary, calls, accounts, note, check(calls, summary))
    truth = load_truth(examples)
    period = _period(settings, [c.call_id for c in calls if c.status != "missing"])
    if review and truth and period and accounts:
        result.review = simulate_review(settings, truth)
        out = Path(settings.reports_dir) / f"{period[0]}-reviewed"
        _cli(["report", "--since", period[0], "--until", period[1], "--out", str(out)], result.review)
        if (out / "report.json").exists():
            result.report = json.loads((out / "report.json").read_text(encoding="utf-8"))
            result.report_dir = str(out)
        result.truth = truth_figures(settings, truth, [c.call_id for c in calls if c.transcribed])
        result.problems += [f"simulated review: {e}" for e in result.review.errors]
        calls[:] = _state(settings, example_calls(examples))
    return result


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _ci(estimate: dict[str, Any] | None) -> str:
    if not estimate or estimate.get("estimate") is None:
        return "-"
    return (f"{_pct(estimate['estimate'])} [{_pct(estimate['ci_low'])}, {_pct(estimate['ci_high'])}] "
            f"n={estimate['n']}")


def render_review(result: DemoResult) -> list[str]:
    """The simulated reviews and the report's estimates beside the truth."""
    log, report, truth = result.review, result.report, result.truth
    if not log.commands:
        return []
    lines = ["", "SIMULATED REVIEWERS: verdicts taken from the scripts' ground truth (examples/recordings/labels.json),",
             f"given through the queue commands a supervisor uses ({FIRST}, {SECOND} for four eyes, {SUPERVISOR}):"]
    shown = log.commands if len(log.commands) <= 40 else log.commands[:30] + [
        f"... {len(log.commands) - 36} more commands ..."] + log.commands[-6:]
    lines += ["  " + c.replace("\n", "\n  ") for c in shown]
    lines.append(f"  {log.verdicts} verdicts, {log.second_reviews} second reviews, {log.disputes} disputes settled, "
                 f"{log.items_final} items final")
    if report:
        rows = [("violation rate", _ci(report.get("violation_rate")), _pct(truth.get("violation_rate"))),
                ("miss rate (unflagged calls with a violation)", _ci(report.get("miss_rate")),
                 _pct(truth.get("miss_rate")))]
        for rule, estimate in sorted(report.get("rule_precision", {}).items()):
            rows.append((f"precision {rule}", _ci(estimate), _pct(truth.get("rule_precision", {}).get(rule))))
        lines += ["", "The morning report after the reviews, beside the truth the scripts know:",
                  table(rows, ("estimate", "report (95% CI)", "truth"))]
        if truth.get("missed_calls"):
            lines.append(f"violating calls the screening missed: {', '.join(truth['missed_calls'])}")
        lines.append(f"reviewed report: {result.report_dir}/report.html")
    return lines


def render(result: DemoResult, settings: Settings) -> str:
    calls, s = result.calls, result.summary
    totals = [
        ("calls ingested", s.ingested, sum(c.status != "missing" for c in calls)),
        ("transcribed", s.transcribed, sum(c.transcribed for c in calls)),
        ("flagged", s.flagged, sum(bool(c.rules) for c in calls)),
        ("queued (flagged)", s.queued, sum(c.review == "flagged" for c in calls)),
        ("sampled (QA)", s.sampled, sum(c.review == "sample" for c in calls)),
        ("failures", len(s.failures), sum(c.status == "failed" for c in calls)),
    ]
    lines = ["", table(totals, ("demo", "this run", "in the store")), "",
             table([(c.call_id, c.file, c.language, c.status, ", ".join(c.rules) or "-", c.review or "-")
                    for c in calls], ("call", "recording", "lang", "status", "findings", "review queue"))]
    if s.report_dir:
        lines.append(f"report: {s.report_dir}/report.html")
    lines += render_review(result)
    home = f"CALLQA_HOME={settings.home} " if str(settings.home) not in ("var", "./var") else ""
    lines.append(result.accounts_note + (": " + ", ".join(result.accounts) if result.accounts else ""))
    lines.append(f"open the review UI: {home}{_callqa_command()} serve   "
                 f"(then http://{settings.web.host}:{settings.web.port})")
    lines.append("demo check: OK" if not result.problems else "demo check: FAILED\n  " + "\n  ".join(result.problems))
    return "\n".join(lines)


def _callqa_command() -> str:
    """The way to call callqa from here: `callqa` when on PATH, else the venv's script (e.g. .venv/bin/callqa)."""
    if shutil.which("callqa"):
        return "callqa"
    script = Path(sys.executable).parent / "callqa"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)
