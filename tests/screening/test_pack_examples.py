"""Every rule's own examples pass, and the shipped packs cover the issue's categories."""

from __future__ import annotations

import pytest

from review.screening import CATEGORIES, Screener, available_packs, load_pack
from review.screening.examples import run_rule_examples

SHIPPED = sorted(available_packs())
RULES = [(name, rule.id) for name in SHIPPED for rule in load_pack(name).rules]


@pytest.mark.parametrize(("pack_name", "rule_id"), RULES)
def test_rule_examples(pack_name: str, rule_id: str) -> None:
    pack = load_pack(pack_name)
    outcomes = run_rule_examples(Screener([pack]), pack, pack.rule(rule_id))
    assert outcomes, "a rule without examples"
    failed = [f"{'must' if o.expected else 'must not'} trigger: {o.text} (got {o.got!r})"
              for o in outcomes if not o.passed]
    assert not failed, failed


def test_shipped_packs_are_the_two_of_the_issue() -> None:
    assert {"cn-collection", "us-regf"} <= set(SHIPPED)


@pytest.mark.parametrize("pack_name", ["cn-collection", "us-regf"])
def test_every_category_is_covered_and_cited(pack_name: str) -> None:
    pack = load_pack(pack_name)
    covered = {rule.category for rule in pack.rules}
    expected = set(CATEGORIES)
    if pack_name == "cn-collection":  # the mini-Miranda is a US rule
        expected.discard("missing_debt_collector_disclosure")
    assert expected <= covered, sorted(expected - covered)
    assert all(rule.citation.strip() for rule in pack.rules)
    assert all(rule.must_trigger and rule.must_not_trigger for rule in pack.rules)


def test_categories_are_exactly_the_issue_list() -> None:
    assert set(CATEGORIES) == {
        "threat_violence", "insult_abuse", "obscenity", "impersonation_authority", "false_legal_consequence",
        "family_or_contacts_threat", "third_party_disclosure", "shaming_exposure", "induced_borrowing",
        "private_payment_channel", "missing_self_identification", "missing_recording_notice",
        "missing_debt_collector_disclosure", "customer_complaint_or_regulator", "customer_vulnerability",
        "calling_hours", "call_frequency", "acoustic_agitation",
    }
