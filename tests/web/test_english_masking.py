"""English personal data is masked on the call page and in the API (and shown to compliance on request);
call pages, audio and the API are never cached."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from review.store.db import session_scope

from .conftest import FindingSpec, WebEnv, seed_call, sign_in, write_wav

SECRETS = ("555-123-4567", "123-45-6789", "jo.doe", "five five five one two", "(555)")
SEGMENTS = [
    ("agent", 0.5, 2.5, "Can you confirm your number? You must pay today or we call your employer.", False),
    ("customer", 2.8, 4.6, "It is 555-123-4567, SSN 123-45-6789, mail jo.doe@example.com", False),
    ("customer", 5.0, 6.5, "or my cell, five five five one two three four five six seven, or (555) 987 6543", False),
]


def test_english_pii_is_masked_in_page_and_api(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    wav = write_wav(web_env.wav.with_name("english.wav"), variant=5)
    with session_scope(web_env.factory) as session:
        seed_call(session, wav, "call-en", agent_id="E1", team="team-e", segments=SEGMENTS,
                  findings=[FindingSpec("us.third_party", "third_party_disclosure", "major", 1, 2.8, 4.6,
                                        "It is 555-123-4567", "Reg F 1006.6")])
    sam = make_client()
    sign_in(sam, "sam")
    page = sam.get("/calls/call-en")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    for secret in SECRETS:
        assert secret not in page.text, secret
    assert "***-***-4567" in page.text and "***-**-**89" in page.text and "j*****@example.com" in page.text
    api = sam.get("/api/calls/call-en")
    assert api.headers["cache-control"] == "no-store"
    body = json.dumps(api.json(), ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in body, secret
    assert "***-***-4567" in body
    audio = sam.get("/calls/call-en/audio")
    assert audio.status_code == 200 and audio.headers["cache-control"] == "no-store"
    assert sam.get("/static/app.css").headers.get("cache-control") != "no-store"

    carol = make_client()
    token = sign_in(carol, "carol")
    carol.post("/calls/call-en/unmask", data={"csrf_token": token, "reason": "debtor disputes the number"})
    shown = carol.get("/calls/call-en").text
    assert "555-123-4567" in shown and "jo.doe@example.com" in shown
    assert "555-123-4567" in json.dumps(carol.get("/api/calls/call-en").json())
