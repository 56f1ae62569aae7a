"""`callqa queue ...`, `callqa audit ...` and `callqa db upgrade`: the review store from the shell."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings, load_settings
from callqa.errors import AuditChainError, QueueConflictError
from review.store.db import init_db, make_engine, revision_of, session_scope
from review.store.models import ReviewItem, User

if TYPE_CHECKING:
    from review.store.files import FilesReport

USER_OPTION = typer.Option(..., "--user", "-u", envvar="CALLQA_USER", help="Who acts (username; or CALLQA_USER).")


def _sessions(settings: Settings) -> sessionmaker[Session]:
    engine = make_engine(settings.db_url)
    init_db(engine)
    return sessionmaker(engine, expire_on_commit=False)


def _user(session: Session, username: str) -> User:
    from review.accounts.users import get_user

    return get_user(session, username)


def _row(item: ReviewItem) -> dict[str, Any]:
    return {"id": item.id, "call_id": item.call_id, "kind": item.kind, "status": item.status, "stage": item.stage,
            "urgent": item.urgent, "severity_rank": item.severity_rank, "category": item.category,
            "team": item.team, "dialect": item.dialect, "assignee_id": item.assignee_id,
            "lease_expires_at": item.lease_expires_at, "outcome": item.outcome, "overdue": item.overdue,
            "created_at": item.created_at}


def _show(item: ReviewItem, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(_row(item), default=str, ensure_ascii=False))
        return
    flags = ("URGENT " if item.urgent else "") + ("OVERDUE " if item.overdue else "")
    typer.echo(f"#{item.id:<6} {item.call_id:<24} {item.kind:<7} {item.status:<9} {item.stage:<10} "
               f"sev={item.severity_rank} {item.category or '-':<14} team={item.team or '-'} "
               f"outcome={item.outcome or '-'} {flags}".rstrip())


def _register_queue(app: typer.Typer) -> None:
    q = typer.Typer(help="The review queue: list, claim, decide, appeal, SLA and stats.", no_args_is_help=True)
    app.add_typer(q, name="queue")

    @q.command("list")
    def list_command(
        status: str = typer.Option(None, "--status", help="Only items in this state: open, claimed, disputed, "
                                   "final, appealed."),
        overdue: bool = typer.Option(False, "--overdue", help="Only items past the SLA."),
        limit: int = typer.Option(50, "--limit", min=1, help="At most this many, in queue order."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    ) -> None:
        """List review items in priority order (urgent, then severity, then age)."""
        from review.queue.lifecycle import list_items

        with session_scope(_sessions(load_settings())) as session:
            for item in list_items(session, status=status, overdue=True if overdue else None, limit=limit):
                _show(item, as_json)

    @q.command("next")
    def next_command(
        user: str = USER_OPTION,
        team: str = typer.Option(None, "--team", help="Only calls of this team."),
        dialect: str = typer.Option(None, "--dialect", help="Only calls in this dialect."),
        kind: str = typer.Option(None, "--kind", help="flagged or sample."),
        as_json: bool = typer.Option(False, "--json", help="Print the item as JSON."),
    ) -> None:
        """Claim the next item you may review (a lease of queue.lease_seconds); exits 1 when there is none."""
        from review.queue.lifecycle import claim_next

        settings = load_settings()
        with session_scope(_sessions(settings)) as session:
            item = claim_next(session, _user(session, user), filters={"team": team, "dialect": dialect, "kind": kind},
                              lease_seconds=settings.queue.lease_seconds,
                              max_open=settings.queue.max_open_per_reviewer)
            if item is None:
                typer.echo("nothing to review for you right now")
                raise typer.Exit(1)
            _show(item, as_json)

    @q.command("claim")
    def claim_command(item_id: int = typer.Argument(..., help="Review item id."), user: str = USER_OPTION) -> None:
        """Claim one chosen item (or renew your lease on it)."""
        from review.queue.lifecycle import claim

        settings = load_settings()
        with session_scope(_sessions(settings)) as session:
            _show(claim(session, item_id, _user(session, user), lease_seconds=settings.queue.lease_seconds,
                        max_open=settings.queue.max_open_per_reviewer), False)

    @q.command("release")
    def release_command(item_id: int = typer.Argument(..., help="Review item id."), user: str = USER_OPTION) -> None:
        """Give a claimed item back to the queue unfinished."""
        from review.queue.lifecycle import release

        with session_scope(_sessions(load_settings())) as session:
            _show(release(session, item_id, _user(session, user)), False)

    @q.command("verdict")
    def verdict_command(
        item_id: int = typer.Argument(..., help="Review item id (claimed by you)."),
        user: str = USER_OPTION,
        finding: int = typer.Option(None, "--finding", help="Finding id (flagged items)."),
        decision: str = typer.Option(..., "--decision", help="confirmed | false_positive for a finding; "
                                     "violation | clean for a sample."),
        category: str = typer.Option(None, "--category", help="Sample violation: the category found."),
        reason: str = typer.Option("", "--reason", help="Reason code (required for a false positive)."),
        comment: str = typer.Option("", "--comment", help="Free-text comment."),
        submit_now: bool = typer.Option(False, "--submit", help="Submit the item after this verdict."),
    ) -> None:
        """Record a verdict on one finding (or on a sampled call), optionally submitting the item."""
        from review.queue import lifecycle as queue

        settings = load_settings()
        with session_scope(_sessions(settings)) as session:
            who = _user(session, user)
            if finding is None:
                queue.record_sample_verdict(session, item_id, who, decision, category, reason, comment)
            else:
                queue.record_verdict(session, item_id, finding, who, decision, reason, comment)
            q = settings.queue
            item = (queue.submit(session, item_id, who, agreement_share=q.agreement_share,
                                 agreement_salt=q.agreement_salt) if submit_now else queue.get_item(session, item_id))
            _show(item, False)

    @q.command("submit")
    def submit_command(item_id: int = typer.Argument(..., help="Review item id."), user: str = USER_OPTION) -> None:
        """Finish your review stage of an item (four eyes and disputes follow automatically)."""
        from review.queue.lifecycle import submit

        settings = load_settings()
        with session_scope(_sessions(settings)) as session:
            _show(submit(session, item_id, _user(session, user), agreement_share=settings.queue.agreement_share,
                         agreement_salt=settings.queue.agreement_salt), False)

    @q.command("decide")
    def decide_command(
        item_id: int = typer.Argument(..., help="Disputed review item id."),
        user: str = USER_OPTION,
        decision: list[str] = typer.Option(..., "--decision", help="FINDING_ID=confirmed|false_positive, "
                                           "once per disputed finding."),
        reason: str = typer.Option("", "--reason", help="Reason code."),
        comment: str = typer.Option("", "--comment", help="Free-text comment."),
    ) -> None:
        """Supervisor: settle a disputed item."""
        from review.queue.lifecycle import supervisor_decide

        decisions: dict[int, str] = {}
        for pair in decision:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip().isdigit():
                raise QueueConflictError(f"--decision {pair!r}: write FINDING_ID=confirmed or FINDING_ID=false_positive")
            decisions[int(key)] = value.strip()
        with session_scope(_sessions(load_settings())) as session:
            _show(supervisor_decide(session, item_id, _user(session, user), decisions, reason_code=reason,
                                    comment=comment), False)

    @q.command("appeal")
    def appeal_command(
        item_id: int = typer.Argument(..., help="Final review item id."),
        user: str = USER_OPTION,
        reason: str = typer.Option(..., "--reason", help="Why the outcome is wrong."),
    ) -> None:
        """Team lead: appeal a final violation of your team, once, within queue.appeal_window_days."""
        from review.queue.lifecycle import appeal

        settings = load_settings()
        with session_scope(_sessions(settings)) as session:
            row = appeal(session, item_id, _user(session, user), reason, window_days=settings.queue.appeal_window_days)
            typer.echo(f"appeal {row.id} on item {item_id} filed; a supervisor rules with `callqa queue rule {row.id}`")

    @q.command("rule")
    def rule_command(
        appeal_id: int = typer.Argument(..., help="Appeal id."),
        user: str = USER_OPTION,
        ruling: str = typer.Option(..., "--ruling", help="upheld (violation stands) or overturned."),
        comment: str = typer.Option("", "--comment", help="Reasons for the ruling."),
    ) -> None:
        """Supervisor: rule on an appeal; the ruling is final."""
        from review.queue.lifecycle import rule_appeal

        with session_scope(_sessions(load_settings())) as session:
            row = rule_appeal(session, appeal_id, _user(session, user), ruling, comment)
            typer.echo(f"appeal {row.id}: {row.ruling} by supervisor {user}")

    @q.command("stats")
    def stats_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Mark items past the SLA (queue.sla_hours) as overdue, then print queue counts."""
        from review.queue.lifecycle import mark_overdue, stats

        settings = load_settings()
        with session_scope(_sessions(settings)) as session:
            newly = mark_overdue(session, sla_hours=settings.queue.sla_hours)
            result = asdict(stats(session))
        result["newly_overdue"] = newly
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
            return
        for key, value in result.items():
            typer.echo(f"{key}: {value}")


def _register_audit(app: typer.Typer) -> None:
    a = typer.Typer(help="The hash-chained audit trail: verify it, export evidence packs.", no_args_is_help=True)
    app.add_typer(a, name="audit")

    @a.command("verify")
    def verify_command(
        pack: Path = typer.Option(None, "--pack", exists=True, dir_okay=False, help="Check this evidence pack "
                                  "offline instead of the database."),
        recording: Path = typer.Option(None, "--recording", exists=True, dir_okay=False, help="With --pack: "
                                       "also check this recording file against the pack's SHA-256."),
        expect_head: str = typer.Option(None, "--expect-head", help="An entry hash published earlier; fails if "
                                        "it is no longer in the chain (catches deleted newest entries)."),
        files: bool = typer.Option(False, "--files", help="Also check the files under CALLQA_HOME: list rows "
                                   "whose recording or transcript file is missing, and files no row names."),
    ) -> None:
        """Check the whole audit chain (or one evidence pack) and name the first entry that fails."""
        from review.audit.chain import verify
        from review.audit.evidence import verify_pack

        if pack is not None:
            result = verify_pack(pack, recording=recording)
            if not result.ok:
                for problem in result.problems:
                    typer.secho(f"FAIL {problem}", fg=typer.colors.RED, err=True)
                raise AuditChainError(f"evidence pack {pack} does not verify ({len(result.problems)} problem(s))")
            typer.echo(f"ok: evidence pack of call {result.call_id}, recording {result.recording_sha256}, "
                       f"{result.entries} chain entries")
            return
        settings = load_settings()
        with session_scope(_sessions(settings)) as session:
            chain = verify(session, expect_head=expect_head)
            report = _check_files(session, settings) if files else None
        chain.raise_if_broken()
        typer.echo(f"ok: {chain.entries} entries, head seq {chain.head_seq} {chain.head_hash}")
        if report is not None and not report.ok:
            raise typer.Exit(1)

    @a.command("export")
    def export_command(
        call_id: str = typer.Argument(..., help="The call to export."),
        out: Path = typer.Option(Path("."), "--out", help="Zip file to write, or a folder for "
                                 "<call_id>.evidence.zip."),
        user: str = typer.Option("system", "--user", "-u", envvar="CALLQA_USER", help="Who exports (logged)."),
    ) -> None:
        """Write the evidence pack of one call (zip, verifiable with `callqa audit verify --pack`)."""
        from review.audit.evidence import export_call

        with session_scope(_sessions(load_settings())) as session:
            result = export_call(session, call_id, out, actor=user)
        typer.echo(f"wrote {result.path} ({len(result.files)} files, {result.entries} chain entries, "
                   f"manifest {result.manifest_sha256})")


def _check_files(session: Session, settings: Settings) -> FilesReport:
    from review.store.files import check_files

    report = check_files(session, settings)
    for line in report.missing:
        typer.secho(f"MISSING {line}", fg=typer.colors.RED, err=True)
    for path in report.orphans:
        typer.secho(f"ORPHAN {settings.stored_path(path)}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"files: {report.checked} named by rows, {len(report.missing)} missing, "
               f"{len(report.orphans)} on disk that no row names")
    return report


def _register_db(app: typer.Typer) -> None:
    d = typer.Typer(help="The review database: schema migrations.", no_args_is_help=True)
    app.add_typer(d, name="db")

    @d.command("upgrade")
    def upgrade_command() -> None:
        """Migrate the database at CALLQA_DATABASE_URL (default: SQLite under CALLQA_HOME) to the newest schema."""
        settings = load_settings()
        engine = make_engine(settings.db_url)
        before = revision_of(engine).current
        after = init_db(engine)
        typer.echo(f"{engine.url.render_as_string(hide_password=True)}: {before or 'empty'} -> {after.current}")


def register(app: typer.Typer) -> None:
    """Add `queue`, `audit` and `db` to the main app."""
    _register_queue(app)
    _register_audit(app)
    _register_db(app)
