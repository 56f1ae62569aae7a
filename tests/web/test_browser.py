"""End to end in Debian's Chromium: sign in, claim, seek by clicking a finding, decide, second review,
appeal and ruling. Leaves a screenshot of the call page in tests/artifacts/."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from review.store.db import session_scope

from .conftest import CALL_ID, PASSWORD, FindingSpec, WebEnv, seed_call, write_wav

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason="apt-get install chromium")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(web_env: WebEnv) -> Iterator[str]:
    import uvicorn

    from review.web import create_app

    port = _free_port()
    app = create_app(web_env.settings, session_factory=web_env.factory)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


def _sign_in(browser, base: str, username: str):  # type: ignore[no-untyped-def]
    # the test's own probes (wait_for_function) are eval; the page's CSP rightly forbids that
    page = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True).new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/queue")
    assert "/login" in page.url  # not signed in: sent to sign in first
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/queue")
    return page


def _current_time(page) -> float:  # type: ignore[no-untyped-def]
    return float(page.evaluate("document.getElementById('player').currentTime"))


def test_review_in_a_real_browser(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    alice = _sign_in(browser, server, "alice")
    alice.click("#claim-next")
    alice.wait_for_url(f"{server}/calls/{CALL_ID}")
    alice.wait_for_function("document.getElementById('player').readyState >= 1")
    assert abs(float(alice.evaluate("document.getElementById('player').duration")) - 8.0) < 0.1

    # clicking the highlighted words of a finding seeks the recording to it, 2 s early (the lead-in)
    alice.click("mark.hit >> text=让你坐牢")
    alice.wait_for_function("document.getElementById('player').currentTime >= 3.0")
    assert 3.0 <= _current_time(alice) < 4.5
    prison = alice.locator("article.finding.sev-critical")
    assert "current" in (prison.get_attribute("class") or "")
    # clicking the picture seeks too: a quarter across is a quarter into the call
    box = alice.locator("#picture").bounding_box()
    assert box is not None
    alice.evaluate("document.getElementById('player').pause()")
    alice.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
    alice.wait_for_function("Math.abs(document.getElementById('player').currentTime - 2.0) < 0.3")
    # space toggles play and pause (from anywhere but a text field)
    alice.evaluate("document.getElementById('player').pause()")
    alice.locator("h1").click()
    alice.keyboard.press(" ")
    alice.wait_for_function("!document.getElementById('player').paused")
    alice.keyboard.press(" ")
    alice.wait_for_function("document.getElementById('player').paused")

    # confirm the selected (critical) finding with the keyboard
    alice.click("article.finding.sev-critical .finding-seek")
    alice.keyboard.press("c")
    prison.locator(".saved").filter(has_text="saved: confirmed").wait_for()
    # submitting with the other finding still open: a message beside it, no page change
    family = alice.locator("article.finding.sev-major")
    alice.click("#submit-review")
    family.locator(".open-note").wait_for(state="visible")
    assert prison.locator(".open-note").is_hidden() and alice.url.endswith(f"/calls/{CALL_ID}")
    # reject the other with the form: false positive and a reason
    family.locator("input[value=false_positive]").check()
    family.locator("select[name=reason_code]").select_option("context")
    family.locator("input[name=comment]").fill("advice, not a threat")
    family.locator("button[type=submit]").click()
    family.locator(".saved").filter(has_text="saved: false positive").wait_for()
    family.locator(".open-note").wait_for(state="hidden")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(ARTIFACTS / "call_page.png"), full_page=True)

    alice.click("#submit-review")
    alice.wait_for_load_state()
    assert "second review pending" in alice.locator("#item-state").inner_text()

    # a second, different reviewer agrees (keyboard again)
    bob = _sign_in(browser, server, "bob")
    bob.click("#claim-next")
    bob.wait_for_url(f"{server}/calls/{CALL_ID}")
    assert "second review in progress" in bob.locator("#item-state").inner_text()
    assert bob.locator("form.verdict-form").count() == 1
    bob.keyboard.press("n")  # the one finding under second review
    bob.wait_for_function("document.getElementById('player').currentTime >= 5.0")
    bob.keyboard.press("c")
    bob.locator("article.finding.sev-critical .saved").filter(has_text="saved: confirmed").wait_for()
    bob.click("#submit-review")
    bob.wait_for_load_state()
    assert "violation" in bob.locator("#item-state").inner_text()

    # the team lead appeals, a supervisor rules
    lee = _sign_in(browser, server, "lee")
    lee.goto(f"{server}/calls/{CALL_ID}")
    lee.fill(".appeal-form input[name=reason]", "the customer was joking along")
    lee.click(".appeal-form button[type=submit]")
    lee.wait_for_selector("#appeal")
    assert "Waiting for a supervisor" in lee.locator("#appeal").inner_text()

    sam = _sign_in(browser, server, "sam")
    sam.click("header.top nav >> text=Supervisor")
    sam.click("nav.tabs >> text=Appeals")
    row = sam.locator("tr[data-appeal]")
    assert "the customer was joking along" in row.inner_text()
    row.locator("input[value=overturned]").check()
    row.locator("input[name=comment]").fill("banter, no threat")
    row.locator("button[type=submit]").click()
    sam.wait_for_selector("text=No appeal waits for a ruling.")
    sam.goto(f"{server}/calls/{CALL_ID}")
    assert "overturned" in sam.locator("#appeal").inner_text()
    assert "no violation" in sam.locator("#item-state").inner_text()


def test_r_asks_for_the_reason_of_a_false_positive(server: str, browser, web_env: WebEnv) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from review.store.db import session_scope
    from review.store.models import Verdict

    alice = _sign_in(browser, server, "alice")
    alice.click("#claim-next")
    alice.wait_for_url(f"{server}/calls/{CALL_ID}")
    family = alice.locator("article.finding.sev-major")
    family.locator(".finding-seek").click()
    alice.locator("h1").click()
    alice.keyboard.press("r")
    # nothing is saved yet: the reason list has the focus and the card says what it needs
    family.locator(".saved").filter(has_text="choose the reason").wait_for()
    assert alice.evaluate("document.activeElement.name") == "reason_code"
    assert "needs-reason" in (family.locator("form").get_attribute("class") or "")
    with session_scope(web_env.factory) as session:
        assert session.execute(select(Verdict)).first() is None
    alice.wait_for_timeout(500)
    assert "needs-reason" in (family.locator("form").get_attribute("class") or "")
    assert family.locator("select[name=reason_code]").input_value() == ""
    family.locator("select[name=reason_code]").select_option("asr_error")
    family.locator(".saved").filter(has_text="saved: false positive").wait_for()
    with session_scope(web_env.factory) as session:
        verdict = session.execute(select(Verdict)).scalar_one()
    assert (verdict.decision, verdict.reason_code) == ("false_positive", "asr_error")
    # with a false-positive reason already chosen, r saves at once
    prison = alice.locator("article.finding.sev-critical")
    prison.locator(".finding-seek").click()
    prison.locator("select[name=reason_code]").select_option("wrong_speaker")
    alice.locator("h1").click()
    alice.keyboard.press("r")
    prison.locator(".saved").filter(has_text="saved: false positive").wait_for()


def test_the_moment_in_context(server: str, browser, web_env: WebEnv) -> None:  # type: ignore[no-untyped-def]
    """Sticky player, moving playhead, the spoken line highlighted, speeds, call-level notes."""
    with session_scope(web_env.factory) as session:
        wav = write_wav(web_env.wav.with_name("context.wav"), variant=5)
        seed_call(session, wav, "call-0005", findings=[
            FindingSpec("cn.disclosure.recording", "missing_recording_notice", "minor", None, 0.0, 0.0, ""),
            FindingSpec("cn.threat.prison", "threat", "critical", 2, 5.0, 6.5, "让你坐牢")])
    sam = _sign_in(browser, server, "sam")
    sam.set_viewport_size({"width": 1366, "height": 768})
    sam.goto(f"{server}/calls/call-0005")
    sam.wait_for_function("document.getElementById('player').readyState >= 1")
    # the call-level finding is a note without a seek button; the moment is number 1 on the waveform
    note = sam.locator("article.finding.call-level")
    assert note.count() == 1 and note.locator(".seek").count() == 0
    assert sam.locator("h3.call-notes").count() == 1
    moment = sam.locator("article.finding.sev-critical")
    assert moment.locator(".num").inner_text() == "1"
    assert sam.locator("mark.hit").count() == 1  # the note marks no transcript line
    # seeking to the moment starts 2 s before it; 1.5x plays faster; the playhead and line follow
    moment.locator(".finding-seek").click()
    sam.wait_for_function("document.getElementById('player').currentTime >= 3.0")
    sam.click(".speed button[data-rate='1.5']")
    assert float(sam.evaluate("document.getElementById('player').playbackRate")) == 1.5
    sam.locator("h1").click()
    sam.keyboard.press("s")
    assert float(sam.evaluate("document.getElementById('player').playbackRate")) == 2.0
    sam.evaluate("document.getElementById('player').play()")
    sam.wait_for_function("document.getElementById('player').currentTime >= 5.2")
    sam.evaluate("document.getElementById('player').pause()")
    assert sam.locator("li.line.playing").get_attribute("id") == "line-2"
    left = float(sam.evaluate("parseFloat(document.getElementById('playhead').style.left)"))
    assert abs(left - 100 * _current_time(sam) / 8.0) < 3
    # the player stays on screen when the page scrolls
    sam.evaluate("document.getElementById('transcript').insertAdjacentHTML('beforeend', "
                 "'<li style=\"height: 3000px\"></li>')")  # a long call's transcript
    sam.evaluate("window.scrollTo(0, 1500)")
    assert float(sam.evaluate("window.scrollY")) > 1000
    top = sam.evaluate("document.getElementById('media').getBoundingClientRect().top")
    assert -1 <= float(top) <= 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sam.screenshot(path=str(ARTIFACTS / "call_page_context_1366.png"))


def _played(page) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """The stretches of the recording the browser actually played (HTMLMediaElement.played)."""
    ranges = page.evaluate("(() => { const p = document.getElementById('player').played; const out = [];"
                           " for (let i = 0; i < p.length; i++) { out.push([p.start(i), p.end(i)]); } return out; })()")
    return [(float(a), float(b)) for a, b in ranges]


def test_skip_silence_jumps_over_a_quiet_stretch(server: str, browser, web_env: WebEnv) -> None:  # type: ignore[no-untyped-def]
    """Nobody speaks from 2.2 s to 5.0 s: with skip silence on, playback jumps from 2.5 s to 4.7 s; a click
    on the silence on the track plays it (the listener asked for it)."""
    from .test_acoustic_track import ACOUSTIC, seed_quiet_call

    seed_quiet_call(web_env, "call-q9", ACOUSTIC, variant=19)
    sam = _sign_in(browser, server, "sam")
    sam.goto(f"{server}/calls/call-q9")
    sam.wait_for_function("document.getElementById('player').readyState >= 1")
    assert sam.locator("#acoustic-track rect.stretch.overtalk").count() == 1
    toggle = sam.locator("#skip-silence")
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    sam.evaluate("document.getElementById('player').currentTime = 1.5")
    sam.wait_for_function("Math.abs(document.getElementById('player').currentTime - 1.5) < 0.05")
    sam.evaluate("document.getElementById('player').play()")
    sam.wait_for_function("document.getElementById('player').currentTime >= 5.0")
    sam.evaluate("document.getElementById('player').pause()")
    played = _played(sam)
    assert not any(a < 4.0 and b > 3.2 for a, b in played), played  # the middle of the silence never played
    assert any(a <= 1.6 and b >= 2.4 for a, b in played) and any(4.6 <= a <= 4.8 for a, b in played), played
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sam.screenshot(path=str(ARTIFACTS / "call_page_acoustic_track.png"))

    # the same page, fresh: clicking the silence on the track seeks to it and plays it through
    sam.reload()
    sam.wait_for_function("document.getElementById('player').readyState >= 1")
    assert sam.locator("#skip-silence").get_attribute("aria-pressed") == "true"  # kept across pages
    sam.locator("#acoustic-track rect.stretch.silence").click()
    sam.wait_for_function("document.getElementById('player').currentTime >= 3.6")
    sam.evaluate("document.getElementById('player').pause()")
    assert any(a <= 2.3 and b >= 3.6 for a, b in _played(sam)), _played(sam)
