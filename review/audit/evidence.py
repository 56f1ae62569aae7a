"""Evidence packs: one call's record as a zip that anyone can check offline.

The pack holds the call (with the recording's SHA-256), its transcripts, the
machine findings, the human verdicts and appeals, every audit-chain entry of
that call, and ``manifest.json`` with the SHA-256 of each file. ``verify_pack``
recomputes every file hash and every entry hash, and ties the contents to the
chain: each transcript must hash to what its "transcribed" entry recorded, the
findings of each screening to their "screened" entry, each verdict to its
"verdict" entry. The export itself is logged with the manifest's hash, and the
manifest names the chain head at export time, so the pack can later be
matched against the live chain (``callqa audit verify``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.errors import AuditChainError, NotFoundError
from callqa.hashing import sha256_json, sha256_of
from review.audit import chain as audit
from review.store.models import Appeal, AuditEvent, Call, Finding, ReviewItem, Screening, Transcript, Verdict
from review.store.serialise import finding_dict

FORMAT = "callqa-evidence-pack/1"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest_sha256: str
    files: dict[str, str]
    entries: int


@dataclass
class PackVerifyResult:
    path: Path
    call_id: str | None = None
    recording_sha256: str | None = None
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_broken(self) -> None:
        if self.problems:
            raise AuditChainError(f"evidence pack {self.path} does not verify: {self.problems[0]}")


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)).isoformat(timespec="microseconds")


def _entry_dict(e: AuditEvent) -> dict[str, Any]:
    return {"id": e.id, "seq": e.seq, "ts": _iso(e.ts), "kind": e.kind, "actor": e.actor, "call_id": e.call_id,
            "recording_sha256": e.recording_sha256, "payload": e.payload, "prev_hash": e.prev_hash,
            "content_hash": e.content_hash, "entry_hash": e.entry_hash}


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str).encode()


def _call_files(session: Session, call: Call) -> dict[str, bytes]:
    files: dict[str, bytes] = {
        "call.json": _dump({"id": call.id, "recording_sha256": call.recording_sha256,
                            "recording_path": call.recording_path, "started_at": _iso(call.started_at),
                            "duration_s": call.duration_s, "agent_id": call.agent_id, "team": call.team,
                            "language": call.language, "dialect": call.dialect, "status": call.status,
                            "metadata": call.metadata_json}),
    }
    for t in session.execute(select(Transcript).where(Transcript.call_id == call.id).order_by(Transcript.id)).scalars():
        files[f"transcripts/{t.id}.json"] = _dump({"id": t.id, "model_key": t.model_key, "document": t.document})
    screenings = session.execute(select(Screening).where(Screening.call_id == call.id).order_by(Screening.id)).scalars()
    findings = session.execute(select(Finding).where(Finding.call_id == call.id).order_by(Finding.id)).scalars()
    files["findings.json"] = _dump({
        "screenings": [{"id": s.id, "transcript_id": s.transcript_id, "pack": s.pack, "pack_version": s.pack_version}
                       for s in screenings],
        "findings": [finding_dict(f) for f in findings],
    })
    item = session.execute(select(ReviewItem).where(ReviewItem.call_id == call.id)).scalar_one_or_none()
    review: dict[str, Any] = {"item": None, "verdicts": [], "appeals": []}
    if item is not None:
        review["item"] = {"id": item.id, "kind": item.kind, "status": item.status, "stage": item.stage,
                          "outcome": item.outcome, "decided_at": _iso(item.decided_at)}
        review["verdicts"] = [
            {"id": v.id, "finding_id": v.finding_id, "reviewer_id": v.reviewer_id, "stage": v.stage,
             "decision": v.decision, "category": v.category, "reason_code": v.reason_code, "comment": v.comment}
            for v in session.execute(select(Verdict).where(Verdict.item_id == item.id).order_by(Verdict.id)).scalars()
        ]
        review["appeals"] = [
            {"id": a.id, "appellant_id": a.appellant_id, "reason": a.reason, "ruling": a.ruling,
             "ruled_by_id": a.ruled_by_id, "ruling_comment": a.ruling_comment}
            for a in session.execute(select(Appeal).where(Appeal.item_id == item.id)).scalars()
        ]
    files["review.json"] = _dump(review)
    entries = session.execute(select(AuditEvent).where(AuditEvent.call_id == call.id).order_by(AuditEvent.seq)).scalars()
    files["audit_entries.json"] = _dump([_entry_dict(e) for e in entries])
    return files


def export_call(session: Session, call_id: str, out_path: str | Path, *, actor: str = "system") -> ExportResult:
    """Write the pack to ``out_path`` (a .zip; a folder gets ``<call_id>.evidence.zip``) and log the export."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFoundError(f"call {call_id!r} is not in the review store; check the id with `callqa queue list`")
    out_path = Path(out_path)
    if out_path.is_dir():
        out_path = out_path / f"{call_id}.evidence.zip"
    files = _call_files(session, call)
    head = session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()
    manifest = {
        "format": FORMAT, "call_id": call_id, "recording_sha256": call.recording_sha256,
        "exported_at": _iso(datetime.now(UTC)), "exported_by": actor,
        "chain_head": {"seq": head.seq, "entry_hash": head.entry_hash} if head else None,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    manifest_bytes = _dump(manifest)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in [(MANIFEST, manifest_bytes), *sorted(files.items())]:
            zf.writestr(name, data)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".part")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, out_path)
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    audit.append(session, "export", actor=actor, call_id=call_id, recording_sha256=call.recording_sha256,
                 payload={"manifest_sha256": digest, "file": out_path.name, "files": len(files)})
    entries = len(json.loads(files["audit_entries.json"]))
    return ExportResult(out_path, digest, manifest["files"], entries)  # type: ignore[arg-type]


def _check_entries(entries: list[dict[str, Any]], result: PackVerifyResult) -> None:
    last_seq = 0
    for e in entries:
        where = f"audit entry seq {e.get('seq')} ({e.get('kind')})"
        try:
            problem = audit.check_entry(int(e["seq"]), datetime.fromisoformat(e["ts"]), e["kind"], e["actor"],
                                        e["call_id"], e["recording_sha256"], e["payload"], e["prev_hash"],
                                        e["content_hash"], e["entry_hash"])
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"is malformed ({exc})"
        if problem:
            result.problems.append(f"{where}: {problem}")
        if int(e.get("seq") or 0) <= last_seq:
            result.problems.append(f"{where}: out of order after seq {last_seq}")
        last_seq = int(e.get("seq") or 0)
        if e.get("call_id") != result.call_id:
            result.problems.append(f"{where}: belongs to call {e.get('call_id')!r}, not {result.call_id!r}")
        if e.get("recording_sha256") not in (None, result.recording_sha256):
            result.problems.append(f"{where}: names recording {e.get('recording_sha256')}, not the call's")


def _check_contents(files: dict[str, Any], entries: list[dict[str, Any]], result: PackVerifyResult) -> None:
    """Tie transcripts, findings and verdicts to the chain entries that recorded them."""
    logged = {(e["kind"], k, json.dumps(v, sort_keys=True)) for e in entries for k, v in (e.get("payload") or {}).items()}

    def seen(kind: str, key: str, value: Any) -> bool:
        return (kind, key, json.dumps(value, sort_keys=True)) in logged

    for name, doc in files.items():
        if name.startswith("transcripts/") and not seen("transcribed", "transcript_sha256",
                                                         sha256_json(doc["document"])):
            result.problems.append(f"{name}: its hash is in no 'transcribed' chain entry (the transcript was altered)")
    screened = files["findings.json"]
    for s in screened["screenings"]:
        rows = [f for f in screened["findings"] if f["screening_id"] == s["id"]]
        if not seen("screened", "findings_sha256", sha256_json(sorted(rows, key=lambda f: f["id"]))):
            result.problems.append(f"findings.json: the findings of screening {s['id']} ({s['pack']}) do not "
                                   "match their 'screened' chain entry (findings were altered)")
    latest: dict[int, dict[str, Any]] = {}
    for e in entries:
        if e["kind"] == "verdict" and "verdict_id" in e["payload"]:
            latest[e["payload"]["verdict_id"]] = e["payload"]
    for v in files["review.json"]["verdicts"]:
        logged_v = latest.get(v["id"])
        keys = ("finding_id", "stage", "decision", "category", "reason_code", "comment")
        if logged_v is None or any(logged_v.get(k) != v[k] for k in keys):
            result.problems.append(f"review.json: verdict {v['id']} differs from its last 'verdict' chain entry")
    for a in files["review.json"]["appeals"]:
        if not seen("appeal", "appeal_id", a["id"]) or not seen("appeal", "reason", a["reason"]):
            result.problems.append(f"review.json: appeal {a['id']} differs from its 'appeal' chain entry")
        if a["ruling"] is not None and not any(
                e["kind"] == "ruling" and e["payload"].get("appeal_id") == a["id"]
                and e["payload"].get("ruling") == a["ruling"] for e in entries):
            result.problems.append(f"review.json: the ruling on appeal {a['id']} differs from its 'ruling' chain entry")


def verify_pack(path: str | Path, *, recording: str | Path | None = None) -> PackVerifyResult:
    """Check a pack without the database; ``problems`` lists everything wrong, first one first."""
    path, recording = Path(path), Path(recording) if recording else None
    result = PackVerifyResult(path)
    try:
        with zipfile.ZipFile(path) as zf:
            raw = {name: zf.read(name) for name in zf.namelist()}
    except (OSError, zipfile.BadZipFile) as exc:
        result.problems.append(f"cannot read {path} as a zip ({exc}); is it an evidence pack?")
        return result
    try:
        manifest = json.loads(raw.pop(MANIFEST))
    except (KeyError, json.JSONDecodeError) as exc:
        result.problems.append(f"{MANIFEST} is missing or not JSON ({exc})")
        return result
    if manifest.get("format") != FORMAT:
        result.problems.append(f"{MANIFEST}: format {manifest.get('format')!r} is not {FORMAT}")
        return result
    result.call_id, result.recording_sha256 = manifest.get("call_id"), manifest.get("recording_sha256")
    listed: dict[str, str] = manifest.get("files") or {}
    for name in sorted(set(listed) | set(raw)):
        if name not in raw:
            result.problems.append(f"{name}: listed in the manifest but missing from the pack")
        elif name not in listed:
            result.problems.append(f"{name}: in the pack but not in the manifest")
        elif hashlib.sha256(raw[name]).hexdigest() != listed[name]:
            result.problems.append(f"{name}: its SHA-256 differs from the manifest (the file was altered)")
    if result.problems:
        return result
    files = {name: json.loads(data) for name, data in raw.items()}
    if files["call.json"].get("recording_sha256") != result.recording_sha256:
        result.problems.append("call.json: recording SHA-256 differs from the manifest")
    entries = files["audit_entries.json"]
    result.entries = len(entries)
    _check_entries(entries, result)
    if not any(e.get("kind") == "ingested" for e in entries):
        result.problems.append("audit_entries.json: no 'ingested' entry for the call")
    _check_contents(files, entries, result)
    if recording is not None:
        digest = sha256_of(recording)  # in blocks: a recording can be hours long
        if digest != result.recording_sha256:
            result.problems.append(f"{recording}: SHA-256 {digest} is not the recording in the pack "
                                   f"({result.recording_sha256})")
    return result
