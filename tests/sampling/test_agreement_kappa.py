"""Reviewer agreement over every finding with a first and a second verdict: four eyes and blind checks together."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from review.sampling.estimates import estimate

from .conftest import DAY, add_call, add_finding, add_item, add_user, add_verdict

# (first, second, four-eyes items, blind-check items): 20 agree on a violation, 5 + 10 disagree, 15 agree it is clean
TABLE = [("confirmed", "confirmed", 8, 12), ("confirmed", "false_positive", 2, 3),
         ("false_positive", "confirmed", 0, 10), ("false_positive", "false_positive", 0, 15)]


def test_kappa_of_a_known_table_of_first_and_second_decisions(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        first, second, boss = add_user(session, "r1"), add_user(session, "r2"), add_user(session, "sup")
        n = 0
        for d1, d2, four_eyes, blind in TABLE:
            for k in range(four_eyes + blind):
                cid = f"c{n}"
                n += 1
                add_call(session, cid, started=DAY + timedelta(hours=2))
                finding = add_finding(session, cid, severity="critical" if k < four_eyes else "major")
                item = add_item(session, cid, status="final", outcome="violation" if d1 == "confirmed" else "no_violation")
                if k >= four_eyes:
                    item.agreement_check = "done"
                add_verdict(session, item, first, d1, finding=finding, stage="first")
                add_verdict(session, item, second, d2, finding=finding, stage="second")
                if k < four_eyes and d1 != d2:  # a disputed four-eyes finding: the supervisor's word is not a pair
                    add_verdict(session, item, boss, "confirmed", finding=finding, stage="supervisor")
        add_call(session, "alone", started=DAY + timedelta(hours=2))  # first verdict only: not a pair
        lone = add_finding(session, "alone")
        add_verdict(session, add_item(session, "alone", status="final", outcome="violation"), first, "confirmed",
                    finding=lone)
        session.commit()
        est = estimate(session, DAY, DAY + timedelta(days=1))
    # by hand: po = (20 + 15) / 50 = 0.7; first says violation 25/50, second 30/50
    # pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4
    # se = sqrt(0.7 * 0.3 / (50 * 0.5 ** 2)) = 0.129615; 95%: 0.4 -+ 1.959964 * se
    k = est.kappa
    assert k.n == 50 and k.observed_agreement == pytest.approx(0.7) and k.expected_agreement == pytest.approx(0.5)
    assert k.estimate == pytest.approx(0.4)
    half = 1.959964 * math.sqrt(0.7 * 0.3 / 12.5)
    assert k.ci_low == pytest.approx(0.4 - half, abs=1e-5) and k.ci_high == pytest.approx(0.4 + half, abs=1e-5)
    assert not any("kappa says little" in note for note in est.notes)
