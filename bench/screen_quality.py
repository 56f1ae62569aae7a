"""Screening quality on the held-out development set: keyword rules, semantic stage, both.

    python bench/screen_quality.py [--devset bench/screen_devset] [--out bench/results/screen_quality.json]

The development set (``bench/screen_devset/calls_*.jsonl``) is whole calls written
apart from the corpus and the packs, each with labels: the categories it contains
and the turns that contain them. It is never used for training. Six more held-out sets of the
same form, each written by a writer who saw neither the corpus, the packs nor the other sets, run
with ``--devset bench/screen_holdout``, ``bench/screen_holdout_b`` ... ``bench/screen_holdout_f``
(see their READMEs: the first was read for classes of misses during development, the other five
only ever as figures and the rule ids they raise). The probes (``bench/screen_probe_c``, ``_d``,
``_e``) are small read sets aimed at one weakness each (``_e``: compliant calls close to violations).

Systems: ``keyword`` is every rule but the semantic ones; ``semantic`` is the
semantic rules plus the rules about the call as a whole (required statements,
hours, frequency: the semantic stage has nothing to say about those); ``combined``
is the packs as shipped. Each runs on the clean set and on an ASR-noise copy
(Chinese characters swapped for same-pinyin ones at 12 %, 3 % dropped; English
words dropped and swapped for sound-alikes).

Scoring, per category: a labelled violation is found when a finding of its
category cites one of its labelled turns (or, for call-level categories, when the
call has a finding of that category); a finding is correct when it cites a turn
labelled with its category. ``compliant_flagged_share`` is the share of calls with
no labels that get any finding. Cost: the semantic stage's time per call as a
share of the time the transcriber needs for the call's audio (its measured
audio-seconds per wall-second in ``bench/results/asr_speed.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import vector_flags  # noqa: E402
from review.screening import CallHistory, Screener, load_pack  # noqa: E402
from review.screening.rules import RulePack  # noqa: E402
from review.screening.semantic.noise import AsrNoise  # noqa: E402

CALL_LEVEL = {"missing_self_identification", "missing_recording_notice", "missing_debt_collector_disclosure",
              "calling_hours", "call_frequency"}
SPAN_TYPES = {"keyword", "regex", "proximity"}


def load_devset(folder: Path) -> list[dict[str, Any]]:
    calls = []
    for file in sorted(folder.glob("calls_*.jsonl")):
        calls.extend(json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip())
    return calls


def pack_variant(pack: RulePack, system: str) -> RulePack:
    if system == "combined":
        return pack
    if system == "keyword":
        rules = [r for r in pack.rules if r.type != "semantic"]
    else:
        rules = [r for r in pack.rules if r.type not in SPAN_TYPES]
    return dataclasses.replace(pack, rules=rules)


def with_heads(pack: RulePack, heads: Path) -> RulePack:
    """The pack with its semantic rules reading another heads file."""
    rules = [dataclasses.replace(r, params={**r.params, "heads_path": heads}) if r.type == "semantic" else r
             for r in pack.rules]
    return dataclasses.replace(pack, rules=rules)


def noisy_copy(calls: list[dict[str, Any]], noise: AsrNoise) -> list[dict[str, Any]]:
    out = []
    for call in calls:
        transcript = json.loads(json.dumps(call["transcript"]))
        for seg in transcript["segments"]:
            seg["text"] = noise(seg["text"])
        out.append({**call, "transcript": transcript})
    return out


def evaluate(calls: list[dict[str, Any]], screeners: dict[str, Screener]) -> tuple[dict[str, Any], float]:
    history = [CallHistory.from_transcript(c["transcript"]) for c in calls]
    found_labels: dict[str, list[bool]] = defaultdict(list)
    finding_ok: dict[str, list[bool]] = defaultdict(list)
    compliant_flagged: list[bool] = []
    elapsed = 0.0
    for call in calls:
        transcript = call["transcript"]
        screener = screeners["zh" if transcript["language"].startswith(("zh", "yue", "wuu", "nan")) else "en"]
        started = time.perf_counter()
        findings = [f for r in screener.screen(transcript, history) for f in r.findings]
        elapsed += time.perf_counter() - started
        labelled: dict[str, set[int]] = defaultdict(set)
        call_level: set[str] = set()
        for label in call["labels"]:
            if label["category"] in CALL_LEVEL or not label["segments"]:
                call_level.add(label["category"])
            labelled[label["category"]].update(label["segments"])
        cited: dict[str, set[int | None]] = defaultdict(set)
        for f in findings:
            cited[f.category].add(f.segment_index)
        for category, segs in cited.items():
            for seg in segs:
                ok = category in call_level or (seg is not None and seg in labelled.get(category, set()))
                finding_ok[category].append(ok)
        for label in call["labels"]:
            category = label["category"]
            if category in call_level:
                found_labels[category].append(bool(cited.get(category)))
            else:
                found_labels[category].append(bool(cited.get(category, set()) & set(label["segments"])))
        if not call["labels"]:
            compliant_flagged.append(bool(findings))
    categories: dict[str, Any] = {}
    for category in sorted(set(found_labels) | set(finding_ok)):
        hits, oks = found_labels.get(category, []), finding_ok.get(category, [])
        categories[category] = {
            "recall": round(sum(hits) / len(hits), 3) if hits else None,
            "precision": round(sum(oks) / len(oks), 3) if oks else None,
            "n": len(hits), "findings": len(oks)}
    share = round(sum(compliant_flagged) / len(compliant_flagged), 3) if compliant_flagged else None
    return {"categories": categories, "compliant_flagged_share": share,
            "compliant_calls": len(compliant_flagged)}, elapsed / max(1, len(calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devset", type=Path, default=ROOT / "bench" / "screen_devset")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "screen_quality.json")
    parser.add_argument("--pack-zh", default="cn-collection")
    parser.add_argument("--pack-en", default="us-regf")
    parser.add_argument("--heads", type=Path, action="append", default=[],
                        help="Also measure these heads files (e.g. trained on n-grams or embeddings alone): "
                             "combined system, clean set; results under 'ablation'.")
    args = parser.parse_args()
    calls = load_devset(args.devset)
    if not calls:
        sys.exit(f"{args.devset}: no calls_*.jsonl development set")
    noise = AsrNoise((s["text"] for c in calls for s in c["transcript"]["segments"]), 0.12, 0.03, seed=7)
    noisy = noisy_copy(calls, noise)
    packs = {"zh": load_pack(args.pack_zh), "en": load_pack(args.pack_en)}
    systems: dict[str, Any] = {}
    per_call: dict[str, float] = {}
    for system in ("keyword", "semantic", "combined"):
        screeners = {lang: Screener([pack_variant(p, system)]) for lang, p in packs.items()}
        evaluate(calls[:2], screeners)  # load the encoder and heads outside the timing
        clean, per_call[system] = evaluate(calls, screeners)
        systems[system] = {"clean": clean, "noisy": evaluate(noisy, screeners)[0]}
        print(f"{system}: compliant flagged {clean['compliant_flagged_share']}, "
              f"{per_call[system] * 1000:.1f} ms per call", flush=True)
    asr = json.loads((ROOT / "bench" / "results" / "asr_speed.json").read_text())
    audio_per_wall = float(asr["audio_s_per_wall_s_callqa"])
    mean_duration = sum(float(c["transcript"]["duration_s"]) for c in calls) / len(calls)
    semantic_s = max(0.0, per_call["combined"] - per_call["keyword"])
    result = {
        "systems": systems,
        "semantic_cost_share_of_asr": round(semantic_s / (mean_duration / audio_per_wall), 4),
        "cost": {"semantic_s_per_call": round(semantic_s, 4), "keyword_s_per_call": round(per_call["keyword"], 4),
                 "mean_call_duration_s": round(mean_duration, 1), "asr_audio_s_per_wall_s": audio_per_wall},
        "devset": {"calls": len(calls), "compliant": sum(1 for c in calls if not c["labels"])},
        "packs": {lang: f"{p.name}@{p.version}" for lang, p in packs.items()},
        "machine": {"platform": platform.platform(), "cpu_flags": vector_flags(),
                    # the cost figures are wall time: a busy machine inflates them
                    "load_avg_1m": round(os.getloadavg()[0], 1)},
    }
    ablation: dict[str, Any] = {}
    for heads in args.heads:
        variant = {lang: with_heads(p, heads) for lang, p in packs.items()}
        screeners = {lang: Screener([p]) for lang, p in variant.items()}
        measured = evaluate(calls, screeners)[0]
        ablation[heads.name] = measured
        print(f"ablation {heads.name}: compliant flagged {measured['compliant_flagged_share']}", flush=True)
    if ablation:
        result["ablation"] = ablation
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for system, data in systems.items():
        print(system)
        for variant in ("clean", "noisy"):
            cats = data[variant]["categories"]
            line = " ".join(f"{c[:12]}={v['recall']}/{v['precision']}" for c, v in cats.items())
            print(f"  {variant}: flagged-compliant {data[variant]['compliant_flagged_share']}  {line}")
    print(f"semantic cost share of ASR: {result['semantic_cost_share_of_asr']}")


if __name__ == "__main__":
    main()
