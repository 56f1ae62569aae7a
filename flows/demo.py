"""``callqa demo``: the nightly flow once, through Prefect, on examples/recordings.

Everything lands under CALLQA_HOME (default ./var): the SQLite database, the assembled
Whisper model, the recordings, transcripts and the report. Run it again and it finds the
work done (idempotent) and shows the same state.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from callqa.config import Settings
from flows import worker
from flows.nightly import NightSummary, run_nightly
from flows.render import table
from flows.sidecar import SidecarIndex, call_id_from_name, parse_rows

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "recordings"
DEMO_ACCOUNTS = (("demo-reviewer", "reviewer"), ("demo-supervisor", "supervisor"), ("demo-admin", "admin"))
DEMO_PASSWORD = "callqa-demo-2026"  # noqa: S105 - printed on screen on purpose: demo data only
RULE_BREAKING = "EN-0001"  # the English call where the agent threatens arrest


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
class DemoResult:
    summary: NightSummary
    calls: list[DemoCall]
    accounts: list[str]
    accounts_note: str
    problems: list[str]


def stage_examples(settings: Settings, examples: Path = EXAMPLES) -> Path:
    """Copy the example recordings and their sidecar into $CALLQA_HOME/inbox/examples."""
    if not (examples / "metadata.csv").exists():
        from callqa.errors import ConfigError

        raise ConfigError(f"{examples} holds no example recordings (metadata.csv missing); "
                          "run from the repository root or pass --examples")
    inbox = settings.home / "inbox" / "examples"
    inbox.mkdir(parents=True, exist_ok=True)
    for path in sorted(examples.iterdir()):
        if path.is_file() and path.suffix.lower() in {".wav", ".mp3", ".flac", ".csv", ".json"}:
            target = inbox / path.name
            if not target.exists() or target.stat().st_size != path.stat().st_size:
                shutil.copy2(path, target)
    return inbox


def example_calls(examples: Path) -> list[tuple[str, str]]:
    """(call id, file name) of every example recording, from its sidecar."""
    source = examples / "metadata.csv"
    index = SidecarIndex.from_rows(parse_rows(source.read_text(encoding="utf-8"), "csv", str(source)), str(source))
    return [(str(row.get("call_id") or call_id_from_name(name)), name) for name, row in index.by_name.items()]


def _accounts(settings: Settings) -> tuple[list[str], str]:
    try:
        from review import accounts
    except ImportError:
        return [], "review/accounts.py is not there yet: no demo sign-in accounts were created"
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
    return made, f"demo sign-in accounts (review/accounts.py), password {DEMO_PASSWORD!r}"


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
    """What the demo promises: all transcribed, the arrest threat flagged and queued, nothing failed."""
    problems = [f"{c.file}: not transcribed (status {c.status})" for c in calls if not c.transcribed]
    problems += [f"{f.name} failed: {f.reason}" for f in summary.failures]
    threat = next((c for c in calls if c.call_id == RULE_BREAKING), None)
    if threat is not None and not (threat.rules and threat.review == "flagged"):
        problems.append(f"{threat.file}: the arrest threat was not flagged and queued "
                        f"(findings {threat.rules or 'none'}, review item {threat.review or 'none'})")
    return problems


def run_demo(settings: Settings, examples: Path = EXAMPLES) -> DemoResult:
    inbox = stage_examples(settings, examples)
    summary = run_nightly(settings, str(inbox))
    accounts, note = _accounts(settings)
    calls = _state(settings, example_calls(examples))
    return DemoResult(summary, calls, accounts, note, check(calls, summary))


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
