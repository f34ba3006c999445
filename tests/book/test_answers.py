"""The sentences pages open with are computed from their data: each reads what its table or runs hold."""
import pandas as pd

from sparsebook.book import benchmarks, deephoyer, headline, status
from sparsebook.experiments import make_config
from sparsebook.experiments.grid import DeepHoyerRow


def _side_by_side(rows):
    cols = pd.MultiIndex.from_tuples([("reproduction report", "acc %"), ("reproduction report", "nonzero"),
                                      ("ours: fixed threshold", "acc %"), ("ours: fixed threshold", "nonzero"),
                                      ("ours: std ratio", "acc %"), ("ours: std ratio", "nonzero"),
                                      ("", "levelled off")])
    return pd.DataFrame([r[1:] for r in rows], index=[r[0] for r in rows], columns=cols)


def test_the_largest_gaps_name_their_rows_and_where_they_sit_on_the_trade_off():
    t = _side_by_side([
        ("Group-HS", "90.82", "8025", "79.41 ± 1.07", "1861 ± 475", "81.79 ± 0.80", "2378 ± 796", "no: training"),
        ("Transformed L1", "90.47", "4156", "91.88 ± 0.19", "77509", "91.59 ± 0.27", "22634 ± 745", "yes"),
        ("Hoyer", "91.47", "176702", "91.95", "256064", "91.50", "80553", "yes"),
        ("Hoyer-Square", "–", "–", "90.88", "61180", "90.91", "30541", "yes")])  # no report numbers: left out
    text = deephoyer.largest_gaps(t, "nonzero")
    accuracy, size = text.split("; in the nonzero count, ")
    assert accuracy.startswith("In accuracy, ")
    # the largest accuracy gap, under the rule nearest the report's count (std ratio: 2,378 against 8,025)
    assert "Group-HS (std ratio): 81.79 against the report's 90.82 %" in accuracy
    assert "pruned harder, less accurate" in accuracy and "not levelled off" in accuracy
    # the largest count gap, relative: Transformed L1's 22,634 against 4,156 (Hoyer's 80,553 against 176,702 is less)
    assert size.startswith("Transformed L1 (std ratio)") and "pruned less, more accurate" in size
    assert "not levelled off" not in size
    worse = _side_by_side([("L1", "98.0", "1000", "97.0", "2000", "–", "–", "yes")])
    assert "which no strength explains: not known" in deephoyer.largest_gaps(worse, "nonzero")


def _snapshot_result(reg, kept, bin_, seed=0):
    """A finished run whose 'pruned_matched' snapshot holds one layer: ``kept`` of 1000 weights, all in log10 |w|
    bin ``bin_`` of [-4, -3), [-3, -2), [-2, -1), [-1, 0) (its median read as the bin's upper edge)."""
    edges = [-4.0, -3.0, -2.0, -1.0, 0.0]
    counts = [0, 0, 0, 0]
    counts[bin_] = kept
    return (DeepHoyerRow("element-wise", reg),
            {"status": "finished", "config": {"seed": seed},
             "snapshots": [{"tag": "pruned_matched", "log10_edges": edges,
                            "layers": {"fc.weight": {"nonzero": kept, "numel": 1000, "log10_counts": counts}}}]})


def test_the_weights_answer_compares_regularizers_and_sets_the_unregularized_apart():
    pairs = [_snapshot_result("none", 350, 1), _snapshot_result("l1", 25, 2), _snapshot_result("hoyer_square", 18, 3)]
    t = deephoyer.survivors(pairs, "pruned_matched")
    assert t.loc["Hoyer-Square", "kept %"] == 1.8 and t.loc["Hoyer-Square", "median |w|"] == 1.0
    text = deephoyer.weights_answer(pairs, "pruned_matched")
    assert text.startswith("Hoyer-Square keeps the fewest weights (1.8 % of them), L1 the most (2.5 %)")
    assert "largest under Hoyer-Square (median |w| about 1) and smallest under L1 (about 0.1)" in text
    assert text.endswith("the unregularized network, pruned alike, keeps 35.0 % at a median |w| of about 0.01")
    assert deephoyer.weights_answer([], "pruned_matched").startswith("no finished regularized run")


def test_the_status_answer_counts_stored_and_planned_runs():
    plan = [make_config("deephoyer", "smoke", seed=s) for s in (0, 1, 2)]
    from sparsebook.experiments import run_id
    table = pd.DataFrame({"profile": ["cpu", "cpu", "paper"], "id": [run_id(plan[0]), "other", run_id(plan[1])],
                          "status": ["finished", "failed_nonfinite", "finished"]})
    text = status.answer(table, "cpu", {"the part": plan})
    assert text == ("2 runs are stored at the cpu profile, 1 of them finished (1 stopped short: the run table "
                    "says how); the part: 1 of 3 planned runs")
    assert status.answer(table.iloc[:0], "cpu", {}) == "no run is stored at the cpu profile yet"


def test_the_benchmark_answer_counts_the_goals_table():
    goals = pd.DataFrame({"met": ["yes", "within noise", "no", "no: 2x would need 77 % of the peak", "yes"]},
                         index=pd.Index(["a", "b", "c", "d", "e"], name="goal"))
    assert benchmarks.goals_answer(goals) == ("2 of 5 speed goals are met on this machine, 1 within the noise "
                                              "of its measurements, and 2 missed (c; d)")


def test_a_papers_line_counts_its_primary_verdicts():
    table = pd.DataFrame({"paper": ["DeepHoyer", "DeepHoyer", "HyperSparse"],
                          "verdict": ["reproduced", "undecided", "outside the paper's regime"]})
    assert headline.paper_line(table, "DeepHoyer") == "DeepHoyer: 2 primary rows, reproduced 1, undecided 1"
    assert headline.paper_line(table, "HyperSparse").endswith("(no row decided yet)")
