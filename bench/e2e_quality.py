"""End-to-end quality on the scripted example calls: what the screening finds after Whisper has
heard the calls, beside what it finds on the scripts' own text.

    python bench/e2e_quality.py [--examples examples/recordings] [--out bench/results/e2e_quality.json]
        [--transcripts var/transcripts]   # reuse what `callqa demo` transcribed with the same defaults

For every recording in examples/recordings (telephone audio made by examples/make_recordings.py)
the transcriber runs with the embedded defaults and the call's sidecar metadata, and the packs
for its language screen the transcript; the prior calls of the batch are the screening history
(call frequency, calls after a conversation). The same screening then runs on transcripts made
from the scripts' text, turn by turn with the same times and metadata. Scores are per call and
category: a call counts for a category when the truth (labels.json) or a finding names it.

Top-level keys: ``audio`` and ``text``, each ``{category: {"recall", "precision", "n"}}`` (n: the
calls whose truth has the category), plus ``compliant_flagged_share`` for each (the share of
compliant calls with any finding), the per-call detail, and the character/word error rate of
the transcripts against the scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe as describe_machine  # noqa: E402

EXAMPLES = ROOT / "examples" / "recordings"
SITE_TIMEZONE = "Asia/Shanghai"


def load_examples(examples: Path = EXAMPLES) -> list[dict[str, Any]]:
    """Each call: its sidecar metadata (as the nightly flow reads it), its labels and its path."""
    from flows.sidecar import normalise_row

    rows = json.loads((examples / "metadata.json").read_text(encoding="utf-8"))["calls"]
    labels = {c["call_id"]: c for c in json.loads((examples / "labels.json").read_text(encoding="utf-8"))["calls"]}
    calls = []
    for row in rows:
        meta = normalise_row(dict(row), row["file"], SITE_TIMEZONE, f"{examples}/metadata.json").to_dict()
        calls.append({"call_id": meta["call_id"], "path": examples / row["file"], "metadata": meta,
                      "labels": labels[meta["call_id"]]})
    return calls


def text_transcript(call: Mapping[str, Any]) -> dict[str, Any]:
    """A transcript made from the script: one segment per turn, the turn times from the labels."""
    labels, meta = call["labels"], call["metadata"]
    segments = [{"id": i, "role": t["role"], "start": float(t.get("start", i)), "end": float(t.get("end", i + 1)),
                 "text": t["text"]} for i, t in enumerate(labels["turns"])]
    return {"call_id": call["call_id"], "language": labels["language"], "started_at": meta.get("started_at"),
            "metadata": dict(meta), "segments": segments}


def audio_transcript(transcriber: Any, call: Mapping[str, Any]) -> dict[str, Any]:
    """The recording through the transcriber, as the nightly flow runs it."""
    document: dict[str, Any] = transcriber.transcribe(call["path"], call["call_id"], call["metadata"]).to_dict()
    return document


def screen_all(transcripts: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """call id -> findings, each call screened with the batch's earlier calls as its history."""
    from review.screening import CallHistory, Screener, load_packs

    screeners: dict[str, Any] = {}
    history = [CallHistory.from_transcript(t) for t in transcripts]
    found: dict[str, list[Any]] = {}
    for transcript in transcripts:
        language = transcript.get("language") or ""
        if language not in screeners:
            screeners[language] = Screener(load_packs(None, language or None))
        results = screeners[language].screen(transcript, history)
        found[transcript["call_id"]] = [f for r in results for f in r.findings]
    return found


def categories_of(findings: Iterable[Any]) -> set[str]:
    return {f.category for f in findings}


def score(calls: list[dict[str, Any]], found: Mapping[str, list[Any]]) -> dict[str, Any]:
    """Per category recall and precision over calls, and the share of compliant calls flagged."""
    truth = {c["call_id"]: set(c["labels"]["categories"]) for c in calls}
    names = sorted(set().union(*truth.values(), *(categories_of(f) for f in found.values())))
    out: dict[str, Any] = {}
    for name in names:
        tp = sum(1 for cid, t in truth.items() if name in t and name in categories_of(found.get(cid, [])))
        fn = sum(1 for cid, t in truth.items() if name in t and name not in categories_of(found.get(cid, [])))
        fp = sum(1 for cid, t in truth.items() if name not in t and name in categories_of(found.get(cid, [])))
        out[name] = {"recall": round(tp / (tp + fn), 3) if tp + fn else None,
                     "precision": round(tp / (tp + fp), 3) if tp + fp else None, "n": tp + fn,
                     "found": tp + fp}
    compliant = [cid for cid, t in truth.items() if not t]
    flagged = [cid for cid in compliant if found.get(cid)]
    return {"categories": out, "compliant_flagged_share": round(len(flagged) / len(compliant), 3) if compliant
            else None, "compliant_flagged": flagged}


def asr_error(calls: list[dict[str, Any]], transcripts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """CER (Mandarin) / WER (English) of each role's transcript against its script lines."""
    from transcriber.metrics import error_rate

    totals: dict[str, list[int]] = {}
    for call in calls:
        labels = call["labels"]
        if not labels["turns"]:
            continue
        language = labels["language"]
        doc = transcripts[call["call_id"]]
        for role in ("agent", "customer"):
            ref = " ".join(t["text"] for t in labels["turns"] if t["role"] == role)
            hyp = " ".join(s["text"] for s in doc.get("segments", []) if s.get("role") == role)
            edits, units = error_rate(language, ref, hyp)
            bucket = totals.setdefault(language, [0, 0])
            bucket[0] += edits
            bucket[1] += units
    return {lang: {"cer" if lang == "zh" else "wer": round(e / max(u, 1), 4), "ref_units": u}
            for lang, (e, u) in sorted(totals.items())}


def _per_call(calls: list[dict[str, Any]], audio: Mapping[str, list[Any]], text: Mapping[str, list[Any]]) -> list[
        dict[str, Any]]:
    return [{"call_id": c["call_id"], "truth": sorted(c["labels"]["categories"]),
             "audio": sorted(categories_of(audio.get(c["call_id"], []))),
             "text": sorted(categories_of(text.get(c["call_id"], [])))} for c in calls]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=Path, default=EXAMPLES)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "e2e_quality.json")
    parser.add_argument("--transcripts", type=Path, default=None, help="a transcripts folder of a CALLQA_HOME "
                        "(<call id>/<model key>.json, as the nightly flow writes them) to read instead of "
                        "transcribing again; only transcripts made with the current defaults' model key count")
    args = parser.parse_args()

    from callqa.config import TranscriberSettings
    from transcriber import Transcriber
    from transcriber.backends.faster import choose_compute_type

    calls = load_examples(args.examples)
    settings = TranscriberSettings()
    cache = Path(os.environ.get("CALLQA_HOME", tempfile.mkdtemp(prefix="callqa-bench-"))) / "models"
    transcriber = Transcriber(settings, cache)
    started = time.perf_counter()
    audio_docs = {}
    key = transcriber.model_key().replace(":", "_")
    for call in calls:
        stored = args.transcripts / call["call_id"] / f"{key}.json" if args.transcripts else None
        if stored is not None and stored.exists():
            audio_docs[call["call_id"]] = json.loads(stored.read_text(encoding="utf-8"))
            continue
        t0 = time.perf_counter()
        audio_docs[call["call_id"]] = audio_transcript(transcriber, call)
        print(f"{call['call_id']:9s} transcribed in {time.perf_counter() - t0:5.1f} s", flush=True)
    transcribe_s = time.perf_counter() - started
    ordered = sorted(calls, key=lambda c: c["metadata"].get("started_at") or "")
    audio_found = screen_all([audio_docs[c["call_id"]] for c in ordered])
    text_found = screen_all([text_transcript(c) for c in ordered])
    audio_score, text_score = score(calls, audio_found), score(calls, text_found)
    result = {
        "audio": audio_score["categories"], "text": text_score["categories"],
        "compliant_flagged_share": {"audio": audio_score["compliant_flagged_share"],
                                    "text": text_score["compliant_flagged_share"]},
        "compliant_flagged": {"audio": audio_score["compliant_flagged"], "text": text_score["compliant_flagged"]},
        "asr_error": asr_error(calls, audio_docs),
        "calls": _per_call(calls, audio_found, text_found),
        "recordings": len(calls), "transcribe_s": round(transcribe_s, 1),
        "transcripts_from": str(args.transcripts) if args.transcripts else "transcribed here",
        "audio_s": round(sum(float(d.get("duration_s") or 0.0) for d in audio_docs.values()), 1),
        "compute_type": choose_compute_type(settings.compute_type, settings.cpu_isa),
        "host": platform.node(), "cpus": len(os.sched_getaffinity(0)), "load_avg": os.getloadavg(), **describe_machine(),
    }
    print(f"\n{'category':34s} {'n':>3s} {'rec audio':>9s} {'rec text':>9s} {'prec audio':>10s} {'prec text':>9s}")
    for name in sorted(set(result["audio"]) | set(result["text"])):
        a, t = result["audio"].get(name, {}), result["text"].get(name, {})
        print(f"{name:34s} {t.get('n', a.get('n', 0)):3d} {a.get('recall')!s:>9s} {t.get('recall')!s:>9s} "
              f"{a.get('precision')!s:>10s} {t.get('precision')!s:>9s}")
    print(f"compliant calls flagged: audio {result['compliant_flagged_share']['audio']}, "
          f"text {result['compliant_flagged_share']['text']}; ASR error {result['asr_error']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
