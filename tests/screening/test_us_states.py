"""A recording notice is a state law's demand: asked for where the debtor is in an all-party-consent
state, known from the metadata or the phone number's area code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from review.screening import Screener
from review.screening.us_states import area_state, debtor_state

NOTICE = "us.recording.notice_missing"
OPENING = [("agent", "Hi, this is Sam Ortiz with Redline Recovery. This is an attempt to collect a debt and any "
                     "information obtained will be used for that purpose.")]


@pytest.mark.parametrize(("phone", "state"), [
    ("+1 (415) 555-0133", "CA"), ("+1 312 555 0147", "IL"), ("1-206-555-0100", "WA"),
    ("+1 720 555 0119", ""),  # Colorado: one-party consent
    ("1390123xxxx", None), ("", None), (None, None),
])
def test_area_codes(phone: str | None, state: str | None) -> None:
    assert area_state(phone) == state


def test_metadata_state_wins_over_the_phone() -> None:
    assert debtor_state({"debtor_state": "tx", "phone_number": "+1 415 555 0133"}) == "TX"
    assert debtor_state({"phone_number": "+1 415 555 0133"}) == "CA"


@pytest.mark.parametrize(("metadata", "flagged"), [
    ({"phone_number": "+1 415 555 0133"}, True),
    ({"phone_number": "+1 720 555 0119"}, False),
    ({"debtor_state": "PA", "phone_number": "+1 720 555 0119"}, True),
    ({"phone_number": "unknown"}, True),  # nothing tells where the debtor is: the notice is expected
])
def test_notice_only_where_a_state_asks(us: Screener, transcript: Callable[..., dict[str, Any]],
                                        metadata: dict[str, Any], flagged: bool) -> None:
    found = {f.rule_id for r in us.screen(transcript(OPENING, language="en", **metadata)) for f in r.findings}
    assert (NOTICE in found) is flagged
