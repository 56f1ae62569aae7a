"""What a night has to do: new inbox files plus calls an earlier, interrupted run left unfinished."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings
from flows.discovery import Ledger, discover
from flows.steps import WorkItem

UNFINISHED = ("registered", "transcribed")
FINISHED = ("screened", "deleted")
QUARANTINED = "quarantined:"


@dataclass
class NightPlan:
    items: list[WorkItem] = field(default_factory=list)
    discovered: int = 0
    already_done: int = 0
    previously_quarantined: int = 0
    resumed: int = 0


def ledger_for(settings: Settings) -> Ledger:
    return Ledger(settings.home / "state" / "ingested.jsonl")


def plan_night(settings: Settings, factory: sessionmaker[Session], inbox: str) -> NightPlan:
    """List the inbox, drop what is known to be done, add unfinished calls from the store."""
    from review.store.db import session_scope
    from review.store.models import Call

    found = discover(inbox, settings.flows.timezone)
    ledger = ledger_for(settings)
    plan = NightPlan(discovered=len(found))
    known = {item.source.url: ledger.get(item.source) for item in found}
    shas = [sha for sha in known.values() if sha and not sha.startswith(QUARANTINED)]
    with session_scope(factory) as session:
        status_by_sha: dict[str, str] = {}
        for start in range(0, len(shas), 500):
            chunk = shas[start:start + 500]
            for sha, status in session.execute(
                    select(Call.recording_sha256, Call.status).where(Call.recording_sha256.in_(chunk))):
                status_by_sha[sha] = status
        unfinished = list(session.execute(
            select(Call.id, Call.recording_sha256, Call.metadata_json)
            .where(Call.status.in_(UNFINISHED)).order_by(Call.id)))
    in_inbox: set[str] = set()
    urls = {item.source.url for item in found}
    for item in found:
        sha = known[item.source.url] or ""
        if sha.startswith(QUARANTINED):
            plan.previously_quarantined += 1
            continue
        if sha and status_by_sha.get(sha) in FINISHED:
            plan.already_done += 1
            continue
        if sha:
            in_inbox.add(sha)
        plan.items.append(WorkItem(name=item.source.name, source=item.source,
                                   metadata=item.metadata.to_dict() if item.metadata else None,
                                   metadata_error=item.error))
    for call_id, sha, metadata in unfinished:
        # a file still in the inbox is picked up from there; the store finds its call by SHA-256
        if sha not in in_inbox and (metadata or {}).get("source") not in urls:
            plan.items.append(WorkItem(name=call_id, call_id=call_id))
            plan.resumed += 1
    return plan
