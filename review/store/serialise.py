"""Rows as the plain data that is hashed and exported: what the ingest side records in the audit
chain (review.calls.repo) and what the evidence pack re-derives and checks (review.audit.evidence)
must be the same bytes, so both take it from here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from callqa.hashing import sha256_json
from review.store.models import Finding


def findings_digest(findings: Sequence[Finding]) -> str:
    """SHA-256 of the machine findings as stored; the evidence pack checks it against the chain."""
    return sha256_json([finding_dict(f) for f in sorted(findings, key=lambda f: f.id)])


def finding_dict(f: Finding) -> dict[str, Any]:
    out = {"id": f.id, "screening_id": f.screening_id, "call_id": f.call_id, "rule_id": f.rule_id,
           "category": f.category, "severity": f.severity, "urgent": f.urgent,
           "segment_index": f.segment_index, "start": f.start, "end": f.end, "evidence": f.evidence,
           "citation": f.citation}
    if f.semantic is not None:  # only when present, so digests of earlier findings stay as chained
        out["semantic"] = f.semantic
    return out
