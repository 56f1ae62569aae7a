"""Silence and overtalk on the call page: the track under the waveform from the transcriber's acoustic
features, the stretches "skip silence" jumps, and no track (never an error) for a call without them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from review.store.db import session_scope
from review.store.models import Transcript
from review.web.acoustic_view import KEEP_S, TRACK_WIDTH, acoustic_track, quiet_stretches, skip_ranges

from .conftest import FindingSpec, WebEnv, seed_call, sign_in, write_wav

# a call of 8 s with nobody speaking from 2.2 s to 5.0 s and both speaking from 5.5 s to 6.2 s
QUIET_SEGMENTS = [
    ("agent", 0.4, 1.6, "您好，我是催收员", False),
    ("customer", 1.7, 2.2, "嗯", False),
    ("agent", 5.0, 6.2, "再不还款就起诉你，让你坐牢", False),
    ("customer", 5.5, 7.6, "你别吓唬我", False),
]
ACOUSTIC = {"long_silences": [{"start": 2.2, "end": 5.0}], "overtalk": [{"start": 5.5, "end": 6.2}],
            "agent_loudness": [], "agent_baseline_db": None}
FINDING = [FindingSpec("cn.threat.violence", "threat_violence", "critical", 2, 5.0, 6.2, "让你坐牢")]


def seed_quiet_call(env: WebEnv, call_id: str, acoustic: Any, variant: int) -> None:
    """A call whose stored transcript carries ``acoustic`` as the transcriber writes it (None: mono)."""
    with session_scope(env.factory) as session:
        wav = write_wav(env.wav.with_name(f"{call_id}.wav"), variant=variant)
        seed_call(session, wav, call_id, segments=QUIET_SEGMENTS, findings=FINDING)
        row = session.execute(select(Transcript).where(Transcript.call_id == call_id)).scalar_one()
        document = dict(row.document)
        if acoustic != "absent":
            document["metadata"] = {**document["metadata"], "acoustic": acoustic}
        row.document = document


def _rects(page: str) -> list[dict[str, str]]:
    track = page.split('id="acoustic-track"', 1)[1].split("</svg>", 1)[0]
    return [dict(re.findall(r'([\w-]+)="([^"]*)"', m)) for m in re.findall(r"<rect ([^>]*)>", track)]


def test_quiet_stretches_join_transcript_gaps_and_stored_silences() -> None:
    document = {"segments": [{"start": s, "end": e} for _, s, e, _, _ in QUIET_SEGMENTS],
                "metadata": {"acoustic": {"long_silences": [{"start": 8.0, "end": 20.0}], "overtalk": []}}}
    # the stored silence and the gap after the last line overlap: one stretch
    assert quiet_stretches(document, 30.0) == [(2.2, 5.0), (7.6, 30.0)]
    assert quiet_stretches(document, 30.0, minimum=3.0) == [(7.6, 30.0)]
    # the short pauses between turns (0.1 s, 0.4 s at the start) are the conversation: kept
    assert quiet_stretches({"segments": document["segments"]}, 8.0) == [(2.2, 5.0)]
    ranges = skip_ranges([(2.2, 5.0), (7.0, 7.5)])
    assert ranges == [[round(2.2 + KEEP_S, 2), round(5.0 - KEEP_S, 2)]]  # too short to skip once edges kept
    assert quiet_stretches({"segments": []}, 8.0) == []  # no transcript: nothing known, nothing skipped


def test_track_places_stretches_proportional_to_time() -> None:
    document = {"segments": [{"start": s, "end": e} for _, s, e, _, _ in QUIET_SEGMENTS],
                "metadata": {"acoustic": ACOUSTIC}}
    track = acoustic_track(document, 8.0)
    assert track is not None
    by_kind = {s.kind: s for s in track.stretches}
    assert (by_kind["silence"].x, by_kind["silence"].width) == (275.0, 350.0)  # 2.2 s .. 5.0 s of 8 s
    assert (by_kind["overtalk"].x, by_kind["overtalk"].width) == (687.5, 87.5)
    assert acoustic_track({"segments": document["segments"], "metadata": {"acoustic": None}}, 8.0) is None
    assert acoustic_track({"metadata": {}}, 8.0) is None
    broken = acoustic_track({"metadata": {"acoustic": {"overtalk": [{"start": "x"}, 3], "long_silences": "?"}}}, 8.0)
    assert broken is not None and broken.stretches == []


def test_the_call_page_draws_the_track_under_the_waveform(make_client: Callable[..., TestClient],
                                                          web_env: WebEnv) -> None:
    seed_quiet_call(web_env, "call-q1", ACOUSTIC, variant=11)
    client = make_client()
    sign_in(client, "sam")
    page = client.get("/calls/call-q1").text
    # inside the waveform box, after the picture and before the playhead: the same width and time axis
    wave = page.split('<div class="wave">', 1)[1].split('id="playhead"', 1)[0]
    assert wave.index('id="picture"') < wave.index('id="acoustic-track"')
    assert f'viewBox="0 0 {int(TRACK_WIDTH)} 10"' in wave and 'preserveAspectRatio="none"' in wave
    stretches = [r for r in _rects(page) if "data-kind" in r]
    kinds = {r["data-kind"]: r for r in stretches}
    assert set(kinds) == {"pause", "silence", "overtalk"}
    for rect in stretches:  # x and width are time over the call's duration
        start, end = float(rect["data-start"]), float(rect["data-end"])
        assert abs(float(rect["x"]) - TRACK_WIDTH * start / 8.0) < 0.01
        assert abs(float(rect["width"]) - TRACK_WIDTH * (end - start) / 8.0) < 0.01
    assert (kinds["overtalk"]["data-start"], kinds["overtalk"]["data-end"]) == ("5.5", "6.2")
    assert "overtalk: both speak (1)" in page and "long silence (1)" in page
    assert "No silence and overtalk track" not in page
    # skip silence has the one quiet stretch, less 0.3 s at each edge
    ranges = json.loads(page.split('id="skip-ranges" data-keep="0.3">', 1)[1].split("</script>", 1)[0])
    assert ranges == [[2.5, 4.7]]
    assert 'id="skip-silence"' in page and "no silence to skip" not in page


def test_the_track_and_legend_in_chinese(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    seed_quiet_call(web_env, "call-q2", ACOUSTIC, variant=12)
    client = make_client()
    csrf = sign_in(client, "sam")
    client.post("/preferences/language", data={"language": "zh-CN", "next": "/queue", "csrf_token": csrf})
    page = client.get("/calls/call-q2").text
    assert "抢话：双方同时说话（1）" in page and "长时间静音（1）" in page and "跳过静音" in page
    assert "<title>抢话 0:05-0:06</title>" in page


def test_a_call_without_acoustic_features_has_no_track(make_client: Callable[..., TestClient],
                                                       web_env: WebEnv) -> None:
    seed_quiet_call(web_env, "call-q3", None, variant=13)  # mono: the transcriber stores null
    seed_quiet_call(web_env, "call-q4", "absent", variant=14)  # transcribed before the features existed
    client = make_client()
    sign_in(client, "sam")
    for call_id in ("call-q3", "call-q4"):
        response = client.get(f"/calls/{call_id}")
        assert response.status_code == 200
        assert 'id="acoustic-track"' not in response.text
        assert "No silence and overtalk track" in response.text
        assert 'id="skip-ranges" data-keep="0.3">[[2.5, 4.7]]' in response.text  # the transcript's gaps still skip
    # only short pauses between turns: nothing to skip, the toggle is off and says why
    page = client.get("/calls/call-0001").text
    assert 'id="acoustic-track"' not in page and 'id="skip-ranges" data-keep="0.3">[]' in page and "no silence to skip" in page
