"""The claims protocol's DeepHoyer runs: fair frontiers for "sparser at equal accuracy".

DeepHoyer claims that Hoyer-Square prunes more than L1, and Group-HS more than Group Lasso, at equal accuracy.
The reproduction pruned each regularizer at its own std ratio (Group-HS 0.8, Group Lasso 0.25; Hoyer-Square
0.03, L1 0.25), which confounds the comparison with the ratio. Here every trained network is pruned and
fine-tuned at **one grid shared by every regularizer** (:data:`FRONTIER`: the paper's threshold and four std
ratios that include the reproduction's), each regularizer at every strength of its half-decade grid
(:func:`~.grid.curve_strengths`), from the paper's start (a dense network trained first), on five seeds that
pair: a seed fixes the data order and the dense start for every regularizer.

Every run holds out :data:`FRONTIER`'s ``val_size`` training images (the same for every run): each choice (a
strength, a pruning parameter) is made on them, and the test set is read once per run, after fine-tuning.
A run fine-tunes one rule at one value (``rules``); the runs of one trained network share its training
(:data:`~sparsebook.train.deephoyer.AFTER_TRAINING`), so the grid costs only its fine-tunings.
"""
from __future__ import annotations

from dataclasses import dataclass

from .grid import CURVE_SMOKE, curve_strengths
from .profiles import make_config

__all__ = ["FRONTIER", "FRONTIER_SEEDS", "FrontierRow", "frontier_runs", "frontier_grid"]

#: the protocol's DeepHoyer setting: the table, the claims' regularizers, the split and the shared pruning grid
FRONTIER = {
    "model": "lenet_300_100", "dataset": "mnist",
    "regularizers": ("l1", "hoyer_square", "group_lasso", "group_hoyer_square"),
    # MNIST's usual 50,000 / 10,000 split of the training images (the test set's size: a choice made on it is
    # as precise as a test-set reading, ~0.14 points at 98 %)
    "val_size": {"smoke": 200, "default": 10_000},
    "threshold": 1e-3,  # the paper's (prun_tune_T.py)
    # the reproduction's ratios (0.03 Hoyer-Square, 0.25 L1 and Group Lasso, 0.8 Group-HS) and one between;
    # a fifth would add ~1 h to the part's ~9 h on 2 workers (LeNet-300-100 ~3 s an epoch on one thread)
    "std_ratios": {"smoke": (0.25, 0.8), "default": (0.03, 0.1, 0.25, 0.8)},
    "start": "dense",
}
FRONTIER_SEEDS = {"smoke": (0,), "default": (0, 1, 2, 3, 4)}


def _by_profile(table: dict, profile: str):
    return table.get(profile, table["default"])


@dataclass(frozen=True)
class FrontierRow:
    regularizer: str
    decay: float
    rule: str       # "threshold" or "std_ratio"
    value: float    # the threshold or the std ratio


def frontier_grid(profile: str) -> list[tuple[str, float]]:
    """The shared pruning grid: (rule, value) for the threshold and every std ratio."""
    return [("threshold", FRONTIER["threshold"])] + [("std_ratio", r) for r in _by_profile(FRONTIER["std_ratios"],
                                                                                          profile)]


def frontier_runs(profile: str, seeds=None, regularizers=None) -> list[tuple[FrontierRow, object]]:
    """(row, config) of every run the protocol's DeepHoyer verdicts read: per seed (outermost, so a sweep
    completes seeds in turn), the unregularized network and each regularizer at each strength, each pruned
    at every value of the shared grid."""
    regs = tuple(regularizers) if regularizers is not None else FRONTIER["regularizers"]
    bad = sorted(set(regs) - set(FRONTIER["regularizers"]))
    if bad:
        raise ValueError(f"no frontier for {bad}; valid: {', '.join(FRONTIER['regularizers'])}")
    model, dataset = FRONTIER["model"], FRONTIER["dataset"]
    out = []
    for seed in seeds if seeds is not None else _by_profile(FRONTIER_SEEDS, profile):
        for reg in ("none", *regs):
            strengths = (0.0,) if reg == "none" else curve_strengths(model, dataset, reg)
            if profile == "smoke" and reg != "none":
                strengths = strengths[1:1 + CURVE_SMOKE["points"]]
            for decay in strengths:
                for rule, value in frontier_grid(profile):
                    cfg = make_config("deephoyer", profile, model=model, dataset=dataset, regularizer=reg, decay=decay,
                                      seed=seed, val_size=_by_profile(FRONTIER["val_size"], profile),
                                      start=FRONTIER["start"], rules=(rule,), **{rule: value})
                    out.append((FrontierRow(reg, decay, rule, value), cfg))
    return out
