"""Quality bench: per dialect CER (Chinese) / WER (English) and language-ID accuracy, plain
faster-whisper defaults beside this transcriber's defaults, on the shared clips, wideband and
again as telephone audio (8 kHz, 300-3400 Hz band-pass, G.711 mu-law).

    python bench/asr_quality.py [--manifest ../shared/audio/manifest.jsonl] [--out bench/results/asr_quality.json]
        [--systems plain,callqa,callqa_int8,callqa_float32] [--bands wideband,telephone]

"callqa" runs the embedded defaults, so its compute type is ``auto`` (int8 with AVX-512 VNNI,
float32 elsewhere); "callqa_int8" and "callqa_float32" force one. The JSON records the CPU's
flags and what ``auto`` chose, because the int8 figures depend on them.

"plain" is ``faster_whisper.WhisperModel(<base>, cpu_threads=1).transcribe(path)`` with every other
library default (language detection, beam 5, conditioning on previous text, no VAD); "callqa" is
``transcriber.Transcriber`` with the embedded defaults (no call metadata, so the language is
detected too). Both sides run the same base model from the model store.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from callqa.config import TranscriberSettings  # noqa: E402
from transcriber.metrics import error_rate  # noqa: E402
from transcriber.models import resolve_model  # noqa: E402
from transcriber.normalize import to_simplified  # noqa: E402

DEFAULT_MANIFEST = ROOT.parent / "shared" / "audio" / "manifest.jsonl"


def telephone(source: Path, target: Path) -> Path:
    """The clip as a phone line carries it: 8 kHz, 300-3400 Hz band-pass, G.711 mu-law."""
    from scipy.signal import butter, resample_poly, sosfilt

    from transcriber.audio import decode, write_wav

    audio = decode(source).mean(axis=0)  # (channels, samples) at 16 kHz -> mono
    narrow = resample_poly(audio, 1, 2)
    narrow = sosfilt(butter(4, (300.0, 3400.0), btype="bandpass", fs=8000, output="sos"), narrow)
    mu = 255.0
    x = np.clip(narrow, -1.0, 1.0)
    code = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127.0) / 127.0
    return write_wav(target, np.sign(code) * np.expm1(np.abs(code) * np.log1p(mu)) / mu, 8000)


def plain_faster_whisper(model_dir: Path) -> Any:
    from faster_whisper import WhisperModel

    # one thread, as each of callqa's decodes: threads change the speed, not the text, and the
    # library's default (four) crawls on two busy cores
    model = WhisperModel(str(model_dir), cpu_threads=1)

    def run(path: Path) -> tuple[str, str]:
        segments, info = model.transcribe(str(path))
        return "".join(s.text for s in segments), info.language

    return run


def callqa_defaults(cache: Path, settings: TranscriberSettings) -> Any:
    from transcriber import Transcriber

    transcriber = Transcriber(settings, cache)

    def run(path: Path) -> tuple[str, str]:
        t = transcriber.transcribe(path, path.stem, {})
        return t.text, t.language

    return run


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_dialect: dict[str, dict[str, Any]] = defaultdict(lambda: {"clips": 0, "edits": 0, "ref_units": 0,
                                                                  "lang_ok": 0, "seconds": 0.0, "audio_s": 0.0})  # fmt: skip
    for r in rows:
        d = by_dialect[r["dialect"]]
        d["clips"] += 1
        d["edits"] += r["edits"]
        d["ref_units"] += r["ref_units"]
        d["lang_ok"] += r["language_ok"]
        d["seconds"] += r["seconds"]
        d["audio_s"] += r["duration_s"]
    out = {}
    for name, d in sorted(by_dialect.items()):
        metric = "wer" if name == "english" else "cer"
        out[name] = {
            "clips": d["clips"],
            metric: round(d["edits"] / max(d["ref_units"], 1), 4),
            "language_id_accuracy": round(d["lang_ok"] / d["clips"], 3),
            "wall_s": round(d["seconds"], 2),
            "audio_s": round(d["audio_s"], 2),
        }
    return out


def _rescore(row: dict[str, Any], clip: dict[str, Any]) -> dict[str, Any]:
    """A stored row scored again with today's metric (the stored text is the system's output)."""
    edits, units = error_rate(clip["language"], clip["text"], row["text"])
    return {**row, "edits": edits, "ref_units": units}


def _row(cells: tuple[Any, ...]) -> str:
    return f"{cells[0]!s:12s} {cells[1]!s:8s} " + " ".join(f"{c!s:>8s}" for c in cells[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "asr_quality.json")
    parser.add_argument("--systems", default="plain,callqa,callqa_int8,callqa_float32",
                        help="comma list of plain, callqa, callqa_int8, callqa_float32")
    parser.add_argument("--bands", default="wideband,telephone", help="comma list of wideband, telephone")
    parser.add_argument("--beam-size", type=int, default=None, help="override the callqa beam size")
    parser.add_argument("--patience", type=float, default=None, help="override the callqa beam-search patience")
    parser.add_argument("--compute-type", default=None, help="override the callqa compute type (int8, float32)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any transcriber setting, e.g. --set threads=2 --set decode_workers=1")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)  # rows of one system, to a file
    parser.add_argument("--limit", type=int, default=0, help="only the first N clips (0: all)")
    parser.add_argument("--reuse", type=Path, action="append", default=[],
                        help="earlier results file(s): systems not in --systems are taken from them and re-scored "
                             "from their stored text (plain faster-whisper takes ~45 min on 2 busy cores)")  # fmt: skip
    args = parser.parse_args()

    clips = [json.loads(line) for line in args.manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.limit:
        clips = clips[: args.limit]
    settings = TranscriberSettings()
    if args.beam_size:
        settings.beam_size = args.beam_size
    if args.compute_type:
        settings.compute_type = args.compute_type
    if args.patience:
        settings.patience = args.patience
    for override in args.overrides:
        key, _, value = override.partition("=")
        if not hasattr(settings, key):
            parser.error(f"--set {override}: transcriber has no setting {key!r}")
        setattr(settings, key, type(getattr(settings, key))(value))
    cache = Path(os.environ.get("CALLQA_HOME", tempfile.mkdtemp(prefix="callqa-bench-"))) / "models"
    model_dir = resolve_model(settings.model, settings, cache)
    float32 = dataclasses.replace(settings, compute_type="float32")
    int8 = dataclasses.replace(settings, compute_type="int8")
    systems = {
        "plain": lambda: plain_faster_whisper(model_dir),
        "callqa": lambda: callqa_defaults(cache, settings),
        # the same pipeline with one compute type forced: what "auto" chooses between
        "callqa_int8": lambda: callqa_defaults(cache, int8),
        "callqa_float32": lambda: callqa_defaults(cache, float32),
    }
    from transcriber.backends.faster import VNNI_FLAGS, choose_compute_type, cpu_flags, planned_cpu_isa

    bands = [b for b in args.bands.split(",") if b in ("wideband", "telephone")]
    phone_dir = Path(tempfile.mkdtemp(prefix="asr-quality-phone-"))
    results: dict[str, Any] = {"clips": [], "settings": asdict(settings), "host": platform.node(),
                               "cpus": len(os.sched_getaffinity(0)), "bands": bands,
                               "cpu": {"avx512_vnni": VNNI_FLAGS <= cpu_flags(), "avx2": "avx2" in cpu_flags(),
                                       "isa": planned_cpu_isa(settings.cpu_isa) or "ctranslate2 default",
                                       "auto_compute_type": choose_compute_type("auto", settings.cpu_isa)}}  # fmt: skip
    per_system: dict[str, list[dict[str, Any]]] = {}
    running = [name for name in args.systems.split(",") if name in systems]
    for earlier_path in args.reuse:
        earlier = json.loads(earlier_path.read_text(encoding="utf-8"))
        for name, rows in earlier["clips"].items():
            if name in running:
                continue
            by_file = {c["file"]: c for c in clips}
            per_system[name] = [_rescore(r, by_file[r["file"]]) for r in rows if r["file"] in by_file]
            results.setdefault("reused", {})[name] = str(earlier_path)
    if args.child is None and len(running) > 1:
        # each system in a process of its own: CTranslate2 fixes its instruction set (and so its
        # int8 arithmetic) at the first model load, and plain faster-whisper must not choose callqa's
        for name in running:
            rows_file = Path(tempfile.mkdtemp(prefix="asr-quality-")) / "rows.json"
            # the same arguments; the last --systems wins, so the child runs this one system
            child = [sys.executable, __file__, *sys.argv[1:], "--systems", name, "--child", str(rows_file)]
            subprocess.run(child, check=True)
            per_system[name] = json.loads(rows_file.read_text(encoding="utf-8"))
        running = []
    for name in running:
        run = systems[name]()
        rows = []
        for band in bands:
            for clip in clips:
                path = args.manifest.parent / clip["file"]
                if band == "telephone":
                    path = telephone(path, phone_dir / (Path(clip["file"]).stem + ".wav"))
                started = time.perf_counter()
                text, language = run(path)
                seconds = time.perf_counter() - started
                edits, units = error_rate(clip["language"], clip["text"], text)
                rows.append({"file": clip["file"], "band": band, "dialect": clip["dialect"],
                             "duration_s": clip["duration_s"], "edits": edits, "ref_units": units,
                             "language": language, "language_ok": language == clip["language"],
                             "seconds": round(seconds, 2), "text": to_simplified(text).strip()})  # fmt: skip
                print(f"{name:7s} {band:9s} {clip['file']:42s} {edits / max(units, 1):6.3f} {language:4s} "
                      f"{seconds:5.1f}s", flush=True)
        per_system[name] = rows
        if args.child is not None:
            args.child.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
            return
    results["clips"] = {name: per_system[name] for name in systems if name in per_system}
    shown = [name for name in systems if name in per_system]
    for band in bands:
        # "summary" stays the wideband figures (earlier results files have only those)
        key = "summary" if band == "wideband" else f"summary_{band}"
        results[key] = {name: score([r for r in rows if r.get("band", "wideband") == band])
                        for name, rows in per_system.items()}
        print(f"\n{band}\n" + _row(("dialect", "metric", *shown, *(f"lid_{n}" for n in shown),
                                       *(f"s_{n}" for n in shown))))
        for d in sorted({c["dialect"] for c in clips}):
            metric = "wer" if d == "english" else "cer"
            cells = [results[key].get(s, {}).get(d, {}) for s in shown]
            print(_row((d, metric, *(c.get(metric, "-") for c in cells),
                        *(c.get("language_id_accuracy", "-") for c in cells), *(c.get("wall_s", "-") for c in cells))))  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
