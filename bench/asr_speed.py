"""Speed of the transcriber against plain openai-whisper, on call-like stereo recordings.

Three systems transcribe the same calls (built by ``common_calls`` from the shared clips), each
in its own child process, timed from start to exit (imports and model loading included):

  (a) whisper_cli    the ``whisper`` command of openai-whisper, all defaults, --model = the base
                     model converted to an openai-whisper checkpoint;
  (b) callqa_openai  ``Transcriber`` with transcriber.backend = "openai-whisper";
  (c) callqa         ``Transcriber`` with its defaults (faster-whisper, int8).

Reported per system: audio seconds per wall second, CPU seconds, peak memory (the child's
maximum RSS), CER on the Mandarin calls, WER on the English calls, and the speed-up over (a).
Results land in bench/results/asr_speed.json.

    .venv/bin/python bench/asr_speed.py                 # the default set, under 10 minutes on 2 cores
    .venv/bin/python bench/asr_speed.py --clips 0       # every Mandarin and English clip
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common_calls import DEFAULT_AUDIO, CallRecording, build_calls  # noqa: E402

from callqa.config import load_settings  # noqa: E402
from callqa.errors import CallQAError  # noqa: E402
from transcriber.convert import openai_checkpoint  # noqa: E402
from transcriber.metrics import error_rate  # noqa: E402
from transcriber.models import resolve_model  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "asr_speed.json"
SYSTEMS = ("callqa", "whisper_cli", "callqa_openai")  # the target pair first; (b) gets what time is left
CLI_SHARE = 0.7  # of the time left when (a) starts; the rest is kept for (b)
TARGET_SPEEDUP = 6.0
LOADAVG_START: list[float] = []


@dataclass
class Run:
    system: str
    command: list[str]
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_mib: float = 0.0
    returncode: int | None = None
    timed_out: bool = False
    texts: dict[str, str] = field(default_factory=dict)  # call file name -> transcript text
    cer: float | None = None
    wer: float | None = None
    audio_s_per_wall_s: float | None = None
    speedup_vs_whisper_cli: float | None = None
    cpu_speedup_vs_whisper_cli: float | None = None


def run_child(command: list[str], log: Path, timeout_s: float) -> tuple[float, float, float, int, bool]:
    """(wall s, CPU s, peak RSS MiB, exit code, timed out) of one child process."""
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        timed_out = False
        while True:
            # wait4 gives this child's own rusage, so each system's peak memory is its own
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout_s:
                proc.kill()
                timed_out = True
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped above; keep Popen from waiting again
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode, timed_out


def whisper_cli_command(checkpoint: Path, calls: list[CallRecording], out_dir: Path) -> list[str]:
    exe = Path(sys.executable).with_name("whisper")
    cli = str(exe) if exe.exists() else shutil.which("whisper")
    if cli is None:
        raise SystemExit("the `whisper` command of openai-whisper is not installed; pip install openai-whisper")
    # defaults otherwise: beam 5, best_of 5, temperature fallback, conditioning on previous text,
    # language detection on the first 30 s, ffmpeg's mono downmix of the stereo call
    return [cli, *(str(c.path) for c in calls), "--model", str(checkpoint), "--output_format", "json",
            "--output_dir", str(out_dir)]


def cli_texts(calls: list[CallRecording], out_dir: Path) -> dict[str, str]:
    texts = {}
    for call in calls:
        result = out_dir / f"{call.path.stem}.json"
        if result.exists():
            texts[call.path.name] = json.loads(result.read_text(encoding="utf-8"))["text"]
    return texts


def worker(backend: str | None, out: Path, paths: list[Path]) -> None:
    """Child process of (b) and (c): one Transcriber, every call, texts to ``out``."""
    from transcriber.pipeline import Transcriber

    settings = load_settings()
    if backend:
        settings.transcriber.backend = backend
    transcriber = Transcriber(settings.transcriber, settings.model_cache)
    texts = {}
    # as `callqa transcribe` and the nightly flow do: calls side by side, one per core
    for index, result in transcriber.transcribe_many((path, path.stem, {}) for path in paths):
        if isinstance(result, CallQAError):  # scored as an empty transcript; the other calls still count
            print(f"[asr_speed] {paths[index]}: {result}", file=sys.stderr)
        else:
            texts[paths[index].name] = result.text
    out.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")


def score(run: Run, calls: list[CallRecording]) -> None:
    for language, attr in (("zh", "cer"), ("en", "wer")):
        edits = total = 0
        for call in (c for c in calls if c.language == language):
            e, n = error_rate(language, call.reference, run.texts.get(call.path.name, ""))
            edits, total = edits + e, total + n
        if total:
            setattr(run, attr, round(edits / total, 4))


def measure(calls: list[CallRecording], systems: list[str], checkpoint: Path, work: Path, deadline: float) -> list[Run]:
    runs = []
    for system in systems:
        out_dir = work / system
        out_dir.mkdir()
        if system == "whisper_cli":
            command = whisper_cli_command(checkpoint, calls, out_dir)
        else:
            backend = ["--backend", "openai-whisper"] if system == "callqa_openai" else []
            command = [sys.executable, __file__, "--worker", *backend, "--worker-out", str(out_dir / "texts.json"),
                       *(str(c.path) for c in calls)]
        run = Run(system, command)
        left = deadline - time.monotonic()
        later = systems[systems.index(system) + 1 :]
        timeout = max(left * (CLI_SHARE if system == "whisper_cli" and later else 1.0), 1.0)
        print(f"[asr_speed] {system}: running (at most {timeout:.0f} s) ...", flush=True)
        run.wall_s, run.cpu_s, run.peak_mib, run.returncode, run.timed_out = run_child(
            command, out_dir / "log.txt", timeout)
        if run.returncode != 0 and not run.timed_out:
            print(f"[asr_speed] {system} failed (exit {run.returncode}); see {out_dir / 'log.txt'}", flush=True)
        texts_file = out_dir / "texts.json"
        run.texts = cli_texts(calls, out_dir) if system == "whisper_cli" else (
            json.loads(texts_file.read_text(encoding="utf-8")) if texts_file.exists() else {})
        if run.returncode == 0 and not run.timed_out:  # a partial run has no error rate to speak of
            score(run, calls)
        runs.append(run)
        print(f"[asr_speed] {system}: {run.wall_s:.1f} s wall, {run.cpu_s:.1f} s CPU, {run.peak_mib:.0f} MiB, "
              f"CER {run.cer}, WER {run.wer}{' (TIMED OUT)' if run.timed_out else ''}", flush=True)
    return runs


def summarize(runs: list[Run], calls: list[CallRecording], settings: Any, started: float) -> dict[str, Any]:
    audio = sum(c.duration_s for c in calls)
    by = {r.system: r for r in runs}
    cli = by.get("whisper_cli")
    complete = {r.system: r.returncode == 0 and not r.timed_out for r in runs}
    for r in runs:
        r.audio_s_per_wall_s = round(audio / r.wall_s, 3) if r.wall_s and complete[r.system] else None
        # a timed-out (a) still bounds the speed-up from below: it needed at least that long
        if cli is not None and r is not cli and complete[r.system] and (complete["whisper_cli"] or cli.timed_out):
            r.speedup_vs_whisper_cli = round(cli.wall_s / r.wall_s, 2)
            r.cpu_speedup_vs_whisper_cli = round(cli.cpu_s / r.cpu_s, 2) if r.cpu_s else None
    result: dict[str, Any] = {"audio_seconds": round(audio, 3)}
    if cli is not None and cli.timed_out:
        result["speedups_are_lower_bounds"] = True  # (a) was stopped at the time budget
    for r in runs:
        if r.system != "whisper_cli":
            tail = "_openai" if r.system == "callqa_openai" else ""
            result[f"speedup_vs_whisper_cli{tail}"] = r.speedup_vs_whisper_cli
            result[f"cpu_speedup_vs_whisper_cli{tail}"] = r.cpu_speedup_vs_whisper_cli
        result[f"cer_{r.system}"], result[f"wer_{r.system}"] = r.cer, r.wer
        result[f"peak_mib_{r.system}"] = round(r.peak_mib, 1)
        result[f"audio_s_per_wall_s_{r.system}"] = r.audio_s_per_wall_s
        result[f"wall_s_{r.system}"] = round(r.wall_s, 1)
    c = by.get("callqa")
    if c is not None and cli is not None and c.speedup_vs_whisper_cli is not None:
        no_worse = all(getattr(c, m) is None or getattr(cli, m) is None or getattr(c, m) <= getattr(cli, m)
                       for m in ("cer", "wer"))
        result["target"] = {"speedup_at_least": TARGET_SPEEDUP, "error_no_worse": True,
                            "met": bool(c.speedup_vs_whisper_cli >= TARGET_SPEEDUP and no_worse)}
    ts = settings.transcriber
    from transcriber.backends.faster import cpu_flags, thread_layout

    result["callqa_settings"] = {"backend": ts.backend, "model": ts.model, "compute_type": ts.compute_type,
                                 "beam_size": ts.beam_size, "patience": ts.patience, "cpu_isa": ts.cpu_isa,
                                 "threads_per_decode_and_decodes_at_once": thread_layout(ts.threads, ts.decode_workers),
                                 "cpu_has_avx512_vnni": "avx512_vnni" in cpu_flags()}  # fmt: skip
    # other work on the machine inflates every wall time; the CPU-time ratios are steadier
    result["machine"] = {"cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
                         "loadavg_start": LOADAVG_START, "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    result["bench_wall_s"] = round(time.monotonic() - started, 1)
    result["calls"] = [{"file": c.path.name, "language": c.language, "duration_s": round(c.duration_s, 3),
                        "turns": len(c.turns), "reference": c.reference} for c in calls]
    result["systems"] = {r.system: {"complete": complete[r.system], **{k: v for k, v in asdict(r).items() if k != "system"}}
                         for r in runs}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio-dir", type=Path, default=DEFAULT_AUDIO, help="the shared clips (manifest.jsonl)")
    parser.add_argument("--languages", default="zh,en", help="comma-separated: zh (Mandarin calls), en")
    parser.add_argument("--clips", type=int, default=4, help="clips per language; 0 = all of them")
    parser.add_argument("--clips-per-call", type=int, default=4, help="turns per call-like recording")
    parser.add_argument("--dialects", default="", help="extra dialects in the zh calls, e.g. wu,minnan")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {SYSTEMS}")
    parser.add_argument("--budget-s", type=float, default=570.0,
                        help="stop (and report as timed out) whatever still runs after this many seconds")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON results go")
    parser.add_argument("--keep", type=Path, default=None, help="keep the calls and outputs in this folder")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.backend, args.worker_out, args.paths)
        return

    started = time.monotonic()
    LOADAVG_START[:] = [round(x, 2) for x in os.getloadavg()]
    settings = load_settings()
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; choose from {SYSTEMS}")
    work = args.keep or Path(tempfile.mkdtemp(prefix="asr_speed_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        # one-off preparation outside the timing: assemble the model, convert it for openai-whisper
        model_dir = resolve_model(settings.transcriber.model, settings, settings.model_cache)
        checkpoint = openai_checkpoint(model_dir)
        calls = build_calls(args.audio_dir, work / "calls", tuple(args.languages.split(",")),
                            args.clips or None, args.clips_per_call, tuple(d for d in args.dialects.split(",") if d))
        audio = sum(c.duration_s for c in calls)
        print(f"[asr_speed] {len(calls)} calls, {audio:.0f} s of audio in {work / 'calls'}", flush=True)
        runs = measure(calls, systems, checkpoint, work, started + args.budget_s)
        result = summarize(runs, calls, settings, started)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k not in ("calls", "systems")}, indent=1))
    print(f"[asr_speed] results in {args.out}")


if __name__ == "__main__":
    main()
