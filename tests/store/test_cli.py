"""`callqa db|queue|audit` end to end on the SQLite database under a temp CALLQA_HOME."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from callqa.config import Settings
from flows.cli import app
from review.accounts.users import add_user
from review.store.db import head_revision, init_db, make_engine

from .conftest import FakeFinding, ingest


def test_review_a_call_and_export_its_evidence_from_the_shell(settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner()
    up = runner.invoke(app, ["db", "upgrade"])
    assert up.exit_code == 0 and f"empty -> {head_revision()}" in up.output
    engine = make_engine(settings.db_url)
    init_db(engine)
    with sessionmaker(engine)() as session:
        add_user(session, "rita", "correct horse battery", "reviewer")
        ingest(session, "cli-1", [FakeFinding("R1", "threat", "major")])
        from review.queue.lifecycle import enqueue

        enqueue(session, "cli-1")
        session.commit()
    listed = runner.invoke(app, ["queue", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output)["call_id"] == "cli-1"
    claimed = runner.invoke(app, ["queue", "next", "--user", "rita"])
    assert claimed.exit_code == 0 and "claimed" in claimed.output
    nothing = runner.invoke(app, ["queue", "next", "--user", "rita"])
    assert nothing.exit_code == 1 and "nothing to review" in nothing.output
    decided = runner.invoke(app, ["queue", "verdict", "1", "--user", "rita", "--finding", "1",
                                  "--decision", "confirmed", "--comment", "clear", "--submit"])
    assert decided.exit_code == 0 and "final" in decided.output and "outcome=violation" in decided.output
    stats = runner.invoke(app, ["queue", "stats", "--json"])
    assert json.loads(stats.output)["outcomes"] == {"violation": 1}
    exported = runner.invoke(app, ["audit", "export", "cli-1", "--out", str(tmp_path), "--user", "auditor"])
    assert exported.exit_code == 0, exported.output
    pack = tmp_path / "cli-1.evidence.zip"
    checked = runner.invoke(app, ["audit", "verify", "--pack", str(pack)])
    assert checked.exit_code == 0 and "ok: evidence pack of call cli-1" in checked.output
    whole = runner.invoke(app, ["audit", "verify"])
    assert whole.exit_code == 0 and whole.output.startswith("ok: ")
    with sqlite3.connect(settings.db_url.split("///", 1)[1]) as raw:
        raw.execute("UPDATE audit_events SET payload = '{}' WHERE kind = 'verdict'")
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code != 0 and "(id 6, verdict) fails" in str(broken.exception)


def test_acting_as_an_unknown_user_is_named(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["queue", "next", "--user", "ghost"])
    assert result.exit_code != 0 and "'ghost' does not exist" in str(result.exception)
