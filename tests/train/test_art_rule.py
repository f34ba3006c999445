"""ART's decision rule (:func:`sparsebook.art_decisions`) against a transcription of the original.

``OriginalART`` restates, statement by statement, what the HyperSparse code does after each ART
epoch (``ART.forward_epoch`` in ``utils/art.py`` with ``ModelBuffer`` from ``utils/misc.py``): the
buffer, its mean, the best entry and the stop. It is written here from reading that code, so the
library's pure function can be checked against it on many sequences.
"""
import random

import pytest

import sparsebook
from sparsebook import art_decisions


class OriginalART:
    """The original's bookkeeping, with accuracies in place of models."""

    def __init__(self, size_model_buffer: int):
        self.max_size = 2 * size_model_buffer + 1          # ModelBuffer(maxBufferSize=2 * size + 1)
        self.middle_idx = self.max_size // 2
        self.epochs, self.accs = [], []                    # the buffer's lists
        self.best = {"art_epoch": 0, "train_acc_pr": 0.0, "mean_train_acc_pr": 0.0}
        self.last_art_epoch = 0
        self.terminated = False

    def forward_epoch(self, train_acc_pr: float, train_acc_dens: float) -> None:
        self.last_art_epoch += 1
        for lst, v in ((self.epochs, self.last_art_epoch), (self.accs, train_acc_pr)):  # ModelBuffer.update
            lst.append(v)
            if len(lst) > self.max_size:
                lst.pop(0)
        avg = sum(self.accs) / len(self.accs)              # ModelBuffer.avg_val
        if avg > self.best["train_acc_pr"]:
            idx = min(len(self.accs) - 1, self.middle_idx)  # ModelBuffer.get_middle_elem
            self.best = {"art_epoch": self.epochs[idx], "train_acc_pr": self.accs[idx], "mean_train_acc_pr": avg}
        if self.best["mean_train_acc_pr"] > train_acc_dens:
            self.terminated = True


def transcribed(pruned, dense, window):
    art = OriginalART((window - 1) // 2)
    for p, d in zip(pruned, dense):
        art.forward_epoch(p, d)
        if art.terminated:
            break
    best = art.best if art.best["art_epoch"] else None
    return {"best_epoch": best and best["art_epoch"], "best_mean": best and best["mean_train_acc_pr"],
            "stop_epoch": art.last_art_epoch if art.terminated else None}


def ours(pruned, dense, window):
    d = art_decisions(pruned, dense, window)
    return {k: d[k] for k in ("best_epoch", "best_mean", "stop_epoch")}


HAND_MADE = [
    ([90.0], [80.0]),                                   # stops after the first ART epoch
    ([10.0, 95.0], [90.0, 90.0]),                       # mean of two exceeds at epoch 2
    ([10.0, 20.0, 30.0, 40.0], [99.0] * 4),             # never stops
    ([50.0, 50.0, 50.0, 50.0, 50.0], [60.0, 55.0, 50.0, 49.9, 40.0]),  # ties: strict > everywhere
    ([50.0, 50.0, 50.0], [50.0, 50.0, 50.0]),           # equal to the dense accuracy: no stop
    ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),                 # no best ever
    ([60.0, 80.0, 70.0, 75.0, 90.0, 10.0], [95.0, 90.0, 85.0, 80.0, 76.0, 70.0]),
    ([80.0, 40.0, 40.0, 40.0, 79.0, 81.0], [99.0, 99.0, 99.0, 99.0, 99.0, 60.0]),  # best entry's own acc is the bar
]


@pytest.mark.parametrize("pruned, dense", HAND_MADE)
@pytest.mark.parametrize("window", [1, 3, 5])
def test_hand_made_sequences_match_the_original(pruned, dense, window):
    assert ours(pruned, dense, window) == transcribed(pruned, dense, window)


def test_random_sequences_match_the_original():
    rng = random.Random(0)
    stops = set()
    for _ in range(3000):
        n = rng.randint(1, 25)
        window = rng.choice([1, 3, 5, 7])
        grid = rng.choice([None, 1.0, 5.0])  # coarse grids make ties common
        pruned = [rng.uniform(0, 100) for _ in range(n)]
        dense = sorted((rng.uniform(30, 100) for _ in range(n)), reverse=True)
        if grid:
            pruned, dense = [round(v / grid) * grid for v in pruned], [round(v / grid) * grid for v in dense]
        expected = transcribed(pruned, dense, window)
        assert ours(pruned, dense, window) == expected, (pruned, dense, window)
        stops.add(expected["stop_epoch"])
    assert {None, 1, 2, 3} <= stops  # early stops and runs that never stop were all exercised


def test_the_middle_entry_moves_while_the_buffer_fills():
    d = art_decisions([70.0, 80.0, 90.0], [99.0] * 3, window=3)
    assert d["best_epoch"] == 2 and d["window_means"] == [70.0, 75.0, 80.0]
    # epoch 3's mean (80) does not exceed the best entry's own accuracy (80): the best keeps epoch 2's mean
    assert d["best_mean"] == pytest.approx(75.0)


def test_full_window_rule_is_the_first_rule_of_this_book():
    d = art_decisions([70.0, 80.0, 90.0, 60.0], [99.0, 99.0, 79.0, 50.0], window=3, rule="full_window")
    assert d["window_means"][:2] == [None, None] and d["best_epoch"] == 2 and d["stop_epoch"] == 3


@pytest.mark.parametrize("args, match", [
    (([1.0], [1.0, 2.0]), "differ in length"), (([1.0], [1.0], 0), "window must be"),
    (([1.0], [1.0], 3, "best"), "rule must be one of"),
])
def test_bad_arguments_are_named(args, match):
    with pytest.raises(ValueError, match=match):
        art_decisions(*args)


def test_exported_at_the_top_level():
    assert sparsebook.art_decisions is art_decisions
