"""Verdicts on the papers' claims, computed from stored runs.

One rule decides every claim: the claimed method's value and the baseline's, each over its seeds; the
effect is the difference of the means (in the claim's direction) and the spread is the half-width of its
95 % confidence interval (Welch's t interval: the seeds' standard deviations on each side, without assuming
they are equal; the interval scipy's ``ttest_ind`` gives, :func:`half_width`). A claim is

* **reproduced** where the effect exceeds the spread (the whole interval lies on the claim's side of zero),
* **not reproduced** where the effect is below minus the spread (the baseline is ahead beyond the noise),
* **undecided** otherwise: within the spread, fewer than :data:`MIN_SEEDS` seeds on either side, or no
  value to compare (a curve that never reaches the accuracy, a run that did not finish).

An interval rather than one standard deviation of the difference: with three seeds a side, "ahead by more
than one standard deviation" is met by chance about one time in six where the two methods do not differ
(and with dozens of rows, by several of them); the 95 % interval asks for a lead that a rerun with other
seeds would be expected to show again. With three seeds it is about 1.6 to 2.5 times the standard deviation
of the difference, wider where one side's seeds scatter much more than the other's.

A verdict also needs the runs behind it to have levelled off: the book's tables hold it at undecided where
those runs are still moving against the noise of their whole table (:func:`sparsebook.book.convergence.levelled`;
on a curve, the runs of the two strengths the estimate lies between, :func:`strengths_at`), and say what
the runs read.

"Sparser at equal accuracy" is read off trade-off curves (:func:`sparsity_at`): each regularizer's
strengths give points (accuracy, sparsity); the sparsity at a target accuracy is interpolated on the mean
curve over seeds, and its spread comes from the same interpolation on each seed's own curve.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import pandas as pd
from scipy import stats

__all__ = ["MIN_SEEDS", "VERDICTS", "Comparison", "compare", "seeds_to_decide", "seeds_label", "sparsity_at",
           "strengths_at", "curve_frame", "curve_means", "matched_accuracy", "levelled_off", "epoch_spread",
           "fitted_span", "fitted_rise", "rise_of"]

MIN_SEEDS = 3
#: the confidence of the interval a verdict asks to lie on one side of zero
CONFIDENCE = 0.95
VERDICTS = ("reproduced", "not reproduced", "undecided")


@dataclass(frozen=True)
class Comparison:
    """Claimed method against a baseline: means, effect (claimed direction positive), spread, verdict."""
    ours: float | None
    base: float | None
    effect: float | None
    spread: float | None
    n_ours: int
    n_base: int
    verdict: str
    why: str = ""
    #: undecided within the spread (or on too few seeds): seeds a side at which this effect, at these spreads,
    #: would clear the interval (:func:`seeds_to_decide`); None where decided or not estimable
    seeds_needed: int | None = None


def _clean(values) -> list[float]:
    return [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def half_width(a: list[float], b: list[float], confidence: float = CONFIDENCE, n: int | None = None) -> float:
    """Half the width of Welch's ``confidence`` interval of mean(a) - mean(b) (two or more values a side):
    the t quantile at Welch-Satterthwaite's degrees of freedom times the standard error (the interval
    scipy's ``ttest_ind(a, b, equal_var=False).confidence_interval`` gives; the test holds the two equal).
    0 where neither side varies: the difference is then known exactly. ``n``: as if each side had ``n``
    values at the spread it shows (:func:`seeds_to_decide`)."""
    na, nb = (len(a), len(b)) if n is None else (n, n)
    va, vb = _sd(a) ** 2 / na, _sd(b) ** 2 / nb
    if va + vb == 0:
        return 0.0
    df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    return float(stats.t.ppf((1 + confidence) / 2, df)) * math.sqrt(va + vb)


#: the most seeds a side :func:`seeds_to_decide` looks at
SEEDS_CAP = 30


def seeds_to_decide(a: list[float], b: list[float], effect: float, cap: int = SEEDS_CAP) -> int | None:
    """The fewest seeds a side (at least :data:`MIN_SEEDS`) at which Welch's interval would exclude zero if the
    means' difference stayed ``effect`` and each side's spread stayed what ``a`` and ``b`` show: a planning
    figure for an undecided claim, not a prediction (three seeds estimate a spread poorly). None where a side
    has fewer than two values, the effect is zero, or it needs more than ``cap``."""
    if min(len(a), len(b)) < 2 or not effect:
        return None
    for n in range(MIN_SEEDS, cap + 1):
        if half_width(a, b, n=n) < abs(effect):
            return n
    return None


def seeds_label(c: Comparison) -> str:
    """A table's "seeds to decide" cell: the estimate where undecided on the seeds' spread, "> cap" where it
    needs more than :data:`SEEDS_CAP`, "–" where decided or the effect or spread is unknown."""
    if c.verdict != "undecided" or c.effect is None or c.spread is None or not c.effect:
        return "–"
    return str(c.seeds_needed) if c.seeds_needed is not None else f"> {SEEDS_CAP}"


def compare(ours, base, *, higher_is_better: bool = True, ours_mean: float | None = None,
            base_mean: float | None = None, min_seeds: int = MIN_SEEDS) -> Comparison:
    """Decide 'ours beats base' from per-seed values (means may be given when estimated otherwise)."""
    a, b = _clean(ours), _clean(base)
    ma = ours_mean if ours_mean is not None else (statistics.mean(a) if a else None)
    mb = base_mean if base_mean is not None else (statistics.mean(b) if b else None)
    if ma is None or mb is None:
        return Comparison(ma, mb, None, None, len(a), len(b), "undecided", "nothing to compare on one side")
    sign = 1.0 if higher_is_better else -1.0
    effect = sign * (ma - mb)
    spread = half_width(a, b) if min(len(a), len(b)) >= 2 else None  # shown below MIN_SEEDS too: how wide
    needed = seeds_to_decide(a, b, effect)
    if min(len(a), len(b)) < min_seeds or spread is None:
        return Comparison(ma, mb, effect, spread, len(a), len(b), "undecided", f"fewer than {min_seeds} seeds",
                          needed)
    if effect > spread:
        verdict, why = "reproduced", "ahead beyond the spread"
    elif effect < -spread:
        verdict, why = "not reproduced", "behind beyond the spread"
    else:
        return Comparison(ma, mb, effect, spread, len(a), len(b), "undecided", "within the spread", needed)
    return Comparison(ma, mb, effect, spread, len(a), len(b), verdict, why)


def _crossing(points: list[tuple[float, float, float]], target: float):
    """The pair of neighbouring points (weaker first) between which a curve's accuracy falls to ``target``,
    walking from the weakest strength up; None where it never does (all below, all at or above, or a curve
    that starts below the target and climbs above it)."""
    pts = sorted(points)
    return next(((p0, p1) for p0, p1 in zip(pts, pts[1:]) if p0[1] >= target > p1[1]), None)


def sparsity_at(points: list[tuple[float, float, float]], target: float) -> float | None:
    """The sparsity where a curve reaches ``target`` accuracy, interpolated linearly.

    ``points`` are (strength, accuracy, sparsity); walking from the weakest strength up, the first segment
    whose accuracy falls from >= target to below it is interpolated. None when the curve never reaches the
    target (all below) or never falls to it within the grid (all at or above it)."""
    pair = _crossing(points, target)
    if pair is None:
        return None
    (_, a0, s0), (_, a1, s1) = pair
    return s0 + (s1 - s0) * (a0 - target) / (a0 - a1)


def strengths_at(points: list[tuple[float, float, float]], target: float) -> tuple[float, float] | None:
    """The two strengths whose runs :func:`sparsity_at` interpolates between (the runs behind that estimate)."""
    pair = _crossing(points, target)
    return None if pair is None else (pair[0][0], pair[1][0])


def curve_frame(pairs, rule: str, structural: bool = False) -> pd.DataFrame:
    """One row per finished run: regularizer, decay, seed, accuracy (final, %) and sparsity (%) after
    ``rule``; structural sparsity counts the weights left once dead units are removed."""
    rows = []
    for row, r in pairs:
        if r.get("status") != "finished":
            continue
        res = r["rules"][rule]
        left = res["totals"]["params_after_removal"] if structural else res["all_nonzero"]
        rows.append({"regularizer": row.regularizer, "decay": r["config"]["decay"], "seed": r["config"]["seed"],
                     "acc": res["test_acc_final"], "sparsity": 100.0 * (1 - left / res["all_params"])})
    return pd.DataFrame(rows, columns=["regularizer", "decay", "seed", "acc", "sparsity"])


def curve_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per regularizer and strength."""
    return (frame.groupby(["regularizer", "decay"])
            .agg(acc=("acc", "mean"), acc_sd=("acc", "std"), sparsity=("sparsity", "mean"),
                 sparsity_sd=("sparsity", "std"), seeds=("seed", "nunique")).reset_index())


def _at(frame: pd.DataFrame, regularizer: str, target: float):
    """A curve at ``target``: the sparsity on its mean, each seed's, the fewest seeds of a strength, and the
    two strengths the mean's estimate lies between (None where it misses the target)."""
    sub = frame[frame.regularizer == regularizer]
    means = curve_means(sub)
    points = list(zip(means.decay, means.acc, means.sparsity))
    per_seed = [sparsity_at(list(zip(g.decay, g.acc, g.sparsity)), target) for _, g in sub.groupby("seed")]
    seeds = int(means.seeds.min()) if len(means) else 0
    return (sparsity_at(points, target), [s for s in per_seed if s is not None], seeds,
            strengths_at(points, target))


def matched_accuracy(frame: pd.DataFrame, claimed: str, baseline: str, top: float,
                     drops=(0.5, 1.0, 2.0)) -> list[dict]:
    """'``claimed`` is sparser than ``baseline`` at equal accuracy', at ``top`` minus each drop: per target,
    the comparison and, per regularizer, the two strengths its estimate lies between (``strengths``)."""
    out = []
    for drop in drops:
        target = top - drop
        est_a, seeds_a, n_a, between_a = _at(frame, claimed, target)
        est_b, seeds_b, n_b, between_b = _at(frame, baseline, target)
        c = compare(seeds_a if est_a is not None else [], seeds_b if est_b is not None else [],
                    ours_mean=est_a, base_mean=est_b)
        if c.verdict != "undecided" and min(n_a, n_b) < MIN_SEEDS:
            c = Comparison(c.ours, c.base, c.effect, c.spread, n_a, n_b, "undecided",
                           f"fewer than {MIN_SEEDS} seeds", seeds_to_decide(seeds_a, seeds_b, c.effect))
        if est_a is None or est_b is None:
            c = Comparison(est_a, est_b, None, None, n_a, n_b, "undecided",
                           "a curve misses the target")
        out.append({"drop": drop, "target": target, "comparison": c,
                    "strengths": {claimed: between_a, baseline: between_b}})
    return out


def _epochs(history: list[dict], phase: str, key: str) -> list[dict]:
    """A phase's epochs that recorded ``key``."""
    return [h for h in history if h["phase"] == phase and h.get(key) is not None]


def _tail(history: list[dict], phase: str, key: str, last: int) -> list[float] | None:
    """``key`` over a phase's last ``2 * last`` epochs; None if the phase is too short to tell."""
    vals = [h[key] for h in _epochs(history, phase, key)]
    return vals[-2 * last:] if len(vals) >= 2 * last else None


def levelled_off(history: list[dict], phase: str, key: str = "test_acc", last: int = 3) -> float | None:
    """Mean of ``key`` over a phase's last ``last`` epochs minus the mean over the ``last`` before them
    (points): near zero once training has levelled off; None if the phase is too short to tell."""
    vals = _tail(history, phase, key, last)
    return None if vals is None else statistics.mean(vals[last:]) - statistics.mean(vals[:last])


def epoch_spread(history: list[dict], phase: str, key: str = "test_acc", last: int = 3) -> float | None:
    """Standard deviation of ``key`` over a phase's last ``2 * last`` epochs (points): how much the accuracy
    moves from epoch to epoch where :func:`levelled_off` compares them; None if the phase is too short."""
    vals = _tail(history, phase, key, last)
    return None if vals is None else statistics.stdev(vals)


def fitted_span(history: list[dict], phase: str, key: str = "test_acc") -> list[float]:
    """``key`` over the epochs :func:`fitted_rise` fits: the phase's last half, from its last learning-rate
    step in that half on (a step moves the accuracy by design)."""
    rows = _epochs(history, phase, key)
    half = rows[len(rows) // 2:]
    start = max((i for i in range(1, len(half)) if half[i].get("lr") != half[i - 1].get("lr")), default=0)
    return [h[key] for h in half[start:]]


def fitted_rise(history: list[dict], phase: str, key: str = "test_acc", least: int = 4) -> float | None:
    """How much a straight line fitted through a phase's last half rises from its first epoch to its last
    (points): a slow trend that :func:`levelled_off` (a few epochs against the few before) misses. The line
    starts after the last learning-rate step in that half (:func:`fitted_span`); None when fewer than
    ``least`` epochs remain."""
    return rise_of(fitted_span(history, phase, key), least)


def rise_of(vals: list[float], least: int = 4) -> float | None:
    """How much a straight line fitted through ``vals`` rises from the first to the last (None when fewer than
    ``least``): :func:`fitted_rise` on a span already cut."""
    if len(vals) < least:
        return None
    return statistics.linear_regression(range(len(vals)), vals).slope * (len(vals) - 1)
