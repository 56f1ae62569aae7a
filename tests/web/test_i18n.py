"""The UI's languages: every template string goes through gettext, Chinese is complete, the browser's
Accept-Language chooses before sign-in and the user's stored choice after; times carry their offset."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import jinja2
import pytest
from fastapi.testclient import TestClient

from review.store.db import session_scope
from review.web import i18n

from .conftest import FindingSpec, WebEnv, seed_call, sign_in, write_wav

WEB = Path(i18n.__file__).resolve().parent
TEMPLATES = WEB / "templates"
PO = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
# text a page shows as written in every language: the brand, arrows, separators, numbers
_LITERAL = re.compile(r"callqa|&[a-z]+;|&#\d+;|[\s·:()\-/,.%▶←→]")
_ATTRIBUTE = re.compile(r'\b(?:placeholder|title|alt|aria-label|label)="[^"\x00]*[A-Za-z\u4e00-\u9fff]')


def _untranslated_text(name: str) -> list[str]:
    """Text a template shows outside {% trans %} and _(): tags, expressions and blocks removed."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    shown, in_trans, previous = [], False, ""
    for _line, kind, value in env.lex(source):
        if kind == "whitespace":
            continue
        if kind == "name" and previous == "block_begin":
            in_trans = value == "trans" or (in_trans and value != "endtrans")
        previous = kind
        shown.append(value if kind == "data" and not in_trans else "\x00")
    page = "".join(shown)
    problems = [m.group(0) for m in _ATTRIBUTE.finditer(page)]
    for piece in re.sub(r"<[^>]*>", "\x00", page).split("\x00"):
        if re.search(r"[A-Za-z\u4e00-\u9fff]", _LITERAL.sub("", piece)):
            problems.append(piece.strip()[:60])
    return problems


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_text_outside_gettext(name: str) -> None:
    assert _untranslated_text(name) == []


def test_the_checker_finds_bare_text() -> None:
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    assert [t for t in env.lex("<p>{% trans %}ok{% endtrans %}</p>") if t[1] == "data"]  # lexer as assumed
    bare = TEMPLATES / "_bare_probe.html"
    bare.write_text('<p>Hello</p><input placeholder="type here">{% trans %}fine{% endtrans %}', encoding="utf-8")
    try:
        assert len(_untranslated_text(bare.name)) == 2
    finally:
        bare.unlink()


def _key(message_id: object) -> str:
    return message_id if isinstance(message_id, str) else str(list(message_id)[0])  # type: ignore[call-overload]


def _value(string: object) -> object:
    return string if isinstance(string, str) else tuple(string)  # type: ignore[call-overload]


def test_every_message_has_a_chinese_translation_and_the_mo_is_current() -> None:
    from babel.messages.extract import extract_from_dir
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                     "lstrip_blocks": "true"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    extracted = {m[2] if isinstance(m[2], str) else m[2][0]
                 for m in extract_from_dir(str(WEB), method_map, options, keywords)}
    with PO.open("rb") as f:
        po = read_po(f, locale="zh_CN")
    translated = {_key(m.id): _value(m.string) for m in po if m.id}
    missing = sorted(msg for msg in extracted if not translated.get(msg)
                     or (isinstance(translated[msg], tuple) and not all(translated[msg])))
    assert missing == [], "run `python -m review.web.i18n update`, translate, then `compile`"
    with PO.with_suffix(".mo").open("rb") as f:
        mo = read_mo(f)
    compiled = {_key(m.id): _value(m.string) for m in mo if m.id}
    assert compiled == translated, "the .mo is older than the .po: `python -m review.web.i18n compile`"


def test_accept_language_chooses_among_the_sites_languages(make_client: Callable[..., TestClient],
                                                            web_env: WebEnv) -> None:
    client = make_client()
    assert "<h1>登录</h1>" in client.get("/login", headers={"accept-language": "zh-CN,zh;q=0.9"}).text
    assert 'lang="zh-CN"' in client.get("/login", headers={"accept-language": "zh-TW;q=0.8,fr"}).text
    assert "<h1>Sign in</h1>" in client.get("/login", headers={"accept-language": "en-GB,en;q=0.9"}).text
    assert "<h1>Sign in</h1>" in client.get("/login", headers={"accept-language": "fr"}).text  # the default
    web_env.settings.web.default_language = "zh-CN"
    assert "<h1>登录</h1>" in make_client().get("/login", headers={"accept-language": "fr"}).text
    web_env.settings.web.languages = ["en"]
    assert "<h1>Sign in</h1>" in make_client().get("/login", headers={"accept-language": "zh-CN"}).text


def test_negotiate_weights_and_primary_languages() -> None:
    offered = ["zh-CN", "en"]
    assert i18n.negotiate("en;q=0.5, zh-CN;q=0.8", offered, "en") == "zh-CN"
    assert i18n.negotiate("zh-HK", offered, "en") == "zh-CN"
    assert i18n.negotiate("de, *;q=0.1", offered, "en") == "en"
    assert i18n.negotiate("", offered, "zh-CN") == "zh-CN"


def test_a_users_choice_is_kept_and_pages_show_rule_titles_and_local_times(
        make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    with session_scope(web_env.factory) as session:
        wav = write_wav(web_env.wav.with_name("titled.wav"), variant=3)
        seed_call(session, wav, "call-0009", findings=[FindingSpec(
            "cn.threat.violence", "threat_violence", "critical", 2, 5.0, 6.5, "让你坐牢")])
    client = make_client()
    csrf = sign_in(client, "sam")
    english = {"accept-language": "en"}
    assert "Review queue" in client.get("/queue", headers=english).text
    response = client.post("/preferences/language", data={"language": "zh-CN", "next": "/queue",
                                                          "csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/queue"
    queue_page = client.get("/queue", headers=english).text  # the stored choice wins over the browser
    assert "审核队列" in queue_page and 'lang="zh-CN"' in queue_page
    assert ">\n      我的 <span" in queue_page and "已申诉" in queue_page  # the status tabs too
    assert "+08:00" in queue_page and " UTC" not in queue_page
    page = client.get("/calls/call-0009", headers=english).text
    assert "暴力或人身威胁" in page and "暴力威胁" in page  # the pack's title and the category's name
    assert "2026-11-27 10:15 +08:00" in page
    assert "<dd>普通话</dd>" in page and "mandarin" not in page.split("<dl class=\"meta\">")[1].split("</dl>")[0]
    assert "Review queue" not in page and "Findings (" not in page
    bad = client.post("/preferences/language", data={"language": "fr", "csrf_token": csrf}, follow_redirects=False)
    assert bad.status_code == 400
    other = make_client()
    sign_in(other, "alice")
    assert "Review queue" in other.get("/queue", headers=english).text  # per user, not per site


def test_times_are_in_the_site_zone_with_offset() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    fmt = i18n.when(ZoneInfo("Asia/Shanghai"))
    assert fmt(datetime(2026, 11, 27, 2, 15)) == "2026-11-27 10:15 +08:00"  # naive is UTC, as stored
    assert i18n.when(ZoneInfo("America/New_York"))(datetime(2026, 7, 1, 12, 0)) == "2026-07-01 08:00 -04:00"
