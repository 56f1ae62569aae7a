"""Prior calls for the cross-call frequency rules, from the store and from the batch at hand."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from review.store.models import Call, Finding

# how far back history_for reads stored calls: Regulation F's 7 days, and a month for earlier
# requests (stop calling, inconvenient time, stop contacting me) that later calls must honour
LOOKBACK_DAYS = 30


@dataclass(frozen=True)
class CallHistory:
    """What the frequency rules need to know about one call."""

    call_id: str
    started_at: datetime | None  # timezone-aware
    debtor_id: str | None
    phone_number: str | None
    answered: bool | None
    direction: str | None
    timezone: str | None
    # what the call-pattern rules (review.screening.conditions) read; defaults keep old callers working
    debt_id: str | None = None  # the particular debt (Regulation F counts calls per debt)
    connected: bool | None = None  # False: busy, not in service, never reached the dialled number
    consented: bool = False  # placed with the person's prior consent (a callback they asked for)
    flags: frozenset[str] = frozenset()  # metadata keys set to true, plus "finding:RULE" for stored findings

    @property
    def outbound(self) -> bool:
        return (self.direction or "outbound") != "inbound"

    @classmethod
    def from_transcript(cls, transcript: Mapping[str, Any]) -> CallHistory:
        meta = transcript.get("metadata") or {}
        return cls.from_mapping({**meta, "call_id": transcript.get("call_id") or meta.get("call_id"),
                                 "started_at": transcript.get("started_at") or meta.get("started_at")})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CallHistory:
        answered = data.get("answered")
        return cls(
            call_id=str(data.get("call_id") or ""),
            started_at=parse_time(data.get("started_at")),
            debtor_id=_text(data.get("debtor_id")),
            phone_number=_text(data.get("phone_number")),
            answered=None if answered is None else bool(answered),
            direction=_text(data.get("direction")),
            timezone=_text(data.get("timezone")),
            debt_id=_text(data.get("debt_id")),
            connected=None if data.get("connected") is None else bool(data.get("connected")),
            consented=bool(data.get("consented")),
            flags=_flags(data),
        )


def _flags(data: Mapping[str, Any], findings: Iterable[str] = ()) -> frozenset[str]:
    """Metadata keys whose value is true, and "finding:RULE" for each finding the call had."""
    names = {str(k) for k, v in data.items() if v is True}
    names.update(f"finding:{rule_id}" for rule_id in list(data.get("findings") or []) + list(findings))
    return frozenset(names)


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from ISO-8601 text or a datetime; naive values are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def history_for(session: Session, transcripts: Iterable[Mapping[str, Any]]) -> list[CallHistory]:
    """Stored calls to the same debtors or numbers as ``transcripts``, plus the batch itself.

    A call that is both stored and in the batch is counted once (the batch's
    metadata wins, being the newer word on it).
    """
    batch = [CallHistory.from_transcript(t) for t in transcripts]
    debtors = {c.debtor_id for c in batch if c.debtor_id}
    numbers = {c.phone_number for c in batch if c.phone_number}
    times = [c.started_at for c in batch if c.started_at]
    merged: dict[str, CallHistory] = {}
    if (debtors or numbers) and times:
        # the widest window any rule looks back (LOOKBACK_DAYS: a stop request a month old still
        # counts) plus a day for time zones, in UTC as the store keeps it (SQLite compares the text)
        since = (min(times) - timedelta(days=LOOKBACK_DAYS + 1)).astimezone(UTC)
        until = (max(times) + timedelta(days=1)).astimezone(UTC)
        conditions = []
        if debtors:
            conditions.append(Call.debtor_id.in_(sorted(debtors)))
        if numbers:
            conditions.append(Call.phone_number.in_(sorted(numbers)))
        query = select(Call).where(or_(*conditions), Call.started_at >= since, Call.started_at <= until)
        calls = list(session.scalars(query))
        found: dict[str, set[str]] = {}
        if calls:
            rows = session.execute(select(Finding.call_id, Finding.rule_id)
                                   .where(Finding.call_id.in_([c.id for c in calls])))
            for call_id, rule_id in rows:
                found.setdefault(call_id, set()).add(rule_id)
        for call in calls:
            meta = call.metadata_json or {}
            merged[call.id] = CallHistory(
                call_id=call.id,
                started_at=parse_time(call.started_at),
                debtor_id=call.debtor_id,
                phone_number=call.phone_number,
                answered=call.answered,
                direction=call.direction or _text(meta.get("direction")),
                timezone=call.timezone or _text(meta.get("timezone")),
                debt_id=_text(meta.get("debt_id")),
                connected=None if meta.get("connected") is None else bool(meta.get("connected")),
                consented=bool(meta.get("consented")),
                flags=_flags(meta, found.get(call.id, ())),
            )
    for index, item in enumerate(batch):
        merged[item.call_id or f"batch-{index}"] = item
    return list(merged.values())
