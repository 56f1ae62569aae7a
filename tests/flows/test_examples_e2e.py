"""End to end on a few of the scripted example calls: telephone audio -> Whisper -> screening.

The labelled violations of these calls must be found after the transcriber has heard them, and
the compliant calls must stay clean. bench/e2e_quality.py measures the same over every call."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from callqa.config import TranscriberSettings

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import e2e_quality  # noqa: E402

# call -> the labelled categories the screening must find on the audio (explicit wording)
MUST_FIND = {
    "ZH-07": {"threat_violence", "obscenity", "acoustic_agitation"},
    "ZH-10": {"impersonation_authority", "false_legal_consequence"},
    "EN-01": {"false_legal_consequence"},
}
COMPLIANT = ("ZH-01", "ZH-05")


@pytest.mark.slow
def test_labelled_violations_are_found_after_asr_and_compliant_calls_stay_clean(model_cache: Path) -> None:
    from transcriber import Transcriber

    calls = {c["call_id"]: c for c in e2e_quality.load_examples()}
    chosen = [calls[c] for c in (*MUST_FIND, *COMPLIANT)]
    for call_id in MUST_FIND:
        assert MUST_FIND[call_id] <= set(calls[call_id]["labels"]["categories"])  # the truth says so
    assert all(calls[c]["labels"]["compliant"] for c in COMPLIANT)

    transcriber = Transcriber(TranscriberSettings(), model_cache)
    documents = [e2e_quality.audio_transcript(transcriber, c) for c in chosen]
    for doc in documents:
        assert doc["segments"] and {s["role"] for s in doc["segments"]} <= {"agent", "customer"}
    found = e2e_quality.screen_all(documents)
    for call_id, wanted in MUST_FIND.items():
        got = e2e_quality.categories_of(found[call_id])
        assert wanted <= got, (call_id, sorted(wanted - got), [s["text"] for s in documents[0]["segments"]])
    for call_id in COMPLIANT:
        assert not found[call_id], (call_id, [(f.rule_id, f.evidence) for f in found[call_id]])
