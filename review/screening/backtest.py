"""Replay a new or changed pack over stored transcripts before it goes live.

For each call's newest transcript the candidate pack's findings are compared
with those of the latest stored screening by a pack of the same name: a call
gains a finding the stored version did not have, or loses one it had.
Findings are compared by rule id and segment (calls with no stored screening
by that pack count every finding as gained).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqa.errors import TranscriptSchemaError
from review.screening.engine import Screener
from review.screening.history import history_for
from review.screening.rules import RulePack
from review.store.models import Finding, Screening, Transcript
from transcriber.schema import validate

FindingKey = tuple[str, int | None]  # rule id, segment index (None: about the whole call)


@dataclass
class CallChange:
    call_id: str
    transcript_id: int
    baseline_version: str | None  # the stored pack version compared against; None: never screened by it
    gained: list[FindingKey]
    lost: list[FindingKey]


@dataclass
class BacktestReport:
    pack: str
    version: str
    calls: int = 0
    calls_with_findings: int = 0
    changes: list[CallChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def gained_calls(self) -> int:
        return sum(1 for c in self.changes if c.gained)

    @property
    def lost_calls(self) -> int:
        return sum(1 for c in self.changes if c.lost)


def _newest_transcripts(session: Session, limit: int | None) -> list[Transcript]:
    newest = select(func.max(Transcript.id)).group_by(Transcript.call_id)
    query = select(Transcript).where(Transcript.id.in_(newest)).order_by(Transcript.id)
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def _baseline(session: Session, transcript_id: int, pack: str) -> tuple[str | None, set[FindingKey]]:
    screening = session.scalars(
        select(Screening).where(Screening.transcript_id == transcript_id, Screening.pack == pack)
        .order_by(Screening.created_at.desc(), Screening.id.desc()).limit(1)
    ).first()
    if screening is None:
        return None, set()
    rows = session.execute(select(Finding.rule_id, Finding.segment_index).where(Finding.screening_id == screening.id))
    return screening.pack_version, {(rule_id, segment) for rule_id, segment in rows}


def backtest(session: Session, pack: RulePack, limit: int | None = None) -> BacktestReport:
    """Screen the stored transcripts with ``pack`` and report which calls would change."""
    report = BacktestReport(pack.name, pack.version)
    transcripts = _newest_transcripts(session, limit)
    documents = []
    for row in transcripts:
        try:
            validate(row.document, f"stored transcript {row.id} of call {row.call_id}")
            documents.append(row)
        except TranscriptSchemaError as exc:
            report.errors.append(str(exc))
    history = history_for(session, [row.document for row in documents])
    screener = Screener([pack])
    for row in documents:
        report.calls += 1
        result = screener.screen(row.document, history)[0]
        new = {(f.rule_id, f.segment_index) for f in result.findings}
        if new:
            report.calls_with_findings += 1
        version, old = _baseline(session, row.id, pack.name)
        gained, lost = sorted(new - old, key=str), sorted(old - new, key=str)
        if gained or lost:
            report.changes.append(CallChange(row.call_id, row.id, version, gained, lost))
    return report
