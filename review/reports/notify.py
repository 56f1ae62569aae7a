"""Webhook notifications: the morning report and urgent findings, to WeCom, DingTalk and Slack.

Bodies (each service's documented incoming-webhook format):

* WeCom group robot (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...``):
  ``{"msgtype": "markdown", "markdown": {"content": "..."}}``; content at most
  4096 bytes; the reply is ``{"errcode": 0, "errmsg": "ok"}``.
* DingTalk custom robot (``https://oapi.dingtalk.com/robot/send?access_token=...``):
  ``{"msgtype": "markdown", "markdown": {"title": "...", "text": "..."}, "at": {"isAtAll": false}}``;
  with a signing secret the URL gains ``timestamp`` (ms) and
  ``sign = base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"))``; the reply is
  ``{"errcode": 0, "errmsg": "ok"}``.
* Slack incoming webhook: ``{"text": "...", "blocks": [{"type": "section",
  "text": {"type": "mrkdwn", "text": "..."}}]}``; the reply is ``ok``.

A delivery is tried ``1 + retries`` times with doubling back-off; every failed
attempt is logged, and a body that never got through is written to the outbox
folder (next to the report) so nothing is lost and it can be re-sent by hand.
Sending never raises: callers get one ``Delivery`` per configured channel.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.config import NotifySettings
from review.reports.model import Report
from review.sampling.stats import Estimate
from review.store.models import Call, Finding

log = logging.getLogger(__name__)
WECOM_MAX_BYTES = 4096


@dataclass(frozen=True)
class Message:
    title: str
    lines: list[str]  # Chinese, for WeCom and DingTalk
    lines_en: list[str]  # English, for Slack


@dataclass(frozen=True)
class Delivery:
    channel: str
    ok: bool
    attempts: int
    error: str | None = None
    undelivered: Path | None = None


class UrgentFinding(Protocol):
    rule_id: str
    category: str
    severity: str
    start: float | None
    evidence: str


def _truncate_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 8].decode("utf-8", errors="ignore") + "\n…"


def wecom_body(message: Message) -> dict[str, Any]:
    content = "\n".join([f"## {message.title}", *message.lines])
    return {"msgtype": "markdown", "markdown": {"content": _truncate_bytes(content, WECOM_MAX_BYTES)}}


def dingtalk_body(message: Message) -> dict[str, Any]:
    text = "\n\n".join([f"### {message.title}", *message.lines])
    return {"msgtype": "markdown", "markdown": {"title": message.title, "text": text}, "at": {"isAtAll": False}}


def slack_body(message: Message) -> dict[str, Any]:
    text = "\n".join(message.lines_en)
    return {"text": f"{message.title}\n{text}",
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
                       {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]}


def dingtalk_signed_url(url: str, secret: str, now_ms: int | None = None) -> str:
    if not secret:
        return url
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def _pct(e: Estimate) -> str:
    if e.estimate is None or e.ci_low is None or e.ci_high is None:
        return f"— (n={e.n})"
    return f"{100 * e.estimate:.2f}% [{100 * e.ci_low:.2f}%, {100 * e.ci_high:.2f}%] (n={e.n})"


def report_message(report: Report, paths: dict[str, Path] | None = None) -> Message:
    period = f"{report.since:%Y-%m-%d %H:%M} – {report.until:%Y-%m-%d %H:%M} UTC"
    sev = report.by_severity
    crit, major, minor = (sev.get(s, {}).get("calls", 0) for s in ("critical", "major", "minor"))
    kappa = "—" if report.kappa.estimate is None else f"{report.kappa.estimate:.2f}"
    where = str(paths["html"]) if paths and "html" in paths else ""
    zh = [f"- 时段：{period}",
          f"- 通话 {report.calls} 通，录音 {report.audio_hours:.1f} 小时",
          f"- 机器标记 {report.flagged} 通（严重 {crit} / 重要 {major} / 一般 {minor}）",
          f"- 抽检 {report.sampled} 通，已复核 {report.reviewed} 通",
          f"- 违规率估计 {_pct(report.violation_rate)}",
          f"- 漏检率估计 {_pct(report.miss_rate)}",
          f"- 复核一致性 kappa {kappa}（n={report.kappa.n}）",
          f"- 逾期待复核 {len(report.overdue)} 项；处理失败 {len(report.failures)} 通"]
    en = [f"*Period* {period}",
          f"*Calls* {report.calls} ({report.audio_hours:.1f} h of audio)",
          f"*Flagged* {report.flagged} (critical {crit} / major {major} / minor {minor})",
          f"*Sampled* {report.sampled}, reviewed {report.reviewed}",
          f"*Violation rate* {_pct(report.violation_rate)}",
          f"*Miss rate* {_pct(report.miss_rate)}",
          f"*Reviewer agreement* kappa {kappa} (n={report.kappa.n})",
          f"*Overdue items* {len(report.overdue)}; *failed calls* {len(report.failures)}"]
    if where:
        zh.append(f"- 报告：{where}")
        en.append(f"*Report* {where}")
    return Message("质检日报 Call QA report", zh, en)


def urgent_message(call_id: str, findings: Sequence[UrgentFinding], *, agent_id: str | None = None,
                   team: str | None = None, link: str | None = None) -> Message:
    who = " / ".join(x for x in (agent_id, team) if x) or "—"
    zh = [f"- 通话：{call_id}（坐席 {who}）"]
    en = [f"*Call* {call_id} (agent {who})"]
    for f in findings:
        at = f"{f.start:.1f}s" if f.start is not None else "—"
        evidence = (f.evidence or "")[:120]
        zh.append(f"- <font color=\"warning\">{f.severity}</font> {f.rule_id}（{f.category}）@{at}：{evidence}")
        en.append(f"• *{f.severity}* `{f.rule_id}` ({f.category}) at {at}: {evidence}")
    if link:
        zh.append(f"- [打开复核]({link})")
        en.append(f"<{link}|Open for review>")
    return Message("紧急违规提醒 Urgent finding", zh, en)


def _accepted(channel: str, response: httpx.Response) -> str | None:
    """None when the service took the message, else why not."""
    if response.status_code >= 300:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    if channel == "slack":
        return None if response.text.strip() in ("ok", "") else f"reply {response.text[:200]!r}"
    try:
        reply = response.json()
    except ValueError:
        return f"reply is not JSON: {response.text[:200]!r}"
    if isinstance(reply, dict) and reply.get("errcode", 0) != 0:
        return f"errcode {reply.get('errcode')}: {reply.get('errmsg')}"
    return None


def _deliver(channel: str, url: str, body: dict[str, Any], settings: NotifySettings, client: httpx.Client,
             sleep: Callable[[float], None], outbox: Path | None) -> Delivery:
    attempts = 1 + max(0, int(settings.retries))
    error = ""
    for attempt in range(1, attempts + 1):
        target = dingtalk_signed_url(url, settings.dingtalk_secret) if channel == "dingtalk" else url
        try:
            problem = _accepted(channel, client.post(target, json=body))
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem is None:
            log.info("notify %s: delivered on attempt %d", channel, attempt)
            return Delivery(channel, True, attempt)
        error = problem
        log.warning("notify %s: attempt %d of %d failed: %s", channel, attempt, attempts, problem)
        if attempt < attempts:
            sleep(float(settings.backoff_seconds) * 2 ** (attempt - 1))
    saved = _save_undelivered(outbox, channel, body, error) if outbox else None
    log.error("notify %s: gave up after %d attempts (%s)%s", channel, attempts, error,
              f"; body kept in {saved}" if saved else "")
    return Delivery(channel, False, attempts, error, saved)


def _save_undelivered(outbox: Path, channel: str, body: dict[str, Any], error: str) -> Path | None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox / f"undelivered-{channel}-{stamp}.json"
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        # the webhook URL carries its credential, so only the channel name is kept
        path.write_text(json.dumps({"channel": channel, "error": error, "body": body}, ensure_ascii=False,
                                   indent=2), encoding="utf-8")
    except OSError as exc:
        log.error("notify %s: cannot keep the undelivered body in %s: %s", channel, outbox, exc)
        return None
    return path


def send(message: Message, settings: NotifySettings, *, outbox: Path | None = None,
         client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep,
         timeout_s: float = 10.0) -> list[Delivery]:
    """Send one message to every configured webhook; never raises."""
    targets = [("wecom", settings.wecom_url, wecom_body), ("dingtalk", settings.dingtalk_url, dingtalk_body),
               ("slack", settings.slack_url, slack_body)]
    own = client is None
    http = client or httpx.Client(timeout=timeout_s)
    try:
        return [_deliver(name, url, make(message), settings, http, sleep, outbox)
                for name, url, make in targets if url]
    finally:
        if own:
            http.close()


def send_report(report: Report, paths: dict[str, Path], settings: NotifySettings, **kwargs: Any) -> list[Delivery]:
    """Announce a written report; undelivered bodies go beside the report files."""
    kwargs.setdefault("outbox", Path(next(iter(paths.values()))).parent / "outbox" if paths else None)
    return send(report_message(report, paths), settings, **kwargs)


def notify_urgent(settings: NotifySettings, call_id: str, findings: Sequence[UrgentFinding], *,
                  agent_id: str | None = None, team: str | None = None, link: str | None = None,
                  **kwargs: Any) -> list[Delivery]:
    """Alert at once about a call's urgent findings (no-op without findings)."""
    if not findings:
        return []
    return send(urgent_message(call_id, findings, agent_id=agent_id, team=team, link=link), settings, **kwargs)


def notify_urgent_for_call(session: Session, settings: NotifySettings, call_id: str,
                           **kwargs: Any) -> list[Delivery]:
    """Read a call's urgent findings from the store and alert about them."""
    call = session.get(Call, call_id)
    findings: Iterable[Finding] = session.execute(
        select(Finding).where(Finding.call_id == call_id, Finding.urgent.is_(True)).order_by(Finding.id)
    ).scalars()
    return notify_urgent(settings, call_id, list(findings), agent_id=call.agent_id if call else None,
                         team=call.team if call else None, **kwargs)
