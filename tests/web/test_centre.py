"""The dashboard and transcript search: what a supervisor sees, who may see it, the CSV, the links."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from review.sampling.estimates import estimate
from review.sampling.stats import proportion
from review.search import index as search_index
from review.store.db import session_scope
from review.store.models import Call, CallSearchText, Finding, ReviewItem, User, Verdict
from tests.web.conftest import CALL_ID, FindingSpec, WebEnv, seed_call, sign_in, write_wav

DAY = "date_from=2026-11-27&date_to=2026-11-27"
SLIP = [("agent", 0.5, 2.5, "您好，我们是崔收公司的，关于您的欠款", False),
        ("customer", 3.0, 5.0, "崔收的打我电话一三八一二三四五六七八干嘛", False),
        ("agent", 5.5, 7.0, "请您按时还款", False)]


def _decide(env: WebEnv, decisions: dict[str, str]) -> None:
    """First-stage verdicts on the seeded call's findings, stored as a reviewer's submit stores them."""
    with session_scope(env.factory) as s:
        alice = s.execute(select(User).where(User.username == "alice")).scalar_one()
        for f in s.execute(select(Finding).where(Finding.call_id == CALL_ID)).scalars():
            s.add(Verdict(item_id=env.item_id, finding_id=f.id, reviewer_id=alice.id, stage="first",
                          decision=decisions[f.rule_id]))
        item = s.get(ReviewItem, env.item_id)
        assert item is not None
        item.status, item.outcome = "final", "violation"


def _table_rows(page: str) -> list[list[str]]:
    return [html.unescape(r).split("|") for r in re.findall(r'data-row="([^"]*)"', page)]


def test_dashboard_shows_the_estimates_with_intervals_and_the_csv_is_what_is_shown(
        make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    _decide(web_env, {"cn.third_party.family": "confirmed", "cn.threat.prison": "false_positive"})
    sam = make_client()
    sign_in(sam, "sam")
    page = sam.get(f"/dashboard?{DAY}")
    assert page.status_code == 200
    shown = _table_rows(page.text)
    figures = [r for r in shown if not r[2].startswith("scorecard")]
    assert [r[2] for r in figures] == ["violation_rate", "miss_rate", "rule_precision", "reviewer_agreement"]
    # the same figures the morning report's code gives for that day
    zone = ZoneInfo("Asia/Shanghai")
    with session_scope(web_env.factory) as s:
        est = estimate(s, datetime(2026, 11, 27, tzinfo=zone), datetime(2026, 11, 28, tzinfo=zone))
    pooled = proportion(sum(t.confirmed for t in est.rules),
                        sum(t.confirmed + t.false_positive for t in est.rules))
    assert figures[2][3:] == ["0.5000", f"{pooled.ci_low:.4f}", f"{pooled.ci_high:.4f}", "2", ""]
    assert pooled.ci_low is not None and pooled.ci_low < 0.5 < (pooled.ci_high or 0)  # an interval around it
    assert "<svg" in page.text and 'data-metric="rule_precision"' in page.text and "50.0%" in page.text

    exported = sam.get(f"/dashboard.csv?{DAY}")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["period_start", "period_end", "metric", "estimate", "ci_low", "ci_high", "n", "agent"]
    assert rows[1:] == shown

    # a rule's own precision, and a team with no calls: nothing reviewed
    by_rule = _table_rows(sam.get(f"/dashboard?{DAY}&rule=cn.threat.prison").text)
    assert by_rule[2][3] == "0.0000" and by_rule[2][6] == "1"
    other_team = _table_rows(sam.get(f"/dashboard?{DAY}&team=team-zz").text)
    assert all(r[6] == "0" and r[3] == "" for r in other_team)
    assert list(csv.reader(io.StringIO(sam.get(f"/dashboard.csv?{DAY}&team=team-zz").text)))[1:] == other_team


def test_dashboard_weeks_and_queue_health(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    carol = make_client()
    sign_in(carol, "carol")
    page = carol.get("/dashboard?date_from=2026-11-01&date_to=2026-11-30&bucket=week").text
    starts = {r[0] for r in _table_rows(page)}
    assert starts == {"2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"}
    assert re.search(r'data-q="open">1<', page)
    alice = make_client()
    token = sign_in(alice, "alice")
    alice.post("/queue/claim-next", data={"csrf_token": token})
    page = carol.get("/dashboard").text
    assert re.search(r'<tr data-reviewer="alice"><td>alice</td><td>1</td><td>1</td><td>0</td></tr>', page)
    assert sam_x_labels_do_not_overlap(page)


def sam_x_labels_do_not_overlap(page: str) -> bool:
    """Period labels of each chart stand at least 40 units apart (the font is 10 units: 5 characters fit)."""
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        xs = [float(x) for x in re.findall(r'<text x="([0-9.]+)" y="[0-9.]+" text-anchor="middle"', svg)]
        if any(b - a < 40 for a, b in zip(xs, xs[1:], strict=False)):
            return False
    return True


def test_dashboard_labels_are_thinned_over_two_months(make_client: Callable[..., TestClient],
                                                      web_env: WebEnv) -> None:
    sam = make_client()
    sign_in(sam, "sam")
    page = sam.get("/dashboard?date_from=2026-10-01&date_to=2026-11-30").text
    assert len(_table_rows(page)) == 61 * 4
    assert sam_x_labels_do_not_overlap(page)


def test_dashboard_and_search_are_for_supervisors_and_compliance(make_client: Callable[..., TestClient],
                                                                  web_env: WebEnv) -> None:
    alice = make_client()
    sign_in(alice, "alice")
    for path in ("/dashboard", "/dashboard.csv", "/search?phrase=催收"):
        assert alice.get(path).status_code == 403, path
    assert 'href="/dashboard"' not in alice.get("/queue").text
    anonymous = make_client()
    assert anonymous.get("/dashboard.csv", follow_redirects=False).status_code == 303
    sam = make_client()
    sign_in(sam, "sam")
    assert 'href="/dashboard"' in sam.get("/queue").text and 'href="/search"' in sam.get("/queue").text


def test_search_finds_a_homophone_slip_highlights_masks_and_links_to_the_moment(
        make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    with session_scope(web_env.factory) as s:
        seed_call(s, write_wav(web_env.wav.with_name("slip.wav"), variant=1), "call-slip", agent_id="A7", team="team-b", segments=SLIP,
                  findings=[FindingSpec("cn.abuse.insult", "insult_abuse", "major", 2, 5.5, 7.0, "按时还款")])
    sam = make_client()
    sign_in(sam, "sam")
    page = sam.get("/search", params={"phrase": "催收"}).text
    calls = re.findall(r'<li class="hit" data-call="([^"]+)"', page)
    assert set(calls) == {CALL_ID, "call-slip"}
    slip = page.split('data-call="call-slip"')[1].split("</li>")[0]
    assert 'href="/calls/call-slip#t=0.5"' in slip and "homophone" in slip
    assert "<mark>崔收</mark>" in slip and "<mark>崔收</mark>的打我电话" in slip
    assert "一三八一二三四五六七八" not in page  # the phone number is masked, as on the call page
    exact = page.split(f'data-call="{CALL_ID}"')[1].split("</li>")[0]
    assert "<mark>催收</mark>员" in exact and f'href="/calls/{CALL_ID}#t=0.5"' in exact
    # a phrase no call holds, even as a homophone
    assert "No call matches." in sam.get("/search", params={"phrase": "律师函"}).text


def test_search_filters(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    with session_scope(web_env.factory) as s:
        seed_call(s, write_wav(web_env.wav.with_name("slip.wav"), variant=1), "call-slip", agent_id="A7", team="team-b", segments=SLIP,
                  findings=[FindingSpec("cn.abuse.insult", "insult_abuse", "major", 2, 5.5, 7.0, "按时还款")])
    sam = make_client()
    sign_in(sam, "sam")

    def hits(**params: str) -> list[str]:
        return re.findall(r'<li class="hit" data-call="([^"]+)"', sam.get("/search", params=params).text)

    assert hits(phrase="催收", team="team-b") == ["call-slip"]
    assert hits(phrase="催收", agent="A1") == [CALL_ID]
    assert hits(rule="cn.abuse.insult") == ["call-slip"]
    assert hits(category="threat") == [CALL_ID]
    assert hits(date_from="2026-11-28") == []
    assert sorted(hits(date_from="2026-11-27", date_to="2026-11-27")) == sorted([CALL_ID, "call-slip"])
    assert sorted(hits(verdict="pending")) == sorted([CALL_ID, "call-slip"])
    assert hits(verdict="violation") == []
    # filters alone open the call at the finding asked for
    page = sam.get("/search", params={"rule": "cn.abuse.insult"}).text
    assert 'href="/calls/call-slip#t=5.5"' in page and "请您按时还款" in page


def test_search_pages_follow_on_without_repeats(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    with session_scope(web_env.factory) as s:
        for i in range(25):
            seed_call(s, write_wav(web_env.wav.with_name(f"p{i}.wav"), variant=i + 2), f"call-p{i:02d}",
                      segments=SLIP, findings=[])
    sam = make_client()
    sign_in(sam, "sam")
    first = sam.get("/search", params={"phrase": "催收"}).text
    page1 = re.findall(r'<li class="hit" data-call="([^"]+)"', first)
    assert len(page1) == 20
    following = html.unescape(re.search(r'class="next" href="([^"]+)"', first).group(1))  # type: ignore[union-attr]
    second = sam.get(following).text
    page2 = re.findall(r'<li class="hit" data-call="([^"]+)"', second)
    assert len(page2) == 6 and not set(page1) & set(page2)
    assert 'class="next"' not in second


def test_search_index_follows_the_newest_transcript_and_backfills(web_env: WebEnv) -> None:
    with session_scope(web_env.factory) as s:
        row = s.get(CallSearchText, CALL_ID)
        assert row is not None and search_index.phrase_key("催收") in row.sound
        s.delete(row)
    with session_scope(web_env.factory) as s:
        assert search_index.backfill(s) == 1
        assert s.get(CallSearchText, CALL_ID) is not None
        assert s.execute(select(Call.id)).scalars().all() == [CALL_ID]
