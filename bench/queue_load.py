"""Queue load bench: many reviewer processes claim and decide items at once.

Saturation (default): PostgreSQL with 100,000 open items, 20 reviewer processes
for 60 s; SQLite, the same items, 4 processes. Paced (``--paced``): a real centre,
200 reviewers on PostgreSQL each claiming and deciding once every 10 s (20 claims a
second), spread as threads over 4 processes sharing 20 connections each, as web
workers would; it also reports how late reviewers got to act. ``--no-audit``
repeats either mode without audit entries, to measure what the hash chain's single
head costs; every mode times each append to the chain. Each reviewer loops: ``claim_next`` + commit (the
timed claim), then a verdict on every finding and ``submit`` + commit, the
way the web UI does it. Critical findings go through four eyes, so second
reviews are claimed too. Afterwards the bench counts items claimed twice
(the same item and stage handed to two reviewers) and items lost (claimed
and submitted by a reviewer but not moved on in the database, or rows that
vanished), and verifies the audit chain the run wrote.

    python bench/queue_load.py [--items 100000] [--duration 60] [--pg-workers 20] [--sqlite-workers 4]
                               [--backends postgresql,sqlite] [--pg-url URL] [--out bench/results/queue_load.json]
    python bench/queue_load.py --paced --backends postgresql [--reviewers 200] [--period 10] [--processes 4]
    python bench/queue_load.py --no-audit

Results go into bench/results/queue_load.json, one object per backend and mode
(postgresql, sqlite, postgresql_paced, postgresql_no_audit, sqlite_no_audit).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from bench.machine import describe as describe_machine  # noqa: E402
from review.audit import chain as audit  # noqa: E402
from review.calls.repo import current_findings  # noqa: E402
from review.queue import lifecycle as queue  # noqa: E402
from review.store.db import init_db, make_engine  # noqa: E402
from review.store.models import (  # noqa: E402
    Call,
    Finding,
    ReviewItem,
    Screening,
    Transcript,
    User,
)

PG_URL = os.environ.get("CALLQA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SEVERITIES = ["minor"] * 60 + ["major"] * 35 + ["critical"] * 5  # 5 % critical -> four eyes
BATCH = 5000


@dataclass(frozen=True)
class Paced:
    period: float  # seconds between one reviewer's claims
    processes: int  # web-worker-like processes the reviewers are spread over
    pool: int  # database connections per process


def _engine(url: str, schema: str | None) -> Engine:
    if schema is None:
        return make_engine(url)
    return create_engine(url, connect_args={"options": f"-csearch_path={schema}"}, pool_size=2)


def seed(engine: Engine, items: int, reviewers: int) -> float:
    """Bulk-load calls, transcripts, screenings, findings and open items (no audit entries)."""
    t0 = time.perf_counter()
    rng = random.Random(7)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    doc = {"call_id": "x", "segments": [], "language": "zh"}
    with engine.begin() as conn:
        conn.execute(insert(User), [
            {"username": f"rev{i:02d}", "password_hash": "", "role": "reviewer", "languages": "", "skills": "",
             "review_teams": "", "active": True, "created_at": base, "agent_id": f"RA{i:02d}"}
            for i in range(reviewers)])
    for start in range(0, items, BATCH):
        ids = range(start, min(start + BATCH, items))
        sev = {i: rng.choice(SEVERITIES) for i in ids}
        urgent = {i: rng.random() < 0.03 for i in ids}
        created = {i: base + timedelta(seconds=i) for i in ids}
        with engine.begin() as conn:
            conn.execute(insert(Call), [
                {"id": f"call{i:07d}", "recording_sha256": f"{i:064x}", "recording_path": f"/rec/{i}.wav",
                 "agent_id": f"A{i % 300:03d}", "team": f"T{i % 12}", "language": "zh", "dialect": "mandarin",
                 "status": "screened", "metadata_json": {}, "created_at": created[i]} for i in ids])
            conn.execute(insert(Transcript), [
                {"id": i + 1, "call_id": f"call{i:07d}", "model_key": "faster-whisper:base:int8",
                 "backend": "faster-whisper", "model": "base", "document": doc, "created_at": created[i]}
                for i in ids])
            conn.execute(insert(Screening), [
                {"id": i + 1, "call_id": f"call{i:07d}", "transcript_id": i + 1, "pack": "cn", "pack_version": "1",
                 "created_at": created[i]} for i in ids])
            conn.execute(insert(Finding), [
                {"id": i + 1, "screening_id": i + 1, "call_id": f"call{i:07d}", "rule_id": "R1", "category": "threat",
                 "severity": sev[i], "urgent": urgent[i], "evidence": "", "citation": ""} for i in ids])
            conn.execute(insert(ReviewItem), [
                {"call_id": f"call{i:07d}", "kind": "flagged", "urgent": urgent[i],
                 "severity_rank": {"critical": 3, "major": 2, "minor": 1}[sev[i]], "status": "open",
                 "stage": "first", "category": "threat", "team": f"T{i % 12}", "agent_id": f"A{i % 300:03d}",
                 "dialect": "mandarin", "language": "zh", "overdue": False, "created_at": created[i]} for i in ids])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("transcripts", "screenings", "findings"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {items + 1})"))
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def _time_chain(sink: list[float], python_chain: bool = False) -> None:
    """Time every append to the hash chain in this process (lock wait included): the chain has one head.

    ``python_chain``: on PostgreSQL too, append from Python (lock, read head, insert: three round trips)
    instead of the one server-side call (migration 0006), to compare the two under the same load."""

    def timing(original: Any) -> Any:
        def timed(session: Any, entries: list[dict[str, Any]]) -> Any:
            t0 = time.perf_counter()
            try:
                return original(session, entries)
            finally:
                sink.append(time.perf_counter() - t0)
        return timed

    python_path = audit._append_many
    audit._append_many = timing(python_path)  # type: ignore[assignment]
    server = python_path if python_chain else audit._append_server_side
    audit._append_server_side = timing(server)  # type: ignore[assignment]


def _no_audit() -> None:
    """Ablation: no audit entries at all (to measure what the chain's single head costs)."""
    audit.append_on_commit = lambda *args, **kwargs: None  # type: ignore[assignment]


def _cycle(factory: Any, user_id: int, rng: random.Random, acc: dict[str, Any]) -> bool:
    """One claim (timed) and, if an item came, its decision and submit; False when the queue was empty."""
    with factory() as session:
        user = session.get(User, user_id)
        assert user is not None
        t0 = time.perf_counter()
        try:
            item = queue.claim_next(session, user, max_open=5)
            session.commit()
        except Exception as exc:  # a bench counts failures instead of stopping
            session.rollback()
            acc["errors"][f"claim: {type(exc).__name__}: {str(exc)[:80]}"] += 1
            return True
        acc["latencies"].append(time.perf_counter() - t0)
        if item is None:
            acc["empty"] += 1
            return False
        submitted, item_id, stage = False, item.id, item.stage  # the item object is refreshed by submit
        t1 = time.perf_counter()
        try:
            if stage == "second":
                queue.second_review(session, item.id, user, agree=rng.random() < 0.8)
            else:
                for finding in current_findings(session, item.call_id):
                    confirm = rng.random() < 0.6
                    queue.record_verdict(session, item.id, finding.id, user,
                                         "confirmed" if confirm else "false_positive",
                                         "" if confirm else "context", "bench")
                queue.submit(session, item.id, user)
            session.commit()
            submitted = True
            acc["decide"].append(time.perf_counter() - t1)
        except Exception as exc:
            session.rollback()
            acc["errors"][f"decide: {type(exc).__name__}: {str(exc)[:80]}"] += 1
        acc["claims"].append((item_id, stage, submitted))
        return True


def _acc() -> dict[str, Any]:
    return {"latencies": [], "claims": [], "errors": Counter(), "empty": 0, "decide": [], "chain": [], "lags": []}


def reviewer(url: str, schema: str | None, user_id: int, deadline: float, audit_on: bool, python_chain: bool,
             out: Any) -> None:
    """Saturation: one reviewer process claiming, deciding and submitting as fast as it can."""
    engine = _engine(url, schema)
    factory = sessionmaker(engine, expire_on_commit=False)
    rng = random.Random(user_id)
    acc = _acc()
    _time_chain(acc["chain"], python_chain) if audit_on else _no_audit()
    while time.time() < deadline:
        if not _cycle(factory, user_id, rng, acc):
            time.sleep(0.05)
    engine.dispose()
    out.put({**acc, "errors": dict(acc["errors"])})


def paced_process(url: str, schema: str | None, user_ids: list[int], period: float, start: float, deadline: float,
                  pool: int, audit_on: bool, python_chain: bool, out: Any) -> None:
    """Paced: these reviewers (one thread each, sharing a pool as web workers do) each claim and decide once
    every ``period`` seconds, starting at a random point of the first period."""
    import threading

    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"} if schema else {},
                           pool_size=pool, max_overflow=0, pool_timeout=120)
    factory = sessionmaker(engine, expire_on_commit=False)
    acc = _acc()
    _time_chain(acc["chain"], python_chain) if audit_on else _no_audit()

    def one(user_id: int) -> None:
        rng = random.Random(user_id)
        at = start + rng.random() * period
        while at < deadline:
            time.sleep(max(0.0, at - time.time()))
            acc["lags"].append(time.time() - at)  # how late the reviewer got to act (pool, scheduler)
            _cycle(factory, user_id, rng, acc)
            at += period
            while at < time.time():  # a reviewer who fell a whole period behind skips the missed turn
                acc["errors"]["skipped turn (fell behind)"] += 1
                at += period

    threads = [threading.Thread(target=one, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    out.put({**acc, "errors": dict(acc["errors"])})


def run_backend(name: str, url: str, schema: str | None, items: int, workers: int, duration: float, *,
                paced: Paced | None = None, audit_on: bool = True, python_chain: bool = False) -> dict[str, Any]:
    engine = _engine(url, schema)
    init_db(engine)
    print(f"[{name}] seeding {items} items ...", flush=True)
    seed_s = seed(engine, items, workers)
    with engine.connect() as conn:
        user_ids = list(conn.execute(select(User.id).order_by(User.id)).scalars())
    engine.dispose()
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    deadline = time.time() + duration
    load_before = round(os.getloadavg()[0], 1)  # the machine may be shared: compare runs only at like load
    t0 = time.perf_counter()
    if paced is None:
        print(f"[{name}] {workers} reviewers for {duration:.0f} s, as fast as they can ...", flush=True)
        procs = [ctx.Process(target=reviewer, args=(url, schema, uid, deadline, audit_on, python_chain, out))
                 for uid in user_ids]
    else:
        print(f"[{name}] {workers} reviewers, each once every {paced.period:.0f} s, for {duration:.0f} s "
              f"({paced.processes} processes, {paced.pool} connections each) ...", flush=True)
        start = time.time() + 2.0
        procs = [ctx.Process(target=paced_process, args=(url, schema, user_ids[i::paced.processes], paced.period,
                                                         start, deadline, paced.pool, audit_on, python_chain, out))
                 for i in range(paced.processes)]
    for p in procs:
        p.start()
    results = [out.get(timeout=duration + 300) for _ in procs]
    for p in procs:
        p.join(60)
    wall = time.perf_counter() - t0
    latencies = sorted(x for r in results for x in r["latencies"])
    claims = [c for r in results for c in r["claims"]]
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r["errors"])
    if paced is not None:
        # a paced run ends at the deadline; claims are counted over the paced window, not the wind-down
        wall = max(duration, 1e-9)

    engine = _engine(url, schema)
    factory = sessionmaker(engine)
    with factory() as session:
        state = {row.id: (row.status, row.stage) for row in session.execute(
            select(ReviewItem.id, ReviewItem.status, ReviewItem.stage))}
        logged = Counter(
            (e["item_id"], e["stage"]) for e in session.execute(
                select(audit.AuditEvent.payload).where(audit.AuditEvent.kind == "claimed")).scalars())
        t_verify = time.perf_counter()
        chain = audit.verify(session)
        verify_s = time.perf_counter() - t_verify
        entries = session.execute(select(func.count()).select_from(audit.AuditEvent)).scalar_one()
    engine.dispose()
    by_worker = Counter((item_id, stage) for item_id, stage, _ in claims)
    double = sum(1 for n in by_worker.values() if n > 1) + sum(1 for n in logged.values() if n > 1)
    moved_on = {"first": {("final", "first"), ("open", "second"), ("claimed", "second"), ("final", "second"),
                          ("disputed", "supervisor")},
                "second": {("final", "second"), ("disputed", "supervisor")}}
    lost = sum(1 for item_id, stage, submitted in claims
               if submitted and state.get(item_id) not in moved_on[stage])
    lost += items - len(state)  # rows that vanished
    # every reviewer finishes its item before stopping, so a held item means a failed decision
    # (it would come back when its lease ran out)
    still_claimed = sum(1 for s in state.values() if s[0] == "claimed")

    def pct(p: float, values: list[float] = latencies) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 2) if values else 0.0

    appends = sorted(x for r in results for x in r["chain"])
    decide = sorted(x for r in results for x in r["decide"])
    lags = sorted(x for r in results for x in r["lags"])
    extra: dict[str, Any] = {
        "p50_decide_ms": pct(0.50, decide), "p95_decide_ms": pct(0.95, decide),
        # time in the audit chain's one head per commit that appends (waiting for its lock included), and the
        # share of all reviewer time spent there: near 1 would mean the chain is what limits throughput
        "chain_appends": len(appends), "p50_chain_append_ms": pct(0.50, appends),
        "p95_chain_append_ms": pct(0.95, appends), "p99_chain_append_ms": pct(0.99, appends),
        "chain_share_of_reviewer_time": round(sum(appends) / (len(user_ids) * wall), 3) if paced is None else None,
        "audit": audit_on,
        "chain_append": None if not audit_on else "python" if python_chain or name != "postgresql" else "server-side",
        "load_avg_1m_before": load_before, "load_avg_1m_after": round(os.getloadavg()[0], 1),
    }
    if paced is not None:
        extra.update({"mode": "paced", "period_s": paced.period, "target_claims_per_second": round(workers / paced.period, 1),
                      "processes": paced.processes, "pool_per_process": paced.pool,
                      "p50_lag_ms": pct(0.50, lags), "p95_lag_ms": pct(0.95, lags), "p99_lag_ms": pct(0.99, lags)})
    else:
        extra["mode"] = "saturation"
    got = claims
    return {
        "backend": name, **extra, "items": items, "workers": workers, "duration_s": round(wall, 1),
        "claims": len(got), "claims_per_second": round(len(got) / wall, 1),
        "decided": sum(1 for c in claims if c[2]),
        "second_reviews": sum(1 for c in claims if c[1] == "second"),
        "p50_claim_ms": pct(0.50), "p95_claim_ms": pct(0.95), "p99_claim_ms": pct(0.99),
        "mean_claim_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else 0.0,
        "double_claims": double, "lost": lost, "still_claimed": still_claimed, "empty_polls": sum(r["empty"] for r in results),
        "errors": dict(errors), "audit_entries": entries, "audit_chain_ok": chain.ok,
        "audit_verify_s": round(verify_s, 2), "seed_s": round(seed_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="open items to start with")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds the reviewers run")
    parser.add_argument("--pg-workers", type=int, default=20, help="reviewer processes on PostgreSQL")
    parser.add_argument("--sqlite-workers", type=int, default=4, help="reviewer processes on SQLite")
    parser.add_argument("--backends", default=None, help="comma list: postgresql, sqlite (default: both; "
                        "postgresql alone with --paced)")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server (a scratch schema is made and dropped)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "queue_load.json")
    parser.add_argument("--paced", action="store_true", help="paced mode on PostgreSQL: --reviewers each claim "
                        "and decide once every --period seconds (a real centre), instead of saturation")
    parser.add_argument("--reviewers", type=int, default=200, help="paced mode: reviewers")
    parser.add_argument("--period", type=float, default=10.0, help="paced mode: seconds between a reviewer's claims")
    parser.add_argument("--processes", type=int, default=4, help="paced mode: processes (web workers) the "
                        "reviewers are spread over, one thread each")
    parser.add_argument("--pool", type=int, default=20, help="paced mode: database connections per process")
    parser.add_argument("--no-audit", action="store_true", help="write no audit entries: measures what the hash "
                        "chain's single head costs (results under '<backend>[_paced]_no_audit')")
    parser.add_argument("--python-chain", action="store_true", help="append to the audit chain from Python on "
                        "PostgreSQL too (the path before migration 0006), for comparison ('<key>_python_chain')")
    args = parser.parse_args()
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    paced = Paced(args.period, args.processes, args.pool) if args.paced else None
    suffix = ("_paced" if paced else "") + ("_no_audit" if args.no_audit else "") + \
        ("_python_chain" if args.python_chain else "")
    names = [b.strip() for b in (args.backends or ("postgresql" if paced else "postgresql,sqlite")).split(",")
             if b.strip()]
    # checked before anything runs, so a bad combination never throws away a finished run
    for name in names:
        if name not in ("postgresql", "sqlite") or (name == "sqlite" and paced is not None):
            parser.error(f"backend {name!r} is not benched in this mode; use postgresql (paced) or sqlite")
    for name in names:
        if name == "postgresql":
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(args.pg_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                workers = args.reviewers if paced else args.pg_workers
                results[name + suffix] = run_backend(name, args.pg_url, schema, args.items, workers, args.duration,
                                                     paced=paced, audit_on=not args.no_audit,
                                                     python_chain=args.python_chain)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        elif name == "sqlite" and paced is None:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'queue_load.db'}"
                results[name + suffix] = run_backend(name, url, None, args.items, args.sqlite_workers, args.duration,
                                                     audit_on=not args.no_audit)
        print(json.dumps(results[name + suffix], indent=1), flush=True)
    results["machine"] = {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1),
                          "python": platform.python_version(),
                          "platform": platform.platform(), "at": datetime.now(UTC).isoformat(timespec="seconds"),
                          **describe_machine()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
