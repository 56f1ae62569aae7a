"""Interval estimates for proportions, stratified estimates and Cohen's kappa.

Pure Python (no scipy): the exact interval inverts the regularized incomplete
beta function by bisection, which is slow only by microseconds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal

from callqa.errors import CallQAError

Method = Literal["wilson", "exact"]


class StatsInputError(CallQAError, ValueError):
    """Counts given to an estimator are impossible (negative, x > n, N < n...)."""


@dataclass(frozen=True)
class Estimate:
    """A proportion with its confidence interval; ``n`` is the number of units observed."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Stratum:
    """One stratum of a stratified sample: population size, units reviewed, units positive."""

    population: int
    n: int
    x: int


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise StatsInputError(f"confidence {confidence} must lie strictly between 0 and 1 (e.g. 0.95)")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _check_counts(x: float, n: float) -> None:
    if n < 0 or x < 0 or x > n:
        raise StatsInputError(f"impossible counts: {x} positives out of {n}; need 0 <= x <= n")


def wilson_interval(x: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for x successes in n trials (x and n may be effective, non-integer)."""
    _check_counts(x, n)
    if n == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = x / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at p = 0 or 1 the bound is exactly 0 or 1; rounding must not push it past
    low = 0.0 if x == 0 else max(0.0, centre - half)
    high = 1.0 if x == n else min(1.0, centre + half)
    return low, high


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the CDF of Beta(a, b) at x."""
    if a <= 0 or b <= 0:
        raise StatsInputError(f"beta parameters must be positive, got a={a}, b={b}")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    front = math.exp(log_front)
    # the continued fraction converges fast only on this side of the mean
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def beta_quantile(q: float, a: float, b: float) -> float:
    """Inverse of I_x(a, b) by bisection (monotone in x, so bisection always converges)."""
    if not 0.0 <= q <= 1.0:
        raise StatsInputError(f"quantile level {q} must lie in [0, 1]")
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if regularized_beta(mid, a, b) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-14:
            break
    return (lo + hi) / 2.0


def exact_interval(x: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval; non-integer x, n (effective counts) are allowed."""
    _check_counts(x, n)
    if n == 0:
        return 0.0, 1.0
    alpha = 1.0 - confidence
    _z(confidence)
    low = 0.0 if x <= 0 else beta_quantile(alpha / 2.0, x, n - x + 1.0)
    high = 1.0 if x >= n else beta_quantile(1.0 - alpha / 2.0, x + 1.0, n - x)
    return low, high


def interval(x: float, n: float, confidence: float = 0.95, method: Method = "wilson") -> tuple[float, float]:
    if method == "wilson":
        return wilson_interval(x, n, confidence)
    if method == "exact":
        return exact_interval(x, n, confidence)
    raise StatsInputError(f"unknown interval method {method!r}; use 'wilson' or 'exact'")


def proportion(x: int, n: int, confidence: float = 0.95, method: Method = "wilson") -> Estimate:
    """A simple-random-sample proportion; with n = 0 the estimate is unknown (None)."""
    _check_counts(x, n)
    if n == 0:
        return Estimate(None, None, None, 0)
    low, high = interval(x, n, confidence, method)
    return Estimate(x / n, low, high, n)


def stratified_proportion(strata: Sequence[Stratum], confidence: float = 0.95,
                          method: Method = "wilson") -> Estimate:
    """Population-weighted proportion over strata sampled independently without replacement.

    The interval is the chosen one-sample interval evaluated at the effective
    sample size n_eff = p(1-p)/Var(p) (Kish; Korn and Graubard for the exact
    form), with the finite population correction in Var(p). Strata with no
    reviewed unit carry no information and are left out; ``n`` counts the
    reviewed units behind the estimate.
    """
    for s in strata:
        if s.n > s.population:
            raise StatsInputError(f"stratum reviewed {s.n} units out of a population of only {s.population}")
        _check_counts(s.x, s.n)
    used = [s for s in strata if s.n > 0 and s.population > 0]
    n_total = sum(s.n for s in used)
    if not used:
        return Estimate(None, None, None, 0)
    big_n = sum(s.population for s in used)
    p = sum(s.population / big_n * s.x / s.n for s in used)
    var = 0.0
    for s in used:
        w = s.population / big_n
        p_h = s.x / s.n
        fpc = (s.population - s.n) / (s.population - 1) if s.population > 1 else 0.0
        # the unbiased within-stratum variance needs n_h - 1; a single unit gives no spread
        var += w * w * fpc * (p_h * (1 - p_h) / (s.n - 1) if s.n > 1 else 0.0)
    if var <= 0.0 or p in (0.0, 1.0):
        # a census, or no spread seen: fall back to the plain count so the interval stays honest
        n_eff = float(n_total)
        if all(s.n == s.population for s in used):
            return Estimate(p, p, p, n_total)
    else:
        # may exceed n_total when sampling fractions are large: the fpc earns that precision
        n_eff = p * (1 - p) / var
    low, high = interval(p * n_eff, n_eff, confidence, method)
    return Estimate(p, low, high, n_total)


@dataclass(frozen=True)
class Kappa:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    observed_agreement: float | None = None
    expected_agreement: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cohens_kappa(pairs: Sequence[tuple[Hashable, Hashable]], confidence: float = 0.95) -> Kappa:
    """Cohen's kappa of two raters over the same items, with the large-sample interval.

    The interval uses the simple standard error sqrt(po (1 - po) / (n (1 - pe)^2)),
    which is adequate for the tens-to-hundreds of second reviews a period holds.
    """
    n = len(pairs)
    if n == 0:
        return Kappa(None, None, None, 0)
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    po = sum(1 for a, b in pairs if a == b) / n
    pe = sum(first[k] * second.get(k, 0) for k in first) / (n * n)
    if pe >= 1.0:
        # both raters used one label throughout: agreement is perfect but kappa is undefined
        return Kappa(None, None, None, n, po, pe)
    kappa = (po - pe) / (1 - pe)
    se = math.sqrt(po * (1 - po) / (n * (1 - pe) ** 2))
    z = _z(confidence)
    return Kappa(kappa, max(-1.0, kappa - z * se), min(1.0, kappa + z * se), n, po, pe)
