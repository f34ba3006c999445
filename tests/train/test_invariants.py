"""Training invariants that hold on any CPU: the pruning rules' boundaries as the originals write them, pruned
weights exactly zero after every fine-tuning step of both trainers with a nonzero count that never grows,
ART's cap branch taken when forced, and bf16 autocast within a stated distance of the plain run."""
import math

import numpy as np
import pytest
import torch

from sparsebook import data, experiments, pruning
from sparsebook.experiments import profiles
from sparsebook.pruning import Mask

needs_mnist = pytest.mark.skipif(data._locate("mnist", None)[0] is None and not data.has_offline_copy("mnist"),
                                 reason="no MNIST copy offline or in the cache")


def test_the_threshold_rule_prunes_below_and_keeps_the_threshold_itself():
    t = 1e-3
    w = torch.tensor([t, -t, t * (1 - 1e-6), -t * (1 - 1e-6), 0.0, 2 * t])
    keep = pruning.prune_by_threshold({"w": w}, t).keep["w"]
    original = np.where(np.abs(w.numpy()) < t, 0, w.numpy()) != 0  # prun_tune_T.py: abs(tensor) < sensitivity
    assert keep.tolist() == original.tolist() == [True, True, False, False, False, True]


def test_the_std_ratio_rule_is_the_originals():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(300, 100, generator=g)
    w[w.abs() < 0.1] = 0.0
    keep = pruning.prune_by_std_ratio({"w": w}, 0.25).keep["w"]
    x = w.numpy()
    original = np.where(np.abs(x) < 0.25 * np.std(x), 0, x) != 0  # prun_tune_V.py: population std, zeros in
    assert np.array_equal(keep.numpy(), original)


def test_arts_global_rule_keeps_strictly_above_the_threshold():
    w = torch.tensor([0.1, 0.2, 0.2, 0.3, 0.4])  # sparsity 0.4: t = |w| sorted at index 2 = 0.2
    keep = pruning.prune_global_magnitude({"w": w}, 0.4).keep["w"]
    assert keep.tolist() == [False, False, False, True, True]  # the original's keep |w| > t: ties pruned


@pytest.fixture
def checked_masks(monkeypatch):
    """Every mask attached to an optimizer is checked after each of its steps: pruned entries exactly zero, and
    the nonzero count never above the previous step's. Returns the number of checked steps."""
    steps = [0]
    real = Mask.attach

    def attach(self, model, optimizer):
        real(self, model, optimizer)
        params = dict(model.named_parameters())
        last = [None]

        def check(opt, args, kwargs):
            nonzero = 0
            for name, keep in self.keep.items():
                p = params[name].detach()
                assert torch.count_nonzero(p[~keep]) == 0, f"{name}: a pruned weight is not zero after a step"
                nonzero += int(torch.count_nonzero(p))
            assert last[0] is None or nonzero <= last[0], "the nonzero count grew"
            last[0] = nonzero
            steps[0] += 1
        optimizer.register_step_post_hook(check)
    monkeypatch.setattr(Mask, "attach", attach)
    return steps


@needs_mnist
def test_deephoyer_fine_tuning_keeps_the_mask_after_every_step(tmp_path, checked_masks):
    cfg = profiles.make_config("deephoyer", "smoke", model="lenet_300_100", regularizer="l1", decay=1e-3)
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] == "finished" and checked_masks[0] >= 2 * (1000 // cfg.batch_size)  # both rules' steps
    for rule in ("threshold", "std_ratio"):
        res = r["rules"][rule]
        assert res["all_nonzero"] <= res["all_params"] and 0 < res["all_pruning_ratio"] < 1


def test_art_fine_tuning_keeps_the_mask_after_every_step(tmp_path, checked_masks):
    # a weight that makes ART stop after its first epoch, so the run reaches its fine-tuning
    cfg = profiles.make_config("art", "smoke", model="lenet_300_100", dataset="synthetic_cifar10", normalize=True,
                               regularizer="hypersparse", sparsity=0.5, lambda_init=1e-2, eta=3.0)
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] == "finished" and any(h["phase"] == "finetune" for h in r["history"])
    assert checked_masks[0] >= cfg.finetune_epochs * (512 // cfg.batch_size)


def test_art_takes_its_cap_branch_when_forced(tmp_path):
    # no regularizer weight at all: the dense network never loses accuracy, so the pruned copy at 99 % never
    # matches it and ART can only end at its cap
    cfg = profiles.make_config("art", "smoke", model="lenet_300_100", dataset="synthetic_cifar10", normalize=True,
                               regularizer="l2", sparsity=0.99, lambda_init=0.0, art_max_epochs=2)
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] == "art_cap_reached"
    assert r["final"]["art_epochs"] == 2 and not any(h["phase"] == "finetune" for h in r["history"])


def test_bf16_autocast_stays_within_a_stated_distance_of_the_plain_run(tmp_path):
    """bf16 (8 mantissa bits) changes the forward pass's rounding, not the method: on the smoke ART run the
    per-epoch training loss stays within 5 % of the fp32 run's and the final accuracy within 10 points (256
    synthetic test images, so one image is 0.4 points)."""
    kw = dict(model="lenet_300_100", dataset="synthetic_cifar10", normalize=True, regularizer="l1", sparsity=0.9)
    plain = experiments.run(profiles.make_config("art", "smoke", **kw), profile="smoke", results_dir=tmp_path,
                            progress=False)
    amp = experiments.run(profiles.make_config("art", "smoke", **kw, amp=True), profile="smoke",
                          results_dir=tmp_path, progress=False)
    assert plain["status"] == amp["status"]
    warm = [(a["loss"], b["loss"]) for a, b in zip(plain["history"], amp["history"]) if a["phase"] == "warmup"]
    assert warm and all(math.isclose(a, b, rel_tol=0.05) for a, b in warm)
    assert abs(plain["final"]["test_acc_final"] - amp["final"]["test_acc_final"]) <= 10.0


def test_the_dense_reference_shares_the_warm_up_and_steps_its_rate_without_pruning(tmp_path):
    """An ART run at sparsity 0 is its setting's dense reference: the seed's warm-up (the ART runs' own: one
    shared state), then the fine-tuning's stepped rate on the dense network, no ART epoch and no mask."""
    kw = dict(normalize=True, finetune_epochs=4)
    (_, dense_cfg), = experiments.art_dense_runs("lenet_300_100", "synthetic_cifar10", "smoke", seeds=(0,), **kw)
    art_cfg = profiles.make_config("art", "smoke", model="lenet_300_100", dataset="synthetic_cifar10", seed=0,
                                   regularizer="l1", sparsity=0.9, **kw)
    assert experiments.runner.warmup_key(dense_cfg) == experiments.runner.warmup_key(art_cfg)
    r = experiments.run(dense_cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] == "finished"
    phases = [h["phase"] for h in r["history"]]
    assert phases == ["warmup"] * dense_cfg.warmup_epochs + ["finetune"] * 4
    assert [h["lr"] for h in r["history"] if h["phase"] == "finetune"] == pytest.approx([0.1, 0.1, 0.01, 0.001])
    assert r["final"]["art_epochs"] == 0 and r["final"]["sparsity"] < 0.01
    assert r["final"]["test_acc_final"] == r["history"][-1]["test_acc"]
