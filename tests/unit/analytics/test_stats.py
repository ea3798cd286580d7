"""Wilson intervals and the chi-square / z tests against published values."""

from __future__ import annotations

import pytest

from engine.analytics import chi_square_independence, two_proportion, wilson
from engine.analytics._stats import chi2_sf


@pytest.mark.parametrize(
    ("c", "n", "low", "high"),
    [
        # Brown, Cai & DasGupta (2001) / Newcombe (1998) worked examples, 95 %
        pytest.param(0, 10, 0.0, 0.2775, id="zero successes"),
        pytest.param(5, 10, 0.2366, 0.7634, id="half"),
        pytest.param(81, 263, 0.2553, 0.3662, id="Newcombe example 81/263"),
    ],
)
def test_wilson_matches_published_intervals(c, n, low, high):
    lo, hi = wilson(c, n, 0.05)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_wilson_without_trials():
    assert wilson(0, 0) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("x", "df", "p"),
    [
        pytest.param(3.841459, 1, 0.05, id="df1 critical 5%"),
        pytest.param(5.991465, 2, 0.05, id="df2 critical 5%"),
        pytest.param(6.634897, 1, 0.01, id="df1 critical 1%"),
        pytest.param(1.0, 3, 0.801252, id="df3 small x (series)"),
        pytest.param(30.0, 4, 4.89e-06, id="df4 large x (continued fraction)"),
    ],
)
def test_chi_square_survival(x, df, p):
    assert chi2_sf(x, df) == pytest.approx(p, rel=1e-3)


def test_two_arms_use_the_z_test_and_agree_with_chi_square():
    res = two_proportion((120, 1000), (90, 1000))
    assert res is not None and res.test.startswith("two-proportion z-test")
    # pooled p = 0.105; z = 0.03 / sqrt(0.105 * 0.895 * 0.002) = 2.18827; two-sided p = 0.028648
    assert res.statistic == pytest.approx(2.18827, abs=1e-4)
    assert res.p_value == pytest.approx(0.028648, abs=1e-5)
    assert res.significant


def test_three_arms_use_pearson_chi_square():
    res = chi_square_independence([(10, 100), (10, 100), (30, 100)])
    assert res is not None and res.df == 2 and res.test == "Pearson chi-square test of independence"
    assert res.significant


@pytest.mark.parametrize("arms", [[(0, 10), (0, 10)], [(5, 10)], [(10, 10), (10, 10)], [(3, 10), (0, 0)]],
                         ids=["no clicks", "one arm", "all clicked", "empty arm"])
def test_undefined_tests_say_so(arms):
    assert chi_square_independence(arms) is None
