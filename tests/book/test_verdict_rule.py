"""The one rule behind every verdict (sparsebook.book.claims.compare): Welch's 95 % interval of the
difference of the means must lie on one side of zero, with at least three seeds a side."""
import statistics
import warnings

import pytest
from scipy import stats

from sparsebook.book import claims


@pytest.mark.parametrize("a, b", [([1.0, 1.2, 0.9], [0.5, 0.7, 0.4, 0.6]), ([1.0, 1.0, 1.0], [0.0, 0.1, 0.0]),
                                  ([3.0, 5.0], [1.0, 2.0, 2.5])])
def test_the_spread_is_welchs_interval_as_scipy_computes_it(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns where one side does not vary
        ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(claims.CONFIDENCE)
    assert claims.half_width(a, b) == pytest.approx((ci.high - ci.low) / 2, rel=1e-12)


def test_a_lead_of_one_standard_deviation_is_not_enough():
    # means 1 apart, each side's sd 0.5: the difference's sd is 0.71 < 1, but Welch's interval is +-1.6
    c = claims.compare([0.5, 1.0, 1.5], [-0.5, 0.0, 0.5])
    assert c.effect == pytest.approx(1.0) and 1.0 < c.spread < 2.0
    assert c.verdict == "undecided" and c.why == "within the spread"
    assert claims.compare([2.5, 3.0, 3.5], [-0.5, 0.0, 0.5]).verdict == "reproduced"
    assert claims.compare([-0.5, 0.0, 0.5], [2.5, 3.0, 3.5]).verdict == "not reproduced"
    assert claims.compare([2.5, 3.0, 3.5], [-0.5, 0.0, 0.5], higher_is_better=False).verdict == "not reproduced"


def test_values_that_do_not_vary_decide_by_their_sign():
    assert claims.compare([4, 4, 4], [5, 5, 5], higher_is_better=False).verdict == "reproduced"
    assert claims.compare([5, 5, 5], [5, 5, 5]).verdict == "undecided"


def test_fewer_than_three_seeds_show_their_spread_but_decide_nothing():
    c = claims.compare([3.0, 3.1], [0.0, 0.1])
    assert c.verdict == "undecided" and c.why == "fewer than 3 seeds" and c.spread > 0
    one = claims.compare([3.0], [0.0, 0.1, 0.2])
    assert one.verdict == "undecided" and one.spread is None
    assert claims.compare([], [1.0]).verdict == "undecided"


def test_seeds_to_decide_is_where_the_same_means_and_spreads_would_clear_the_interval():
    a, b = [0.5, 1.0, 1.5], [-0.5, 0.0, 0.5]  # 1 point apart, undecided on three seeds (above)
    c = claims.compare(a, b)
    n = c.seeds_needed
    assert n is not None and n > 3 and claims.seeds_label(c) == str(n)
    # n seeds a side drawn at exactly these means and spreads decide it; n - 1 do not
    z = list(range(n))
    at = [[m + 0.5 * (x - statistics.mean(z)) / statistics.stdev(z) for x in z] for m in (1.0, 0.0)]
    assert claims.compare(*at).verdict == "reproduced"
    assert claims.half_width(a, b, n=n - 1) >= 1.0 > claims.half_width(a, b, n=n)
    # decided, no effect, or beyond the cap: no estimate to plan by
    assert claims.seeds_label(claims.compare([2.5, 3.0, 3.5], b)) == "–"
    assert claims.compare(a, a).seeds_needed is None
    assert claims.seeds_label(claims.compare([0.0, 0.01, 2.0], [0.0, 0.0, 2.0])) == f"> {claims.SEEDS_CAP}"
