"""Many reviewers at once: no item is claimed twice or lost, and the audit chain stays one line."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from review.audit import chain as audit
from review.queue import lifecycle as queue
from review.store.db import make_engine
from review.store.models import AuditEvent, ReviewItem, User

from .conftest import FakeFinding, ingest

ITEMS = 24


def _claim_all(factory: sessionmaker[Session], user_id: int, got: list[int],
               start: threading.Barrier | None = None) -> None:
    """Claim until the queue is empty, committing each claim like a real reviewer would."""
    if start is not None:
        start.wait(30)  # every claimer begins at once: a thread started late found the queue already empty
    while True:
        with factory() as session:
            user = session.get(User, user_id)
            assert user is not None
            item = queue.claim_next(session, user, max_open=10_000)
            session.commit()
            if item is None:
                return
            got.append(item.id)


def _seed(db: Session, make_user: Callable[..., User], users: int) -> list[int]:
    for i in range(ITEMS):
        severity = ("minor", "major", "critical")[i % 3]
        ingest(db, f"c{i:03d}", [FakeFinding("R1", "threat", severity, urgent=i % 7 == 0)])
        queue.enqueue(db, f"c{i:03d}")
    db.commit()
    return [make_user(f"r{i}").id for i in range(users)]


def _check(db: Session, claimed: list[int]) -> None:
    assert [n for n in Counter(claimed).values() if n > 1] == [], "an item was claimed twice"
    assert len(claimed) == ITEMS, "an item was lost"
    db.expire_all()
    assert db.execute(select(func.count()).select_from(ReviewItem).where(ReviewItem.status == "claimed")).scalar() == ITEMS
    chain = audit.verify(db)
    assert chain.ok, chain.reason
    claims = db.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "claimed")).scalar()
    assert claims == ITEMS


def test_concurrent_threads_never_claim_the_same_item(
        db: Session, session_factory: sessionmaker[Session], make_user: Callable[..., User]) -> None:
    user_ids = _seed(db, make_user, 6)
    results: list[list[int]] = [[] for _ in user_ids]
    start = threading.Barrier(len(user_ids))
    threads = [threading.Thread(target=_claim_all, args=(session_factory, uid, out, start))
               for uid, out in zip(user_ids, results, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    _check(db, [i for r in results for i in r])
    assert sum(1 for r in results if r) >= 2, "the claimers did not overlap at all"


def _process_worker(url: str, schema: str | None, user_id: int, queue_out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    # a fresh engine per process, like a real reviewer's web worker
    engine = make_engine(url) if schema is None else create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    got: list[int] = []
    try:
        _claim_all(sessionmaker(engine, expire_on_commit=False), user_id, got)
    finally:
        queue_out.put(got)
        engine.dispose()


def test_concurrent_processes_never_claim_the_same_item(
        db: Session, engine: Engine, make_user: Callable[..., User]) -> None:
    user_ids = _seed(db, make_user, 4)
    schema = None
    if engine.dialect.name == "postgresql":
        schema = db.execute(text("SELECT current_schema()")).scalar_one()
        db.rollback()
    url = engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    engine.dispose()  # the children must not share the parent's connections
    procs = [ctx.Process(target=_process_worker, args=(url, schema, uid, out)) for uid in user_ids]
    for p in procs:
        p.start()
    claimed = [i for _ in procs for i in out.get(timeout=60)]
    for p in procs:
        p.join(30)
    assert all(p.exitcode == 0 for p in procs)
    _check(db, claimed)


def test_concurrent_appenders_keep_one_linear_chain(session_factory: sessionmaker[Session], db: Session) -> None:
    def write(n: int) -> None:
        for i in range(15):
            with session_factory() as session:
                audit.append(session, "pii_unmask", actor=f"user{n}", payload={"i": i})
                session.commit()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    result = audit.verify(db)
    assert result.ok, result.reason
    assert result.entries == 75 and result.head_seq == 75
