"""What the pack loader and the scorecard parser both read: the categories, the id syntax, and
the YAML line numbers the loader attaches to every mapping (for errors that name the line)."""

from __future__ import annotations

import re
from typing import Any

CATEGORIES = (
    "threat_violence",
    "insult_abuse",
    "obscenity",
    "impersonation_authority",
    "false_legal_consequence",
    "family_or_contacts_threat",
    "third_party_disclosure",
    "shaming_exposure",
    "induced_borrowing",
    "private_payment_channel",
    "missing_self_identification",
    "missing_recording_notice",
    "missing_debt_collector_disclosure",
    "customer_complaint_or_regulator",
    "customer_vulnerability",
    "calling_hours",
    "call_frequency",
    "acoustic_agitation",
)
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def line_of(obj: Any, default: int) -> int:
    return getattr(obj, "line", default)


def key_line(obj: Any, key: str, default: int) -> int:
    return getattr(obj, "key_lines", {}).get(key, default)
