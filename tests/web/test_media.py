"""The recording with HTTP range requests (so the player can seek), and the call picture."""

from __future__ import annotations

import io
from collections.abc import Callable

from fastapi.testclient import TestClient

from review.store.db import session_scope
from review.store.models import Call

from .conftest import CALL_ID, WebEnv, sign_in


def test_range_requests(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    client = make_client()
    sign_in(client, "sam")
    data = web_env.wav.read_bytes()
    full = client.get(f"/calls/{CALL_ID}/audio")
    assert full.status_code == 200 and full.content == data
    assert full.headers["accept-ranges"] == "bytes" and full.headers["content-type"] == "audio/wav"
    part = client.get(f"/calls/{CALL_ID}/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == data[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    tail = client.get(f"/calls/{CALL_ID}/audio", headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == data[-100:]
    open_end = client.get(f"/calls/{CALL_ID}/audio", headers={"Range": f"bytes={len(data) - 10}-"})
    assert open_end.status_code == 206 and open_end.content == data[-10:]
    beyond = client.get(f"/calls/{CALL_ID}/audio", headers={"Range": f"bytes={len(data) + 5}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"


def test_missing_recording_is_a_clear_404(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    client = make_client()
    sign_in(client, "sam")
    web_env.wav.unlink()
    response = client.get(f"/calls/{CALL_ID}/audio", headers={"accept": "application/json"})
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "not in the recording store" in detail and CALL_ID in detail
    assert str(web_env.wav.parent) not in detail and "/" not in detail.split("(")[0]  # no file-system path
    page = client.get(f"/calls/{CALL_ID}/audio")
    assert page.status_code == 404 and str(web_env.wav) not in page.text and web_env.wav.name not in page.text


def test_unplayable_format_is_converted_once(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    import subprocess

    amr_like = web_env.wav.with_suffix(".au")  # Sun audio: ffmpeg reads it, browsers do not
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(web_env.wav), str(amr_like)], check=True)
    with session_scope(web_env.factory) as session:
        session.get(Call, CALL_ID).recording_path = str(amr_like)  # type: ignore[union-attr]
    client = make_client()
    sign_in(client, "sam")
    response = client.get(f"/calls/{CALL_ID}/audio")
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    assert response.content[:4] == b"RIFF"
    part = client.get(f"/calls/{CALL_ID}/audio", headers={"Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == b"RIFF"


def test_picture_marks_findings(make_client: Callable[..., TestClient], web_env: WebEnv) -> None:
    import numpy as np
    from matplotlib.image import imread

    client = make_client()
    sign_in(client, "sam")
    response = client.get(f"/calls/{CALL_ID}/picture.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = imread(io.BytesIO(response.content))
    height, width = image.shape[:2]
    assert (width, height) == (1200, 260)
    # the critical finding (5.0-6.5 s of 8 s) is shaded red-ish; the silent start (0-0.4 s) is not
    def redness(t0: float, t1: float) -> float:
        cols = image[int(height * 0.6):int(height * 0.8), int(width * t0 / 8):int(width * t1 / 8), :3]
        return float(np.mean(cols[..., 0] - cols[..., 2]))
    assert redness(5.6, 6.0) > 0.1
    assert abs(redness(0.0, 0.4)) < 0.05
    # drawn once, then served from the cache
    assert client.get(f"/calls/{CALL_ID}/picture.png").content == response.content


def test_picture_labels_come_in_the_readers_language(make_client: Callable[..., TestClient]) -> None:
    import numpy as np
    from matplotlib.image import imread

    client = make_client()
    sign_in(client, "sam")
    english = client.get(f"/calls/{CALL_ID}/picture.png", headers={"accept-language": "en"}).content
    chinese = client.get(f"/calls/{CALL_ID}/picture.png", headers={"accept-language": "zh-CN"}).content
    a, b = (imread(io.BytesIO(png))[:, :, :3] for png in (english, chinese))
    # only the channel labels in the top-left corners differ: the waveform and the marks are the same
    differs = np.abs(a - b).max(axis=2) > 0.1
    rows, cols = np.nonzero(differs)
    assert rows.size and cols.max() < 150
