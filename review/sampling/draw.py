"""The nightly compliance sample: a reproducible, auditable draw of unflagged calls.

Design: one stratum per agent (or team) in the period. Each stratum gets
``rate * N`` calls, the fraction rounded up or down at random (so the overall
rate holds in expectation), raised to the weekly minimum still owed to that
stratum, capped at N. Which calls is decided by ranking the stratum's call ids
on SHA-256(seed ":" call_id): anyone with the seed and the population can redo
the draw with nothing but a hash function, in any language.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.orm import Session

from callqa.config import SamplingSettings
from callqa.errors import ConfigError, SamplingError
from review.audit import chain as audit
from review.store.models import AuditEvent, Call, Finding, ReviewItem, SamplingDraw, Screening, Transcript

log = logging.getLogger(__name__)

METHOD = "sha256-rank/v1"
AUDIT_KIND = "sampling_draw"
SAMPLEABLE_STATUS = "screened"
_LOCK_KEY = 814573  # PostgreSQL advisory lock: one draw at a time (814571 is the migrations lock)


def as_utc(value: datetime) -> datetime:
    """Aware UTC; naive values (SQLite hands them back) are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def call_time() -> Any:
    """The instant a call belongs to a period by: its start, else its registration."""
    return func.coalesce(Call.started_at, Call.created_at)


def has_current_findings() -> Any:
    """SQL test: the call's newest transcript has findings (what the queue calls flagged)."""
    newest = (select(func.max(Transcript.id)).where(Transcript.call_id == Call.id)
              .correlate(Call).scalar_subquery())
    return exists().where(Finding.call_id == Call.id, Finding.screening_id == Screening.id,
                          Screening.transcript_id == newest)


def current_findings_stmt() -> Any:
    """SELECT of the findings of each call's newest transcript (older transcripts' findings are history)."""
    newest = (select(Transcript.call_id.label("call_id"), func.max(Transcript.id).label("tid"))
              .group_by(Transcript.call_id).subquery())
    return (select(Finding).join(Screening, Screening.id == Finding.screening_id)
            .join(newest, (newest.c.call_id == Finding.call_id) & (newest.c.tid == Screening.transcript_id))
            .join(Call, Call.id == Finding.call_id))


def population_hash(call_ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(call_ids)).encode()).hexdigest()


def _uniform(*parts: str) -> float:
    digest = hashlib.sha256(":".join(parts).encode()).hexdigest()
    return int(digest[:13], 16) / float(16**13)


def stratum_size(seed: str, key: str, population: int, rate: float, minimum: int) -> int:
    """How many calls a stratum gets: rate * N with random rounding, at least ``minimum``, at most N."""
    expected = rate * population
    base = math.floor(expected)
    size = base + (1 if _uniform(seed, "size", key) < expected - base else 0)
    return min(population, max(size, minimum))


def rank_select(seed: str, call_ids: Sequence[str], size: int) -> list[str]:
    ranked = sorted(call_ids, key=lambda cid: hashlib.sha256(f"{seed}:{cid}".encode()).hexdigest())
    return sorted(ranked[:size])


@dataclass
class StratumPlan:
    key: str
    team: str | None
    rate: float
    population: list[str]
    minimum: int
    prior_in_week: int
    size: int = 0
    call_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DrawVerification:
    draw_id: int
    ok: bool
    problems: list[str]
    recomputed: list[str]


def _validate(settings: SamplingSettings) -> dict[str, float]:
    if not 0.0 <= float(settings.rate) <= 1.0:
        raise ConfigError(f"sampling.rate={settings.rate} must lie in [0, 1] (0.02 means 2%)")
    if int(settings.min_per_agent_per_week) < 0:
        raise ConfigError(f"sampling.min_per_agent_per_week={settings.min_per_agent_per_week} must be >= 0")
    if settings.stratify_by not in ("agent", "team"):
        raise ConfigError(f"sampling.stratify_by={settings.stratify_by!r} must be 'agent' or 'team'")
    rates: dict[str, float] = {}
    for team, value in settings.team_rates.items():
        try:
            rates[team] = float(value)  # env overrides arrive as strings
        except ValueError as exc:
            raise ConfigError(f"sampling.team_rates[{team!r}]={value!r} is not a number") from exc
        if not 0.0 <= rates[team] <= 1.0:
            raise ConfigError(f"sampling.team_rates[{team!r}]={value} must lie in [0, 1]")
    return rates


def _stratum_key(agent_id: str | None, team: str | None, stratify_by: str) -> str:
    if stratify_by == "agent" and agent_id:
        return f"agent:{agent_id}"
    if team:
        return f"team:{team}"
    return "unassigned"


def unflagged_population(session: Session, start: datetime, end: datetime) -> list[tuple[str, str | None, str | None]]:
    """(call id, agent, team) of screened calls in [start, end) with no current finding and no review item."""
    when = call_time()
    rows = session.execute(
        select(Call.id, Call.agent_id, Call.team)
        .where(when >= start, when < end, Call.status == SAMPLEABLE_STATUS)
        .where(~has_current_findings())
        .where(~exists().where(ReviewItem.call_id == Call.id))
        .order_by(Call.id)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))
    else:
        # take SQLite's write lock now so two nights cannot both see "no draw yet"
        session.execute(text("UPDATE sampling_draws SET id = id WHERE 0"))


def _prior_counts(session: Session, start: datetime, end: datetime) -> Counter[str]:
    """Calls already sampled per stratum by earlier draws inside the week ending at ``end``."""
    window_start = end - timedelta(days=7)
    counts: Counter[str] = Counter()
    draws = session.execute(
        select(SamplingDraw).where(SamplingDraw.period_end > window_start, SamplingDraw.period_start < start)
    ).scalars()
    for draw in draws:
        for key, info in (draw.sample or {}).get("strata", {}).items():
            counts[key] += len(info.get("call_ids", []))
    return counts


def _enqueue_sample(session: Session, call_id: str) -> None:
    from review.queue import lifecycle as queue

    queue.enqueue(session, call_id, kind="sample")


def draw_sample(session: Session, period_start: datetime, period_end: datetime, settings: SamplingSettings,
                seed: str | None = None, *, actor: str = "system") -> SamplingDraw:
    """Draw, enqueue and record the sample for [period_start, period_end), in the caller's transaction.

    Running it again for the same period returns the first draw untouched; a
    period that overlaps an earlier draw without matching it is refused, since
    the estimates weight each draw by its own population.
    """
    start, end = as_utc(period_start), as_utc(period_end)
    if end <= start:
        raise SamplingError(f"sampling period {start.isoformat()} .. {end.isoformat()} is empty; "
                            "give an end after the start")
    rates = _validate(settings)
    _lock(session)
    for draw in session.execute(
        select(SamplingDraw).where(SamplingDraw.period_start < end, SamplingDraw.period_end > start)
    ).scalars():
        if as_utc(draw.period_start) == start and as_utc(draw.period_end) == end:
            log.info("sampling draw %s already covers %s .. %s; not drawing again", draw.id, start, end)
            return draw
        raise SamplingError(
            f"sampling period {start.isoformat()} .. {end.isoformat()} overlaps draw {draw.id} "
            f"({as_utc(draw.period_start).isoformat()} .. {as_utc(draw.period_end).isoformat()}); "
            "draw for periods that do not overlap (e.g. one calendar day per night)")

    seed = seed or secrets.token_hex(16)
    weeks = max(1, math.ceil((end - start) / timedelta(days=7)))
    required = int(settings.min_per_agent_per_week) * weeks
    prior = _prior_counts(session, start, end)

    members: dict[str, list[str]] = {}
    teams: dict[str, Counter[str]] = {}
    for call_id, agent_id, team in unflagged_population(session, start, end):
        key = _stratum_key(agent_id, team, settings.stratify_by)
        members.setdefault(key, []).append(call_id)
        if team:
            teams.setdefault(key, Counter())[team] += 1
    plans: dict[str, StratumPlan] = {}
    for key in sorted(members):
        # an agent who moved team mid-period is rated by the team most of its calls carry
        team = sorted(teams[key].items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if key in teams else None
        rate = rates.get(team, float(settings.rate)) if team else float(settings.rate)
        plan = StratumPlan(key, team, rate, sorted(members[key]), max(0, required - prior[key]), prior[key])
        plan.size = stratum_size(seed, key, len(plan.population), plan.rate, plan.minimum)
        plan.call_ids = rank_select(seed, plan.population, plan.size)
        plans[key] = plan

    all_population = [cid for p in plans.values() for cid in p.population]
    sampled = sorted(cid for p in plans.values() for cid in p.call_ids)
    params = {"rate": float(settings.rate), "min_per_agent_per_week": int(settings.min_per_agent_per_week),
              "team_rates": rates, "stratify_by": settings.stratify_by, "weeks": weeks, "method": METHOD}
    strata_summary = {k: {"team": p.team, "rate": p.rate, "N": len(p.population), "minimum": p.minimum,
                          "prior_in_week": p.prior_in_week, "n": p.size, "call_ids": p.call_ids}
                      for k, p in plans.items()}
    draw = SamplingDraw(period_start=start, period_end=end, seed=seed, params=params,
                        population_hash=population_hash(all_population), population_size=len(all_population),
                        sample={"call_ids": sampled, "strata": strata_summary})
    session.add(draw)
    session.flush()
    for call_id in sampled:
        _enqueue_sample(session, call_id)
    entry = audit.append(session, AUDIT_KIND, actor=actor, payload={
        "draw_id": draw.id, "period_start": start.isoformat(), "period_end": end.isoformat(), "seed": seed,
        "params": params, "population_hash": draw.population_hash, "population_size": len(all_population),
        "strata": {k: {**strata_summary[k], "population": p.population} for k, p in plans.items()},
        "sample": sampled,
    })
    # a pointer, so verification need not scan every draw's (large) audit entry
    draw.sample = {**draw.sample, "audit_seq": entry.seq}
    session.flush()
    log.info("sampling draw %s: %d of %d unflagged calls in %d strata", draw.id, len(sampled),
             len(all_population), len(plans))
    return draw


def recompute_draw(payload: Mapping[str, Any]) -> list[str]:
    """Redo a draw from its audit entry alone; returns the sampled call ids (sorted).

    Raises SamplingError when the recorded population does not hash to the
    recorded hash, or a stratum's recorded size does not follow from its rule.
    """
    seed = str(payload["seed"])
    strata: Mapping[str, Any] = payload["strata"]
    population = [cid for info in strata.values() for cid in info["population"]]
    if population_hash(population) != payload["population_hash"]:
        raise SamplingError(f"draw {payload.get('draw_id')}: the recorded population does not match its "
                            "hash; the audit entry was altered")
    sampled: list[str] = []
    for key, info in strata.items():
        size = stratum_size(seed, key, len(info["population"]), float(info["rate"]), int(info["minimum"]))
        if size != int(info["n"]):
            raise SamplingError(f"draw {payload.get('draw_id')}: stratum {key} recorded {info['n']} calls "
                                f"but its rate and minimum give {size}")
        sampled.extend(rank_select(seed, info["population"], size))
    return sorted(sampled)


def verify_draw(session: Session, draw_id: int) -> DrawVerification:
    """Check a stored draw against its audit entry and the review queue."""
    draw = session.get(SamplingDraw, draw_id)
    if draw is None:
        raise SamplingError(f"sampling draw {draw_id} does not exist; list draws with `callqa sample --help`")
    query = select(AuditEvent).where(AuditEvent.kind == AUDIT_KIND)
    if "audit_seq" in draw.sample:
        query = query.where(AuditEvent.seq == int(draw.sample["audit_seq"]))
    entry = next((e for e in session.execute(query).scalars() if e.payload.get("draw_id") == draw_id), None)
    if entry is None:
        return DrawVerification(draw_id, False, [f"no {AUDIT_KIND} audit entry for draw {draw_id}"], [])
    problems: list[str] = []
    try:
        recomputed = recompute_draw(entry.payload)
    except SamplingError as exc:
        return DrawVerification(draw_id, False, [str(exc)], [])
    stored = sorted(draw.sample.get("call_ids", []))
    if recomputed != stored:
        problems.append(f"recomputed sample differs from the stored one: "
                        f"{sorted(set(recomputed) ^ set(stored))[:10]}")
    if entry.payload["population_hash"] != draw.population_hash or entry.payload["seed"] != draw.seed:
        problems.append("the audit entry's seed or population hash differs from the stored draw")
    queued = set(session.execute(
        select(ReviewItem.call_id).where(ReviewItem.call_id.in_(stored), ReviewItem.kind == "sample")
    ).scalars()) if stored else set()
    missing = sorted(set(stored) - queued)
    if missing:
        problems.append(f"sampled calls missing from the review queue: {missing[:10]}")
    return DrawVerification(draw_id, not problems, problems, recomputed)


def draws_between(session: Session, since: datetime, until: datetime) -> list[SamplingDraw]:
    """Draws whose period lies inside [since, until)."""
    return list(session.execute(
        select(SamplingDraw)
        .where(SamplingDraw.period_start >= as_utc(since), SamplingDraw.period_end <= as_utc(until))
        .order_by(SamplingDraw.period_start)
    ).scalars())
