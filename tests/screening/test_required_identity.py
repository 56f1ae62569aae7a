"""Self-identification against the call's metadata: the caller's own agency, not any office name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callqa.errors import RulePackError
from review.screening import Screener, load_pack

Make = Callable[..., dict[str, Any]]
RuleIds = Callable[[Screener, dict[str, Any]], set[str]]
AGENCY = {"agency": "Cascade Account Recovery", "creditor": "Northstar Bank Visa", "language": "en"}


def _opening(transcript: Make, *lines: str) -> dict[str, Any]:
    return transcript([("agent", line) for line in lines], language="en", started_at=None,
                      **{k: v for k, v in AGENCY.items() if k != "language"})


@pytest.mark.parametrize("said", [
    "Hello, this is Mr. Grant calling from the county processing office, legal department.",
    "This is Investigator Ramirez, fraud division, case number four four seven one.",
    # the creditor named as the subject of the call is not the caller naming itself
    "This is Dana, I'm calling about a file forwarded to us from Northstar Bank Visa.",
])
def test_a_name_that_is_not_the_callers_agency_does_not_identify(us: Screener, rule_ids: RuleIds,
                                                                  transcript: Make, said: str) -> None:
    assert "us.identity.missing" in rule_ids(us, _opening(transcript, said))


@pytest.mark.parametrize("said", [
    "Hi, this is Amanda Greer with Cascade Account Recovery, on a recorded line.",
    "Cascade Account, this is Amanda, recorded line.",  # the trade word dropped
    "This is Amanda over at Cascade Recovery.",  # the distinctive first word
])
def test_the_agency_said_as_people_say_it_identifies(us: Screener, rule_ids: RuleIds, transcript: Make,
                                                     said: str) -> None:
    assert "us.identity.missing" not in rule_ids(us, _opening(transcript, said))


def test_without_an_agency_in_the_metadata_the_phrases_still_serve(us: Screener, rule_ids: RuleIds,
                                                                    transcript: Make) -> None:
    call = transcript([("agent", "Hi, this is Sam calling from ABC Collections.")], language="en", started_at=None)
    assert "us.identity.missing" not in rule_ids(us, call)


def test_metadata_only_needs_metadata_keys(tmp_path: Path) -> None:
    pack = Path(load_pack("us-regf").path).read_text(encoding="utf-8")
    broken = pack.replace("          metadata: [agency, agency_name]\n", "", 1)
    assert broken != pack
    (tmp_path / "us.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(RulePackError, match="metadata_only"):
        load_pack(tmp_path / "us.yaml")
