"""Transcript search: a phrase (tolerant of homophones), rule, category, agent, team, dates, verdict.

Two steps, so the first page answers quickly at 100,000 calls: SQL narrows the calls by the
filters and by the phrase's sound form in review.search.index (newest calls first, a batch at a
time, keyset-paged), then the screening matcher verifies each candidate on its transcript exactly
as screening would (an exact hit, or a homophone sharing at least half its characters) and finds
the lines to show. Only candidates of the page being built are ever read and verified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from callqa.errors import CallQAError
from review.privacy import mask_text
from review.screening.match import CallText, PhraseMatcher
from review.screening.normalize import original_span
from review.search.index import RARE, phrase_calls, phrase_key
from review.store.models import Call, CallSearchText, Finding, ReviewItem, Screening, Transcript

VERDICTS = ("violation", "no_violation", "pending")
PAGE_SIZE = 20
BATCH = 80  # candidates read and verified at a time
MAX_BATCHES = 25  # a page gives up after this many candidates without enough hits (and offers to go on)
LINES_PER_HIT = 3


@dataclass
class SearchFilter:
    phrase: str = ""
    rule: str = ""
    category: str = ""
    agent: str = ""
    team: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    verdict: str = ""
    after: str = ""  # the cursor: "<started_at ISO>|<call id>" of the last call the previous page examined

    @property
    def empty(self) -> bool:
        return not any((self.phrase.strip(), self.rule, self.category, self.agent, self.team, self.date_from,
                        self.date_to, self.verdict))

    def query_args(self, **override: Any) -> dict[str, str]:
        values = {"phrase": self.phrase, "rule": self.rule, "category": self.category, "agent": self.agent,
                  "team": self.team, "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else "", "verdict": self.verdict,
                  "after": self.after}
        values.update(override)
        return {k: str(v) for k, v in values.items() if v}


@dataclass(frozen=True)
class LineMatch:
    segment: int
    start_s: float
    role: str
    before: str  # the line around the matched words, masked as the call page masks it
    match: str
    after: str


@dataclass
class Hit:
    call_id: str
    agent_id: str | None
    team: str | None
    started_at: datetime | None
    seconds: float  # the moment the link opens the call at
    homophone: bool = False  # matched only through a homophone (a recogniser's slip)
    lines: list[LineMatch] = field(default_factory=list)


@dataclass
class SearchPage:
    hits: list[Hit]
    next_after: str | None  # cursor of the next page; None: nothing more
    examined: int  # candidates read for this page


def _bounds(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _cursor(value: str) -> tuple[datetime, str]:
    stamp, sep, call_id = value.partition("|")
    try:
        if not sep:
            raise ValueError("no separator")
        return datetime.fromisoformat(stamp), call_id
    except ValueError as exc:
        raise CallQAError(f"after={value!r} is not a search position; start the search again") from exc


def _memberships(f: SearchFilter) -> list[tuple[str, Any]]:
    """The filters that are a set of calls: (name, the set's call ids as a subquery)."""
    sets: list[tuple[str, Any]] = []
    if f.rule:
        sets.append(("rule", select(Finding.call_id).where(Finding.rule_id == f.rule)))
    if f.category:
        sets.append(("category", select(Finding.call_id).where(Finding.category == f.category)))
    if f.verdict == "pending":
        sets.append(("verdict", select(ReviewItem.call_id).where(ReviewItem.status != "final")))
    elif f.verdict in ("violation", "no_violation"):
        sets.append(("verdict", select(ReviewItem.call_id).where(ReviewItem.outcome == f.verdict)))
    return sets


def common_sets(session: Session, f: SearchFilter) -> set[str]:
    """On SQLite, the filters whose set holds more than RARE rows (an index counts them, up to RARE + 1)."""
    if session.get_bind().dialect.name != "sqlite":
        return set()  # PostgreSQL's planner weighs them from its statistics
    return {name for name, calls in _memberships(f)
            if session.execute(select(func.count()).select_from(calls.limit(RARE + 1).subquery())
                               ).scalar_one() > RARE}


def candidates_stmt(f: SearchFilter, zone: tzinfo, key: str, among: list[str] | None = None,
                    walk: frozenset[str] | set[str] = frozenset()) -> Any:
    """Calls passing every filter (and whose sound text holds the phrase's), newest first. ``among``: the
    only calls holding the phrase, when the trigram index found them (review.search.index.phrase_calls);
    ``walk``: the filters holding many calls (common_sets)."""
    stmt = (select(Call.id, Call.started_at, Call.agent_id, Call.team, CallSearchText.transcript_id)
            .join(CallSearchText, CallSearchText.call_id == Call.id)
            # a call without a start time cannot be placed in time order (nor in a date range)
            .where(Call.started_at.is_not(None)))
    if among is not None:
        stmt = stmt.where(Call.id.in_(among))  # a few calls: sought by key, then sorted
    elif key:
        stmt = stmt.where(CallSearchText.sound.contains(key, autoescape=True))
    if f.agent:
        stmt = stmt.where(Call.agent_id == f.agent)
    if f.team:
        stmt = stmt.where(Call.team == f.team)
    if f.date_from:
        stmt = stmt.where(Call.started_at >= _bounds(f.date_from, zone))
    if f.date_to:
        stmt = stmt.where(Call.started_at < _bounds(f.date_to + timedelta(days=1), zone))
    # IN, not a correlated EXISTS (as the queue page does): SQLite would walk the findings per call
    for name, calls in _memberships(f):
        # a set holding many calls is only tested, while walking the calls newest first: SQLite would
        # otherwise collect and sort all of them (concatenating '' hides calls.id from its planner)
        stmt = stmt.where((Call.id.concat("") if name in walk else Call.id).in_(calls))
    if f.after:
        stamp, call_id = _cursor(f.after)
        stmt = stmt.where(or_(Call.started_at < stamp, and_(Call.started_at == stamp, Call.id < call_id)))
    return stmt.order_by(Call.started_at.desc(), Call.id.desc())


def _matcher(phrase: str) -> PhraseMatcher | None:
    if not phrase.strip():
        return None
    matcher = PhraseMatcher()
    try:
        # two characters suffice here (screening asks three): a reviewer looking for 催收 wants 崔收 too
        matcher.add(phrase.strip(), homophones=True, min_homophone_chars=2)
    except ValueError:
        return None
    return matcher


def _line(call: CallText, seg: int, span: tuple[int, int] | None, masked: bool) -> LineMatch:
    raw = call.raw[seg]
    shown = mask_text(raw) if masked else raw  # masking keeps the length: the span still applies
    a, b = span if span else (0, 0)
    return LineMatch(seg, call.starts[seg], call.roles[seg], shown[:a], shown[a:b], shown[b:])


def _phrase_hit(hit: Hit, call: CallText, matcher: PhraseMatcher, masked: bool) -> bool:
    found = matcher.find(call)
    if not found:
        return False
    seen: set[int] = set()
    for h in sorted(found, key=lambda h: (h.segment, h.start)):
        if h.segment in seen or len(seen) >= LINES_PER_HIT:
            continue
        seen.add(h.segment)
        span = original_span(call.raw[h.segment], h.start, h.end, call.cjk)
        hit.lines.append(_line(call, h.segment, span, masked))
    hit.homophone = all(h.homophone for h in found)
    hit.seconds = hit.lines[0].start_s
    return True


def _finding_moments(session: Session, f: SearchFilter, transcript_ids: list[int]) -> dict[int, Finding]:
    """The first finding (of the rule or category asked for) of each transcript's screenings."""
    stmt = (select(Screening.transcript_id, Finding).join(Finding, Finding.screening_id == Screening.id)
            .where(Screening.transcript_id.in_(transcript_ids)))
    if f.rule:
        stmt = stmt.where(Finding.rule_id == f.rule)
    if f.category:
        stmt = stmt.where(Finding.category == f.category)
    first: dict[int, Finding] = {}
    for tid, finding in session.execute(stmt):
        if finding.start is not None and (tid not in first or finding.start < (first[tid].start or 0.0)):
            first[tid] = finding
    return first


def search(session: Session, f: SearchFilter, zone: tzinfo, is_masked: Callable[[str], bool],
           page_size: int = PAGE_SIZE) -> SearchPage:
    """One page of hits after ``f.after``."""
    if session.get_bind().dialect.name != "postgresql":
        return _search(session, f, zone, is_masked, page_size)
    settings = {
        # a page wants its first rows: parallel workers cost more to start on a busy machine (~100 ms)
        # than the walk they would share, and each overruns the page
        "max_parallel_workers_per_gather": "0",
        # the best plan hangs on the values (one agent's 250 calls, a phrase in every call): a generic
        # plan, which psycopg's prepared statements get after a few runs, took 285 ms instead of 25
        "plan_cache_mode": "force_custom_plan",
    }
    before = {name: session.execute(text("SELECT current_setting(:n)"), {"n": name}).scalar_one()
              for name in settings}
    for name, value in settings.items():
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    page = _search(session, f, zone, is_masked, page_size)
    # back for the rest of the request (a failed search rolls back, and these local settings with it)
    for name, value in before.items():
        session.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
    return page


def _search(session: Session, f: SearchFilter, zone: tzinfo, is_masked: Callable[[str], bool],
            page_size: int) -> SearchPage:
    matcher = _matcher(f.phrase)
    key = phrase_key(f.phrase) if matcher else ""
    among = phrase_calls(session, key) if key else None
    if among == []:  # the index knows no call holding the phrase
        return SearchPage([], None, 0)
    walk = common_sets(session, f)
    hits: list[Hit] = []
    examined = 0
    cursor = f.after
    batch = BATCH if matcher else page_size
    for _ in range(MAX_BATCHES if matcher else 1):
        rows = session.execute(candidates_stmt(SearchFilter(**{**f.__dict__, "after": cursor}), zone, key, among,
                                               walk).limit(batch)).all()
        docs: dict[int, Any] = dict(session.execute(select(Transcript.id, Transcript.document)
                                    .where(Transcript.id.in_([r.transcript_id for r in rows]))).all())
        moments = {} if matcher else _finding_moments(session, f, [r.transcript_id for r in rows])
        for row in rows:
            examined += 1
            cursor = f"{row.started_at.isoformat()}|{row.id}"
            doc = docs.get(row.transcript_id) or {}
            segments = list(doc.get("segments") or [])
            if not segments:
                continue
            call = CallText.from_segments(segments, doc.get("language"))
            hit = Hit(row.id, row.agent_id, row.team, row.started_at, 0.0)
            if matcher is not None:
                if not _phrase_hit(hit, call, matcher, is_masked(row.id)):
                    continue
            else:
                finding = moments.get(row.transcript_id)
                seg = finding.segment_index if finding and finding.segment_index is not None else 0
                seg = min(max(seg, 0), len(segments) - 1)
                hit.seconds = finding.start if finding and finding.start is not None else call.starts[seg]
                hit.lines.append(_line(call, seg, None, is_masked(row.id)))
            hits.append(hit)
            if len(hits) >= page_size:
                return SearchPage(hits, cursor, examined)
        if len(rows) < batch:
            return SearchPage(hits, None, examined)
    return SearchPage(hits, cursor, examined)
