"""The claims protocol's DeepHoyer runs: a validation split the same for every run, the test set read once,
one rule per run on a grid every regularizer shares, paired seeds that share a dense start."""
import pandas as pd
import pytest
import torch

from sparsebook import data, experiments
from sparsebook.experiments import frontiers, runner
from sparsebook.train import loop

needs_mnist = pytest.mark.skipif(data._locate("mnist", None)[0] is None and not data.has_offline_copy("mnist"),
                                 reason="no MNIST copy offline or in the cache")


def test_the_validation_split_is_the_same_for_every_run_and_disjoint():
    x = torch.arange(100, dtype=torch.float32).view(100, 1, 1, 1)
    d = data.InMemoryData(data.DATASETS["mnist"], x, torch.arange(100) % 10, x[:5], torch.arange(5), None)
    a, b = d.split_validation(20), d.split_validation(20)
    assert torch.equal(a.val_x, b.val_x) and len(a.val_y) == 20 and len(a.train_y) == 80
    assert set(a.val_x.flatten().tolist()).isdisjoint(a.train_x.flatten().tolist())
    assert torch.equal(a.test_x, d.test_x)
    with pytest.raises(ValueError, match="val_size must be between 1 and 99"):
        d.split_validation(100)


def test_the_grid_is_shared_by_every_regularizer_and_seeds_pair():
    pairs = frontiers.frontier_runs("cpu")
    grid = {}
    for row, cfg in pairs:
        grid.setdefault(row.regularizer, set()).add((row.rule, row.value))
        assert cfg.val_size == 10_000 and cfg.start == "dense" and cfg.rules == (row.rule,)
        assert getattr(cfg, row.rule) == row.value
    assert len({frozenset(g) for g in grid.values()}) == 1  # one pruning grid for all
    assert {0.03, 0.25, 0.8} <= {v for r, v in grid["l1"] if r == "std_ratio"} and ("threshold", 1e-3) in grid["l1"]
    seeds = {cfg.seed for _, cfg in pairs}
    assert seeds == {0, 1, 2, 3, 4}
    # a seed's runs share one dense start, whatever the regularizer: the pairing
    for seed in seeds:
        starts = {experiments.run_id(experiments.dense_start_config(c)) for _, c in pairs if c.seed == seed}
        assert len(starts) == 1
    # the runs of one trained network differ only after training: trained once, fine-tuned many times
    keys = {runner.warmup_key(c) for _, c in pairs}
    assert len(keys) == len(pairs) // len(frontiers.frontier_grid("cpu"))
    assert [c.seed for _, c in pairs] == sorted(c.seed for _, c in pairs)  # a seed at a time


@needs_mnist
def test_a_held_out_run_chooses_on_validation_and_reads_the_test_set_once(tmp_path, monkeypatch):
    (row, cfg), *_ = [p for p in frontiers.frontier_runs("smoke") if p[0].regularizer == "l1"
                      and p[0].rule == "std_ratio"]
    reads = []
    real_test = loop.Session.test
    monkeypatch.setattr(loop.Session, "test", lambda self: reads.append(1) or real_test(self))
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert len(reads) == 1, "the test set is read once, after fine-tuning"
    assert all("test_acc" not in h and "val_acc" in h for h in r["history"])
    rule = r["rules"]["std_ratio"]
    assert set(r["rules"]) == {"std_ratio"} and rule["value"] == row.value and "test_acc_best" not in rule
    assert rule["test_acc_final"] is not None and rule["val_acc_final"] == r["history"][-1]["val_acc"]
    # the threshold run of the same network starts from its stored training
    (_, other), *_ = [p for p in frontiers.frontier_runs("smoke") if p[0].regularizer == "l1"
                      and p[0].decay == row.decay and p[0].rule == "threshold"]
    t = experiments.run(other, profile="smoke", results_dir=tmp_path, progress=False)
    assert t["env"]["warmup_from"] == f"trained-{runner.warmup_key(cfg)}" and set(t["rules"]) == {"threshold"}
    train = [h for h in r["history"] if h["phase"] == "train"]
    assert [h["val_acc"] for h in t["history"] if h["phase"] == "train"] == [h["val_acc"] for h in train]
    # both record the weights they started from, bit for bit: the dense start's own, and the shared training's
    dense = experiments.run(experiments.dense_start_config(cfg), profile="smoke", results_dir=tmp_path, progress=False)
    assert r["env"]["start_digest"] == t["env"]["start_digest"] == dense["env"]["trained_digest"]
    shared = runner.load_checkpoint(runner.shared_path(cfg, runner.shared_dirs(tmp_path, "smoke")[0]))
    assert t["env"]["warmup_digest"] == experiments.store.state_digest(shared["model"])


def test_a_seed_pairs_only_the_runs_that_started_from_its_dense_start():
    from sparsebook.book import frontier
    row = {"decay": 0.0, "rule": "threshold", "value": 1e-3, "val_acc": 98.0, "test_acc": 98.0, "pruned": 1.0,
           "removed": 1.0, "trained_val_acc": 98.0, "dead_layer": False}
    frame = pd.DataFrame([{**row, "regularizer": reg, "seed": seed, "start": start} for reg, seed, start in [
        ("none", 0, ""), ("l1", 0, ""),  # made before digests were recorded: one start, as far as can be told
        ("none", 1, "aa"), ("none", 1, "aa"), ("l1", 1, "aa"), ("l1", 1, "bb"), ("hoyer_square", 1, "")]])
    kept = frontier.same_start(frame)
    assert sorted(zip(kept.regularizer, kept.seed, kept.start)) == [("l1", 0, ""), ("l1", 1, "aa"), ("none", 0, ""),
                                                                    ("none", 1, "aa"), ("none", 1, "aa")]
    assert kept.attrs["other_start"] == 2  # retrained elsewhere, or started before the seed's start was made


def test_the_weights_digest_sees_one_changed_bit():
    state = {"a.weight": torch.ones(3, 2), "a.bias": torch.zeros(3)}
    digest = experiments.store.state_digest(state)
    assert experiments.store.state_digest({k: v.clone() for k, v in state.items()}) == digest
    state["a.weight"][1, 1] = torch.nextafter(torch.tensor(1.0), torch.tensor(2.0))
    assert experiments.store.state_digest(state) != digest
