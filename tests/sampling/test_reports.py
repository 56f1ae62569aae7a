"""The morning report over real rows: totals, breakdowns, backlog, estimates, failures, files, CLI."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from callqa.config import SamplingSettings, Settings
from review.queue import lifecycle as queue
from review.reports.report import build_report, write_report
from review.sampling.draw import draw_sample
from review.store.db import init_db, make_engine
from review.store.models import ReviewItem

from .conftest import DAY, add_call, add_finding, add_item, add_user, add_verdict

NOW = DAY + timedelta(days=1, hours=7)


def _night(session: Session) -> None:
    """10 clean calls (a1), 4 flagged calls (a2) all reviewed, a failed call, and old backlog."""
    for i in range(10):
        add_call(session, f"clean-{i}", agent="a1", team="t1", duration=360.0,
                 started=DAY + timedelta(hours=8, minutes=i))
    first, second = add_user(session, "rev1"), add_user(session, "rev2")
    plan = [  # call, rules (rule, severity), outcome, per-finding (first, second) decisions
        ("f1", [("R-THREAT", "critical")], "violation", [("confirmed", "confirmed")]),
        ("f2", [("R-THREAT", "major"), ("R-TIME", "minor")], "violation",
         [("false_positive", "confirmed"), ("confirmed", None)]),
        ("f3", [("R-PRIVACY", "major")], "no_violation", [("false_positive", None)]),
        ("f4", [("R-THREAT", "major")], "no_violation", [("false_positive", None)]),
    ]
    for cid, rules, outcome, decisions in plan:
        add_call(session, cid, agent="a2", team="t2", duration=360.0, started=DAY + timedelta(hours=10))
        findings = [add_finding(session, cid, rule_id=rule, severity=severity) for rule, severity in rules]
        item = add_item(session, cid, kind="flagged", status="final", outcome=outcome)
        for finding, (d1, d2) in zip(findings, decisions, strict=True):
            add_verdict(session, item, first, d1, finding=finding, stage="first", at=NOW - timedelta(hours=2))
            if d2:
                add_verdict(session, item, second, d2, finding=finding, stage="second", at=NOW - timedelta(hours=1))
    add_call(session, "broken", agent="a2", team="t2", duration=0.0, status="failed",
             error="AudioDecodeError: /rec/broken.wav: truncated RIFF header; re-export the recording",
             started=DAY + timedelta(hours=11))
    late = add_call(session, "late-broken", agent="a2", status="failed", error="TranscriptionError: model crashed")
    late.started_at, late.created_at = None, NOW - timedelta(hours=1)  # no start time, registered tonight
    add_call(session, "old-1", agent="a1", started=DAY - timedelta(days=3))
    add_finding(session, "old-1", rule_id="R-OLD")
    add_item(session, "old-1", status="open", overdue=True, created=DAY - timedelta(days=3))
    add_call(session, "old-2", agent="a1", started=DAY - timedelta(days=4))
    add_item(session, "old-2", kind="sample", status="claimed", created=NOW - timedelta(hours=100))
    # the night's sample: half the clean calls, reviewed through the queue; one is a violation
    draw = draw_sample(session, DAY, DAY + timedelta(days=1), SamplingSettings(rate=0.5), seed="rep")
    for n, cid in enumerate(sorted(draw.sample["call_ids"])):
        item = session.execute(select(ReviewItem).where(ReviewItem.call_id == cid)).scalar_one()
        queue.claim(session, item.id, first, now=NOW)
        if n == 0:
            queue.record_sample_verdict(session, item.id, first, "violation", category="threat", now=NOW)
        else:
            queue.record_sample_verdict(session, item.id, first, "clean", now=NOW)
        assert queue.submit(session, item.id, first, now=NOW).status == "final"
    session.commit()


def test_report_counts_breakdowns_backlog_and_failures(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        _night(session)
        r = build_report(session, DAY, DAY + timedelta(days=1), sla_hours=48, now=NOW)
    assert r.calls == 15 and r.calls_by_status == {"failed": 1, "screened": 14}
    assert r.audio_hours == pytest.approx(14 * 360 / 3600)
    assert r.flagged == 4 and r.sampled == 5 and r.reviewed == 9
    assert r.by_severity["critical"] == {"findings": 1, "calls": 1}
    assert r.by_severity["major"] == {"findings": 3, "calls": 3}
    assert r.by_severity["minor"] == {"findings": 1, "calls": 0}  # f2's highest severity is major
    threat = next(row for row in r.by_rule if row["rule_id"] == "R-THREAT")
    # f2's threat stays the first reviewer's false positive: its second verdict is a blind check
    assert threat == {"rule_id": "R-THREAT", "category": "threat", "severity": "critical", "findings": 3,
                      "calls": 3, "confirmed": 1, "false_positive": 2, "undecided": 0}
    agents = {a["agent_id"]: a for a in r.by_agent}
    assert agents["a1"]["calls"] == 10 and agents["a1"]["sampled"] == 5 and agents["a1"]["violations"] == 1
    assert agents["a2"]["flagged"] == 4 and agents["a2"]["violations"] == 2
    assert {t["team"] for t in r.by_team} == {"t1", "t2"}
    assert [o["call_id"] for o in r.overdue] == ["old-1", "old-2"]  # flagged overdue, and past the 48 h SLA
    failures = {f["call_id"]: f["error"] for f in r.failures}
    assert set(failures) == {"broken", "late-broken"} and "truncated RIFF" in failures["broken"]


def test_report_estimates_from_reviews(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        _night(session)
        r = build_report(session, DAY, DAY + timedelta(days=1), now=NOW)
    # unflagged: 1 violation in 5 of 10; flagged: a census of 4 with 2 violations
    assert r.miss_rate.estimate == pytest.approx(0.2) and r.miss_rate.n == 5
    assert r.violation_rate.estimate == pytest.approx((4 * 0.5 + 10 * 0.2) / 14)
    assert r.violation_rate.n == 9
    lo, hi = r.violation_rate.ci_low, r.violation_rate.ci_high
    assert lo is not None and hi is not None and lo < 4 / 14 < hi
    # f2's threat: the first reviewer's false positive stands; a second verdict on a major finding is a
    # blind agreement check, which never changes a decision (it counts for kappa only)
    assert r.rule_precision["R-THREAT"].estimate == pytest.approx(1 / 3)
    assert r.rule_precision["R-THREAT"].n == 3
    assert r.rule_precision["R-PRIVACY"].estimate == 0.0
    # second reviews: f1 (confirmed, confirmed) and f2's threat (false_positive, confirmed)
    assert r.kappa.n == 2 and r.kappa.estimate == pytest.approx(0.0)
    assert "R-OLD" not in r.rule_precision  # outside the period


def test_unreviewed_sample_gives_no_violation_rate_rather_than_a_wrong_one(
        session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        for i in range(6):
            add_call(session, f"c{i}", started=DAY + timedelta(hours=1))
        add_call(session, "f", started=DAY + timedelta(hours=1))
        add_finding(session, "f")
        add_item(session, "f", status="final", outcome="violation")
        draw_sample(session, DAY, DAY + timedelta(days=1), SamplingSettings(rate=0.5), seed="x")
        session.commit()
        r = build_report(session, DAY, DAY + timedelta(days=1), now=NOW)
    assert r.violation_rate.estimate is None and r.miss_rate.estimate is None
    assert any("no reviewed sample" in note for note in r.notes)


def test_written_files_and_json_keys(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with session_factory() as session:
        _night(session)
        r = build_report(session, DAY, DAY + timedelta(days=1), now=NOW)
    paths = write_report(r, tmp_path / "reports" / "2026-11-27")
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    for key in ("calls", "audio_hours", "flagged", "by_severity", "by_rule", "by_agent", "by_team", "overdue",
                "violation_rate", "miss_rate", "rule_precision", "kappa", "failures"):
        assert key in data, key
    for est in (data["violation_rate"], data["miss_rate"], *data["rule_precision"].values(), data["kappa"]):
        assert {"estimate", "ci_low", "ci_high", "n"} <= set(est)
    rows = list(csv.DictReader(paths["csv"].open(encoding="utf-8")))
    assert len(rows) == 15 and {row["call_id"] for row in rows} >= {"f1", "broken", "clean-0"}
    html = paths["html"].read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 3  # rules, agents, estimates
    assert "truncated RIFF header" in html and "R-THREAT" in html
    assert "summary.csv" in str(paths["summary_csv"]) and "estimate,miss_rate,estimate,0.2" in \
        paths["summary_csv"].read_text(encoding="utf-8")


def test_empty_period_writes_a_report_without_charts(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    with session_factory() as session:
        r = build_report(session, DAY, DAY + timedelta(days=1), now=NOW)
    assert r.calls == 0 and r.violation_rate.estimate is None
    paths = write_report(r, tmp_path)
    assert all(p.exists() for p in paths.values())


def test_cli_sample_then_report(settings: Settings, tmp_path: Path) -> None:
    from flows.cli import app

    engine = make_engine(settings.db_url)
    init_db(engine)
    with sessionmaker(engine)() as session:
        _night(session)
        for i in range(5):  # the next night: fresh calls for `callqa sample` to draw from
            add_call(session, f"n2-{i}", agent="a9", started=DAY + timedelta(days=1, hours=2))
        session.commit()
    engine.dispose()
    runner = CliRunner()
    period = ["--since", "2026-11-28T00:00:00+00:00", "--until", "2026-11-29T00:00:00+00:00"]
    drawn = runner.invoke(app, ["sample", *period, "--seed", "cli"])
    assert drawn.exit_code == 0, drawn.output
    summary = json.loads(drawn.output)
    assert summary["population_size"] == 5 and summary["strata"]["agent:a9"]["n"] == 1
    again = runner.invoke(app, ["sample", *period])
    assert json.loads(again.output)["draw_id"] == summary["draw_id"]
    verified = runner.invoke(app, ["sample", "--verify", str(summary["draw_id"])])
    assert verified.exit_code == 0 and json.loads(verified.output)["ok"] is True

    day = ["--since", "2026-11-27T08:00+08:00", "--until", "2026-11-28T08:00+08:00"]
    printed = runner.invoke(app, ["report", *day, "--format", "json"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.output)["calls"] == 15
    as_csv = runner.invoke(app, ["report", *day, "--format", "csv"])
    assert as_csv.output.splitlines()[0].startswith("call_id,")
    written = runner.invoke(app, ["report", *day, "--out", str(tmp_path / "out")])
    assert written.exit_code == 0 and (tmp_path / "out" / "report.html").exists()
    bad = runner.invoke(app, ["report", "--since", "yesterday"])
    assert bad.exit_code != 0 and "--since 'yesterday' is not a date" in str(bad.exception)


def test_report_period_must_not_be_empty(session_factory: sessionmaker[Session]) -> None:
    from callqa.errors import CallQAError

    with session_factory() as session, pytest.raises(CallQAError, match="is empty"):
        build_report(session, DAY, DAY - timedelta(hours=1), now=datetime.now(UTC))


def test_kappa_over_four_eyes_reviews_is_flagged_as_uninformative(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        first, second = add_user(session, "r1"), add_user(session, "r2")
        for i in range(3):
            add_call(session, f"k{i}", started=DAY + timedelta(hours=1))
            finding = add_finding(session, f"k{i}", severity="critical")
            item = add_item(session, f"k{i}", status="final", outcome="violation")
            add_verdict(session, item, first, "confirmed", finding=finding, stage="first")
            add_verdict(session, item, second, "confirmed" if i else "false_positive", finding=finding,
                        stage="second")
        session.commit()
        r = build_report(session, DAY, DAY + timedelta(days=1), now=NOW)
    assert r.kappa.n == 3 and r.kappa.estimate == 0.0  # the first reviewer always confirmed
    assert r.kappa.observed_agreement == pytest.approx(2 / 3)
    assert any("observed agreement 66.7% over 3 second reviews" in note for note in r.notes)


def test_without_a_draw_the_flagged_rate_is_not_passed_off_as_the_violation_rate(
        session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        for i in range(5):
            add_call(session, f"u{i}", started=DAY + timedelta(hours=1))
        add_call(session, "f", started=DAY + timedelta(hours=1))
        add_finding(session, "f")
        add_item(session, "f", status="final", outcome="violation")
        session.commit()
        r = build_report(session, DAY, DAY + timedelta(days=1), now=NOW)
    assert r.violation_rate.estimate is None
    assert r.coverage["unflagged_in_period"] == 5 and r.coverage["unflagged_in_draws"] == 0
    assert any("cover 0 of 5 unflagged calls" in note for note in r.notes)


def test_scorecards_per_agent_and_team_in_the_report(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    from review.store.models import ScorecardAnswer

    with session_factory() as session:
        reviewer = add_user(session, "rev1")
        plan = [("s1", "a1", "t1", "cn.abuse.insult", "insult_abuse"),  # no_insults fails: 70 of 75, passes
                ("s2", "a1", "t1", "cn.threat.violence", "threat_violence")]  # critical item fails: 60 of 75
        for cid, agent, team, rule, category in plan:
            add_call(session, cid, agent=agent, team=team, started=DAY + timedelta(hours=9))
            finding = add_finding(session, cid, rule_id=rule, category=category)
            item = add_item(session, cid, status="final", outcome="violation")
            add_verdict(session, item, reviewer, "confirmed", finding=finding)
        add_call(session, "s3", agent="a2", team="t2", started=DAY + timedelta(hours=9))
        add_finding(session, "s3", rule_id="cn.abuse.insult", category="insult_abuse")
        rejected = add_item(session, "s3", status="final", outcome="no_violation")
        add_verdict(session, rejected, reviewer, "false_positive", finding=queue.current_findings(session, "s3")[0])
        session.add(ScorecardAnswer(item_id=rejected.id, call_id="s3", pack="cn-collection", kind="answer",
                                    score_item="arrangement_confirmed", value="fail", reviewer_id=reviewer.id))
        add_call(session, "s4", agent="a2", team="t2", started=DAY + timedelta(hours=9))  # open: not scored
        add_finding(session, "s4", rule_id="cn.abuse.insult", category="insult_abuse")
        add_item(session, "s4")
        session.commit()
        r = build_report(session, DAY, DAY + timedelta(days=1), now=NOW)
    agents = {row["agent_id"]: row for row in r.scores_by_agent}
    assert agents["a1"]["scored_calls"] == 2 and agents["a1"]["passed"] == 1 and agents["a1"]["pass_rate"] == 0.5
    assert agents["a1"]["mean_score"] == pytest.approx((93.3 + 80.0) / 2, abs=0.06) and agents["a1"]["team"] == "t1"
    assert agents["a2"] == {"agent_id": "a2", "team": "t2", "scored_calls": 1, "passed": 1, "mean_score": 88.2,
                            "pass_rate": 1.0}  # 75 of 85: the unanswered reviewer items are n.a.
    assert [(t["team"], t["scored_calls"]) for t in r.scores_by_team] == [("t1", 2), ("t2", 1)]
    paths = write_report(r, tmp_path)
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["scorecards"]["by_team"][1]["pass_rate"] == 1.0
    assert "score_agent,a1,pass_rate,0.5" in paths["summary_csv"].read_text(encoding="utf-8")
    html = paths["html"].read_text(encoding="utf-8")
    assert "<h2>Scorecards</h2>" in html and "<td>a2</td><td>t2</td><td class=\"num\">1</td><td class=\"num\">88.2</td>" in html
