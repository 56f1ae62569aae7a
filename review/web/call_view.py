"""The call page's data: who may see a call, and its transcript with findings placed in the text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callqa.errors import NotFoundError, PermissionDeniedError
from review.calls.repo import current_findings
from review.privacy import mask_text, mask_value
from review.queue.base import took_part
from review.queue.lifecycle import disputed_findings
from review.store.models import Appeal, Call, Finding, ReviewItem, Transcript, User, Verdict
from review.web.acoustic_view import KEEP_S, AcousticTrack, acoustic_track, quiet_stretches, skip_ranges
from review.web.i18n import N_

SEE_ALL_ROLES = ("supervisor", "compliance", "admin")
REASON_CODES = {
    "confirmed": [("clear", N_("clear violation")), ("partial", N_("partly, still a violation")),
                  ("repeated", N_("repeated in the call"))],
    "false_positive": [("asr_error", N_("transcription error")), ("negated", N_("negated or quoted")),
                       ("wrong_speaker", N_("said by the customer")), ("context", N_("harmless in context")),
                       ("rule_too_broad", N_("rule too broad")), ("other", N_("other"))],
}


@dataclass
class Piece:
    text: str
    finding_ids: tuple[int, ...] = ()


@dataclass
class LineView:
    index: int
    role: str
    start: float
    end: float
    pieces: list[Piece]
    low_confidence: bool
    finding_ids: list[int] = field(default_factory=list)


@dataclass
class VerdictView:
    finding_id: int | None
    stage: str
    decision: str
    reason_code: str
    comment: str
    reviewer: str
    reviewer_id: int
    created_at: datetime


@dataclass
class FindingView:
    id: int
    rule_id: str
    category: str
    severity: str
    urgent: bool
    start: float | None
    end: float | None
    segment_index: int | None
    evidence: str
    citation: str
    verdicts: list[VerdictView] = field(default_factory=list)
    reviewable: bool = False  # the signed-in reviewer decides it now
    semantic: dict[str, Any] | None = None  # score, nearest exemplars, model: why the semantic stage flagged it
    title: str = ""  # the rule's title in its pack
    call_level: bool = False  # about the call as a whole (something missing, hours, frequency): no moment to seek
    number: int = 0  # its number on the waveform picture (moments only)


@dataclass
class DisputedFinding:
    """One row of the dispute form: the finding and what each reviewer said about it."""
    finding: FindingView
    first: VerdictView | None
    second: VerdictView | None


@dataclass
class CallView:
    call: Call
    item: ReviewItem | None
    lines: list[LineView]
    findings: list[FindingView]
    sample_verdicts: list[VerdictView]
    appeal: Appeal | None
    appeal_by: str | None
    ruled_by: str | None  # the supervisor who ruled on the appeal
    can_rule: bool  # the viewer is a supervisor (or admin) who took no part in the item
    can_settle: bool  # the item is disputed and the viewer may settle it
    masked: bool
    metadata: list[tuple[str, str]]
    duration_s: float
    can_review: bool
    stage: str
    disputed_ids: list[int]  # confirmed critical findings a second reviewer disputed
    can_appeal: bool
    blind: bool = False  # the viewer holds this item's blind agreement check: first verdicts and outcome hidden
    track: AcousticTrack | None = None  # silence and overtalk under the waveform; None without acoustic features
    skip: list[list[float]] = field(default_factory=list)  # [from, to]: where "skip silence" jumps
    skip_keep: float = KEEP_S  # each [from, to] is its quiet stretch less this at both edges

    def disputed(self) -> list[DisputedFinding]:
        """The disputed findings only, in the page's order, each with its first and second verdict."""
        def last(f: FindingView, stage: str) -> VerdictView | None:
            return next((v for v in reversed(f.verdicts) if v.stage == stage), None)
        return [DisputedFinding(f, last(f, "first"), last(f, "second"))
                for f in self.findings if f.id in self.disputed_ids]


def _local(ts: datetime | None, zone: tzinfo) -> str | None:
    """The time in the site's zone with its offset (never bare UTC)."""
    if ts is None:
        return None
    aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    local = aware.astimezone(zone)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M ") + f"{offset[:3]}:{offset[3:]}"


def may_see(user: User, call: Call, item: ReviewItem | None) -> bool:
    if user.role in SEE_ALL_ROLES:
        return True
    if user.agent_id and call.agent_id == user.agent_id:
        return False  # nobody reviews their own calls
    if item is None:
        return False
    if user.id in (item.assignee_id, item.first_reviewer_id, item.second_reviewer_id):
        return True
    return bool(user.leads_team) and item.team == user.leads_team


def load_call(session: Session, user: User, call_id: str) -> tuple[Call, ReviewItem | None]:
    """The call and its review item if the user may see it; NotFound and PermissionDenied otherwise."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFoundError(f"call {call_id!r} does not exist")
    item = session.execute(select(ReviewItem).where(ReviewItem.call_id == call_id)).scalar_one_or_none()
    if not may_see(user, call, item):
        raise PermissionDeniedError(
            f"call {call_id!r} is not yours to see; claim its review item or ask a supervisor")
    return call, item


def _evidence_span(text: str, evidence: str) -> tuple[int, int]:
    if evidence:
        at = text.find(evidence)
        if at < 0:
            at = text.lower().find(evidence.lower())
        if at >= 0:
            return at, at + len(evidence)
    return 0, len(text)  # matched through pinyin or normalisation: mark the whole line


def _segment_for(segments: list[dict[str, Any]], f: Finding) -> int | None:
    if f.segment_index is not None and 0 <= f.segment_index < len(segments):
        return f.segment_index
    if f.start is None:
        return None
    best, best_overlap = None, 0.0
    f_end = f.end if f.end is not None else f.start
    for i, s in enumerate(segments):
        overlap = min(float(s["end"]), f_end) - max(float(s["start"]), f.start)
        if overlap >= best_overlap and float(s["start"]) <= f_end and float(s["end"]) >= f.start:
            best, best_overlap = i, overlap
    return best


CALL_LEVEL_CATEGORIES = frozenset({"missing_self_identification", "missing_recording_notice",
                                   "missing_debt_collector_disclosure", "calling_hours", "call_frequency"})


def is_call_level(f: Finding) -> bool:
    """A finding about the whole call (absence, hours, frequency) rather than a moment in it."""
    if f.segment_index is not None:
        return False
    return f.category in CALL_LEVEL_CATEGORIES or f.start is None or not f.start


def moments(findings: list[Finding]) -> list[Finding]:
    """The findings that have a moment, in time order: numbered 1.. on the picture and the page."""
    return sorted((f for f in findings if not is_call_level(f)), key=lambda f: (f.start or 0.0, f.id))


def _lines(segments: list[dict[str, Any]], findings: list[Finding], masked: bool) -> list[LineView]:
    owners: dict[int, list[set[int]]] = {}
    for f in findings:
        if is_call_level(f):
            continue
        index = _segment_for(segments, f)
        if index is None:
            continue
        text = segments[index].get("text") or ""
        marks = owners.setdefault(index, [set() for _ in text])
        lo, hi = _evidence_span(text, f.evidence)
        for pos in range(lo, hi):
            marks[pos].add(f.id)
    lines = []
    for i, s in enumerate(segments):
        raw = s.get("text") or ""
        # masking keeps the length, so offsets found on the raw text still apply
        shown = mask_text(raw) if masked else raw
        line_marks = owners.get(i)
        pieces: list[Piece] = []
        if not line_marks:
            pieces.append(Piece(shown))
        else:
            marks = line_marks
            run_start = 0
            for pos in range(1, len(shown) + 1):
                if pos == len(shown) or marks[pos] != marks[run_start]:
                    pieces.append(Piece(shown[run_start:pos], tuple(sorted(marks[run_start]))))
                    run_start = pos
        ids = sorted(set().union(*line_marks)) if line_marks else []
        lines.append(LineView(index=i, role=str(s.get("role", "unknown")), start=float(s.get("start", 0.0)),
                              end=float(s.get("end", 0.0)), pieces=pieces,
                              low_confidence=bool(s.get("low_confidence")), finding_ids=ids))
    return lines


def _verdicts(session: Session, item: ReviewItem | None) -> list[VerdictView]:
    if item is None:
        return []
    rows = session.execute(
        select(Verdict, User.username).join(User, User.id == Verdict.reviewer_id)
        .where(Verdict.item_id == item.id).order_by(Verdict.created_at, Verdict.id))
    return [VerdictView(v.finding_id, v.stage, v.decision, v.reason_code, v.comment, name, v.reviewer_id,
                        v.created_at) for v, name in rows]


def latest_transcript(session: Session, call_id: str) -> Transcript | None:
    return session.execute(select(Transcript).where(Transcript.call_id == call_id)
                           .order_by(Transcript.id.desc()).limit(1)).scalar_one_or_none()


def build_call_view(session: Session, user: User, call: Call, item: ReviewItem | None,
                    masked: bool, zone: tzinfo = UTC, titles: dict[str, str] | None = None) -> CallView:
    transcript = latest_transcript(session, call.id)
    document: dict[str, Any] = transcript.document if transcript else {}
    segments = list(document.get("segments") or [])
    findings = sorted(current_findings(session, call.id), key=lambda f: (f.start is None, f.start or 0.0, f.id))
    verdicts = _verdicts(session, item)
    blind = item is not None and item.agreement_check == "claimed" and item.assignee_id == user.id
    can_review = (item is not None and item.status == "claimed" and item.assignee_id == user.id) or blind
    critical_confirmed: set[int] = {v.finding_id for v in verdicts if v.finding_id is not None
                                    and v.stage == "first" and v.decision == "confirmed"
                                    and any(f.id == v.finding_id and f.severity == "critical" for f in findings)}
    stage = "second" if blind else item.stage if item is not None else "first"
    if blind:  # review.queue.agreement: the second reviewer decides without seeing the first verdicts
        verdicts = [v for v in verdicts if v.stage == "second" and v.reviewer_id == user.id]
    numbers = {f.id: n for n, f in enumerate(moments(findings), start=1)}
    views = []
    for f in findings:
        views.append(FindingView(call_level=is_call_level(f), number=numbers.get(f.id, 0),
            id=f.id, rule_id=f.rule_id, title=(titles or {}).get(f.rule_id, ""), category=f.category, severity=f.severity, urgent=f.urgent,
            start=f.start, end=f.end, segment_index=f.segment_index,
            evidence=mask_text(f.evidence) if masked else f.evidence, citation=f.citation,
            semantic=f.semantic, verdicts=[v for v in verdicts if v.finding_id == f.id],
            reviewable=can_review and item is not None and item.kind == "flagged"
            and (stage == "first" or blind or f.id in critical_confirmed)))
    appeal, appeal_by = None, None
    if item is not None and not blind:  # an appeal would tell the blind reviewer the outcome
        row = session.execute(select(Appeal, User.username).join(User, User.id == Appeal.appellant_id)
                              .where(Appeal.item_id == item.id)).first()
        if row is not None:
            appeal, appeal_by = row[0], row[1]
    ruled_by = session.get(User, appeal.ruled_by_id).username if appeal and appeal.ruled_by_id else None  # type: ignore[union-attr]
    supervisor = user.active and user.role in ("supervisor", "admin")
    part = took_part(session, item, user) if item is not None and supervisor else "n/a"
    can_rule = appeal is not None and appeal.ruling is None and supervisor and part is None
    can_settle = item is not None and item.status == "disputed" and supervisor and part is None
    shown_meta = {"agent": call.agent_id, "team": call.team, "debtor": call.debtor_id,
                  "phone": call.phone_number, "direction": call.direction, "language": call.language,
                  "dialect": call.dialect, "started": None,
                  "timezone": call.timezone, "status": call.status}
    if masked:
        shown_meta = mask_value(shown_meta)
    shown_meta["started"] = _local(call.started_at, zone)  # a time, not a number to mask
    can_appeal = (item is not None and appeal is None and item.status == "final"
                  and item.outcome == "violation" and bool(user.leads_team) and user.leads_team == item.team)
    duration = float(call.duration_s or document.get("duration_s") or 0.0)
    disputed = [f.id for f in disputed_findings(session, item, None, findings)] \
        if item is not None and item.status == "disputed" else []
    return CallView(
        call=call, item=item, lines=_lines(segments, findings, masked), findings=views,
        sample_verdicts=[v for v in verdicts if v.finding_id is None], appeal=appeal, appeal_by=appeal_by,
        ruled_by=ruled_by, can_rule=can_rule, can_settle=can_settle,
        masked=masked, metadata=[(k, str(v)) for k, v in shown_meta.items() if v not in (None, "")],
        duration_s=duration, can_review=can_review, stage=stage, disputed_ids=sorted(disputed),
        can_appeal=can_appeal and not blind, blind=blind, track=acoustic_track(document, duration),
        skip=skip_ranges(quiet_stretches(document, duration)))


def calls_seen_by(user: User) -> Any:
    """A WHERE clause limiting review items to those the user may open (for lists)."""
    if user.role in SEE_ALL_ROLES:
        return None
    return or_(ReviewItem.assignee_id == user.id, ReviewItem.first_reviewer_id == user.id,
               ReviewItem.second_reviewer_id == user.id)


def open_findings(view: CallView, user_id: int) -> list[int]:
    """The findings (0 for a sample's call verdict) the viewer must still decide before submitting."""
    if not view.can_review:
        return []
    if view.item is not None and view.item.kind == "sample":
        mine = [v for v in view.sample_verdicts if v.reviewer_id == user_id and v.stage == view.stage]
        return [] if mine else [0]
    return [f.id for f in view.findings if f.reviewable
            and not any(v.reviewer_id == user_id and v.stage == view.stage for v in f.verdicts)]

