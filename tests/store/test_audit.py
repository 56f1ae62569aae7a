"""The audit chain: tampering with rows by raw SQL is caught and named; evidence packs verify offline."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from callqa.errors import AuditChainError
from review.audit import chain as audit
from review.audit import evidence
from review.calls.repo import current_findings
from review.queue import lifecycle as queue
from review.store.models import AuditEvent, ReviewItem, User

from .conftest import sha_of


def _chain(db: Session, n: int) -> None:
    for i in range(n):
        audit.append(db, "rule_pack_change", actor="admin", payload={"pack": "cn", "version": str(i)})
    db.commit()


def _raw(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql))


def test_intact_chain_verifies_and_names_its_head(db: Session) -> None:
    _chain(db, 5)
    result = audit.verify(db)
    assert result.ok and result.entries == 5 and result.head_seq == 5
    assert audit.verify(db, expect_head=result.head_hash).ok


def test_edited_row_is_caught(db: Session, engine: Engine) -> None:
    _chain(db, 5)
    _raw(engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3")
    result = audit.verify(db)
    assert not result.ok and result.bad_seq == 3 and result.entries == 2
    assert "edited" in (result.reason or "")
    with pytest.raises(AuditChainError, match="seq 3"):
        result.raise_if_broken()


def test_edit_with_recomputed_hashes_is_caught_at_the_next_entry(db: Session, engine: Engine) -> None:
    _chain(db, 5)
    event = db.execute(select(AuditEvent).where(AuditEvent.seq == 2)).scalar_one()
    event.actor = "mallory"  # only in memory, to compute the forger's hashes
    content = audit.content_hash_of(event)
    entry = audit.entry_hash_of(event.prev_hash, content)
    db.rollback()
    _raw(engine, f"UPDATE audit_events SET actor = 'mallory', content_hash = '{content}', entry_hash = '{entry}' "
                 "WHERE seq = 2")
    result = audit.verify(db)
    assert not result.ok and result.bad_seq == 3 and "previous hash" in (result.reason or "")


def test_deleted_row_is_caught(db: Session, engine: Engine) -> None:
    _chain(db, 5)
    _raw(engine, "DELETE FROM audit_events WHERE seq = 3")
    result = audit.verify(db)
    assert not result.ok and result.bad_seq == 4 and "deleted" in (result.reason or "")


def test_reordered_rows_are_caught(db: Session, engine: Engine) -> None:
    _chain(db, 5)
    # swap the positions of entries 2 and 4 (through a free seq because seq is unique)
    _raw(engine, "UPDATE audit_events SET seq = 1000 WHERE seq = 2")
    _raw(engine, "UPDATE audit_events SET seq = 2 WHERE seq = 4")
    _raw(engine, "UPDATE audit_events SET seq = 4 WHERE seq = 1000")
    result = audit.verify(db)
    assert not result.ok and result.bad_seq == 2


def test_truncated_tail_is_caught_only_against_a_published_head(db: Session, engine: Engine) -> None:
    _chain(db, 5)
    head = audit.verify(db).head_hash
    _raw(engine, "DELETE FROM audit_events WHERE seq = 5")
    assert audit.verify(db).ok  # a shorter chain is consistent in itself
    result = audit.verify(db, expect_head=head)
    assert not result.ok and "deleted" in (result.reason or "")


def _reviewed_call(db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem]) -> ReviewItem:
    item = flagged("ev1", "major")
    rev = make_user("rev")
    queue.claim(db, item.id, rev)
    finding = current_findings(db, "ev1")[0]
    queue.record_verdict(db, item.id, finding.id, rev, "confirmed", comment="clear")
    queue.submit(db, item.id, rev)
    db.commit()
    return item


def _rewrite(pack: Path, name: str, change: Callable[[dict], None], *, fix_manifest: bool) -> Path:  # type: ignore[type-arg]
    with zipfile.ZipFile(pack) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(files[name])
    change(doc)
    files[name] = json.dumps(doc, ensure_ascii=False).encode()
    if fix_manifest:  # a careful forger also fixes the manifest
        manifest = json.loads(files["manifest.json"])
        manifest["files"][name] = hashlib.sha256(files[name]).hexdigest()
        files["manifest.json"] = json.dumps(manifest).encode()
    out = pack.with_name(f"forged-{name.replace('/', '_')}-{fix_manifest}.zip")
    with zipfile.ZipFile(out, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    return out


def test_evidence_pack_verifies_offline_and_catches_forgery(
        db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem], tmp_path: Path) -> None:
    _reviewed_call(db, make_user, flagged)
    result = evidence.export_call(db, "ev1", tmp_path, actor="auditor")
    db.commit()
    assert result.path.name == "ev1.evidence.zip" and result.entries >= 6
    ok = evidence.verify_pack(result.path)
    assert ok.ok, ok.problems
    assert ok.call_id == "ev1" and ok.recording_sha256 == sha_of("ev1")
    assert audit.verify(db).ok  # the export was logged on the chain
    recording = tmp_path / "rec.wav"
    recording.write_bytes(b"recording of ev1")
    assert evidence.verify_pack(result.path, recording=recording).ok
    recording.write_bytes(b"another recording")
    assert "not the recording" in evidence.verify_pack(result.path, recording=recording).problems[0]

    def flip_verdict(doc: dict) -> None:  # type: ignore[type-arg]
        doc["verdicts"][0]["decision"] = "false_positive"

    def edit_finding(doc: dict) -> None:  # type: ignore[type-arg]
        doc["findings"][0]["severity"] = "minor"

    def edit_transcript(doc: dict) -> None:  # type: ignore[type-arg]
        doc["document"]["segments"][0]["text"] = "一切正常"

    def edit_entry(doc: list) -> None:  # type: ignore[type-arg]
        doc[1]["payload"]["reason"] = "x"

    naive = evidence.verify_pack(_rewrite(result.path, "review.json", flip_verdict, fix_manifest=False))
    assert "review.json: its SHA-256 differs" in naive.problems[0]
    for name, change, expected in [("review.json", flip_verdict, "verdict"),
                                   ("findings.json", edit_finding, "findings were altered"),
                                   ("transcripts/1.json", edit_transcript, "transcript was altered"),
                                   ("audit_entries.json", edit_entry, "edited")]:
        forged = evidence.verify_pack(_rewrite(result.path, name, change, fix_manifest=True))
        assert not forged.ok and any(expected in p for p in forged.problems), (name, forged.problems)


def test_evidence_pack_carries_the_appeal_and_its_ruling(
        db: Session, make_user: Callable[..., User], flagged: Callable[..., ReviewItem], tmp_path: Path) -> None:
    item = _reviewed_call(db, make_user, flagged)
    lead, sup = make_user("lead", leads_team="T1"), make_user("sup", role="supervisor")
    appeal = queue.appeal(db, item.id, lead, "script was followed")
    queue.rule_appeal(db, appeal.id, sup, "upheld", "threat is clear")
    db.commit()
    pack = evidence.export_call(db, "ev1", tmp_path / "ev1.zip").path
    assert evidence.verify_pack(pack).ok

    def overturn(doc: dict) -> None:  # type: ignore[type-arg]
        doc["appeals"][0]["ruling"] = "overturned"

    forged = evidence.verify_pack(_rewrite(pack, "review.json", overturn, fix_manifest=True))
    assert any("ruling on appeal" in p for p in forged.problems), forged.problems


def test_export_of_unknown_call_and_bad_pack_are_named(db: Session, tmp_path: Path) -> None:
    from callqa.errors import NotFoundError

    with pytest.raises(NotFoundError, match="'nope'"):
        evidence.export_call(db, "nope", tmp_path / "x.zip")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert "cannot read" in evidence.verify_pack(junk).problems[0]


def test_entries_appended_at_commit_hash_like_direct_ones(db: Session) -> None:
    """On PostgreSQL entries queued with append_on_commit are chained by one server-side call
    (migration 0006); the chain they make must verify exactly like the Python-built one."""
    audit.append(db, "rule_pack_change", actor="admin", payload={"pack": "cn"})
    db.commit()
    audit.append_on_commit(db, "pii_unmask", actor="carol", call_id="c-1", recording_sha256="ab" * 32,
                           payload={"reason": "争议 dispute", "minutes": 15, "ratio": 2.5, "none": None,
                                    "nested": {"b": [1, "x"], "a": True}})
    audit.append_on_commit(db, "export", actor="carol", payload={})
    db.commit()
    audit.append(db, "rule_pack_change", actor="admin", payload={"pack": "us"})
    db.commit()
    result = audit.verify(db)
    assert result.ok, result.reason
    rows = db.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [(r.seq, r.kind) for r in rows] == [(1, "rule_pack_change"), (2, "pii_unmask"), (3, "export"),
                                              (4, "rule_pack_change")]
    assert rows[1].payload["reason"] == "争议 dispute" and rows[2].prev_hash == rows[1].entry_hash
    for row in rows:
        assert audit.content_hash_of(row) == row.content_hash
