"""The frontier's tables and the weights page's matched points, on a hand-made frame whose answers are known."""
import pandas as pd
import pytest

from sparsebook.book import frontier
from sparsebook.experiments.frontiers import FrontierRow


def _frame():
    """Two seeds; the unregularized network at 98.0 / 98.4 % on validation; L1 at two strengths and two
    pruning points each."""
    rows = []
    for seed, ref in ((0, 98.0), (1, 98.4)):
        rows.append(dict(regularizer="none", decay=0.0, seed=seed, rule="threshold", value=1e-3, val_acc=ref,
                         test_acc=ref, pruned=1.0, removed=0.5, trained_val_acc=ref, dead_layer=False, start=""))
        for decay, rule, value, drop, pruned in ((1e-5, "threshold", 1e-3, 0.2, 90.0), (1e-5, "std_ratio", 0.25, 0.4,
                                                                                        94.0),
                                                 (1e-4, "threshold", 1e-3, 0.9, 97.0), (1e-4, "std_ratio", 0.8, 2.5,
                                                                                        99.0)):
            rows.append(dict(regularizer="l1", decay=decay, seed=seed, rule=rule, value=value, val_acc=ref - drop,
                             test_acc=ref - drop - 0.1 * (seed + 1), pruned=pruned + seed, removed=pruned - 10,
                             trained_val_acc=ref - drop, dead_layer=False, start=""))
    return pd.DataFrame(rows)


def test_the_frontier_table_reports_each_targets_choice_over_the_seeds():
    t = frontier.frontier_table(_frame(), ["l1"], "parameters pruned", drops=(0.5, 1.0, 3.0)).set_index("target")
    # -0.5: each seed's sparsest point within half a point is the std ratio 0.25 at 1e-5 (94 and 95 %)
    assert t.loc["−0.5", "parameters pruned (%)"] == "94.50 ± 0.71"
    assert t.loc["−0.5", "test accuracy (%)"] == "97.65 ± 0.21"  # 98.0 - 0.4 - 0.1 and 98.4 - 0.4 - 0.2
    assert t.loc["−0.5", "seeds"] == 2 and t.loc["−0.5", "chosen (strength / t threshold or r std ratio)"] == \
        "1e-05 / r 0.25"
    assert t.loc["−1", "chosen (strength / t threshold or r std ratio)"] == "0.0001 / t 0.001"
    assert t.loc["−3", "parameters pruned (%)"] == "99.50 ± 0.71"
    none = frontier.frontier_table(_frame(), ["l1"], "parameters pruned", drops=(0.1,)).iloc[0]
    assert (none["parameters pruned (%)"], none["seeds"], none.iloc[-1]) == ("–", 0, "–")  # no point reaches it
    one = frontier.frontier_table(_frame()[_frame().seed == 0], ["l1"], "weights removed", drops=(0.5,)).iloc[0]
    assert one["weights removed (%)"] == "84.00" and one["seeds"] == 1  # a single seed: no spread


def test_claim_values_pair_the_chosen_points_by_seed():
    f = _frame()
    f2 = pd.concat([f, f[f.regularizer == "l1"].assign(regularizer="hoyer_square", pruned=lambda d: d.pruned + 2,
                                                        dead_layer=True)])
    v = frontier.claim_values(f2, "hoyer_square", "l1", 0.5, "parameters pruned")
    assert v["claimed"] == {0: 96.0, 1: 97.0} and v["baseline"] == {0: 94.0, 1: 95.0}
    assert v["claimed_acc"] == pytest.approx([97.5, 97.8]) and v["claimed_dead"] and not v["baseline_dead"]
    assert frontier.claim_values(f2, "l1", "hoyer_square", 0.5, "parameters pruned")["baseline_dead"]
    none = frontier.claim_values(f2, "hoyer_square", "l1", 0.1, "parameters pruned")  # no point reaches it
    assert none["claimed"] == {} and not none["claimed_dead"] and not none["baseline_dead"]


def test_watched_reads_validation_under_the_name_the_convergence_tables_read():
    row = FrontierRow("l1", 1e-5, "threshold", 1e-3)
    done = {"status": "finished", "history": [{"val_acc": 97.0, "epoch": 0}, {"val_acc": 97.5, "epoch": 1}]}
    failed = {"status": "failed_nonfinite", "history": [{"val_acc": 10.0}]}
    (_, w), (_, f) = frontier.watched([(row, done), (row, failed)])
    assert [h["test_acc"] for h in w["history"]] == [97.0, 97.5] and w["history"][1]["epoch"] == 1
    assert f is failed  # a run that did not finish is passed on as it is


def _run(reg, decay, seed, rule, value, val, pruned, left):
    snaps = [{"tag": f"pruned_{rule}", "layers": {}}, {"tag": "trained", "layers": {}}]
    return (FrontierRow(reg, decay, rule, value),
            {"status": "finished", "config": {"seed": seed}, "env": {}, "final": {"trained_val_acc": 98.0},
             "rules": {rule: {"val_acc_final": val, "test_acc_final": val, "all_nonzero": left, "all_params": 100,
                              "totals": {"params_after_removal": left}, "layers": []}},
             "snapshots": snaps})


def test_matched_pairs_take_each_regularizers_frontier_point_of_one_seed():
    pairs = [_run("none", 0.0, 0, "threshold", 1e-3, 98.0, 1.0, 99),
             _run("none", 0.0, 1, "threshold", 1e-3, 98.0, 1, 99),
             _run("l1", 1e-5, 0, "threshold", 1e-3, 97.8, 90.0, 10),
             _run("l1", 1e-5, 0, "std_ratio", 0.8, 97.6, 95, 5),
             _run("l1", 1e-4, 0, "std_ratio", 0.8, 96.0, 99, 1),  # too far below the target
             _run("group_lasso", 1e-4, 0, "threshold", 1e-3, 97.9, 80, 20),
             _run("l1", 1e-5, 1, "threshold", 1e-3, 97.9, 91, 9)]
    out = frontier.matched_pairs(pairs, drop=0.5, seed=0)
    assert [(row.group, row.regularizer) for row, _ in out] == [("element-wise", "none"), ("element-wise", "l1"),
                                                                 ("structural", "group_lasso")]
    _, l1 = out[1]
    assert l1["rules"]["matched"]["all_nonzero"] == 5 and l1["config"]["seed"] == 0  # std ratio 0.8 at 1e-5
    assert [s["tag"] for s in l1["snapshots"]] == ["pruned_matched"]
    assert [r["config"]["seed"] for _, r in frontier.matched_pairs(pairs, drop=0.5, seed=1)] == [1, 1]


def test_the_frame_reads_finished_runs_of_their_own_rule_only():
    ok = _run("l1", 1e-5, 0, "threshold", 1e-3, 97.8, 90.0, 10)
    failed = (ok[0], {**ok[1], "status": "failed_nonfinite"})  # its numbers stand, but it did not finish
    other = (FrontierRow("l1", 1e-5, "std_ratio", 0.8), ok[1])  # a row whose rule the result does not hold
    frame = frontier.frontier_frame([_run("none", 0.0, 0, "threshold", 1e-3, 98.0, 1, 99), ok, failed, other])
    assert list(frame.regularizer) == ["none", "l1"] and frame.pruned.tolist() == pytest.approx([1.0, 90.0])


def test_the_frame_holds_every_column_of_a_run():
    row, r = _run("l1", 1e-5, 3, "std_ratio", 0.25, 97.6, 0, 20)
    r["rules"]["std_ratio"].update(test_acc_final=97.1, layers=[{"nonzero_weights": 5}, {"nonzero_weights": 0}],
                                   totals={"params_after_removal": 10})
    r.update(env={"start_digest": "abc"}, final={"trained_val_acc": 98.2})
    frame = frontier.frontier_frame([(row, r)])
    assert frame.iloc[0].to_dict() == {
        "regularizer": "l1", "decay": 1e-5, "seed": 3, "rule": "std_ratio", "value": 0.25, "val_acc": 97.6,
        "test_acc": 97.1, "pruned": pytest.approx(80.0), "removed": pytest.approx(90.0), "trained_val_acc": 98.2,
        "dead_layer": True, "start": "abc"}
    r["rules"]["std_ratio"]["layers"] = [{"nonzero_weights": 5}, {}]  # a layer that does not count: not dead
    assert not frontier.frontier_frame([(row, r)]).dead_layer.iloc[0]
    del r["env"]
    assert frontier.frontier_frame([(row, r)]).start.iloc[0] == ""  # made before starts were recorded


def test_choose_reads_the_target_inclusively_and_the_rules_it_is_given():
    f = _frame()
    assert frontier.references(f) == {0: 98.0, 1: 98.4}  # the unregularized runs', not the regularized ones'
    exact = frontier.choose(f, "l1", 0.4, "parameters pruned")  # 1e-5 / r 0.25 sits exactly 0.4 below
    assert exact.pruned.tolist() == [94.0, 95.0]
    only_t = frontier.choose(f, "l1", 1.0, "parameters pruned", rules=["threshold"])
    assert set(only_t.rule) == {"threshold"} and only_t.pruned.tolist() == [97.0, 98.0]


def test_same_start_keeps_a_seed_without_unregularized_runs_and_counts_none_on_an_empty_frame():
    f = _frame()
    lone = f[f.regularizer == "l1"].assign(seed=2, start="zz")  # no unregularized run of seed 2: nothing to check
    kept = frontier.same_start(pd.concat([f, lone], ignore_index=True))
    assert (kept.seed == 2).sum() == len(lone) and kept.attrs["other_start"] == 0
    assert frontier.same_start(f.iloc[:0]).attrs["other_start"] == 0


def test_the_frontier_figure_draws_each_claims_chosen_points_with_their_spread():
    import matplotlib.colors as mcolors
    import numpy as np

    from sparsebook.book.tables import PALETTE
    frame = _frame()
    frame = frame[~((frame.seed == 1) & (frame.val_acc == 98.4 - 0.2))]  # at 0.25 below, one seed reaches
    fig = frontier.frontier_figure(frame)
    left, right = fig.axes
    assert tuple(fig.get_size_inches()) == pytest.approx((9.2, 3.4))
    assert left.get_title() == "Hoyer-Square against L1" and right.get_title() == "Group-HS against Group Lasso"
    assert left.get_ylabel() == "parameters pruned (%)" and right.get_ylabel() == "weights removed (%)"
    assert left.get_xlabel() == "target: unregularized validation accuracy minus (points)"
    drops = (0.25, 0.5, 1.0, 2.0, 3.0)
    hoyer, l1 = left.containers  # the claimed regularizer first: no run of it here, so nothing drawn
    assert np.isnan(np.asarray(hoyer.lines[0].get_ydata(), dtype=float)).all()
    line = l1.lines[0]
    chosen = [frontier.choose(frame, "l1", d, "parameters pruned") for d in drops]
    means = [c.pruned.mean() if len(c) else np.nan for c in chosen]
    assert list(line.get_xdata()) == list(drops)
    np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), np.asarray(means, dtype=float))
    assert line.get_marker() == "o" and line.get_markersize() == 4 and l1.get_label() == "L1"
    assert mcolors.to_hex(line.get_color()) == mcolors.to_hex(PALETTE["l1"])
    assert l1.lines[1][0].get_markersize() == 4  # caps of size 2 a side
    bars = l1.lines[2][0].get_segments()  # mean ± the std over the seeds that reach the target (one seed: 0)
    sds = [c.pruned.std() if len(c) > 1 else 0.0 for c in chosen]
    for (x, (lo, hi)), m, sd in zip([(s[0][0], (s[0][1], s[1][1])) for s in bars], means, sds):
        assert (lo, hi) == pytest.approx((m - sd, m + sd))
    assert any(sd > 0 for sd in sds) and any(sd == 0 for sd in sds)
    vline = [ln for ln in left.lines if list(ln.get_xdata()) == [0.5, 0.5]]
    assert len(vline) == 1 and vline[0].get_linestyle() == "--" and vline[0].get_linewidth() == 0.8
    assert mcolors.to_hex(vline[0].get_color()) == mcolors.to_hex("0.6")
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["Hoyer-Square", "L1"]
    assert left.get_legend().get_texts()[0].get_fontsize() == 9
    assert left.get_legend()._loc == 4  # lower right
    assert left.get_xgridlines()[0].get_visible() and left.get_xgridlines()[0].get_alpha() == 0.3
    assert not left.texts  # one of its regularizers ran
    (note,) = right.texts  # neither did here
    assert note.get_text() == "no finished run of these regularizers yet" and note.get_position() == (0.5, 0.5)
    assert note.get_ha() == "center" and note.get_va() == "center" and note.get_transform() == right.transAxes
    one = frontier.frontier_figure(frame, claims_=(("hoyer_square", "l1", "parameters pruned"),))
    assert len(one.axes) == 1 and tuple(one.get_size_inches()) == pytest.approx((4.6, 3.4))
    empty = frontier.frontier_figure(frame[frame.regularizer != "none"])  # no reference: nothing to draw against
    assert empty.axes[0].texts[0].get_text() == "frontiers: no finished frontier run at this profile"
    assert frontier.frontier_figure(frame.iloc[:0]).axes[0].texts[0].get_text().startswith("frontiers: no finished")


def test_the_frontier_tables_columns_and_its_missing_and_single_seed_cells():
    f = _frame()
    t = frontier.frontier_table(f, ["l1"], "parameters pruned", drops=(0.1, 0.5))
    assert list(t.columns) == ["regularizer", "target", "parameters pruned (%)", "test accuracy (%)", "seeds",
                               "chosen (strength / t threshold or r std ratio)"]
    assert t.iloc[0]["test accuracy (%)"] == "–"  # no seed reaches it: a dash, not "nan"
    one = frontier.frontier_table(f[f.seed == 0], ["l1"], "parameters pruned", drops=(0.5,)).iloc[0]
    assert one["test accuracy (%)"] == "97.50"  # a single seed: no spread, not "± nan"
    # seeds that chose different grid points list each, sorted and joined by a comma
    mixed = f[~((f.seed == 1) & (f.decay == 1e-5) & (f.rule == "std_ratio"))]
    picks = frontier.frontier_table(mixed, ["l1"], "parameters pruned", drops=(0.5,)).iloc[0].iloc[-1]
    assert picks == "1e-05 / r 0.25, 1e-05 / t 0.001"


def test_the_frame_skips_a_finished_run_without_rules_and_reads_every_run_after_a_skipped_one():
    ok = _run("l1", 1e-5, 0, "threshold", 1e-3, 97.8, 90.0, 10)
    bare = (ok[0], {k: v for k, v in ok[1].items() if k != "rules"})  # finished, but holds no pruning rule
    unfinished = (ok[0], {**ok[1], "status": "running"})
    frame = frontier.frontier_frame([unfinished, bare, _run("none", 0.0, 0, "threshold", 1e-3, 98.0, 1, 99), ok])
    assert list(frame.regularizer) == ["none", "l1"]


def test_watched_falls_back_to_the_test_accuracy_where_no_validation_was_recorded():
    row = FrontierRow("none", 0.0, "threshold", 1e-3)
    old = {"status": "finished", "history": [{"test_acc": 96.0}, {"val_acc": 97.0, "test_acc": 96.5}]}
    (_, w), = frontier.watched([(row, old)])
    assert [h["test_acc"] for h in w["history"]] == [96.0, 97.0]


def test_matched_pairs_defaults_order_structural_measure_and_snapshots():
    pairs = [_run("group_lasso", 1e-4, 0, "threshold", 1e-3, 97.9, 80, 20),  # listed before the reference
             _run("none", 0.0, 0, "threshold", 1e-3, 98.0, 1.0, 99),
             _run("none", 0.0, 1, "threshold", 1e-3, 98.0, 1, 99),
             _run("hoyer_square", 1e-4, 0, "threshold", 1e-3, 90.0, 99, 1),  # reaches no target: left out
             _run("l1", 1e-5, 0, "threshold", 1e-3, 97.8, 90.0, 10),
             _run("l1", 1e-4, 0, "threshold", 1e-3, 97.7, 92.0, 8),  # more parameters pruned, fewer removed
             _run("l1", 1e-5, 0, "std_ratio", 0.8, 97.3, 95, 5),  # 0.7 below: out at the default half point
             _run("l1", 1e-5, 1, "std_ratio", 0.8, 97.9, 93, 7)]
    pairs[5][1]["rules"]["threshold"]["totals"] = {"params_after_removal": 50}
    pairs[5][1]["snapshots"] = [{"tag": "trained", "layers": {"fc1": 1}},
                                {"tag": "pruned_threshold", "layers": {"fc1": 2}}]
    # Group Lasso's two points: the threshold removes more whole weights, the std ratio prunes more parameters
    gl_row, gl = _run("group_lasso", 1e-4, 0, "std_ratio", 0.8, 97.9, 0, 10)
    gl["rules"]["std_ratio"]["totals"] = {"params_after_removal": 60}
    pairs.append((gl_row, gl))
    pairs[0][1]["rules"]["threshold"]["totals"] = {"params_after_removal": 30}
    out = frontier.matched_pairs(pairs)  # the defaults: half a point below, seed 0
    assert out == frontier.matched_pairs(pairs, drop=0.5, seed=0)
    assert [row.regularizer for row, _ in out] == ["none", "group_lasso", "l1"]  # the reference first
    _, lasso = out[1]
    assert lasso["rules"]["matched"]["all_nonzero"] == 20  # chosen by weights removed: the threshold's 70 %
    _, l1 = out[2]
    assert l1["rules"]["matched"]["all_nonzero"] == 8  # by parameters pruned (the std ratio's 95 % out of reach)
    assert l1["snapshots"] == [{"tag": "pruned_matched", "layers": {"fc1": 2}}]  # the chosen rule's, renamed
    assert [r["config"]["seed"] for _, r in frontier.matched_pairs(pairs, seed=1)] == [1, 1]
