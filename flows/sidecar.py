"""Call metadata sidecars: a JSON or CSV file beside the recordings.

Two shapes are read, both optional:
- a folder-level ``metadata.csv`` or ``metadata.json`` with one row per recording, matched by its
  ``file`` column (the recording's file name) or by ``call_id`` equal to the file's stem;
- a per-recording ``<file>.json`` or ``<stem>.json`` holding one object.

Columns: ``call_id``, ``agent_id``, ``debtor_id``, ``started_at`` (ISO-8601; a time without an
offset is read in the site's time zone), ``direction`` (inbound/outbound), ``channel_layout``
(agent_left, agent_right or mono). Other columns (team, phone_number, timezone, language,
answered) are kept as they are.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from callqa.errors import IngestError

FOLDER_SIDECARS = ("metadata.json", "metadata.csv")
DIRECTIONS = {"inbound", "outbound"}
LAYOUTS = {"agent_left": {"agent": 0, "customer": 1}, "agent_right": {"agent": 1, "customer": 0}, "mono": None}
LAYOUT_ALIASES = {"stereo": "agent_left", "left_agent": "agent_left", "right_agent": "agent_right",
                  "agent-left": "agent_left", "agent-right": "agent_right", "": "agent_left"}
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class CallMetadata:
    call_id: str
    agent_id: str | None = None
    debtor_id: str | None = None
    started_at: str | None = None  # ISO-8601 with offset
    direction: str | None = None
    channel_layout: str = "agent_left"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def channels(self) -> dict[str, int] | None:
        return LAYOUTS[self.channel_layout]

    def to_dict(self) -> dict[str, Any]:
        """The metadata the transcriber and the store receive."""
        data = asdict(self)
        extra = data.pop("extra")
        data["channels"] = self.channels
        return {**extra, **data}


def call_id_from_name(name: str) -> str:
    """A call id from a file name when the sidecar gives none: its stem, made URL-safe."""
    return _SAFE_ID.sub("_", PurePosixPath(name).stem).strip("_") or "call"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_started_at(value: str, site_timezone: str, where: str) -> str:
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise IngestError(f"{where}: started_at {value!r} is not an ISO-8601 time; "
                          "write it like 2026-11-27T09:12:00+08:00") from exc
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=ZoneInfo(site_timezone))
    return stamp.isoformat()


def normalise_row(row: dict[str, Any], file_name: str, site_timezone: str, where: str) -> CallMetadata:
    """Check one sidecar row and turn it into CallMetadata; IngestError names the row and the field."""
    row = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
    direction = (_text(row.pop("direction", None)) or "").lower() or None
    if direction is not None and direction not in DIRECTIONS:
        raise IngestError(f"{where}: direction {direction!r} must be one of {sorted(DIRECTIONS)}")
    layout = (_text(row.pop("channel_layout", None)) or "").lower()
    layout = LAYOUT_ALIASES.get(layout, layout)
    if layout not in LAYOUTS:
        raise IngestError(f"{where}: channel_layout {layout!r} must be one of {sorted(LAYOUTS)}")
    started = _text(row.pop("started_at", None))
    row.pop("file", None)
    return CallMetadata(
        call_id=_text(row.pop("call_id", None)) or call_id_from_name(file_name),
        agent_id=_text(row.pop("agent_id", None)),
        debtor_id=_text(row.pop("debtor_id", None)),
        started_at=parse_started_at(started, site_timezone, where) if started else None,
        direction=direction,
        channel_layout=layout,
        extra={k: v for k, v in row.items() if v not in (None, "")},
    )


def parse_rows(text: str, kind: str, where: str) -> list[dict[str, Any]]:
    """Rows of a sidecar file; ``kind`` is ``json`` or ``csv``."""
    if kind == "csv":
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        return [dict(r) for r in reader]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{where}: not valid JSON ({exc}); fix the file or remove it") from exc
    if isinstance(data, dict) and isinstance(data.get("calls"), list):
        data = data["calls"]
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        # {"file.wav": {...}, ...}
        return [{"file": name, **row} for name, row in data.items()]
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return data
    raise IngestError(f"{where}: expected an object, a list of objects or {{\"calls\": [...]}}")


@dataclass
class SidecarIndex:
    """The folder-level rows of one folder, looked up by file name or stem."""

    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]], source: str) -> SidecarIndex:
        index = cls(source=source)
        for number, row in enumerate(rows, start=1):
            key = _text(row.get("file")) or _text(row.get("call_id"))
            if key is None:
                raise IngestError(f"{source} row {number}: needs a 'file' or 'call_id' value")
            index.by_name[PurePosixPath(key).name] = row
        return index

    def row_for(self, file_name: str) -> dict[str, Any] | None:
        return self.by_name.get(file_name) or self.by_name.get(PurePosixPath(file_name).stem)
