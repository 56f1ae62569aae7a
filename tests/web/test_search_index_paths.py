"""Transcript search through the trigram index (SQLite FTS5, PostgreSQL pg_trgm) and without it: a
homophone slip still matches, a two-character phrase still works, the index follows every write, and
a filter holding many calls gives the same hits as one holding few."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text

from review.calls import repo
from review.search import index as search_index
from review.store.db import session_scope
from review.store.models import Call, CallSearchText
from review.web import search_view

from .conftest import CALL_ID, FindingSpec, WebEnv, seed_call, sign_in, transcript_document, write_wav

SLIP = [("agent", 0.5, 2.5, "您好，我们是崔收公司的，关于您的欠款", False),
        ("customer", 3.0, 5.0, "好的我知道了", False),
        ("agent", 5.5, 7.0, "请您按时还款", False)]


def _hits(client: TestClient, **params: str) -> list[str]:
    return re.findall(r'<li class="hit" data-call="([^"]+)"', client.get("/search", params=params).text)


def _seed_slip(env: WebEnv) -> None:
    with session_scope(env.factory) as s:
        seed_call(s, write_wav(env.wav.with_name("slip.wav"), variant=1), "call-slip", agent_id="A7",
                  team="team-b", segments=SLIP,
                  findings=[FindingSpec("cn.abuse.insult", "insult_abuse", "major", 2, 5.5, 7.0, "按时还款")])


def test_a_homophone_slip_is_found_through_the_trigram_index(make_client: Callable[..., TestClient],
                                                             web_env_any: WebEnv) -> None:
    env = web_env_any
    _seed_slip(env)
    with session_scope(env.factory) as s:
        if s.get_bind().dialect.name == "sqlite":
            assert search_index.has_fts(s.connection()), "this SQLite has no FTS5 trigram table"
        # the index answers (a list, not None: no walk) and holds only the slipped call
        assert search_index.phrase_calls(s, search_index.phrase_key("催收公司")) == ["call-slip"]
        assert search_index.phrase_calls(s, search_index.phrase_key("律师函")) == []
    sam = make_client()
    sign_in(sam, "sam")
    page = sam.get("/search", params={"phrase": "催收公司"}).text
    assert re.findall(r'<li class="hit" data-call="([^"]+)"', page) == ["call-slip"]
    assert "<mark>崔收公司</mark>" in page and "homophone" in page
    assert "No call matches." in sam.get("/search", params={"phrase": "律师函"}).text


def test_a_two_character_phrase_is_still_found(make_client: Callable[..., TestClient],
                                               web_env_any: WebEnv) -> None:
    _seed_slip(web_env_any)
    with session_scope(web_env_any.factory) as s:
        assert search_index.phrase_calls(s, search_index.phrase_key("坐牢")) is None  # too short: walked
    sam = make_client()
    sign_in(sam, "sam")
    assert _hits(sam, phrase="坐牢") == [CALL_ID]
    assert sorted(_hits(sam, phrase="催收")) == sorted([CALL_ID, "call-slip"])


def test_the_index_follows_a_new_transcript_and_a_deleted_call(make_client: Callable[..., TestClient],
                                                               web_env_any: WebEnv) -> None:
    env = web_env_any
    _seed_slip(env)
    new = [("agent", 0.5, 2.5, "这里是律师函通知", False)]
    with session_scope(env.factory) as s:
        repo.save_transcript(s, "call-slip", "faster-whisper:large:int8", transcript_document("call-slip", new), None)
    with session_scope(env.factory) as s:
        assert search_index.phrase_calls(s, search_index.phrase_key("催收公司")) == []
        assert search_index.phrase_calls(s, search_index.phrase_key("律师函")) == ["call-slip"]
    sam = make_client()
    sign_in(sam, "sam")
    assert _hits(sam, phrase="律师函") == ["call-slip"]
    assert _hits(sam, phrase="催收公司") == []
    with session_scope(env.factory) as s:
        s.execute(delete(CallSearchText).where(CallSearchText.call_id == "call-slip"))
        assert search_index.phrase_calls(s, search_index.phrase_key("律师函")) == []
        if s.get_bind().dialect.name == "sqlite":  # nothing left behind in the contentless table
            assert s.execute(text("SELECT count(*) FROM call_search_fts")).scalar_one() == 1


@pytest.mark.parametrize("rare", [0, search_index.RARE])
def test_filters_give_the_same_hits_walked_or_sought(make_client: Callable[..., TestClient], web_env_any: WebEnv,
                                                     monkeypatch: pytest.MonkeyPatch, rare: int) -> None:
    """rare=0: every filter counts as common, so SQLite walks the calls and tests membership; otherwise
    the few calls of each filter are sought by index. Both must give the same page."""
    _seed_slip(web_env_any)
    monkeypatch.setattr(search_view, "RARE", rare)
    monkeypatch.setattr(search_index, "RARE", rare)
    sam = make_client()
    sign_in(sam, "sam")
    assert _hits(sam, rule="cn.abuse.insult") == ["call-slip"]
    assert _hits(sam, category="threat") == [CALL_ID]
    assert _hits(sam, rule="cn.threat.prison", category="threat") == [CALL_ID]
    assert sorted(_hits(sam, verdict="pending")) == sorted([CALL_ID, "call-slip"])
    assert _hits(sam, verdict="violation") == []
    assert _hits(sam, phrase="催收公司", rule="cn.abuse.insult") == ["call-slip"]
    assert _hits(sam, phrase="催收公司", rule="cn.threat.prison") == []
    with session_scope(web_env_any.factory) as s:
        assert len(s.execute(select(Call.id)).all()) == 2
