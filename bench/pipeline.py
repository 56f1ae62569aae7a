"""Pipeline throughput: N call-like recordings through `callqa run`, end to end, twice.

Run 1 uses the default runner (a thread pool in the flow's process), run 2 a Dask
LocalCluster of two single-threaded worker processes (``CALLQA_DASK_ADDRESS=local:2``).
Both talk to one Prefect server started here (as `callqa schedule` would), so the
server's start-up is reported apart from the runs.

Reported per run: audio hours per wall hour (flow and whole process), the share of the
flow's wall time spent outside our own per-recording work (Prefect orchestration, task
submission, Dask start-up), and a sizing estimate for 10,000 three-minute calls a night.

    .venv/bin/python bench/pipeline.py [--calls 50] [--seconds-per-side 2.5]

Writes bench/results/pipeline.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common_calls import DEFAULT_AUDIO, manifest, write_wav  # noqa: E402

from bench.machine import describe as describe_machine  # noqa: E402
from transcriber.audio import decode  # noqa: E402

SR = 16000
NIGHT_CALLS, CALL_MINUTES, NIGHT_HOURS = 10_000, 3.0, 8.0


def build_inbox(audio_dir: Path, inbox: Path, calls: int, side_s: float) -> float:
    """``calls`` distinct stereo calls (agent clip left, customer clip right); returns total audio seconds."""
    clips = [c for c in manifest(audio_dir) if c.get("dialect") in {"mandarin", "english"}]
    decoded = {str(c["file"]): decode(audio_dir / str(c["file"]))[0][: int(side_s * SR)] for c in clips}
    names = sorted(decoded)
    rng = np.random.default_rng(7)
    inbox.mkdir(parents=True, exist_ok=True)
    rows = ["file,call_id,agent_id,debtor_id,started_at,direction,channel_layout"]
    total = 0.0
    for n in range(calls):
        agent, customer = decoded[names[n % len(names)]], decoded[names[(n * 7 + 3) % len(names)]]
        gap = int(rng.uniform(0.3, 0.8) * SR)
        length = agent.size + gap + customer.size + SR // 4
        audio = (rng.standard_normal((2, length)) * 10 ** (-55 / 20)).astype(np.float32)
        audio[0, : agent.size] += agent
        audio[1, agent.size + gap : agent.size + gap + customer.size] += customer
        write_wav(inbox / f"bench_{n:03d}.wav", audio)
        rows.append(f"bench_{n:03d}.wav,B-{n:03d},A{n % 5},D{n},2026-11-27T{8 + n % 10:02d}:{n % 60:02d}:00+08:00,"
                    "outbound,agent_left")
        total += length / SR
    (inbox / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(prefect_home: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_UI_ENABLED": "false"}
    started = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("prefect")), "server", "start", "--host",
                             "127.0.0.1", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    import httpx

    while time.perf_counter() - started < 300:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("prefect server exited during start-up")
        time.sleep(1)
    proc.kill()
    raise SystemExit("prefect server did not answer within 300 s")


def run_once(label: str, inbox: Path, home: Path, models: Path, api_url: str, extra_env: dict[str, str]) -> dict[str, Any]:
    home.mkdir(parents=True)
    (home / "models").symlink_to(models, target_is_directory=True)
    env = {**os.environ, "CALLQA_HOME": str(home), "PREFECT_API_URL": api_url, **extra_env}
    env.pop("CALLQA_DATABASE_URL", None)
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("callqa")), "run", "--inbox", str(inbox), "--json",
                           "--quiet"], env=env, capture_output=True, text=True)
    process_wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{label}: callqa run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    summary = json.loads(done.stdout[done.stdout.index("\n{") + 1:])
    run = {"label": label, "runner": summary["runner"], "calls": summary["to_process"],
           "failures": len(summary["failures"]), "transcribed": summary["transcribed"],
           "audio_s": round(summary["audio_s"], 1), "process_wall_s": round(process_wall, 1),
           "flow_wall_s": round(summary["wall_s"], 1), "work_s": round(summary["work_s"], 1),
           "transcribe_s": round(summary["transcribe_s"], 1), "close_s": round(summary["close_s"], 1),
           "workers": max(1, len(summary["workers"])),
           "transcriptions_per_worker": max(1, int(summary.get("transcriptions_per_worker", 1)))}
    return derive(run)


def derive(run: dict[str, Any]) -> dict[str, Any]:
    """Shares and rates from a run's measured times.

    Transcription share: time the transcription slots were busy (summed transcription time over
    the slots: worker processes times transcriptions at once in each) out of the flow's wall
    time. Orchestration share: the rest, less the closing sample-and-report step; it holds
    Prefect's task bookkeeping, task submission, Dask start-up, staging, registration and
    screening: everything that is not the model at work.
    """
    wall, workers = run["flow_wall_s"], run["workers"] * run.get("transcriptions_per_worker", 1)
    transcribing = run["transcribe_s"] / workers
    orchestration = max(0.0, wall - transcribing - run["close_s"])
    per_call = orchestration * workers / max(1, run["calls"])
    per_audio_s = run["transcribe_s"] / max(1e-9, run["audio_s"])
    three_min = CALL_MINUTES * 60 * per_audio_s
    rate = (run["audio_s"] / 3600) / (wall / 3600)
    night_audio_h = NIGHT_CALLS * CALL_MINUTES / 60
    # a site's 3-minute call at this machine's transcription speed, plus this run's per-call overhead
    projected_rate = workers * (CALL_MINUTES * 60) / (three_min + per_call) if per_call + three_min else rate
    return {**run,
            "transcription_share": round(transcribing / wall, 4),
            "orchestration_s": round(orchestration, 1), "orchestration_share": round(orchestration / wall, 4),
            "orchestration_s_per_call": round(per_call, 2),
            "transcribe_s_per_audio_s": round(per_audio_s, 3),
            "projected_orchestration_share_3min_calls": round(per_call / (per_call + three_min), 4),
            "audio_h_per_wall_h": round(rate, 2),
            "audio_h_per_wall_h_process": round((run["audio_s"] / 3600) / (run["process_wall_s"] / 3600), 2),
            "projected_audio_h_per_wall_h_3min_calls": round(projected_rate, 2),
            "machines_for_10k_3min_calls_in_8h": math.ceil(night_audio_h / (projected_rate * NIGHT_HOURS))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--seconds-per-side", type=float, default=2.5)
    parser.add_argument("--audio-dir", type=Path, default=DEFAULT_AUDIO)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="callqa-bench-pipeline-"))
    server = None
    try:
        inbox = work / "inbox"
        audio_s = build_inbox(args.audio_dir, inbox, args.calls, args.seconds_per_side)
        print(f"{args.calls} calls, {audio_s / 60:.1f} min of audio in {inbox}", flush=True)
        from callqa.config import Settings
        from transcriber.models import resolve_model

        models = work / "models"
        resolve_model("base", Settings().transcriber, models)
        server, url, server_start = start_server(work / "prefect")
        print(f"prefect server up in {server_start:.1f} s", flush=True)
        runs = [run_once("threads", inbox, work / "home-threads", models, url, {})]
        print(json.dumps(runs[-1]), flush=True)
        if not args.skip_dask:
            runs.append(run_once("dask-local-2", inbox, work / "home-dask", models, url,
                                 {"CALLQA_DASK_ADDRESS": "local:2", "CALLQA_TRANSCRIBER__THREADS": "1"}))
            print(json.dumps(runs[-1]), flush=True)
        out = HERE / "results" / "pipeline.json"
        if out.exists():  # keep runs of other labels from an earlier invocation (e.g. --skip-dask)
            earlier = json.loads(out.read_text(encoding="utf-8")).get("runs", [])
            runs = [derive(r) for r in earlier if r["label"] not in {n["label"] for n in runs}] + runs
        for run in runs:
            run.setdefault("measured_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        result = {
            "bench": "pipeline", "calls": args.calls, "seconds_per_side": args.seconds_per_side,
            "machine": {"cpus": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2), **describe_machine()},
            "prefect_server_start_s": round(server_start, 1), "runs": runs,
            "sizing": {"night": f"{NIGHT_CALLS} calls x {CALL_MINUTES:g} min = {NIGHT_CALLS * CALL_MINUTES / 60:g} "
                                f"audio hours in an {NIGHT_HOURS:g} h window",
                       "machines_like_this": min(r["machines_for_10k_3min_calls_in_8h"] for r in runs)},
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
