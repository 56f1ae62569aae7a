"""Sampling and report bench: one busy day (20,000 calls, 200 agents, 3% flagged) in SQLite.

    python bench/sampling_report.py [--calls 20000] [--agents 200] [--out bench/results/sampling_report.json]

Times the nightly draw (population query, ranking, enqueueing, the audit entry),
its verification from the audit trail, the report build and the report files
(JSON, CSV, HTML with charts). Rows are inserted in bulk beforehand, untimed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.machine import describe as describe_machine  # noqa: E402
from callqa.config import SamplingSettings  # noqa: E402
from review.reports.report import build_report, write_report  # noqa: E402
from review.sampling.draw import draw_sample, verify_draw  # noqa: E402
from review.store.db import init_db, make_engine  # noqa: E402
from review.store.models import Call, Finding, Screening, Transcript  # noqa: E402

DAY = datetime(2026, 11, 27, tzinfo=UTC)


def populate(engine: Any, calls: int, agents: int, flagged_share: float) -> int:
    rng = random.Random(7)
    rows, flagged = [], []
    for i in range(calls):
        cid = f"call-{i:06d}"
        agent = f"agent-{rng.randrange(agents):03d}"
        rows.append({"id": cid, "recording_sha256": hashlib.sha256(cid.encode()).hexdigest(),
                     "recording_path": f"/rec/{cid}.wav", "started_at": DAY + timedelta(seconds=rng.randrange(86400)),
                     "duration_s": rng.uniform(20, 600), "agent_id": agent, "team": f"team-{agent[-1]}",
                     "status": "screened", "metadata_json": {}, "created_at": DAY + timedelta(days=1)})
        if rng.random() < flagged_share:
            flagged.append(cid)
    with engine.begin() as conn:
        conn.execute(insert(Call), rows)
        conn.execute(insert(Transcript), [{"id": n + 1, "call_id": cid, "model_key": "fw:base:int8", "backend": "fw",
                                           "model": "base", "document": {}, "created_at": DAY}
                                          for n, cid in enumerate(flagged)])
        conn.execute(insert(Screening), [{"id": n + 1, "call_id": cid, "transcript_id": n + 1, "pack": "cn",
                                          "pack_version": "1", "created_at": DAY} for n, cid in enumerate(flagged)])
        conn.execute(insert(Finding), [{"screening_id": n + 1, "call_id": cid, "rule_id": f"R-{n % 12:02d}",
                                        "category": "threat", "severity": ("critical", "major", "minor")[n % 3],
                                        "urgent": False, "evidence": "", "citation": ""}
                                       for n, cid in enumerate(flagged)])
    return len(flagged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sampling_report.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        init_db(engine)
        flagged = populate(engine, args.calls, args.agents, 0.03)
        factory = sessionmaker(engine, expire_on_commit=False)
        timings: dict[str, float] = {}
        with factory() as session:
            t0 = time.perf_counter()
            draw = draw_sample(session, DAY, DAY + timedelta(days=1), SamplingSettings(), seed="bench")
            session.commit()
            timings["draw_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            check = verify_draw(session, draw.id)
            timings["verify_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            report = build_report(session, DAY, DAY + timedelta(days=1))
            timings["build_report_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        paths = write_report(report, Path(tmp) / "report")
        timings["write_report_s"] = time.perf_counter() - t0
        sizes = {k: p.stat().st_size for k, p in paths.items()}
    result = {
        "bench": "sampling_report", "calls": args.calls, "agents": args.agents, "flagged": flagged,
        "population": draw.population_size, "sampled": len(draw.sample["call_ids"]), "verified": check.ok,
        "timings": {k: round(v, 3) for k, v in timings.items()}, "file_bytes": sizes,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), **describe_machine()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
