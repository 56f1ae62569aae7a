"""Webhook bodies as WeCom, DingTalk and Slack accept them, sent to a local HTTP server; failures retried."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import NotifySettings
from review.reports.notify import notify_urgent_for_call, send_report
from review.reports.report import build_report, write_report

from .conftest import DAY, add_call, add_finding


class Hooks:
    """Records every POST; paths listed in ``failures`` answer 500 that many times first."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, int] = {}
        self.lock = threading.Lock()

    def reply(self, path: str) -> tuple[int, str]:
        with self.lock:
            left = self.failures.get(path, 0)
            if left:
                self.failures[path] = left - 1
                return 500, "upstream busy"
        if path.startswith("/slack"):
            return 200, "ok"
        if path.startswith("/wecom-errcode"):
            return 200, json.dumps({"errcode": 93000, "errmsg": "invalid webhook url"})
        return 200, json.dumps({"errcode": 0, "errmsg": "ok"})


@pytest.fixture
def session_factory(sqlite_engine: Engine) -> sessionmaker[Session]:
    """The webhooks do not touch the database: SQLite alone is enough here."""
    return sessionmaker(sqlite_engine, expire_on_commit=False)


@pytest.fixture
def hooks() -> Iterator[tuple[Hooks, str]]:
    state = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.received.append((self.path, body))
            status, text = state.reply(urllib.parse.urlsplit(self.path).path)
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if text.startswith("{") else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _report(session_factory: sessionmaker[Session], tmp_path: Path) -> tuple[Any, dict[str, Path]]:
    with session_factory() as session:
        add_call(session, "c1", started=DAY + timedelta(hours=1))
        add_call(session, "c2", started=DAY + timedelta(hours=2))
        add_finding(session, "c2", severity="critical")
        session.commit()
        report = build_report(session, DAY, DAY + timedelta(days=1))
    return report, write_report(report, tmp_path / "report")


def test_report_bodies_match_each_service(hooks: tuple[Hooks, str], session_factory: sessionmaker[Session],
                                          tmp_path: Path) -> None:
    state, base = hooks
    settings = NotifySettings(wecom_url=f"{base}/wecom?key=k", dingtalk_url=f"{base}/dingtalk?access_token=t",
                              slack_url=f"{base}/slack/T0/B0/x", dingtalk_secret="SECabc", retries=0)
    report, paths = _report(session_factory, tmp_path)
    deliveries = send_report(report, paths, settings)
    assert [(d.channel, d.ok, d.attempts) for d in deliveries] == [("wecom", True, 1), ("dingtalk", True, 1),
                                                                  ("slack", True, 1)]
    bodies = {urllib.parse.urlsplit(path).path.split("/")[1]: (path, body) for path, body in state.received}
    wecom = bodies["wecom"][1]
    assert wecom["msgtype"] == "markdown" and set(wecom) == {"msgtype", "markdown"}
    assert "通话 2 通" in wecom["markdown"]["content"] and "机器标记 1 通" in wecom["markdown"]["content"]
    assert len(wecom["markdown"]["content"].encode()) <= 4096
    ding_path, ding = bodies["dingtalk"]
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"] and "通话 2 通" in ding["markdown"]["text"]
    assert ding["at"] == {"isAtAll": False}
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding_path).query)
    expected = base64.b64encode(hmac.new(b"SECabc", f"{query['timestamp'][0]}\nSECabc".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["access_token"] == ["t"] and query["sign"] == [expected]
    slack = bodies["slack"][1]
    assert "*Calls* 2" in slack["text"] and slack["blocks"][1]["text"]["type"] == "mrkdwn"
    assert str(paths["html"]) in slack["blocks"][1]["text"]["text"]


def test_failing_webhook_is_retried_logged_and_the_report_survives(
        hooks: tuple[Hooks, str], session_factory: sessionmaker[Session], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    state, base = hooks
    state.failures = {"/slack/flaky": 2, "/slack/down": 99}
    settings = NotifySettings(slack_url=f"{base}/slack/flaky", retries=3, backoff_seconds=0.0)
    report, paths = _report(session_factory, tmp_path)
    delays: list[float] = []
    flaky = send_report(report, paths, settings, sleep=delays.append)
    assert flaky[0].ok and flaky[0].attempts == 3

    settings = NotifySettings(slack_url=f"{base}/slack/down", wecom_url=f"{base}/wecom-errcode", retries=2,
                              backoff_seconds=0.5)
    delays.clear()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="review.reports.notify"):
        down = send_report(report, paths, settings, sleep=delays.append)
    assert [(d.channel, d.ok, d.attempts) for d in down] == [("wecom", False, 3), ("slack", False, 3)]
    assert "errcode 93000" in (down[0].error or "") and "HTTP 500" in (down[1].error or "")
    assert delays == [0.5, 1.0, 0.5, 1.0]  # doubling back-off between the three attempts of each
    assert sum("attempt" in r.message and "failed" in r.message for r in caplog.records) == 6
    assert any("gave up" in r.message for r in caplog.records if r.levelno == logging.ERROR)
    assert all(p.exists() for p in paths.values())  # the report is still there
    kept = down[1].undelivered
    assert kept is not None and kept.parent == paths["html"].parent / "outbox"
    assert json.loads(kept.read_text(encoding="utf-8"))["body"]["text"].startswith("质检日报")


def test_unreachable_webhook_never_raises(tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    report, paths = _report(session_factory, tmp_path)
    settings = NotifySettings(wecom_url="http://127.0.0.1:9/nothing", retries=1, backoff_seconds=0.0)
    result = send_report(report, paths, settings)
    assert not result[0].ok and "ConnectError" in (result[0].error or "")


def test_urgent_finding_goes_out_at_once(hooks: tuple[Hooks, str], session_factory: sessionmaker[Session]) -> None:
    state, base = hooks
    with session_factory() as session:
        add_call(session, "u1", agent="a7", team="t3", started=DAY)
        add_finding(session, "u1", rule_id="R-VIOLENCE", severity="critical", urgent=True, start=12.5)
        add_finding(session, "u1", rule_id="R-TIME", severity="minor", urgent=False)
        session.commit()
        settings = NotifySettings(dingtalk_url=f"{base}/dingtalk?access_token=t", slack_url=f"{base}/slack/u")
        result = notify_urgent_for_call(session, settings, "u1", link="http://qa.local/calls/u1")
        assert notify_urgent_for_call(session, settings, "nope") == []
    assert [d.ok for d in result] == [True, True]
    bodies = {urllib.parse.urlsplit(p).path.split("/")[1]: b for p, b in state.received}
    text = bodies["dingtalk"]["markdown"]["text"]
    assert "R-VIOLENCE" in text and "R-TIME" not in text and "a7" in text and "12.5s" in text
    assert "<http://qa.local/calls/u1|Open for review>" in bodies["slack"]["blocks"][1]["text"]["text"]


def test_wecom_markdown_is_cut_to_its_4096_byte_limit() -> None:
    from review.reports.notify import Message, wecom_body

    body = wecom_body(Message("质检日报", ["违规" * 2000], ["x"]))
    content = body["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096 and content.endswith("…")
    content.encode("utf-8").decode("utf-8")  # cut on a character boundary, never inside one
