"""The claims protocol: declared primary rows, paired tests, Holm, the papers' regime, collapse, its simulated
error rates, and the headline's direction on synthetic stores (the claimed method clearly better reads
"reproduced", clearly worse "not reproduced")."""
import json

import numpy as np
import pytest
from scipy import stats

from sparsebook import experiments
from sparsebook.book import frontier, headline, protocol
from sparsebook.experiments import profiles, runner


def test_a_change_to_the_primary_rows_is_recorded():
    date, recorded, why = protocol.DECLARATIONS[-1]
    assert protocol.fingerprint() == recorded, (
        "PRIMARY changed: add a DECLARATIONS entry with the date, the new fingerprint and the reason")
    assert why and date
    assert len({(r.paper, r.claim, r.setting, r.at) for r in protocol.PRIMARY}) == len(protocol.PRIMARY)
    assert {r.setting for r in protocol.PRIMARY} <= set(protocol.SETTINGS)


def test_paired_runs_take_the_paired_t_interval_and_unpaired_take_welchs():
    a, b = {0: 91.0, 1: 92.5, 2: 90.2, 3: 93.1}, {0: 90.1, 1: 91.0, 2: 90.0, 3: 91.9}
    t = protocol.paired_test(a, b)
    ref = stats.ttest_rel(list(a.values()), list(b.values()))
    assert t.paired and t.seeds == 4 and t.p == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (t.low, t.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert protocol.paired_test(b, a, higher_is_better=False).effect == pytest.approx(t.effect)
    two = protocol.paired_test({0: 1.0, 1: 2.5}, {0: 0.5, 1: 1.0})  # two common seeds already pair
    assert two.paired and two.seeds == 2 and two.p == pytest.approx(stats.ttest_rel([1.0, 2.5], [0.5, 1.0]).pvalue)
    u = protocol.paired_test({0: 1.0, 1: 2.0, 2: 3.0}, {5: 0.0, 6: 0.5, 7: 0.1})  # no common seed
    assert u.paired is False and u.p == pytest.approx(stats.ttest_ind([1, 2, 3], [0, 0.5, 0.1], equal_var=False).pvalue)


def test_a_difference_without_spread_and_too_few_seeds_are_read_as_they_are():
    same = protocol.paired_test({0: 2.0, 1: 3.0, 2: 4.5}, {0: 1.0, 1: 2.0, 2: 3.5})  # every seed 1 point ahead
    assert same == protocol.Test(1.0, 1.0, 1.0, 0.0, 3, True)  # known exactly: no interval to widen, p 0
    assert protocol.paired_test({0: 2.0, 1: 3.0}, {0: 2.0, 1: 3.0}) == protocol.Test(0.0, 0.0, 0.0, 1.0, 2, True)
    welch = protocol.paired_test({0: 1.0, 1: 2.0}, {5: 0.0, 6: 0.5})  # two a side, none shared: Welch's
    ref = stats.ttest_ind([1.0, 2.0], [0.0, 0.5], equal_var=False)
    assert not welch.paired and welch.seeds == 2 and welch.p == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (welch.effect, welch.low, welch.high) == (1.25, pytest.approx(ci.low), pytest.approx(ci.high))
    lower = protocol.paired_test({5: 0.0, 6: 0.5}, {0: 1.0, 1: 2.0}, higher_is_better=False)  # fewer is the claim
    assert (lower.effect, lower.low, lower.high) == (1.25, pytest.approx(ci.low), pytest.approx(ci.high))
    one = protocol.paired_test({0: 3.0}, {5: 1.0, 6: 2.0}, higher_is_better=False)  # one seed: an effect, no test
    assert one == protocol.Test(-1.5, None, None, None, 1, False)
    assert protocol.paired_test({0: 3.0}, {}) == protocol.Test(None, None, None, None, 0, False)


def test_holm_matches_its_definition():
    p = [0.01, 0.04, None, 0.03, 0.2]
    # sorted 0.01, 0.03, 0.04, 0.2 over m = 4: 0.04, 0.09, 0.09 (monotone), 0.2
    assert protocol.holm(p) == [pytest.approx(0.04), pytest.approx(0.09), None, pytest.approx(0.09),
                                pytest.approx(0.2)]


def test_holm_never_adjusts_past_one():
    assert protocol.holm([0.6, 0.7, 0.01]) == [1.0, 1.0, pytest.approx(0.03)]


def test_decisions_and_collapse():
    up = protocol.Test(1.0, 0.5, 1.5, 0.001, 5, True)
    assert protocol.decide(up, 0.01) == "reproduced" and protocol.decide(up, 0.2) == "undecided"
    # the edges: exactly at ALPHA is not below it; no adjusted p-value (a row outside the family) decides nothing;
    # no lead at all is not a reproduction, however small its p-value
    assert protocol.decide(up, protocol.ALPHA) == "undecided" and protocol.decide(up, None) == "undecided"
    assert protocol.decide(protocol.Test(0.0, 0.0, 0.0, 0.001, 5, True), 0.01) == "not reproduced"
    assert protocol.decide(protocol.Test(-1.0, -1.5, -0.5, 0.001, 5, True), 0.01) == "not reproduced"
    assert protocol.collapse([90.0], [15.0], chance=10.0) == "baseline collapsed"
    assert protocol.collapse([0.8], [60.0], chance=1.0) == "method collapsed"
    assert protocol.collapse([90.0], [88.0], chance=10.0, baseline_dead=True) == "baseline collapsed"
    assert protocol.collapse([90.0], [88.0], chance=10.0) is None
    # the edges: at exactly twice chance a side has collapsed, above it not; a dead layer alone collapses either side
    assert protocol.collapse([90.0], [20.0], chance=10.0) == "baseline collapsed"
    assert protocol.collapse([90.0], [25.0], chance=10.0) is None
    assert protocol.collapse([90.0], [88.0], chance=10.0, claimed_dead=True) == "method collapsed"


def test_the_simulated_error_rates_hold_the_family_to_five_percent():
    for seeds in (3, 5):
        null = protocol.simulate(12, seeds, 0.0, trials=4000)
        assert null["family_wise_error"] <= 0.06  # Holm: at most 5 %, up to the simulation's noise
    weak, strong = protocol.simulate(2, 3, 2.0, trials=2000), protocol.simulate(2, 5, 2.0, trials=2000)
    assert 0 < weak["power"] < strong["power"] <= 1


@pytest.mark.parametrize("effect, sd", [(0.0, 2.0), (1.5, 2.0), (-1.5, 2.0), (0.5, 0.2)])
def test_the_simulation_is_the_rule_applied_row_by_row(effect, sd):
    """The vectorised simulation equals the headline's own functions (paired t, Holm, decide) looped over the
    same draws; (0.5, 0.2): most rows decided at once, so Holm's later steps and small positive means count."""
    rows, seeds, trials = 3, 4, 60
    sim = protocol.simulate(rows, seeds, effect, sd=sd, trials=trials, seed=7)
    d = np.random.default_rng(7).normal(effect, sd, size=(trials, rows, seeds))
    wrong = reproduced = 0
    for family in d:
        tests = [protocol.paired_test(dict(enumerate(x)), dict.fromkeys(range(seeds), 0.0)) for x in family]
        verdicts = [protocol.decide(t, p) for t, p in zip(tests, protocol.holm([t.p for t in tests]))]
        wrong += any(v != "undecided" for v in verdicts) if effect == 0 else "not reproduced" in verdicts
        reproduced += verdicts.count("reproduced")
    assert sim["family_wise_error"] == pytest.approx(wrong / trials)
    assert sim["power"] == pytest.approx(reproduced / (trials * rows))
    assert (sim["rows"], sim["seeds"], sim["effect"], sim["sd"], sim["trials"]) == (rows, seeds, effect, sd, trials)


def test_the_simulations_defaults_are_the_ledgers():
    """No effect, unit spread, 4,000 families, seed 0: what the ledger's table quotes when it names none."""
    default = protocol.simulate(3, 4)
    assert default == protocol.simulate(3, 4, 0.0, sd=1.0, trials=4000, seed=0)
    assert (default["effect"], default["sd"], default["trials"]) == (0.0, 1.0, 4000)


# -- the headline on synthetic stores --------------------------------------------------------------------------

def _write(results, cfg, profile, result):
    path = runner.result_path(cfg, profile, results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"id": experiments.run_id(cfg), "kind": cfg.kind, "profile": profile,
                                "status": "finished", "config": experiments.settings(cfg), **result}))


def art_store(tmp_path, lead: float, dense: float = 92.0, baseline_acc: float = 80.0, profile: str = "cpu",
              paper_models=("resnet32", "vgg19")):
    """Every HyperSparse run of the CIFAR chapters at ``profile``: HyperSparse ``lead`` points (and as many fewer
    ART epochs) ahead of each baseline, per seed with a little noise; the warm-up ends at ``dense`` %."""
    rng = np.random.default_rng(0)
    for paper_model in paper_models:
        model = profiles.model_for("art", profile, paper_model)
        for row, cfg in experiments.art_runs(model, experiments.art_dataset(paper_model, profile), profile):
            hs = row.regularizer == "hypersparse"
            acc = baseline_acc + (lead if hs else 0.0) + rng.normal(0, 0.2) + cfg.seed
            _write(tmp_path, cfg, profile, {"final": {"test_acc_final": acc, "art_epochs": 20 - (lead if hs else 0)
                                                    + cfg.seed}, "layers": [],
                                          "history": [{"phase": "warmup", "test_acc": dense}]})


@pytest.mark.parametrize("lead, verdict", [(5.0, "reproduced"), (-5.0, "not reproduced")])
def test_every_hypersparse_primary_row_reads_its_direction(tmp_path, lead, verdict):
    art_store(tmp_path, lead)
    t = headline.headline(tmp_path, "cpu")
    hs = t[t.paper == "HyperSparse"]
    assert len(hs) == 12 and (hs.verdict == verdict).all(), hs[["claim", "at", "verdict", "why"]]
    assert hs.paired.all() and (hs.seeds == 3).all() and (hs.selected_on == "none").all()
    assert (hs.p_holm >= hs.p).all()


def test_outside_the_regime_and_collapse_are_named(tmp_path):
    art_store(tmp_path, 5.0, dense=60.0)  # under both settings' bars (89 and 65 %)
    t = headline.headline(tmp_path, "cpu")
    assert (t[t.paper == "HyperSparse"].verdict == "outside the paper's regime").all()
    art_store(tmp_path / "collapsed", 70.0, baseline_acc=0.0)  # the baselines at chance (0-2 %)
    t = headline.headline(tmp_path / "collapsed", "cpu")
    hs = t[t.paper == "HyperSparse"]
    assert set(hs.verdict) == {"baseline collapsed"} and hs.p_holm.isna().all()


def test_a_setting_is_decided_in_the_papers_regime_once_its_gpu_runs_are_stored(tmp_path):
    art_store(tmp_path, 5.0, dense=60.0)  # the cpu stand-ins: under both bars, a pipeline check
    t = headline.headline(tmp_path, "cpu")
    assert (t[t.paper == "HyperSparse"].verdict == "outside the paper's regime").all()
    assert t.setting[t.setting_key == "hypersparse-resnet-cifar10"].str.contains("5,000 training images").all()
    art_store(tmp_path, -5.0, dense=91.0, profile="gpu", paper_models=("resnet32",))  # the full data on a GPU
    assert headline.art_profile("hypersparse-resnet-cifar10", "cpu", tmp_path) == "gpu"
    assert headline.art_profile("hypersparse-vgg-cifar100", "cpu", tmp_path) == "cpu"  # no VGG-19 run there yet
    assert headline.art_profile("hypersparse-resnet-cifar10", "smoke", tmp_path) == "smoke"
    t = headline.headline(tmp_path, "cpu")
    resnet, vgg = (t[t.setting_key == k] for k in ("hypersparse-resnet-cifar10", "hypersparse-vgg-cifar100"))
    assert (resnet.verdict == "not reproduced").all() and (resnet.dense_reference == 91.0).all()
    assert (resnet.setting == "ResNet-20 (for ResNet-32), CIFAR-10 (JPEG copy)").all()  # all its training images
    assert (vgg.verdict == "outside the paper's regime").all()


def test_the_regime_reads_the_stepped_dense_reference_once_every_seed_is_stored(tmp_path):
    art_store(tmp_path, 5.0, dense=60.0)  # warm-ups end under both bars
    model = profiles.model_for("art", "cpu", "resnet32")
    dense_runs = experiments.art_dense_runs(model, experiments.art_dataset("resnet32", "cpu"), "cpu")
    for _, cfg in dense_runs[:-1]:
        _write(tmp_path, cfg, "cpu", {"final": {"test_acc_final": 90.0 + cfg.seed}, "history": []})
    t = headline.headline(tmp_path, "cpu")
    resnet = t[t.setting_key == "hypersparse-resnet-cifar10"]
    assert (resnet.dense_reference == 60.0).all() and (resnet.verdict == "outside the paper's regime").all()
    assert resnet.dense_reference_from.str.contains(f"{len(dense_runs) - 1} of {len(dense_runs)} seeds").all()
    _write(tmp_path, dense_runs[-1][1], "cpu", {"final": {"test_acc_final": 92.0}, "history": []})
    t = headline.headline(tmp_path, "cpu")
    resnet, vgg = (t[t.setting_key == k] for k in ("hypersparse-resnet-cifar10", "hypersparse-vgg-cifar100"))
    assert resnet.dense_reference.iloc[0] == pytest.approx((90 + 91 + 92) / 3)
    assert (resnet.verdict == "reproduced").all() and (vgg.verdict == "outside the paper's regime").all()
    assert "stepped" in headline.setting_answer(t, "hypersparse-resnet-cifar10")[1]


def frontier_store(tmp_path, claimed_extra: float):
    """Every frontier run at cpu: sparsity grows with strength and pruning value, accuracy falls with it; the
    claimed regularizers ``claimed_extra`` points of sparsity sparser at the same accuracy."""
    rng = np.random.default_rng(1)
    for row, cfg in experiments.frontier_runs("cpu"):
        k = 0.0 if row.regularizer == "none" else 1 + experiments.curve_strengths(
            "lenet_300_100", "mnist", row.regularizer).index(row.decay) / 2
        level = k + (row.value * 5 if row.rule == "std_ratio" else 1.0)
        acc = 98.5 - 0.15 * level ** 1.5 + rng.normal(0, 0.02)
        extra = claimed_extra if row.regularizer in ("hoyer_square", "group_hoyer_square") else 0.0
        sparsity = min(99.0, 40 + 8 * level + extra)
        total = 266_610
        left = int(total * (1 - sparsity / 100))
        _write(tmp_path, cfg, "cpu", {"final": {"trained_val_acc": 98.6 if row.regularizer == "none" else acc},
                                      "rules": {row.rule: {"val_acc_final": acc, "test_acc_final": acc - 0.1,
                                                           "all_nonzero": left, "all_params": total,
                                                           "totals": {"params_after_removal": left}, "layers": []}},
                                      "history": []})


@pytest.mark.parametrize("extra, verdict", [(6.0, "reproduced"), (-6.0, "not reproduced")])
def test_both_deephoyer_primary_rows_read_their_direction(tmp_path, extra, verdict):
    frontier_store(tmp_path, extra)
    t = headline.headline(tmp_path, "cpu")
    dh = t[t.paper == "DeepHoyer"]
    assert len(dh) == 2 and (dh.verdict == verdict).all(), dh[["claim", "verdict", "why", "effect"]]
    assert (dh.selected_on == "validation").all() and dh.paired.all() and (dh.seeds == 5).all()
    assert (dh.effect.abs() > 3).all()


def test_the_frontier_chooses_on_validation_only(tmp_path):
    frontier_store(tmp_path, 0.0)
    pairs = experiments.train_or_load(experiments.frontier_runs("cpu"), profile="cpu", results_dir=tmp_path,
                                      train=False)
    frame = frontier.frontier_frame(pairs)
    chosen = frontier.choose(frame, "l1", 0.5, "parameters pruned")
    refs = frontier.references(frame)
    assert set(chosen.index) == set(refs) and (chosen.val_acc >= chosen.index.map(refs) - 0.5).all()
    for seed, row in chosen.iterrows():  # the sparsest point of the seed that reaches the target on validation
        mine = frame[(frame.regularizer == "l1") & (frame.seed == seed)]
        assert row.pruned == mine[mine.val_acc >= refs[seed] - 0.5].pruned.max()
    # the test accuracy plays no part: make every test accuracy wild, and the choice stays
    frame2 = frame.assign(test_acc=np.random.default_rng(3).uniform(0, 100, len(frame)))
    assert frontier.choose(frame2, "l1", 0.5, "parameters pruned").pruned.equals(chosen.pruned)


def test_no_verdict_is_read_from_a_sweep_half_done(tmp_path):
    art_store(tmp_path, 5.0)
    cfg = next(c for row, c in experiments.art_runs(profiles.model_for("art", "cpu", "vgg19"),
                                                     experiments.art_dataset("vgg19", "cpu"), "cpu")
               if row.regularizer == "hypersparse" and row.sparsity == 0.98 and c.seed == 2)
    runner.result_path(cfg, "cpu", tmp_path).unlink()  # one seed's HyperSparse run not stored yet
    t = headline.headline(tmp_path, "cpu")
    vgg = t[(t.setting_key == "hypersparse-vgg-cifar100") & (t["at"] == "sparsity 98 %")]
    assert (vgg.verdict == "undecided").all() and (vgg.why == "2 of 3 planned seeds stored").all()
    assert (t[t.setting_key == "hypersparse-resnet-cifar10"].verdict == "reproduced").all()
