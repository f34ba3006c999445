"""The book's experiment tables, the published reference numbers, and the report's formatting."""
import pytest

from sparsebook import experiments
from sparsebook.book import deephoyer, status, tables
from sparsebook.experiments import reference


def test_deephoyer_rows_follow_the_report():
    rows = experiments.deephoyer_rows("mnist")
    assert [(r.group, r.regularizer) for r in rows] == [
        ("element-wise", "none"), ("element-wise", "l1"), ("element-wise", "hoyer"),
        ("element-wise", "hoyer_square"), ("element-wise", "transformed_l1"),
        ("structural", "none"), ("structural", "group_lasso"), ("structural", "group_hoyer_square")]
    with pytest.raises(ValueError, match="not rows of this table"):
        experiments.deephoyer_rows("fashion_mnist", ["l1"])


def test_deephoyer_runs_use_the_reproductions_hyperparameters():
    pairs = experiments.deephoyer_runs("lenet5", "mnist", "paper", seeds=[0])
    by = {(r.group, r.regularizer): c for r, c in pairs}
    assert by[("element-wise", "hoyer")].decay == 1e-2 and by[("element-wise", "hoyer")].std_ratio == 0.08
    assert by[("structural", "group_hoyer_square")].decay == 1e-1
    assert by[("structural", "none")].weight_decay == 1e-4 and by[("element-wise", "none")].weight_decay == 0
    assert by[("structural", "none")].epochs_total == 250 + 100 + 50  # training, then each rule's fine-tuning
    fashion = dict((r.regularizer, c) for r, c in experiments.deephoyer_runs("lenet_300_100", "fashion_mnist", "paper"))
    assert fashion["group_hoyer_square"].std_ratio == 1.5 and fashion["hoyer"].decay == 2e-3
    over = dict((r.regularizer, c) for r, c in experiments.deephoyer_runs(
        "lenet5", "mnist", "paper", seeds=[0], regularizers=["hoyer"], decays={"hoyer": 5e-3}))
    assert over["hoyer"].decay == 5e-3
    assert len({experiments.run_id(c) for _, c in experiments.deephoyer_runs("lenet_300_100", "mnist", "cpu")}) == 24


def test_art_runs_grid_and_overrides():
    pairs = experiments.art_runs("resnet32", "cifar10", "paper", seeds=[0], eta=1.1)
    assert {r.sparsity for r, _ in pairs} == {0.9, 0.98, 0.995, 0.998}
    assert {r.regularizer for r, _ in pairs} == {"hypersparse", "l1", "l2"}
    assert all(c.eta == 1.1 and c.lambda_init == 5e-6 and c.warmup_epochs == 60 for _, c in pairs)
    with pytest.raises(ValueError, match="ART regularizers must be among"):
        experiments.art_runs("resnet32", "cifar10", "paper", regularizers=["hoyer"])


def test_reference_lookup_carries_published_numbers():
    assert reference.lookup("hypersparse-readme", model="resnet32", dataset="cifar10", method="hypersparse",
                            sparsity=0.98) == 92.69
    assert reference.lookup("deephoyer-reproduction", model="lenet_300_100", dataset="mnist", method="none",
                            pruning="std-ratio", metric="pruned_pct", table="Table 1 structural") == 78.23
    assert reference.lookup("hypersparse-readme", model="lenet5", dataset="mnist", method="l1") is None
    with pytest.raises(ValueError, match="unknown source"):
        reference.lookup("blog", model="x", dataset="y", method="z")


def test_mean_std_formatting():
    assert tables.mean_std([98.0]) == "98.00"
    assert tables.mean_std([1.0, 3.0]) == "2.00 ± 1.41"
    assert tables.mean_std([]) == "–"


def test_not_run_results_are_labelled_not_numbers(tmp_path):
    pairs = experiments.deephoyer_runs("lenet_300_100", "mnist", "cpu", seeds=[0], regularizers=["l1"])
    loaded = experiments.train_or_load(pairs, profile="cpu", results_dir=tmp_path)  # cpu never trains by default
    assert [r["status"] for _, r in loaded] == ["not_run"]
    table = deephoyer.deephoyer_table(loaded, "lenet_300_100", "mnist", "cpu")
    assert (table[("this book (cpu)", "acc (final)")] == "not run at this profile").all()
    assert (table[("this book (cpu)", "levelled off")] == "–").all()  # nothing to judge, nothing claimed
    assert deephoyer.moving_rows(table) == "no row has a finished run yet"
    assert not any(tmp_path.rglob("*.json"))
    with pytest.raises(ValueError, match="data_root"):
        experiments.train_or_load(pairs, profile="cpu", results_dir=tmp_path, data_root=tmp_path / "missing")


def test_sweep_dry_run_lists_every_run(tmp_path, capsys):
    from sparsebook.experiments import sweep
    assert sweep.main(["deephoyer", "--profile", "smoke", "--dry-run", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    tables = {experiments.run_id(c) for m, d in experiments.DEEPHOYER_PLAN
              for _, c in experiments.deephoyer_runs(m, d, "smoke")}
    curves = {experiments.run_id(c) for long in (False, True)
              for _, c in experiments.deephoyer_curve_runs("lenet_300_100", "mnist", "smoke", long=long)}
    assert len(tables) == 8 + 8 + 5 + 5
    frontier = {experiments.run_id(c) for _, c in experiments.frontier_runs("smoke")}
    assert out.count("to run") == len(sweep.plan("deephoyer", "smoke")) == len(tables | curves | frontier)
    assert sweep.main(["deephoyer", "--profile", "smoke", "--dataset", "fashion_mnist", "--model", "lenet5",
                       "--dry-run", "--results", str(tmp_path)]) == 0
    fmnist = {experiments.run_id(c) for _, c in experiments.deephoyer_runs("lenet5", "fashion_mnist", "smoke")}
    assert capsys.readouterr().out.count("to run") == len(fmnist) == 5  # one table: a slice of its own
    assert sweep.main(["hypersparse", "--profile", "smoke", "--dry-run", "--results", str(tmp_path)]) == 0
    with pytest.raises(SystemExit):
        sweep.main(["everything"])


def test_the_long_curves_rerun_the_element_wise_claim_at_the_papers_training_length(tmp_path, capsys):
    from dataclasses import replace

    from sparsebook.experiments import sweep
    short = experiments.deephoyer_curve_runs("lenet_300_100", "mnist", "cpu")
    long = experiments.deephoyer_curve_runs("lenet_300_100", "mnist", "cpu", long=True)
    assert {c.train_epochs for _, c in short} == {60} and {c.train_epochs for _, c in long} == {250}
    # every strength of both curves, and the element-wise unregularized top, with nothing else changed
    assert len(long) == 39 and {row.group for row, _ in long} == {"element-wise"}
    assert {replace(c, train_epochs=60) for _, c in long} == {c for row, c in short if row.regularizer in
                                                              ("none", "l1", "hoyer_square") and c.weight_decay == 0}
    assert experiments.deephoyer_curve_runs("lenet_300_100", "mnist", "paper", long=True) == []  # 250 already
    assert sweep.main(["deephoyer", "--train-epochs", "250", "--dry-run", "--results", str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("to run") == 39


def test_cpu_profile_trains_stand_ins_and_says_so():
    from sparsebook.experiments import profiles
    assert profiles.model_for("art", "cpu", "resnet32") == "resnet20"
    assert profiles.model_for("art", "cpu", "lenet5") == "lenet_300_100"
    assert profiles.model_for("art", "paper", "resnet32") == "resnet32"
    assert profiles.model_for("deephoyer", "cpu", "lenet5") == "lenet5"  # DeepHoyer runs the papers' models
    rows = {r["setting"]: r for r in profiles.departures("art", "cpu", "resnet20", "resnet32")}
    assert rows["model"]["original"] == "resnet32" and rows["model"]["cpu"] == "resnet20"
    assert rows["width"]["cpu"] == 16 and rows["train_subset"]["cpu"] == 5000
    assert profiles.departures("art", "paper", "resnet32", "resnet32") == []


def test_hypersparse_sweep_starts_every_warmup_then_is_breadth_first():
    """The first run of each shared warm-up comes first (parallel workers start on different warm-ups); then
    one seed of every setting before the next seed, the middle sparsity first: an interrupted sweep leaves
    every table partly filled."""
    from sparsebook.experiments import runner, sweep
    plan = sweep.plan("hypersparse", "cpu")
    keys = [runner.warmup_key(c) for c in plan]
    firsts = len(set(keys))
    assert len(set(keys[:firsts])) == firsts == len({(c.model, c.seed) for c in plan})  # one per model and seed
    lenet = [c for c in plan[firsts:] if c.model == "lenet_300_100"]
    assert len(lenet) == 3 * 4 * 3 + 3 - 3  # and a dense reference per seed, last in its seed
    assert [c.sparsity for c in lenet if c.seed == 1][-1] == 0.0
    seeds = [c.seed for c in lenet]
    assert seeds == sorted(seeds)
    models = [c.model for c in plan[firsts:]]
    assert models.index("resnet20") > models.index("lenet_300_100") and "resnet32" not in models
    assert "vgg11" in models and "vgg19" not in models


def test_art_verdicts_weigh_the_seeds_spread_and_leave_capped_runs_out():
    from sparsebook.book import ledger
    from sparsebook.experiments import ARTRow

    def run(status, acc=None, epochs=None):
        return {"status": status, "final": {"test_acc_final": acc, "art_epochs": epochs}, "history": []}
    hs, l1, l2 = ARTRow("hypersparse", 0.98), ARTRow("l1", 0.98), ARTRow("l2", 0.98)
    pairs = [(hs, run("finished", 80, 10)), (hs, run("finished", 82, 11)), (hs, run("finished", 81, 12)),
             (l1, run("finished", 70, 10)), (l1, run("finished", 71, 12)), (l1, run("finished", 72, 11)),
             (l2, run("finished", 81, 20)), (l2, run("finished", 79, 21)), (l2, run("art_cap_reached"))]
    t = ledger.art_verdicts(pairs)
    assert t.loc[("HyperSparse more accurate than L1", "98"), "verdict"] == "reproduced"
    # Welch's 95 % interval: t(4 degrees of freedom) x sqrt(1/3 + 1/3)
    assert t.loc[("HyperSparse more accurate than L1", "98"), "effect ± spread"] == "10.00 ± 2.27"
    assert t.loc[("HyperSparse fewer ART epochs than L1", "98"), "verdict"] == "undecided"  # equal means
    row = t.loc[("HyperSparse more accurate than L2", "98")]
    assert row["verdict"] == "undecided" and row["seeds"] == "3 / 2"  # the capped run has no accuracy
    claims = list(t.index.get_level_values("claim"))  # each claim's rows in one block
    assert len([c for i, c in enumerate(claims) if i == 0 or c != claims[i - 1]]) == len(set(claims))


def test_sweep_slices_by_model_sparsity_and_seed(tmp_path, capsys):
    from sparsebook.experiments import sweep
    args = ["hypersparse", "--profile", "cpu", "--dry-run", "--results", str(tmp_path)]
    assert sweep.main(args + ["--model", "resnet32", "--sparsity", "0.98", "--seed", "0"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert len(lines) == 3 and all("resnet20" in line and "sparsity=0.98" in line for line in lines)
    with pytest.raises(SystemExit):
        sweep.main(args + ["--model", "alexnet"])
    assert "no runs of ['alexnet']" in capsys.readouterr().err


def test_rebuild_estimate_brackets_the_time_from_an_empty_store():
    def result(kind, wall, cpu, cores=2):
        env = {"wall_time_s": wall, "machine": "x86_64", "cpu_count": cores, "device": "cpu", "torch": "2",
               "torchvision": "0", "finished_at": "now", **({"cpu_time_s": cpu} if cpu is not None else {})}
        return {"profile": "cpu", "id": "x", "kind": kind, "status": "finished", "env": env,
                "config": {"model": "m", "dataset": "d", "regularizer": "l1", "seed": 0, "sparsity": 0.9}}
    table = status.status_table([result("art", 600, 1000), result("art", 1200, 2000), result("deephoyer", 60, None)])
    est = status.rebuild_estimate(table, "cpu", {"art": 120, "deephoyer": None})
    assert est.loc["art", "upper bound (min)"] == 30 and est.loc["art", "lower bound (min)"] == 25
    assert est.loc["art", "runs"] == 2 and est.loc["art", "budget (min)"] == 120
    assert est.loc["deephoyer", "lower bound (min)"] == "–"  # a run without CPU time: no lower bound
    # the parallel runner: a run trained on threads t of c cores holds t/c of the machine for its wall time
    assert est.loc["art", "with the parallel runner (min)"] == 30  # runs without a thread count: both cores


def test_rebuild_estimate_of_the_whole_plan_fills_missing_runs_from_their_model():
    from sparsebook.book import status
    stored = experiments.art_runs("lenet_300_100", "fashion_mnist", "smoke", seeds=[0])
    missing = experiments.art_runs("lenet_300_100", "fashion_mnist", "smoke", seeds=[1])
    other = experiments.art_runs("resnet20", "cifar10_jpeg", "smoke", seeds=[0])[:1]

    def result(cfg, wall):
        env = {"wall_time_s": wall, "machine": "x86_64", "cpu_count": 2, "torch_threads": 1, "device": "cpu",
               "torch": "2", "torchvision": "0", "finished_at": "now"}
        return {"profile": "smoke", "id": experiments.run_id(cfg), "kind": "art", "status": "finished", "env": env,
                "config": experiments.settings(cfg)}
    elsewhere = experiments.art_runs("lenet_300_100", "fashion_mnist", "smoke", seeds=[0], warmup_epochs=9)[:1]
    table = status.status_table([result(cfg, 120 * (i + 1)) for i, (_, cfg) in enumerate(stored)]
                                + [result(elsewhere[0][1], 99_999)])  # another schedule's run: not counted
    plan = [cfg for _, cfg in stored + missing + other]
    est = status.rebuild_estimate(table, "smoke", {"art": 240}, {"art": plan})
    mean = sum(60 * (i + 1) for i in range(len(stored))) / len(stored)  # one thread of two cores
    assert est.loc["art", "planned runs"] == len(plan) and est.loc["art", "stored of them"] == len(stored)
    assert est.loc["art", "planned runs not estimable"] == 1
    assert est.loc["art", "whole plan with the parallel runner (min)"] == round(mean * 2 * len(stored) / 60, 1)


def test_a_missing_run_of_another_training_length_is_not_estimated_from_the_shorter_ones():
    from sparsebook.book import status
    short = experiments.deephoyer_curve_runs("lenet_300_100", "mnist", "smoke")[:1]
    long = experiments.deephoyer_curve_runs("lenet_300_100", "mnist", "smoke", long=True)[:1]
    env = {"wall_time_s": 60.0, "machine": "x86_64", "cpu_count": 2, "torch_threads": 1, "device": "cpu",
           "torch": "2", "torchvision": "0", "finished_at": "now"}
    table = status.status_table([{"profile": "smoke", "id": experiments.run_id(cfg), "kind": "deephoyer",
                                  "status": "finished", "env": env, "config": experiments.settings(cfg)}
                                 for _, cfg in short])
    plan = [cfg for _, cfg in short + long]
    est = status.rebuild_estimate(table, "smoke", {"deephoyer": None}, {"deephoyer": plan})
    assert est.loc["deephoyer", "planned runs not estimable"] == 1
    assert est.loc["deephoyer", "whole plan with the parallel runner (min)"] == 0.5


def test_a_run_costs_its_core_seconds_and_a_one_thread_run_its_cpu_time_not_its_paused_wall_time():
    from sparsebook.book import status
    paused = {"env": {"wall_time_s": 5000.0, "cpu_time_s": 600.0, "torch_threads": 1, "cpu_count": 2}}
    assert status.core_seconds(paused) == 600.0
    # a two-thread run held both cores for its wall time, whatever CPU time it recorded
    assert status.core_seconds({"env": {"wall_time_s": 50.0, "cpu_time_s": 90.0, "torch_threads": 2,
                                        "cpu_count": 2}}) == 100.0
    assert status.core_seconds({"env": {"wall_time_s": 50.0, "torch_threads": 1, "cpu_count": 2}}) == 50.0
    assert status.core_seconds({"env": {"wall_time_s": 50.0, "cpu_count": 4}}) == 200.0  # no threads: all cores
    # hours for more runs like these, on 2 cores; an unfinished run measures nothing
    done = [{"status": "finished", **paused}, {"status": "failed", "env": {"wall_time_s": 9e9, "cpu_count": 2}}]
    assert status.hours_for(done, 12) == 600.0 * 12 / 2 / 3600
    assert status.hours_for(done[1:], 12) is None
