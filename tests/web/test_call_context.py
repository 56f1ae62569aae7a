"""The call page's context: call-level findings are notes, moments are numbered, the seek lead-in,
and waveform labels that never print over each other."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from review.store.db import session_scope
from review.web.picture import MarkedSpan, label_places

from .conftest import FindingSpec, WebEnv, seed_call, sign_in, write_wav


def test_call_level_findings_are_notes_not_spans(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    with session_scope(web_env.factory) as session:
        wav = write_wav(web_env.wav.with_name("notes.wav"), variant=4)
        seed_call(session, wav, "call-0004", findings=[
            FindingSpec("cn.disclosure.identity", "missing_self_identification", "major", None, 0.0, 0.0, ""),
            FindingSpec("cn.hours", "calling_hours", "major", None, None, None, "23:05"),
            FindingSpec("cn.threat.prison", "threat", "critical", 2, 5.0, 6.5, "让你坐牢")])
    web_env.settings.web.seek_lead_seconds = 1.5
    client = make_client()
    sign_in(client, "sam")
    page = client.get("/calls/call-0004").text
    assert 'data-lead="1.5"' in page
    notes, moments = page.split('class="call-notes"')[1].split('class="moments"')
    assert notes.count('class="finding ') == 2 and "finding-seek" not in notes and 'data-start=""' in notes
    assert moments.count('class="finding ') == 1 and '<span class="num">1</span>' in moments
    assert page.count('<mark class="hit"') == 1  # the notes mark no line
    picture = client.get("/calls/call-0004/picture.png")
    assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"


def test_waveform_labels_never_overlap() -> None:
    spans = [MarkedSpan(t, t + 0.1, str(n), "major") for n, t in enumerate([1.0, 1.01, 1.02, 1.03, 50.0], 1)]
    places = label_places(spans, duration_s=60.0, width_px=1200, char_px=6.0)
    boxes = [(x, x + (len(s.label) * 6.0 + 4) * 60.0 / 1200, row) for s, (x, row) in zip(spans, places, strict=True)]
    for i, (a0, a1, ra) in enumerate(boxes):
        for b0, b1, rb in boxes[i + 1:]:
            assert ra != rb or a1 <= b0 or b1 <= a0
    assert places[-1] == (50.0, 0)  # far from the others: where it belongs
