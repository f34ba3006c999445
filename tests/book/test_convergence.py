"""The convergence table: a phase has levelled off where its last epochs moved no more than the noise."""
from sparsebook.book import ledger


def run(seed, accs, phase="warmup"):
    return (None, {"status": "finished", "config": {"model": "m", "seed": seed},
                   "history": [{"phase": phase, "test_acc": a} for a in accs]})


def test_a_flat_phase_that_jitters_from_epoch_to_epoch_has_levelled_off():
    # a constant learning rate: +-1 point from epoch to epoch, seeds that end 0.1 apart
    pairs = [run(s, [40, 50, 52, 50, 52, 50, 52, 51.0 + s / 10]) for s in range(3)]
    row = ledger.convergence_table(pairs).loc["warmup"]
    assert row["seeds' spread (points)"] < 0.2 < row["epoch-to-epoch spread (points)"]
    assert row["levelled off"] == "yes"


def test_a_phase_still_rising_has_not():
    pairs = [run(s, [40 + e + s / 10 for e in range(12)]) for s in range(3)]
    row = ledger.convergence_table(pairs).loc["warmup"]
    assert row["median change (points)"] == 3 and row["levelled off"].startswith("no")


def test_one_seed_is_judged_on_its_own_epochs():
    row = ledger.convergence_table([run(0, [50, 51, 50, 51, 50, 51])]).loc["warmup"]
    assert row["seeds' spread (points)"] == "–" and row["levelled off"] == "yes"
