"""A reviewer's and a supervisor's whole day in Debian's Chromium, in Simplified Chinese and in English:
sign in, the queue, claim, hear a finding from its lead-in, decide with the keyboard, the scorecard,
submit and next, a second reviewer who disagrees, the dispute form, an appeal and its ruling, the
dashboard and a search that finds a recogniser's homophone slip and opens the call at that moment.

Each page is saved full-page at 1366x768 and 1920x1080 as tests/artifacts/day_<lang>_<page>_<size>.png
(the call page's also as seen on screen, ..._screen.png; gitignored) for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from callqa.config import Settings
from review.accounts import users as accounts
from review.store.db import session_scope
from review.web.i18n import translations

from .conftest import PASSWORD, FindingSpec, WebEnv, add_users, seed_call, write_wav

# the browser and server fixtures of test_browser; server serves the web_env below
from .test_browser import ARTIFACTS, CHROMIUM, browser, server  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason="apt-get install chromium")]

SIZES = ((1366, 768), (1920, 1080))
LAPTOP = {"width": 1366, "height": 768}  # the day is driven at the smallest size a supervisor uses

# (role, start, end, text, low_confidence): a collector's call with a threat of prison at 5.0 s
THREAT_CALL = [
    ("agent", 0.5, 2.5, "您好，我是催收员，你今天必须还钱，不然我告诉你家人", False),
    ("customer", 2.8, 4.6, "我的电话是一三八一二三四五六七八，我下周发工资", True),
    ("agent", 5.0, 6.5, "再不还款就起诉你，让你坐牢", False),
    ("customer", 6.8, 7.8, "好的好的", False),
]
THREAT_FINDINGS = [
    FindingSpec("cn.contacts.family_threat", "family_or_contacts_threat", "major", 0, 0.5, 2.5, "不然我告诉你家人"),
    FindingSpec("cn.legal.false_consequence", "false_legal_consequence", "critical", 2, 5.0, 6.5, "让你坐牢"),
]
INSULT_CALL = [
    ("agent", 0.5, 2.5, "喂，张先生吗？我是信达资产的客服，工号三零二", False),
    ("customer", 2.8, 4.6, "是我，什么事", False),
    ("agent", 5.0, 6.5, "欠钱不还，你还要不要脸", False),
    ("customer", 6.8, 7.8, "你怎么骂人", False),
]
DISCLOSURE_CALL = [
    ("agent", 0.5, 2.5, "您好，请问是李女士的家人吗", False),
    ("customer", 2.8, 4.6, "我是她妈妈，她不在", False),
    ("agent", 5.0, 6.5, "她欠我们三万块钱逾期三个月了", False),
    ("customer", 6.8, 7.8, "我会转告她", False),
]
# the recogniser wrote 律师涵 for 律师函 (the same sound): search still finds it, at 5.0 s
SLIP_CALL = [
    ("agent", 0.5, 2.5, "王先生您好，我是客服小陈，本次通话会录音", False),
    ("customer", 2.8, 4.6, "嗯，你说", False),
    ("agent", 5.0, 6.5, "您再不处理，下周会收到律师涵", False),
    ("customer", 6.8, 7.8, "我知道了", False),
]
THREAT, INSULT, DISCLOSURE, SLIP = "call-0101", "call-0102", "call-0103", "call-0104"


@pytest.fixture
def web_env(settings: Settings, sqlite_engine: Engine, tmp_path: Path) -> WebEnv:
    """This module's day (overrides conftest's web_env, so test_browser's server serves it): four calls
    of three agents in two teams, one with a critical finding; a second supervisor for the appeal."""
    factory = sessionmaker(sqlite_engine, expire_on_commit=False)
    settings.web.default_language = "en"  # Chinese comes from the browser's Accept-Language, not the default
    with session_scope(factory) as session:
        add_users(session)
        accounts.add_user(session, "wang", PASSWORD, "supervisor")
        wav = write_wav(tmp_path / f"{THREAT}.wav", variant=31)
        item_id = seed_call(session, wav, THREAT, agent_id="A1", team="team-a", segments=THREAT_CALL,
                            findings=THREAT_FINDINGS)
        seed_call(session, write_wav(tmp_path / f"{INSULT}.wav", variant=32), INSULT, agent_id="A2", team="team-a",
                  segments=INSULT_CALL,
                  findings=[FindingSpec("cn.abuse.insult", "insult_abuse", "major", 2, 5.0, 6.5, "要不要脸")])
        seed_call(session, write_wav(tmp_path / f"{DISCLOSURE}.wav", variant=33), DISCLOSURE, agent_id="B7",
                  team="team-b", segments=DISCLOSURE_CALL,
                  findings=[FindingSpec("cn.third_party.debt_detail", "third_party_disclosure", "minor", 2, 5.0, 6.5,
                                        "欠我们三万块钱")])
        seed_call(session, write_wav(tmp_path / f"{SLIP}.wav", variant=34), SLIP, agent_id="B7", team="team-b",
                  segments=SLIP_CALL,
                  findings=[FindingSpec("cn.legal.false_consequence", "false_legal_consequence", "minor", 2, 5.0, 6.5,
                                        "律师涵")])
    return WebEnv(settings, factory, wav, item_id)


class Day:
    """One language's day: browser contexts that send its Accept-Language, its strings, its screenshots."""

    def __init__(self, chromium, base: str, lang: str) -> None:  # type: ignore[no-untyped-def]
        self.browser, self.base, self.lang = chromium, base, lang
        self.catalogue = translations(lang)

    def t(self, message: str, **values: str) -> str:
        """What the page shows for a source string in this language (the catalogue the server uses)."""
        text = self.catalogue.gettext(message)
        return text % values if values else text

    def label(self, value: str) -> str:
        """A stored value (status, decision, severity) as the page labels it (review.web.deps.label)."""
        text = self.catalogue.gettext(value)
        return text.replace("_", " ") if text == value else text

    def open(self):  # type: ignore[no-untyped-def]
        # bypass_csp: the test's own probes (evaluate, wait_for_function) are eval, which the page's CSP forbids
        context = self.browser.new_context(viewport=LAPTOP, locale=self.lang, bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    def sign_in(self, username: str, *, shoot: bool = False):  # type: ignore[no-untyped-def]
        page = self.open()
        page.goto(f"{self.base}/queue")
        assert "/login" in page.url  # not signed in: sent to sign in first
        assert page.locator("html").get_attribute("lang") == self.lang
        assert page.locator("h1").inner_text() == self.t("Sign in")
        if shoot:
            self.shoot(page, "signin")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{self.base}/queue")
        return page

    def shoot(self, page, name: str, *, screen: bool = False) -> None:  # type: ignore[no-untyped-def]
        """Full-page at each size; with screen, also the viewport as the user sees it (the call page's
        player is sticky and its findings column scrolls, which a full-page capture does not show)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            stem = f"day_{self.lang}_{name}_{width}x{height}"
            page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
            if screen:
                page.screenshot(path=str(ARTIFACTS / f"{stem}_screen.png"))
        page.set_viewport_size(LAPTOP)


def _player(page, prop: str) -> float:  # type: ignore[no-untyped-def]
    return float(page.evaluate(f"document.getElementById('player').{prop}"))


def _record_seeks(page) -> None:  # type: ignore[no-untyped-def]
    """Where each seek landed, read when it happened (playback moves on after it)."""
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    page.evaluate("window.seeks = []; document.getElementById('player').addEventListener('seeked', "
                  "() => window.seeks.push(document.getElementById('player').currentTime))")


def _last_seek(page) -> float:  # type: ignore[no-untyped-def]
    page.wait_for_function("window.seeks.length > 0")
    return float(page.evaluate("window.seeks[window.seeks.length - 1]"))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_whole_day(server: str, browser, web_env: WebEnv, lang: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    day = Day(browser, server, lang)
    t, label = day.t, day.label
    zh = lang == "zh-CN"

    # --- morning: alice signs in (the page speaks the browser's language) and sees the day's queue
    alice = day.sign_in("alice", shoot=True)
    assert alice.locator("h1").inner_text() == t("Review queue")
    assert alice.locator("table.items tbody tr[data-item]").count() == 4
    critical_row = alice.locator("table.items tbody tr.sev-critical")
    assert critical_row.count() == 1 and THREAT in critical_row.inner_text()
    assert label("critical") in critical_row.inner_text() and "A1" in critical_row.inner_text()
    assert alice.locator("#claim-next").inner_text() == t("Claim next")
    if zh:
        assert alice.locator("#claim-next").inner_text() == "领取下一条"
        assert "严重" in critical_row.inner_text()
    day.shoot(alice, "queue")

    # --- claim next: the critical call first
    alice.click("#claim-next")
    alice.wait_for_url(f"{server}/calls/{THREAT}")
    assert alice.locator("h1").inner_text() == t("Call %(id)s", id=THREAT)
    assert label("claimed") in alice.locator("#item-state").inner_text()
    keys = alice.locator("p.keys").inner_text()
    assert all(k in keys for k in ("n", "p", "c", "r")) and "2" in keys
    assert t("a finding plays from %(lead)s s before it", lead="2") in keys
    if zh:
        assert "通话 call-0101" in alice.locator("h1").inner_text() and "已领取" in alice.locator("#item-state").inner_text()

    # --- hear the threat from its lead-in: the seek lands 2 s before 5.0 s, on the customer's line before it
    _record_seeks(alice)
    threat = alice.locator("article.finding.sev-critical")
    family = alice.locator("article.finding.sev-major")
    assert "虚构或夸大法律后果" in threat.locator(".rule").inner_text()  # the pack's title, not the rule id
    threat.locator(".finding-seek").click()
    assert abs(_last_seek(alice) - 3.0) < 0.05
    alice.evaluate("document.getElementById('player').pause()")
    assert "current" in (threat.get_attribute("class") or "")
    assert "playing" in (alice.locator("#line-1").get_attribute("class") or "")
    assert "current" in (alice.locator("mark.hit", has_text="让你坐牢").get_attribute("class") or "")

    # --- decide with the keyboard: c confirms the threat; p goes back to the family one, r rejects it
    alice.locator("h1").click()
    alice.keyboard.press("c")
    threat.locator(".saved").filter(has_text=t("saved: %(decision)s", decision=label("confirmed"))).wait_for()
    seeks_before = int(alice.evaluate("window.seeks.length"))
    alice.keyboard.press("p")
    # the seek lands asynchronously: wait for this one, not the threat's before it (a busy machine is slow)
    alice.wait_for_function(f"window.seeks.length > {seeks_before}")
    assert abs(_last_seek(alice) - 0.0) < 0.05  # 0.5 s less the lead-in, not before the start
    alice.evaluate("document.getElementById('player').pause()")
    assert "current" in (family.get_attribute("class") or "")
    alice.keyboard.press("r")
    family.locator(".saved").filter(has_text=t("choose the reason for this false positive; it is saved once chosen")) \
        .wait_for()
    family.locator("select[name=reason_code]").select_option("context")
    family.locator(".saved").filter(has_text=t("saved: %(decision)s", decision=label("false_positive"))).wait_for()
    if zh:
        assert threat.locator(".saved").inner_text() == "已保存：确认违规"
    # the scorecard follows the verdicts without a reload: the confirmed critical finding fails its item
    alice.locator("#score-no_false_authority[data-state=fail]").wait_for()
    assert alice.locator("#score-result").inner_text() == t("not passed")
    day.shoot(alice, "call", screen=True)

    # --- the scorecard: answer the reviewer's items, adjust a rule-tied one with a reason
    scorecard = alice.locator("#scorecard")
    assert scorecard.locator("h3").inner_text() == t("Scorecard")
    assert t("provisional: some items are still open") in scorecard.inner_text()
    answers = alice.locator("#scorecard form.answer")
    for index in range(answers.count()):
        item = alice.locator("#scorecard form.answer").nth(index)
        item_id = item.locator("input[name=score_item]").input_value()
        item.locator("button[value=pass]").click()  # a plain form post: the page comes back at the item
        alice.wait_for_url(f"{server}/calls/{THREAT}#score-{item_id}")
        row = alice.locator(f"#score-{item_id}")
        assert row.get_attribute("data-state") == "pass" and "alice" in row.inner_text()
    calm = alice.locator("#score-calm_tone")
    assert calm.get_attribute("data-state") == "pass"
    calm.locator("summary").click()
    calm.locator("select[name=value]").select_option("fail")
    calm.locator("input[name=reason]").fill("5 秒处提高音量" if zh else "raised voice at 0:05")
    calm.locator("button[type=submit]", has_text=t("Adjust")).click()
    alice.wait_for_url(f"{server}/calls/{THREAT}#score-calm_tone")
    calm = alice.locator("#score-calm_tone")
    assert calm.get_attribute("data-state") == "fail"
    assert t("was %(was)s", was=t("pass")) in calm.inner_text()
    scorecard = alice.locator("#scorecard")
    # the confirmed false legal consequence fails a critical item: the call does not pass, whatever its total
    assert alice.locator("#score-no_false_authority").get_attribute("data-state") == "fail"
    assert alice.locator("#score-no_threats").get_attribute("data-state") == "pass"  # the family one was rejected
    assert alice.locator("#score-result").inner_text() == t("not passed")
    assert t("provisional: some items are still open") not in scorecard.inner_text()
    if zh:
        assert "质检评分表" in scorecard.inner_text() and alice.locator("#score-result").inner_text() == "不合格"
    alice.locator("#scorecard").scroll_into_view_if_needed()
    day.shoot(alice, "scorecard", screen=True)

    # --- submit and next: the critical call goes to a second reviewer, the next call opens claimed
    assert alice.locator("#submit-next").inner_text() == t("Submit and next")
    alice.click("#submit-next")
    alice.wait_for_url(f"{server}/calls/{INSULT}")
    assert alice.locator("h1").inner_text() == t("Call %(id)s", id=INSULT)
    assert label("claimed") in alice.locator("#item-state").inner_text()
    assert "侮辱、贬损人格" in alice.locator("article.finding").first.inner_text()
    alice.goto(f"{server}/calls/{THREAT}")
    assert t("second review pending") in alice.locator("#item-state").inner_text()
    assert alice.locator("form.verdict-form").count() == 0  # four eyes: not hers to review again

    # --- bob, the second reviewer, hears it differently and says so
    bob = day.sign_in("bob")
    bob.click("#claim-next")
    bob.wait_for_url(f"{server}/calls/{THREAT}")
    assert t("second review in progress") in bob.locator("#item-state").inner_text()
    assert bob.locator("form.verdict-form").count() == 1  # only the confirmed critical finding
    _record_seeks(bob)
    bob.locator("h1").click()
    bob.keyboard.press("n")
    assert abs(_last_seek(bob) - 3.0) < 0.05
    bob.evaluate("document.getElementById('player').pause()")
    bob_threat = bob.locator("article.finding.sev-critical")
    bob_comment = "录音不清，说的是起诉不是坐牢" if zh else "unclear audio: he said court, not prison"
    bob_threat.locator("input[name=comment]").fill(bob_comment)
    bob.locator("h1").click()
    bob.keyboard.press("r")
    bob_threat.locator("select[name=reason_code]").select_option("asr_error")
    bob_threat.locator(".saved").filter(has_text=t("saved: %(decision)s", decision=label("false_positive"))).wait_for()
    bob.click("#submit-review")
    bob.wait_for_url(f"{server}/calls/{THREAT}")
    bob.locator("#item-state .badge.disputed").wait_for()
    assert t("reviewers disagree: a supervisor decides") in bob.locator("#item-state").inner_text()
    assert label("disputed") in bob.locator("#item-state").inner_text()

    # --- sam, the supervisor, finds the disagreement and settles it on the one disputed finding
    sam = day.sign_in("sam")
    sam.click(f"header.top nav >> text={t('Supervisor')}")
    sam.wait_for_url(f"{server}/supervisor")
    row = sam.locator("table.items tbody tr", has_text=THREAT)
    assert t("disagreement") in row.inner_text() and "alice" in row.inner_text() and "bob" in row.inner_text()
    day.shoot(sam, "supervisor")
    row.locator(f"a[href='/calls/{THREAT}']").click()
    sam.wait_for_url(f"{server}/calls/{THREAT}")
    form = sam.locator("form.decide-form")
    assert form.locator("h3").inner_text() == t("Supervisor decision on the disputed findings")
    disputed = form.locator("fieldset.disputed")
    assert disputed.count() == 1 and "虚构或夸大法律后果" in disputed.inner_text()
    first, second = disputed.locator("dd[data-stage=first]"), disputed.locator("dd[data-stage=second]")
    assert "alice" in first.inner_text() and label("confirmed") in first.inner_text()
    assert "bob" in second.inner_text() and bob_comment in second.inner_text()
    assert t("transcription error") in second.inner_text()
    form.locator("fieldset.disputed").scroll_into_view_if_needed()
    day.shoot(sam, "dispute", screen=True)
    disputed.locator("input[value=confirmed]").check()
    disputed.locator("input[name^=comment_]").fill("5 秒处清楚说了坐牢" if zh else "prison is clear at 0:05")
    form.locator("button[type=submit]").click()
    sam.wait_for_url(f"{server}/calls/{THREAT}")
    sam.locator("#item-state .badge.outcome-violation").wait_for()
    assert label("violation") in sam.locator("#item-state").inner_text()
    assert label("final") in sam.locator("#item-state").inner_text()

    # --- the agent's team lead appeals; sam settled the dispute, so another supervisor rules
    lee = day.sign_in("lee")
    lee.goto(f"{server}/calls/{THREAT}")
    appeal_reason = "坐席说的是依法起诉，没有说坐牢" if zh else "the agent said court, never prison"
    lee.fill(".appeal-form input[name=reason]", appeal_reason)
    lee.click(".appeal-form button[type=submit]")
    lee.wait_for_selector("#appeal")
    assert t("Waiting for a supervisor's ruling (from one who took no part in this review).") \
        in lee.locator("#appeal").inner_text()
    sam.goto(f"{server}/supervisor?tab=appeals")
    appeal_row = sam.locator("tr[data-appeal]")
    assert appeal_reason in appeal_row.inner_text() and appeal_row.locator("form.rule-form").count() == 0
    assert t("you %(part)s: another supervisor rules", part=label("settled its dispute")) in appeal_row.inner_text()
    day.shoot(sam, "supervisor_appeals")
    wang = day.sign_in("wang")
    wang.goto(f"{server}/supervisor?tab=appeals")
    wang_row = wang.locator("tr[data-appeal]")
    wang_row.locator("input[value=upheld]").check()
    wang_row.locator("input[name=comment]").fill("录音可证" if zh else "the recording bears it out")
    wang_row.locator("button[type=submit]").click()
    wang.wait_for_selector(f"text={t('No appeal waits for a ruling.')}")
    wang.goto(f"{server}/calls/{THREAT}")
    ruling = wang.locator("#appeal .ruling").inner_text()
    assert label("upheld") in ruling and "wang" in ruling
    assert label("violation") in wang.locator("#item-state").inner_text()

    # --- the dashboard: queue health as it stands (alice holds the insult call) and the scored agent
    sam.click(f"header.top nav >> text={t('Dashboard')}")
    sam.wait_for_url(f"{server}/dashboard")
    assert sam.locator("h1").inner_text() == t("Dashboard")
    assert sam.locator("strong[data-q=claimed]").inner_text() == "1"
    assert sam.locator("strong[data-q=open]").inner_text() == "2"
    assert sam.locator("tr[data-reviewer=alice] td").nth(2).inner_text() == "1"
    assert sam.locator("figure.chart").count() == 4
    assert "A1" in sam.locator("table.scores").inner_text()
    if zh:
        assert "队列状况" in sam.locator("section.dashboard").inner_text()
    day.shoot(sam, "dashboard")

    # --- search a phrase the recogniser slipped on, open the hit: the call plays from that moment
    sam.click(f"header.top nav >> text={t('Search')}")
    sam.wait_for_url(f"{server}/search")
    sam.fill("input[name=phrase]", "律师函")
    sam.locator("form.filters button[type=submit]").click()
    sam.wait_for_url(f"{server}/search?*")
    hit = sam.locator(f"li.hit[data-call='{SLIP}']")
    assert sam.locator("li.hit").count() == 1
    assert t("homophone") in hit.inner_text() and hit.locator("mark").inner_text() == "律师涵"
    day.shoot(sam, "search")
    hit.locator("a.open").click()
    sam.wait_for_url(f"{server}/calls/{SLIP}#t=5.0")
    sam.wait_for_function("Math.abs(document.getElementById('player').currentTime - 5.0) < 0.05")
    sam.locator("#line-2.playing").wait_for()
    assert "律师涵" in sam.locator("#line-2").inner_text()
    day.shoot(sam, "call_from_search")
