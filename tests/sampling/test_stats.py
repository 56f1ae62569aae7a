"""The statistics against values computed by hand, known tables and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from review.sampling.stats import (
    StatsInputError,
    Stratum,
    beta_quantile,
    cohens_kappa,
    exact_interval,
    proportion,
    regularized_beta,
    stratified_proportion,
    wilson_interval,
)


def test_wilson_matches_the_hand_computation() -> None:
    # 5 of 20, z = 1.959964: centre (0.25 + z^2/40) / (1 + z^2/20) = 0.290280,
    # half-width z*sqrt(0.25*0.75/20 + z^2/1600) / (1 + z^2/20) = 0.178419
    low, high = wilson_interval(5, 20)
    assert low == pytest.approx(0.111862, abs=1e-6)
    assert high == pytest.approx(0.468701, abs=1e-6)


def test_wilson_at_zero_and_all() -> None:
    low, high = wilson_interval(0, 50)
    assert low == 0.0
    z2 = 1.959963984540054**2
    assert high == pytest.approx(z2 / (50 + z2), rel=1e-9)  # closed form at x = 0
    assert wilson_interval(50, 50)[1] == 1.0


@pytest.mark.parametrize(("x", "n", "low", "high"), [
    (5, 20, 0.086571, 0.491046),   # the textbook example of the Clopper-Pearson interval
    (0, 10, 0.0, 0.308497),        # upper bound 1 - 0.025^(1/10)
    (10, 10, 0.691503, 1.0),
    (1, 100, 0.000253, 0.054460),
])
def test_exact_interval_known_values(x: int, n: int, low: float, high: float) -> None:
    got_low, got_high = exact_interval(x, n)
    assert got_low == pytest.approx(low, abs=2e-6)
    assert got_high == pytest.approx(high, abs=2e-6)


@pytest.mark.parametrize(("x", "n"), [(3, 17), (12, 40), (97, 300), (1, 2)])
def test_exact_bounds_leave_two_and_a_half_percent_in_each_binomial_tail(x: int, n: int) -> None:
    low, high = exact_interval(x, n)

    def binom_cdf(k: int, p: float) -> float:
        return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))

    assert 1 - binom_cdf(x - 1, low) == pytest.approx(0.025, abs=1e-8)  # P(X >= x | p_low)
    assert binom_cdf(x, high) == pytest.approx(0.025, abs=1e-8)  # P(X <= x | p_high)


def test_beta_quantile_inverts_the_beta_cdf() -> None:
    for a, b in [(0.5, 0.5), (2.0, 5.0), (30.0, 3.0)]:
        for q in (0.01, 0.5, 0.975):
            assert regularized_beta(beta_quantile(q, a, b), a, b) == pytest.approx(q, abs=1e-10)
    assert regularized_beta(0.3, 1.0, 1.0) == pytest.approx(0.3)  # uniform


def test_kappa_of_the_textbook_table() -> None:
    # 50 items: both yes 20, A yes B no 5, A no B yes 10, both no 15 -> po 0.7, pe 0.5, kappa 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    k = cohens_kappa(pairs)
    assert k.estimate == pytest.approx(0.4)
    assert k.observed_agreement == pytest.approx(0.7)
    assert k.expected_agreement == pytest.approx(0.5)
    assert k.n == 50
    assert k.ci_low is not None and k.ci_high is not None and k.ci_low < 0.4 < k.ci_high


def test_kappa_perfect_and_undefined() -> None:
    assert cohens_kappa([("a", "a"), ("b", "b")]).estimate == pytest.approx(1.0)
    assert cohens_kappa([("a", "a")] * 5).estimate is None  # one label only: kappa undefined
    assert cohens_kappa([]).n == 0


def test_stratified_estimate_weights_by_population() -> None:
    # a big stratum at 10% and a small one at 50%: the estimate is near 10%, not the pooled 23%
    e = stratified_proportion([Stratum(9000, 100, 10), Stratum(1000, 50, 25)])
    assert e.estimate == pytest.approx(0.9 * 0.1 + 0.1 * 0.5)
    assert e.n == 150
    assert e.ci_low is not None and e.ci_high is not None and e.ci_low < 0.14 < e.ci_high


def test_a_census_has_no_sampling_error_and_empty_strata_carry_none() -> None:
    e = stratified_proportion([Stratum(40, 40, 10)])
    assert (e.estimate, e.ci_low, e.ci_high) == (0.25, 0.25, 0.25)
    assert stratified_proportion([Stratum(100, 0, 0)]).estimate is None
    assert proportion(0, 0).estimate is None


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(StatsInputError, match="impossible counts"):
        wilson_interval(5, 3)
    with pytest.raises(StatsInputError, match="population"):
        stratified_proportion([Stratum(10, 20, 1)])
    with pytest.raises(StatsInputError, match="confidence"):
        wilson_interval(1, 10, confidence=95)


@pytest.mark.parametrize("method", ["wilson", "exact"])
def test_stratified_interval_covers_the_true_rate_about_95_percent(method: str) -> None:
    # a fixed finite population in three agent strata; the sample is drawn without replacement
    rng = np.random.default_rng(20261128)
    sizes, positives, sampled = [3000, 5000, 2000], [90, 400, 300], [80, 120, 60]
    truth = sum(positives) / sum(sizes)
    covered = 0
    runs = 400
    for _ in range(runs):
        strata = [Stratum(sizes[i], sampled[i], int(rng.hypergeometric(positives[i], sizes[i] - positives[i],
                                                                        sampled[i]))) for i in range(3)]
        e = stratified_proportion(strata, method=method)  # type: ignore[arg-type]
        assert e.ci_low is not None and e.ci_high is not None
        covered += e.ci_low <= truth <= e.ci_high
    assert 0.92 <= covered / runs <= 0.98
