"""Web latency bench: queue, call and search page render time with 100,000 items in the store.

    python bench/web_latency.py [--items 100000] [--requests 200] [--database-url URL]
                                [--out bench/results/web_latency.json]

The file holds one entry per database ("sqlite", "postgresql"); a run replaces its own.

Fills a fresh SQLite file (or the PostgreSQL database given, which must be empty) with that many
screened calls, each with a transcript, findings and a review item (a tenth of them decided, some
overdue), then times full requests through the app (routing, sign-in check, queries, template)
with an in-process client: the queue page unfiltered and with each filter, and the call pages of
random calls, and the search page's first page (a phrase, a phrase with filters, filters alone; one
call in fifty carries a recogniser's slip 崔收 for 催收, and one phrase is in no call, so the search
reads the whole index). Reports p50/p95/max in milliseconds, wall-clock and CPU time (the CPU time is what a
request costs on an idle core; a shared machine's wall time adds the wait for one); the target is a
wall-clock p95 under 200 ms for the queue and call pages, 300 ms for search.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.machine import describe as describe_machine  # noqa: E402
from callqa.config import load_settings  # noqa: E402
from review.accounts import users as accounts  # noqa: E402
from review.search import index as search_index  # noqa: E402
from review.store.db import init_db, make_engine, session_scope  # noqa: E402
from review.store.models import (  # noqa: E402
    Call,
    CallSearchText,
    Finding,
    ReviewItem,
    Screening,
    Transcript,
    User,
    Verdict,
)

TEAMS = [f"team-{i}" for i in range(12)]
DIALECTS = ["mandarin", "cantonese", "sichuanese", "wu", "min", "en"]
RULES = [("cn.threat.prison", "threat", "critical"), ("cn.third_party.family", "third_party_disclosure", "major"),
         ("cn.abuse.insult", "abuse", "major"), ("cn.time.night", "contact_time", "minor"),
         ("cn.vulnerable.illness", "vulnerability", "critical"), ("cn.misrep.lawyer", "misrepresentation", "major")]
LINES = ["您好，这里是某某金融，关于您的逾期账单。", "我现在真的没钱，下个月再说吧。", "你今天必须还钱，不然我告诉你家人。",
         "我的电话是一三八一二三四五六七八，你打这个。", "再不还款就起诉你，让你坐牢。", "好的好的，我想想办法。"]
BATCH = 5000


SLIP = "我们是崔收公司的，您这笔欠款拖太久了。"  # a recogniser's homophone slip for 催收


def _document(call_id: str, slip: bool = False) -> dict[str, Any]:
    segments = [{"role": "agent" if i % 2 == 0 else "customer", "start": i * 4.0, "end": i * 4.0 + 3.5,
                 "text": SLIP if slip and i == 6 else LINES[i % len(LINES)], "avg_logprob": -0.3, "no_speech_prob": 0.02, "words": None,
                 "low_confidence": i == 3} for i in range(12)]
    return {"call_id": call_id, "started_at": None, "duration_s": 48.0, "language": "zh", "dialect": "mandarin",
            "backend": "faster-whisper", "model": "base", "channels": {"agent": 0, "customer": 1},
            "segments": segments, "metadata": {}}


def fill(factory: sessionmaker[Any], n: int, wav: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with session_scope(factory) as session:
        reviewer = accounts.add_user(session, "bench-reviewer", "bench password 1", "reviewer")
        reviewer_id = reviewer.id
    for start in range(0, n, BATCH):
        ids = range(start, min(n, start + BATCH))
        calls, transcripts, screenings, findings, items, verdicts = [], [], [], [], [], []
        search_rows = []
        for i in ids:
            call_id = f"bench-{i:06d}"
            started = now - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440))
            team, dialect, agent = rng.choice(TEAMS), rng.choice(DIALECTS), f"A{rng.randint(1, 400):03d}"
            calls.append({"id": call_id, "recording_sha256": hashlib.sha256(call_id.encode()).hexdigest(),
                          "recording_path": str(wav), "started_at": started, "duration_s": 48.0, "agent_id": agent,
                          "team": team, "debtor_id": f"D{i}", "phone_number": "13812345678", "language": "zh",
                          "dialect": dialect, "status": "screened", "metadata_json": {}, "created_at": started})
            document = _document(call_id, slip=i % 50 == 0)
            transcripts.append({"id": i + 1, "call_id": call_id, "model_key": "faster-whisper:base:int8",
                                "backend": "faster-whisper", "model": "base", "language": "zh",
                                "dialect": dialect, "document": document, "created_at": started})
            search_rows.append((call_id, i + 1, document))
            screenings.append({"id": i + 1, "call_id": call_id, "transcript_id": i + 1, "pack": "cn-collection",
                               "pack_version": "1", "created_at": started})
            chosen = rng.sample(RULES, rng.randint(1, 3))
            for k, (rule, category, severity) in enumerate(chosen):
                segment = [2, 4, 3][k]
                findings.append({"id": i * 3 + k + 1, "screening_id": i + 1, "call_id": call_id, "rule_id": rule,
                                 "category": category, "severity": severity, "urgent": category == "vulnerability",
                                 "segment_index": segment, "start": segment * 4.0, "end": segment * 4.0 + 3.5,
                                 "evidence": LINES[segment % len(LINES)][2:8], "citation": "公约第二十二条"})
            rank = max({"critical": 3, "major": 2, "minor": 1}[s] for _, _, s in chosen)
            decided = rng.random() < 0.1
            items.append({"id": i + 1, "call_id": call_id, "kind": "flagged", "status": "final" if decided else "open",
                          "stage": "first", "urgent": any(c == "vulnerability" for _, c, _ in chosen),
                          "severity_rank": rank, "category": chosen[0][1], "team": team, "agent_id": agent,
                          "dialect": dialect, "language": "zh", "overdue": (now - started).days > 2 and not decided,
                          "outcome": ("violation" if rng.random() < 0.6 else "no_violation") if decided else None,
                          "first_reviewer_id": reviewer_id if decided else None, "created_at": started,
                          "decided_at": now if decided else None})
            if decided:
                for k in range(len(chosen)):
                    verdicts.append({"item_id": i + 1, "finding_id": i * 3 + k + 1, "reviewer_id": reviewer_id,
                                     "stage": "first", "decision": rng.choice(["confirmed", "false_positive"]),
                                     "reason_code": "clear", "comment": "", "created_at": now})
        with session_scope(factory) as session:
            for model, rows in ((Call, calls), (Transcript, transcripts), (Screening, screenings),
                                (Finding, findings), (ReviewItem, items), (Verdict, verdicts),
                                (CallSearchText, search_index.rows_for(search_rows))):
                if rows:
                    session.execute(insert(model), rows)
        print(f"  filled {min(n, start + BATCH)}/{n}", file=sys.stderr)


CPU_MS: list[float] = []  # CPU time of the same requests, all threads of this process


def _timed(client: Any, path: str, params: dict[str, str] | None = None) -> float:
    """Wall-clock milliseconds of one request; its CPU milliseconds go to CPU_MS (on a shared, busy
    machine the wall time includes waiting for a core, the CPU time does not)."""
    c0, t0 = time.process_time(), time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - t0) * 1000
    CPU_MS.append((time.process_time() - c0) * 1000)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} {params}: HTTP {response.status_code}: {response.text[:300]}")
    return elapsed


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"requests": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1), "max_ms": round(ordered[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page kind")
    parser.add_argument("--database-url", default="",
                        help="an empty database, or one an earlier run filled; default: a fresh SQLite file")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "web_latency.json")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from review.web import create_app

    with tempfile.TemporaryDirectory(prefix="callqa-web-bench-") as tmp:
        home = Path(tmp)
        url = args.database_url or f"sqlite:///{home / 'bench.db'}"
        engine = make_engine(url)
        init_db(engine)
        factory = sessionmaker(engine, expire_on_commit=False)
        wav = home / "call.wav"
        wav.write_bytes(b"RIFF")  # the pages never read the recording
        t0 = time.perf_counter()
        with session_scope(factory) as session:
            filled = session.execute(select(User.id).where(User.username == "bench-supervisor")).first()
        if filled is None:  # a database filled by an earlier run (--database-url) is reused as it is
            fill(factory, args.items, wav)
            with session_scope(factory) as session:
                accounts.add_user(session, "bench-supervisor", "bench password 1", "supervisor")
            if engine.dialect.name == "postgresql":
                # what autovacuum does minutes after a bulk load: without statistics the planner
                # guesses a handful of rows per table and picks plans no running centre would see
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM ANALYZE")
        fill_s = time.perf_counter() - t0
        with session_scope(factory) as session:
            count = session.execute(select(ReviewItem.id).order_by(ReviewItem.id.desc()).limit(1)).scalar_one()
        settings = load_settings(env={"CALLQA_HOME": str(home)})
        client = TestClient(create_app(settings, session_factory=factory))
        token_page = client.get("/login").text
        token = token_page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": "bench-supervisor", "password": "bench password 1",
                                    "csrf_token": token})
        rng = random.Random(11)
        queue_variants: list[dict[str, str]] = [
            {}, {"team": "team-3"}, {"agent": "A042"}, {"rule": "cn.abuse.insult"}, {"severity": "critical"},
            {"dialect": "wu"}, {"overdue": "true"}, {"date_from": "2026-01-01", "date_to": "2030-01-01"},
            {"status": "final"}, {"page": "40"},
        ]
        for _ in range(10):  # warm caches and the filter options once
            _timed(client, "/queue")
            _timed(client, f"/calls/bench-{rng.randrange(args.items):06d}")
        queue_ms: dict[str, list[float]] = {json.dumps(v, sort_keys=True): [] for v in queue_variants}
        per_variant = max(1, args.requests // len(queue_variants))
        all_queue: list[float] = []
        CPU_MS.clear()
        for variant in queue_variants:
            key = json.dumps(variant, sort_keys=True)
            for _ in range(per_variant):
                queue_ms[key].append(_timed(client, "/queue", variant))
            all_queue += queue_ms[key]
        queue_cpu = list(CPU_MS)
        CPU_MS.clear()
        call_ms = [_timed(client, f"/calls/bench-{rng.randrange(args.items):06d}") for _ in range(args.requests)]
        call_cpu = list(CPU_MS)
        api_ms = [_timed(client, "/api/queue") for _ in range(max(1, args.requests // 4))]
        search_variants: list[dict[str, str]] = [
            {"phrase": "坐牢"}, {"phrase": "催收"}, {"phrase": "律师函"},
            {"phrase": "告诉你家人", "team": "team-3"}, {"phrase": "催收", "date_from": "2026-01-01"},
            {"phrase": "起诉", "agent": "A042", "verdict": "pending"}, {"rule": "cn.abuse.insult"},
            {"team": "team-3", "verdict": "violation"}, {"category": "threat", "agent": "A007"},
            {"date_from": "2026-01-01", "date_to": "2030-01-01"},
        ]
        for variant in search_variants:  # warm once
            _timed(client, "/search", variant)
        search_ms: dict[str, list[float]] = {json.dumps(v, sort_keys=True, ensure_ascii=False): []
                                             for v in search_variants}
        CPU_MS.clear()
        all_search: list[float] = []
        for variant in search_variants:
            key = json.dumps(variant, sort_keys=True, ensure_ascii=False)
            for _ in range(max(1, args.requests // len(search_variants))):
                search_ms[key].append(_timed(client, "/search", variant))
            all_search += search_ms[key]
        search_cpu = list(CPU_MS)
        result = {
            "backend": engine.dialect.name, "items": count, "fill_seconds": round(fill_s, 1),
            "queue_page": _summary(all_queue),
            "queue_page_by_filter": {k: _summary(v) for k, v in queue_ms.items()},
            "call_page": _summary(call_ms), "api_queue": _summary(api_ms),
            "queue_page_cpu": _summary(queue_cpu), "call_page_cpu": _summary(call_cpu),
            "search_page": _summary(all_search),
            "search_page_by_query": {k: _summary(v) for k, v in search_ms.items()},
            "search_page_cpu": _summary(search_cpu), "search_target_p95_ms": 300,
            "load_average_1min": round(os.getloadavg()[0], 2), "cpu_count": os.cpu_count(),
            "target_p95_ms": 200,
            "meets_target": _summary(all_queue)["p95_ms"] < 200 and _summary(call_ms)["p95_ms"] < 200
            and _summary(all_search)["p95_ms"] < 300,
            "python": platform.python_version(), "machine": platform.machine(), **describe_machine(),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "note": "in-process client: app, queries and templates, no network",
        }
        client.close()
        engine.dispose()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # one file for both databases, each run replacing its own backend's entry
    results: dict[str, Any] = {}
    if args.out.exists():
        earlier = json.loads(args.out.read_text(encoding="utf-8"))
        if isinstance(earlier, dict) and "backend" not in earlier:
            results = {k: v for k, v in earlier.items() if k in ("sqlite", "postgresql")}
    results[str(result["backend"])] = result
    args.out.write_text(json.dumps(dict(sorted(results.items())), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("backend", "items", "queue_page", "call_page", "search_page",
                                             "queue_page_cpu", "call_page_cpu", "search_page_cpu",
                                             "load_average_1min", "meets_target")}))


if __name__ == "__main__":
    main()
