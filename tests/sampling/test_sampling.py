"""The nightly draw: reproducible, recomputable from the audit trail, fair to every agent, idempotent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import SamplingSettings
from callqa.errors import ConfigError, SamplingError
from review.sampling.draw import draw_sample, recompute_draw, verify_draw
from review.store.db import init_db, make_engine
from review.store.models import AuditEvent, ReviewItem, SamplingDraw

from .conftest import DAY, add_call, add_finding, add_item


def _population(session: Session, day_offset: int = 0) -> dict[str, list[str]]:
    """Agent a1: 120 clean calls, a2: 60 (team t2), a3: 3, plus flagged and failed calls."""
    base = DAY + timedelta(days=day_offset)
    calls: dict[str, list[str]] = {"a1": [], "a2": [], "a3": []}
    for agent, count, team in (("a1", 120, "t1"), ("a2", 60, "t2"), ("a3", 3, "t1")):
        for i in range(count):
            cid = f"d{day_offset}-{agent}-{i:03d}"
            add_call(session, cid, agent=agent, team=team, started=base + timedelta(minutes=i), flush=False)
            calls[agent].append(cid)
    session.flush()
    for i in range(8):
        cid = f"d{day_offset}-flag-{i:02d}"
        add_call(session, cid, agent="a1", team="t1", started=base + timedelta(hours=2, minutes=i))
        add_finding(session, cid)
        add_item(session, cid, kind="flagged")
        calls.setdefault("flagged", []).append(cid)
    add_call(session, f"d{day_offset}-failed", agent="a1", status="failed", error="decode",
             started=base + timedelta(hours=3))
    add_call(session, f"d{day_offset}-next-day", agent="a1", started=base + timedelta(days=1, hours=1))
    return calls


def test_draw_is_stratified_excludes_flagged_and_is_queued(session_factory: sessionmaker[Session]) -> None:
    settings = SamplingSettings(rate=0.05, min_per_agent_per_week=2, team_rates={"t2": 0.10})
    with session_factory() as session:
        calls = _population(session)
        draw = draw_sample(session, DAY, DAY + timedelta(days=1), settings, seed="night-1")
        session.commit()
        sampled = set(draw.sample["call_ids"])
        strata = draw.sample["strata"]
        assert draw.population_size == 183  # flagged, failed and next-day calls are not in it
        assert not sampled & set(calls["flagged"])
        assert "d0-failed" not in sampled and "d0-next-day" not in sampled
        assert strata["agent:a1"]["n"] == 6 and strata["agent:a1"]["rate"] == 0.05
        assert strata["agent:a2"]["n"] == 6 and strata["agent:a2"]["team"] == "t2"  # per-team rate
        assert strata["agent:a3"]["n"] == 2  # 5% of 3 rounds to 0; the weekly minimum lifts it to 2
        assert set(strata["agent:a3"]["call_ids"]) <= set(calls["a3"])
        items = session.execute(select(ReviewItem).where(ReviewItem.kind == "sample")).scalars().all()
        assert {i.call_id for i in items} == sampled
        assert all(i.severity_rank == 0 and not i.urgent for i in items)


def test_draw_is_reproducible_and_recomputable_from_the_audit_entry(
        session_factory: sessionmaker[Session]) -> None:
    settings = SamplingSettings(rate=0.03)
    with session_factory() as session:
        _population(session)
        draw = draw_sample(session, DAY, DAY + timedelta(days=1), settings, seed="s-42")
        session.commit()
        entry = session.execute(select(AuditEvent).where(AuditEvent.kind == "sampling_draw")).scalar_one()
        assert entry.payload["seed"] == "s-42" and entry.payload["population_hash"] == draw.population_hash
        assert sum(len(s["population"]) for s in entry.payload["strata"].values()) == draw.population_size
        assert recompute_draw(entry.payload) == sorted(draw.sample["call_ids"])
        check = verify_draw(session, draw.id)
        assert check.ok, check.problems
        # an auditor who edits the population (cherry-picking) is caught by the hash
        tampered = dict(entry.payload)
        tampered["strata"] = {k: {**v, "population": v["population"][1:]} for k, v in entry.payload["strata"].items()}
        with pytest.raises(SamplingError, match="does not match its hash"):
            recompute_draw(tampered)
        # a stored sample swapped after the fact no longer verifies
        draw.sample = {**draw.sample, "call_ids": sorted(draw.sample["call_ids"])[1:] + ["d0-a1-999x"]}
        session.commit()
        assert not verify_draw(session, draw.id).ok


def test_same_seed_on_another_database_gives_the_same_sample(
        session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    other = make_engine(f"sqlite:///{tmp_path / 'other' / 'second.db'}")
    init_db(other)
    settings = SamplingSettings(rate=0.03)
    drawn = []
    for factory in (session_factory, sessionmaker(other)):
        with factory() as session:
            _population(session)
            drawn.append(draw_sample(session, DAY, DAY + timedelta(days=1), settings, seed="s-42").sample)
            session.commit()
    other.dispose()
    assert drawn[0] == drawn[1]


def test_ranking_ignores_row_order_and_depends_on_the_seed() -> None:
    from review.sampling.draw import rank_select, stratum_size

    ids = [f"c{i}" for i in range(500)]
    first = rank_select("abc", ids, stratum_size("abc", "agent:x", 500, 0.02, 1))
    assert first == rank_select("abc", list(reversed(ids)), len(first))  # order of the rows does not matter
    assert first != rank_select("abd", ids, len(first))


def test_second_run_for_the_same_night_draws_nothing_new(session_factory: sessionmaker[Session]) -> None:
    settings = SamplingSettings()
    with session_factory() as session:
        _population(session)
        first = draw_sample(session, DAY, DAY + timedelta(days=1), settings)
        session.commit()
    with session_factory() as session:
        second = draw_sample(session, DAY, DAY + timedelta(days=1), settings)
        session.commit()
        assert second.id == first.id and second.seed == first.seed
        assert session.query(SamplingDraw).count() == 1
        assert session.query(AuditEvent).filter_by(kind="sampling_draw").count() == 1
        assert session.query(ReviewItem).filter_by(kind="sample").count() == len(first.sample["call_ids"])
        with pytest.raises(SamplingError, match="overlaps draw"):
            draw_sample(session, DAY + timedelta(hours=12), DAY + timedelta(days=1, hours=12), settings)


def test_weekly_minimum_counts_earlier_nights(session_factory: sessionmaker[Session]) -> None:
    # a3 has 3 calls a day; 2% rounds to 0, so only the weekly minimum of 1 brings it in, once a week
    settings = SamplingSettings(rate=0.0, min_per_agent_per_week=1)
    with session_factory() as session:
        _population(session, 0)
        _population(session, 1)
        night1 = draw_sample(session, DAY, DAY + timedelta(days=1), settings, seed="w")
        night2 = draw_sample(session, DAY + timedelta(days=1), DAY + timedelta(days=2), settings, seed="w")
        session.commit()
        assert {k: v["n"] for k, v in night1.sample["strata"].items()} == {"agent:a1": 1, "agent:a2": 1,
                                                                           "agent:a3": 1}
        assert {k: v["n"] for k, v in night2.sample["strata"].items()} == {"agent:a1": 0, "agent:a2": 0,
                                                                           "agent:a3": 0}
        assert night2.sample["strata"]["agent:a3"]["prior_in_week"] == 1
        assert verify_draw(session, night2.id).ok


def test_bad_period_and_settings_are_named(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        with pytest.raises(SamplingError, match="is empty"):
            draw_sample(session, DAY, DAY, SamplingSettings())
        with pytest.raises(ConfigError, match="sampling.rate"):
            draw_sample(session, DAY, DAY + timedelta(days=1), SamplingSettings(rate=2.0))
        with pytest.raises(ConfigError, match="team_rates"):
            draw_sample(session, DAY, DAY + timedelta(days=1), SamplingSettings(team_rates={"t1": "lots"}))  # type: ignore[dict-item]
        with pytest.raises(SamplingError, match="does not exist"):
            verify_draw(session, 999)


def test_flagged_means_findings_on_the_newest_transcript(session_factory: sessionmaker[Session]) -> None:
    from review.store.models import Transcript

    settings = SamplingSettings(rate=1.0)
    with session_factory() as session:
        add_call(session, "flag-no-item", started=DAY + timedelta(hours=1))
        add_finding(session, "flag-no-item")  # not yet queued: still not part of the unflagged population
        add_call(session, "rescreened", started=DAY + timedelta(hours=1))
        add_finding(session, "rescreened")  # found on the old transcript only
        session.add(Transcript(call_id="rescreened", model_key="faster-whisper:large-v3:int8",
                               backend="faster-whisper", model="large-v3", document={"segments": []}))
        add_call(session, "clean", started=DAY + timedelta(hours=1))
        draw = draw_sample(session, DAY, DAY + timedelta(days=1), settings, seed="t")
        assert sorted(draw.sample["call_ids"]) == ["clean", "rescreened"]
