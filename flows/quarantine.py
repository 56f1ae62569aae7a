"""The quarantine folder: where a recording that failed goes, with a file saying why.

Layout: ``$CALLQA_HOME/quarantine/<YYYY-MM-DD>/<file>`` and ``<file>.reason.txt``. The inbox
copy is left in place (the ledger stops the next night from retrying it unchanged); drop a
fixed file, or run ``callqa backfill --retranscribe``, to try again.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import fsspec
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quarantined:
    folder: Path
    recording: Path | None  # None when the file could not even be copied
    reason_file: Path


def _free_name(folder: Path, name: str, sha256: str | None) -> Path:
    target = folder / name
    if target.exists() and sha256:
        target = folder / f"{sha256[:12]}-{name}"
    return target


def quarantine(settings: Settings, factory: sessionmaker[Session] | None, *, name: str, reason: str,
               source_url: str | None = None, local_path: Path | None = None, call_id: str | None = None,
               sha256: str | None = None) -> Quarantined:
    """Copy the recording into quarantine, write the reason file, mark the call failed, audit it."""
    folder = settings.quarantine_dir / datetime.now(UTC).strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    free = _free_name(folder, name, sha256)
    target: Path | None = free
    try:
        if local_path is not None and local_path.exists():
            shutil.copyfile(local_path, free)
        elif source_url is not None:
            fs, path = fsspec.core.url_to_fs(source_url)
            fs.get_file(path, str(free))
        else:
            target = None
    except OSError as exc:  # the reason file still tells the operator what happened
        reason = f"{reason}\n(could not copy the recording into quarantine: {exc})"
        target = None
    reason_file = folder / f"{(target.name if target else name)}.reason.txt"
    reason_file.write_text(
        f"recording: {source_url or local_path}\ncall id: {call_id or '-'}\nsha256: {sha256 or '-'}\n"
        f"quarantined at: {datetime.now(UTC).isoformat(timespec='seconds')}\nreason: {reason}\n",
        encoding="utf-8",
    )
    if factory is not None:
        _record(factory, name=name, reason=reason, call_id=call_id, sha256=sha256,
                target=target, reason_file=reason_file, source_url=source_url)
    return Quarantined(folder, target, reason_file)


def _record(factory: sessionmaker[Session], *, name: str, reason: str, call_id: str | None, sha256: str | None,
            target: Path | None, reason_file: Path, source_url: str | None) -> None:
    from review.audit import chain as audit
    from review.store.db import session_scope
    from review.store.models import Call

    try:
        with session_scope(factory) as session:
            known = session.get(Call, call_id) if call_id else None
            registered = known is not None and known.recording_sha256 == sha256
            if registered:
                from review.calls.repo import mark_failed

                mark_failed(session, call_id, reason)  # type: ignore[arg-type]
            audit.append(session, "quarantined", call_id=call_id if registered else None,
                         recording_sha256=sha256,
                         payload={"file": name, "source": source_url, "reason": reason,
                                  "quarantine_path": str(target or reason_file)})
    except Exception as exc:  # noqa: BLE001 - the reason file is on disk; the night goes on
        log.error("quarantined %s but could not record it in the database: %s", name, exc)
