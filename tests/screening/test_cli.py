"""`callqa screen` and `callqa rules ...` end to end, and the backtest over a real store."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from flows.cli import app
from review.calls.repo import register_call, save_screening, save_transcript
from review.screening import Screener, load_pack
from review.screening.backtest import backtest
from review.screening.packs_registry import SHIPPED_DIR

Make = Callable[..., dict[str, Any]]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALLQA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALLQA_CONFIG", raising=False)
    monkeypatch.delenv("CALLQA_SCREENING__PACKS", raising=False)
    return tmp_path


def test_screen_json_lines_and_a_bad_file(home: Path, transcript: Make) -> None:
    zh = home / "zh.json"
    zh.write_text(json.dumps(transcript([("agent", "你再不还钱就等着坐牢吧")], call_id="zh-1"),
                             ensure_ascii=False), encoding="utf-8")
    en = home / "en.json"
    en.write_text(json.dumps(transcript([("agent", "Hi, this is Sam from ABC Collections, a debt collector. "
                                         "This call is recorded.")], call_id="en-1", language="en",
                                        started_at="2026-03-02T10:00:00-05:00", debtor_id="D-EN",
                                            timezone="America/New_York")),
                  encoding="utf-8")
    bad = home / "bad.json"
    bad.write_text('{"call_id": "x", "segments": []}', encoding="utf-8")
    result = CliRunner().invoke(app, ["screen", str(zh), str(bad), str(en), "--format", "json"])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["call_id"], d["pack"]) for d in lines] == [("zh-1", "cn-collection"), ("en-1", "us-regf")]
    assert set(lines[0]) >= {"call_id", "pack", "pack_version", "findings"}
    finding = next(f for f in lines[0]["findings"] if f["rule_id"] == "cn.legal.false_consequence")
    assert set(finding) >= {"rule_id", "category", "severity", "segment_index", "start", "end", "evidence",
                            "citation"}
    assert finding["evidence"] == "坐牢" and finding["category"] == "false_legal_consequence"
    assert lines[1]["findings"] == []
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "bad.json" in errors[0] and "not a valid transcript" in errors[0]


def test_screen_with_a_named_pack_and_table_output(home: Path, transcript: Make) -> None:
    path = home / "t.json"
    path.write_text(json.dumps(transcript([("customer", "I'm going to file a complaint with the CFPB")],
                                          language="en")), encoding="utf-8")
    result = CliRunner().invoke(app, ["screen", str(path), "--pack", "us-regf"])
    assert result.exit_code == 0, result.output
    assert "customer_complaint_or_regulator" in result.stdout and "us-regf@2026.3" in result.stdout


def test_rules_test_list_and_show(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["rules", "test"])
    assert result.exit_code == 0, result.output
    assert "cn-collection@2026.3+corpus." in result.stdout and "us-regf@2026.3+corpus." in result.stdout
    listed = runner.invoke(app, ["rules", "list", "--pack", "cn-collection"])
    assert "cn.disclosure.third_party" in listed.stdout
    shown = runner.invoke(app, ["rules", "show", "us.frequency.seven_in_seven"])
    assert "1006.14(b)(2)" in shown.stdout


def test_rules_test_fails_on_a_broken_example(home: Path) -> None:
    pack = (SHIPPED_DIR / "us-regf.yaml").read_text(encoding="utf-8")
    broken = home / "broken.yaml"
    broken.write_text(pack.replace("        - Watch your back.\n", "        - Have a nice day.\n"), encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "test", "--pack", str(broken)])
    assert result.exit_code == 1
    assert "FAIL us.threat.violence" in result.stdout and "Have a nice day." in result.stdout


def test_a_broken_pack_screens_nothing(home: Path, transcript: Make) -> None:
    path = home / "t.json"
    path.write_text(json.dumps(transcript([("agent", "你等着坐牢吧")]), ensure_ascii=False), encoding="utf-8")
    broken = home / "broken.yaml"
    broken.write_text((SHIPPED_DIR / "cn-collection.yaml").read_text(encoding="utf-8").replace(
        "severity: critical", "severity: severe", 1), encoding="utf-8")
    result = CliRunner().invoke(app, ["screen", str(path), "--pack", str(broken), "--format", "json"])
    assert result.exit_code != 0 and result.stdout == ""
    assert "broken.yaml:" in str(result.exception) and "severity 'severe'" in str(result.exception)


def _ingest(session: Session, doc: dict[str, Any], screener: Screener) -> None:
    call_id = doc["call_id"]
    register_call(session, call_id=call_id, recording_sha256=hashlib.sha256(call_id.encode()).hexdigest(),
                  recording_path=f"/r/{call_id}.wav", metadata=doc["metadata"], duration_s=doc["duration_s"])
    row, _ = save_transcript(session, call_id, "test:model:int8", doc, None)
    for result in screener.screen(doc):
        save_screening(session, call_id, row.id, result)


def _candidate(tmp_path: Path) -> Path:
    text = (SHIPPED_DIR / "cn-collection.yaml").read_text(encoding="utf-8")
    assert "phrases: [坐牢, 做牢, 作牢, 判刑," in text and "phrases: [老赖, 废物," in text
    text = text.replace('version: "2026.3"', 'version: "2026.4"').replace("phrases: [坐牢, 做牢, 作牢, 判刑,", "phrases: [判刑,")
    text = text.replace("phrases: [老赖, 废物,", "phrases: [再见, 老赖, 废物,")
    path = tmp_path / "cn-candidate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_backtest_shows_calls_gaining_and_losing(session_factory: sessionmaker[Session], tmp_path: Path,
                                                 transcript: Make, cn: Screener) -> None:
    opening = ("agent", "您好，我是某某银行工号1234，本次通话将被录音")
    with session_factory() as session:
        _ingest(session, transcript([opening, ("agent", "你等着坐牢吧")], call_id="threat"), cn)
        _ingest(session, transcript([opening, ("agent", "好的，再见")], call_id="polite"), cn)
        _ingest(session, transcript([opening, ("agent", "请按时还款")], call_id="same"), cn)
        session.commit()
        report = backtest(session, load_pack(str(_candidate(tmp_path))))
    assert (report.pack, report.version.split("+")[0], report.calls) == ("cn-collection", "2026.4", 3)
    changes = {c.call_id: c for c in report.changes}
    assert set(changes) == {"threat", "polite"}
    # the keyword rule loses its phrase; the semantic stage may still hear the threat under its own rule id
    assert ("cn.legal.false_consequence", 1) in changes["threat"].lost
    assert all(rule.startswith("cn.semantic.") for rule, _ in changes["threat"].gained)
    assert changes["polite"].gained == [("cn.abuse.insult", 1)]
    assert changes["polite"].baseline_version.startswith("2026.3+corpus.")


def test_backtest_command(home: Path, transcript: Make, cn: Screener, monkeypatch: pytest.MonkeyPatch) -> None:
    from review.store.db import init_db, make_engine

    url = f"sqlite:///{home / 'bt.db'}"
    monkeypatch.setenv("CALLQA_DATABASE_URL", url)
    engine = make_engine(url)
    init_db(engine)
    with Session(engine) as session:
        _ingest(session, transcript([("agent", "你等着坐牢吧")], call_id="threat"), cn)
        session.commit()
    engine.dispose()
    result = CliRunner().invoke(app, ["rules", "backtest", "--pack", str(_candidate(home)), "--format", "json"])
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["call_id"] == "threat" and row["lost"] == [["cn.legal.false_consequence", 0]]
    assert "1 calls replayed" in result.stderr and "1 lose findings" in result.stderr


def test_semantic_details_are_stored_with_the_finding(session_factory: sessionmaker[Session], transcript: Make,
                                                      cn: Screener) -> None:
    from sqlalchemy import select

    from review.store.models import Finding

    opening = ("agent", "您好，我是某某银行工号1234，本次通话将被录音")
    implied = ("agent", "你每天几点送孩子上学我们都清楚，路上车多，小心点")
    with session_factory() as session:
        _ingest(session, transcript([opening, implied], call_id="implied"), cn)
        session.commit()
        rows = session.scalars(select(Finding).where(Finding.call_id == "implied")).all()
    scored = [r for r in rows if r.semantic is not None]
    assert scored and scored[0].category == "threat_violence"
    assert 0 < scored[0].semantic["score"] <= 1 and len(scored[0].semantic["exemplars"]) == 2
    assert "corpus." in scored[0].semantic["model"]
