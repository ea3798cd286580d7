"""Intervals and tests for click-through rates, in plain Python (no SciPy).

- Wilson score interval for a proportion (Wilson 1927; recommended over the
  normal "Wald" interval for small counts and rates near 0, see Brown, Cai and
  DasGupta, "Interval Estimation for a Binomial Proportion", 2001).
- Pearson chi-square test of independence between arms and clicked / not
  clicked (df = arms - 1). With two arms it equals the two-sided pooled
  two-proportion z-test (chi2 = z^2), which is also what lift vs holdout uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()


def z_for(alpha: float) -> float:
    """Two-sided critical value of the standard normal for ``alpha``."""
    return _NORMAL.inv_cdf(1.0 - alpha / 2.0)


def wilson(successes: int, trials: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval (low, high) for ``successes / trials``; (0, 0) for no trials."""
    if trials <= 0:
        return 0.0, 0.0
    z = z_for(alpha)
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / trials + z2n / (4.0 * trials)) / (1.0 + z2n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class TestResult:
    """Outcome of a significance test at level ``alpha``."""

    test: str  # name of the test, as printed in the report
    statistic: float
    df: int
    p_value: float
    alpha: float

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha


def chi_square_independence(arms: list[tuple[int, int]], alpha: float = 0.05) -> TestResult | None:
    """Pearson chi-square over ``arms`` of (clickers, sent); None when it is undefined.

    Undefined: fewer than two arms with recipients, or no clicks (or nothing
    but clicks) at all, so no arm can differ.
    """
    arms = [(c, n) for c, n in arms if n > 0]
    total_c = sum(c for c, _ in arms)
    total_n = sum(n for _, n in arms)
    if len(arms) < 2 or total_c == 0 or total_c == total_n:
        return None
    p = total_c / total_n
    stat = 0.0
    for c, n in arms:
        e1, e0 = n * p, n * (1.0 - p)
        stat += (c - e1) ** 2 / e1 + ((n - c) - e0) ** 2 / e0
    df = len(arms) - 1
    name = "two-proportion z-test (pooled, two-sided)" if df == 1 else "Pearson chi-square test of independence"
    return TestResult(test=name, statistic=stat, df=df, p_value=chi2_sf(stat, df), alpha=alpha)


def two_proportion(a: tuple[int, int], b: tuple[int, int], alpha: float = 0.05) -> TestResult | None:
    """Pooled two-sided two-proportion z-test of ``a`` vs ``b`` (clickers, sent); statistic is z."""
    res = chi_square_independence([a, b], alpha)
    if res is None:
        return None
    (ca, na), (cb, nb) = a, b
    sign = 1.0 if ca / na >= cb / nb else -1.0
    return TestResult(test=res.test, statistic=sign * math.sqrt(res.statistic), df=1,
                      p_value=res.p_value, alpha=alpha)


def chi2_sf(x: float, df: int) -> float:
    """Survival function of the chi-square distribution: Q(df/2, x/2)."""
    if x <= 0:
        return 1.0
    return _gamma_q(df / 2.0, x / 2.0)


def _gamma_q(a: float, x: float) -> float:
    # Regularized upper incomplete gamma (Numerical Recipes, 3rd ed., 6.2):
    # series for x < a + 1, Lentz's continued fraction otherwise.
    lg = math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(1000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(-x + a * math.log(x) - lg))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return min(1.0, math.exp(-x + a * math.log(x) - lg) * h)


def quantiles_ok(values: list[float]) -> bool:
    """True when ``values`` are finite (DuckDB returns NULL quantiles for empty input)."""
    return all(v is not None and math.isfinite(v) for v in values)
