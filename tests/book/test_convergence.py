"""The convergence table: a phase has levelled off where its last epochs moved no more than the noise."""
import random

import pandas as pd

from sparsebook.book import convergence, ledger


def run(seed, accs, phase="warmup"):
    return (None, {"status": "finished", "config": {"model": "m", "seed": seed},
                   "history": [{"phase": phase, "test_acc": a} for a in accs]})


def test_a_flat_phase_that_jitters_from_epoch_to_epoch_has_levelled_off():
    # a constant learning rate: +-1 point from epoch to epoch, seeds that end 0.1 apart
    pairs = [run(s, [40, 50, 52, 50, 52, 50, 52, 51.0 + s / 10]) for s in range(3)]
    row = convergence.convergence_table(pairs).loc["warmup"]
    assert row["seeds' spread (points)"] < 0.2 < row["epoch-to-epoch spread (points)"]
    assert row["levelled off"] == "yes"


def test_a_phase_still_rising_has_not():
    pairs = [run(s, [40 + e + s / 10 for e in range(12)]) for s in range(3)]
    row = convergence.convergence_table(pairs).loc["warmup"]
    assert row["median change (points)"] == 3 and row["levelled off"].startswith("no")


def test_one_seed_is_judged_on_its_own_epochs():
    row = convergence.convergence_table([run(0, [50, 51, 50, 51, 50, 51])]).loc["warmup"]
    assert row["seeds' spread (points)"] == "–" and row["levelled off"] == "yes"


def test_a_slow_trend_under_the_jitter_is_caught_by_the_fitted_line():
    # 0.1 point per epoch under +-1 point of jitter: the last 4 epochs (a tenth) against the 4 before barely differ
    accs = [40 + 0.1 * e + (1 if e % 2 else -1) for e in range(40)]
    pairs = [run(s, accs) for s in range(3)]
    row = convergence.convergence_table(pairs).loc["warmup"]
    assert abs(row["median change (points)"]) < row["epoch-to-epoch spread (points)"]
    assert 1.5 < row["fitted rise, last half (points)"] < 2.5  # 1.9, give or take the jitter
    assert row["levelled off"] == "no: a slow trend beyond the noise"


def share_moving(slope, epochs=20, jitter=1.0, runs=1, draws=200):
    """The share of ``draws`` random phases (``runs`` runs of ``epochs`` epochs, rising ``slope`` points an
    epoch under Gaussian ``jitter``) that the rule calls still moving."""
    rng = random.Random(0)
    return sum(not convergence.levelled([run(s, [70 + slope * e + rng.gauss(0, jitter) for e in range(epochs)])
                                         for s in range(runs)]) for _ in range(draws)) / draws


def test_a_long_noisy_plateau_is_judged_on_a_tenth_of_it_not_on_3_epochs():
    # 120 epochs at a constant learning rate, 2.5 points of epoch-to-epoch noise (the ResNet warm-up's): 3
    # epochs against 3 called a third of such flat runs "still moving"; a tenth of the phase, few. A real
    # rise of 0.1 point an epoch is still caught.
    assert convergence.window(120) == 12 and convergence.window(15) == 3 and convergence.window(4) == 2
    assert share_moving(0.0, epochs=120, jitter=2.5, draws=100) < 0.1
    assert share_moving(0.1, epochs=120, jitter=2.5, draws=100) > 0.95


def test_a_short_flat_phase_is_held_against_what_chance_moves_a_few_epochs_by():
    # a 20-epoch fine-tuning at a flat mean, 1 point of epoch-to-epoch noise, one run: a line through its
    # last 10 epochs rises by chance by about the noise itself, so the noise alone as the bar called half
    # of such runs "still moving"; twice the standard error as the bar, about one in ten. A rise of 4
    # points over the phase is still caught in most draws.
    assert share_moving(0.0) < 0.2 and share_moving(0.0, runs=3) < 0.15
    assert share_moving(0.2, runs=3) > 0.5


def test_the_fitted_line_starts_after_the_last_learning_rate_step():
    from sparsebook.book import claims
    history = [{"phase": "finetune", "test_acc": a, "lr": lr}
               for a, lr in zip([50, 55, 60, 70, 80, 80, 80, 80, 80, 80], [0.1] * 5 + [0.01] * 5)]
    assert claims.fitted_rise(history, "finetune") == 0
    assert claims.fitted_rise(history[:6], "finetune") is None  # 1 epoch after the step: too short


def test_the_summary_for_prose_names_the_phases_still_moving():
    flat = [run(s, [40, 50, 52, 50, 52, 50, 52, 51.0 + s / 10]) for s in range(3)]
    assert convergence.convergence_summary(convergence.convergence_table(flat)) == "every phase levelled off"
    rising = [run(s, [40 + e + s / 10 for e in range(12)], phase="train") for s in range(3)]
    table = convergence.convergence_table(flat + rising)
    assert convergence.convergence_summary(table) == (
        "not every phase levelled off: train (its last epochs moved +3.00 points, against a bar of 2.20)")


def art_pairs(warmup):
    """HyperSparse 5 points ahead of L1 and L2 at one sparsity, three seeds, every run with ``warmup``'s
    accuracies as its warm-up and a flat fine-tuning."""
    from collections import namedtuple
    Row = namedtuple("Row", "regularizer sparsity")
    pairs = []
    for reg, acc in (("hypersparse", 60.0), ("l1", 55.0), ("l2", 55.0)):
        for s in range(3):
            history = [{"phase": "warmup", "test_acc": a + s / 10} for a in warmup]
            history += [{"phase": "finetune", "test_acc": acc + s / 10 + (e % 2) / 10} for e in range(8)]
            pairs.append((Row(reg, 0.9), {"status": "finished", "history": history,
                                          "config": {"model": "m", "regularizer": reg, "seed": s},
                                          "final": {"test_acc_final": acc + s / 10, "art_epochs": 5}}))
    return pairs


def test_a_verdict_needs_a_schedule_that_levelled_off():
    levelled = ledger.art_verdicts(art_pairs([40, 50, 52, 50, 52, 50, 52, 51]))
    assert (levelled["schedule"] == "levelled off").all()
    assert levelled.loc[("HyperSparse more accurate than L1", "90"), "verdict"] == "reproduced"
    rising = ledger.art_verdicts(art_pairs([40 + e for e in range(12)]))
    row = rising.loc[("HyperSparse more accurate than L1", "90")]
    assert row["verdict"] == "undecided"
    assert row["schedule"] == "still moving: HyperSparse at 90 %, L1 at 90 % (runs read: reproduced)"
    assert rising.loc[("HyperSparse fewer ART epochs than L1", "90"), "schedule"].endswith("L1 at 90 %")
    assert convergence.held_back(rising["schedule"]).sum() == 2  # the accuracy rows; the epochs tie either way
    assert not convergence.levelled(art_pairs([40 + e for e in range(12)]), convergence.ART_PHASES)


def test_a_verdict_is_held_only_by_the_runs_behind_it():
    # L2's runs still rise in their fine-tuning; the verdicts against L1 do not read them
    pairs = [(row, r) if row.regularizer != "l2" else (row, {**r, "history": r["history"][:8] + [
        {"phase": "finetune", "test_acc": 40 + e + row.sparsity} for e in range(8)]})
        for row, r in art_pairs([40, 50, 52, 50, 52, 50, 52, 51])]
    t = ledger.art_verdicts(pairs)
    assert t.loc[("HyperSparse more accurate than L1", "90"), "verdict"] == "reproduced"
    assert t.loc[("HyperSparse more accurate than L2", "90"), "schedule"].startswith("still moving: L2 at 90 %")
    # ART's epochs are counted before the fine-tuning starts: its fine-tuning does not hold that claim
    assert t.loc[("HyperSparse fewer ART epochs than L2", "90"), "schedule"] == "levelled off"


def curve_pairs(moving: str | None = None):
    """Trade-off curves of three seeds: L1 and Hoyer-Square at five strengths, accuracy falling from 98 to
    94 while the sparsity rises; Hoyer-Square 5 points sparser at every accuracy. ``moving``: the regularizer
    whose training still rises by 3 points over its last epochs."""
    from collections import namedtuple
    Row = namedtuple("Row", "regularizer")
    pairs = []
    for reg, offset in (("none", None), ("l1", 0.0), ("hoyer_square", 5.0)):
        for i, decay in enumerate([0.0] if reg == "none" else [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]):
            for s in range(3):
                acc = 98.5 if reg == "none" else 98.0 - i + s / 20
                sparsity = 20.0 if reg == "none" else 60.0 + 8 * i + offset + s / 10
                rule = {"test_acc_final": acc, "all_nonzero": 100 - sparsity, "all_params": 100,
                        "totals": {"params_after_removal": 100 - sparsity}}
                train = [acc - (3 - e / 3 if reg == moving else 0) for e in range(10)]
                history = [{"phase": "train", "test_acc": a} for a in train]
                history += [{"phase": f"finetune_{k}", "test_acc": acc}
                            for k in ("threshold", "std_ratio") for e in range(8)]
                pairs.append((Row(reg), {"status": "finished", "history": history,
                                         "config": {"decay": decay, "seed": s, "weight_decay": 0.0},
                                         "rules": {"threshold": rule, "std_ratio": rule}}))
    return pairs


def test_sparser_at_equal_accuracy_is_read_off_the_curves():
    from sparsebook.book import claims
    assert claims.sparsity_at([(1, 98.0, 60.0), (2, 97.0, 70.0), (3, 96.0, 80.0)], 96.5) == 75.0
    assert claims.strengths_at([(1, 98.0, 60.0), (2, 97.0, 70.0), (3, 96.0, 80.0)], 96.5) == (2, 3)
    assert claims.sparsity_at([(1, 98.0, 60.0), (2, 97.0, 70.0)], 99.0) is None  # never reaches it
    t = ledger.matched_table(curve_pairs())
    element_wise = t.loc["Hoyer-Square sparser than L1"]
    assert (element_wise["verdict"] == "reproduced").all()
    assert (element_wise["schedule"] == "levelled off").all()
    assert element_wise["effect ± spread (points)"].str.startswith("5.").all()


def test_a_curve_verdict_waits_for_the_claimed_curve_to_level_off():
    t = ledger.matched_table(curve_pairs(moving="hoyer_square")).loc["Hoyer-Square sparser than L1"]
    assert (t["verdict"] == "undecided").all()
    # the target 98.5 - 1 = 97.5 lies between the first two strengths of both curves
    row = t.loc[("fixed threshold", "97.50 (−1)")]
    assert row["schedule"] == "still moving: Hoyer-Square at 1e-05–0.0001 (runs read: reproduced)"
    assert convergence.held_back(t["schedule"]).all()


def test_the_verdicts_are_summed_up_per_claim_and_training_length():
    summary = ledger.verdict_summary({"10 training epochs": ledger.matched_table(curve_pairs()),
                                      "30 training epochs": ledger.matched_table(curve_pairs("hoyer_square"))})
    # the levelled curves decide all six rows (two rules, three targets); the moving ones hold all six
    assert summary == ("Hoyer-Square sparser than L1, 12 rows: reproduced in 6 (10 training epochs: fixed "
                       "threshold at −0.5, −1 and −2, std ratio at −0.5, −1 and −2); not reproduced in 0; "
                       "undecided in 6, 6 of them reading a verdict but held because runs behind them are still moving")
    assert "no claim has a verdict yet" in ledger.verdict_summary({"10 training epochs": ledger.matched_table([])})


def test_the_training_figure_draws_each_strength_of_the_compared_curves():
    fig = ledger.training_figure(curve_pairs(moving="hoyer_square"))
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["Hoyer-Square", "L1"]  # claimed, baseline; no structural run
    assert len(axes[0].get_lines()) == 5 + 1  # five strengths and the unregularized network
    climbing = axes[0].get_lines()[0].get_ydata()
    assert climbing[-1] - climbing[0] == 3  # the moving curve, as the runs recorded it
    assert "no finished" in ledger.training_figure([]).axes[0].texts[0].get_text()


def test_a_table_row_says_which_of_its_phases_still_move():
    def runs(train, finetune):
        return [(None, {"status": "finished", "config": {"model": "m", "seed": s},
                        "history": [{"phase": "train", "test_acc": a + s / 10} for a in train]
                        + [{"phase": "finetune_threshold", "test_acc": a + s / 10} for a in finetune]})
                for s in range(3)]
    flat = [50, 52, 50, 52, 50, 52, 51, 51]
    assert convergence.levelled_label(runs(flat, flat)) == "yes"
    rising = [40 + 2 * e for e in range(8)]
    assert convergence.levelled_label(runs(rising, rising)) == "no: training, threshold fine-tuning"
    assert convergence.levelled_label(runs(flat, rising), ("train",)) == "yes"  # only the phases asked about
    assert convergence.levelled_label([]) == "–"


def test_a_verdicts_few_runs_are_held_against_the_noise_of_their_whole_table():
    # three runs creeping up 0.05 points an epoch, seeds 0.01 apart: against their own spread they move...
    creeping = [run(s, [50 + 0.05 * e + s / 100 for e in range(8)]) for s in range(3)]
    assert not convergence.levelled(creeping)
    # ...but the table's runs differ by 0.5 points from seed to seed, and that creep is within it
    table = creeping + [(None, {**run(s, [60 + s / 2] * 8)[1], "config": {"model": "n", "seed": s}})
                        for s in range(3)]
    assert convergence.levelled(creeping, reference=table)
    # the median over the two settings of their spread over seeds: (0.01 + 0.5) / 2
    assert convergence.convergence_table(creeping, reference=table).loc["warmup", "seeds' spread (points)"] == 0.255


def test_a_curve_verdict_is_held_against_the_noise_of_its_own_runs():
    # Hoyer and Transformed L1 curves whose training jumps 10 points from epoch to epoch: were they part of
    # the noise, Hoyer-Square's 3-point rise would pass for levelled off
    pairs = curve_pairs(moving="hoyer_square")
    noisy = [(type(row)(reg), {**r, "history": [{**h, "test_acc": h["test_acc"] + 10 * (i % 2)}
                                                for i, h in enumerate(r["history"])]})
             for reg in ("hoyer", "transformed_l1") for row, r in pairs if row.regularizer == "l1"]
    pd.testing.assert_frame_equal(ledger.matched_table(pairs + noisy), ledger.matched_table(pairs))
