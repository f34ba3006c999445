"""Run settings, ids, validation, the results store, and end-to-end smoke runs on real data."""
import dataclasses
import json
import math
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from sparsebook import data, experiments
from sparsebook.experiments import profiles, runner
from sparsebook.experiments import ARTConfig, DeepHoyerConfig

# tests that expect a warning or run a subprocess cannot be skipped from the outside (tests/conftest.py)
needs_mnist = pytest.mark.skipif(data._locate("mnist", None)[0] is None, reason="no MNIST copy offline or in the cache")


def strip_times(history):
    return [{k: v for k, v in row.items() if k != "time"} for row in history]


def dh_smoke(**kw):
    return profiles.make_config("deephoyer", "smoke", model="lenet_300_100", **kw)


def art_smoke(**kw):
    kw.setdefault("model", "lenet_300_100")
    kw.setdefault("dataset", "mnist")
    kw.setdefault("normalize", False)
    return profiles.make_config("art", "smoke", **kw)


# -- ids and profiles ------------------------------------------------------------------------

def test_run_id_is_pinned_and_stable():
    assert experiments.run_id(DeepHoyerConfig()) == "e180123e04d2"
    assert experiments.run_id(ARTConfig()) == experiments.run_id(ARTConfig())
    assert experiments.run_id(ARTConfig(seed=1)) != experiments.run_id(ARTConfig())


def test_none_fields_do_not_change_identity():
    # a field left at None is not hashed, so adding an optional field keeps old runs' ids
    assert "train_subset" not in experiments.settings(ARTConfig())
    assert experiments.run_id(ARTConfig(train_subset=None)) == experiments.run_id(ARTConfig())


def test_profiles_depart_from_paper_and_say_how():
    assert profiles.make_config("deephoyer", "paper") == DeepHoyerConfig(start="dense")  # the README's start
    assert profiles.make_config("art", "paper") == ARTConfig(stop_rule="original", pruned_eval="augmented",
                                                             test_batch_size=64, finetune_milestones=(80, 120))
    assert profiles.departures("art", "paper", "resnet32") == []
    rows = profiles.departures("deephoyer", "cpu", "lenet_300_100")
    by = {r["setting"]: r for r in rows}
    assert by["train_epochs"]["original"] == 250 and by["train_epochs"]["cpu"] == 60
    assert profiles.departures("deephoyer", "paper", "lenet5") == []
    assert profiles.make_config("art", "cpu", model="resnet32").width == 16
    assert profiles.make_config("art", "cpu", model="resnet32", width=32).width == 32  # caller wins
    with pytest.raises(ValueError, match="unknown profile 'laptop'.*cpu.*gpu.*paper.*smoke"):
        profiles.make_config("art", "laptop")
    with pytest.raises(ValueError, match="unknown art settings \\['sparsiti'\\]"):
        profiles.make_config("art", "cpu", sparsiti=0.9)


# -- validation before any work ----------------------------------------------------------------

@pytest.mark.parametrize("config, match", [
    (DeepHoyerConfig(model="lenet7"), "model must be one of .*lenet5"),
    (DeepHoyerConfig(dataset="svhn"), "dataset must be one of .*fashion_mnist"),
    (DeepHoyerConfig(regularizer="hypersparse"), "regularizer must be one of .*group_hoyer_square"),
    (ARTConfig(regularizer="hoyer"), "regularizer must be one of none, hypersparse, l1, l2"),
    (ARTConfig(sparsity=1.0), "sparsity must be in \\[0, 1\\)"),
    (ARTConfig(sparsity=float("nan")), "sparsity must be in"),
    (ARTConfig(lr=-0.1), "lr must be a finite number > 0"),
    (ARTConfig(lr=float("nan")), "lr must be"),
    (DeepHoyerConfig(decay=-1e-3), "decay must be a finite number >= 0"),
    (DeepHoyerConfig(train_epochs=-1), "train_epochs must be an integer >= 0"),
    (ARTConfig(eta=0.9), "eta must be a finite number >= 1"),
    (DeepHoyerConfig(num_classes=100), "num_classes must be 10 for data set 'mnist'"),
    (ARTConfig(batch_size=0), "batch_size must be an integer >= 1"),
])
def test_bad_settings_rejected_before_work(config, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        experiments.run(config, profile="smoke", results_dir=tmp_path)
    assert not any(tmp_path.rglob("*.json"))


def test_bad_device_and_data_root(tmp_path):
    with pytest.raises(ValueError, match="device 'tpu' is not"):
        experiments.run(dh_smoke(), profile="smoke", results_dir=tmp_path, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda' is not available on this machine; available: cpu"):
            experiments.run(dh_smoke(), profile="smoke", results_dir=tmp_path, device="cuda")
    with pytest.raises(ValueError, match="data_root .* does not exist"):
        experiments.run(dh_smoke(), profile="smoke", results_dir=tmp_path, data_root=tmp_path / "nope")
    assert not any(tmp_path.rglob("*.json"))


# -- end to end on real data ------------------------------------------------------------------

def test_deephoyer_smoke_run_on_mnist(tmp_path):
    cfg = dh_smoke(regularizer="hoyer_square", decay=2e-6, record_epochs=(0,))
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] == "finished" and r["id"] == experiments.run_id(cfg)
    assert r["dataset_label"] == "MNIST"
    assert {"torch", "torchvision", "device", "wall_time_s", "git_commit"} <= set(r["env"])
    phases = [h["phase"] for h in r["history"]]
    assert phases == ["train", "finetune_threshold", "finetune_std_ratio"]
    for rule in ("threshold", "std_ratio"):
        res = r["rules"][rule]
        assert res["all_params"] == 266_610
        assert 0 < res["all_pruning_ratio"] < 1
        assert res["test_acc_final"] > 50  # 1,000 images, one epoch: well above chance
    assert [s["tag"] for s in r["snapshots"]] == ["train_0", "trained", "pruned_threshold", "pruned_std_ratio"]
    assert "grad_vs_w" in r["snapshots"][0]
    stored = json.loads(experiments.result_path(cfg, "smoke", tmp_path).read_text())
    assert stored["final"] == r["final"]
    # a second call reuses the stored result without training
    again = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert again["env"]["finished_at"] == r["env"]["finished_at"]


def test_art_smoke_run_on_fashion_mnist(tmp_path):
    pytest.importorskip("sparsebook.data").resolve_root("fashion_mnist")
    cfg = art_smoke(dataset="fashion_mnist", regularizer="hypersparse", sparsity=0.9,
                    record_epochs=("warmup_end", "art_stop", "final"))
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] in ("finished", "art_cap_reached")
    phases = [h["phase"] for h in r["history"]]
    assert phases[0] == "warmup" and "art" in phases
    art_rows = [h for h in r["history"] if h["phase"] == "art"]
    alphas = [cfg.lambda_init * cfg.eta ** k for k in range(len(art_rows))]
    assert [h["alpha"] for h in art_rows] == pytest.approx(alphas)
    if r["status"] == "finished":
        f = r["final"]
        assert f["sparsity"] == pytest.approx(0.9, abs=1e-3)
        assert phases.count("finetune") == cfg.finetune_epochs
        assert f["art_epochs"] == len(art_rows) >= 1  # the original's rule may stop after one ART epoch
        assert 0 <= f["kept_overlap_with_art_start"] <= 1
        assert {"test_acc_final", "test_acc_best", "alpha_at_stop"} <= set(f)
        assert "grad_vs_w" in r["snapshots"][0]


def test_art_cap_ends_run_with_clear_status(tmp_path):
    cfg = art_smoke(regularizer="l2", sparsity=0.5, lambda_init=0.0, art_max_epochs=3, finetune_epochs=1)
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    # with alpha 0 dense accuracy never falls below the pruned one only by chance; either way the cap holds
    art_rows = [h for h in r["history"] if h["phase"] == "art"]
    assert len(art_rows) <= 3
    if r["status"] == "art_cap_reached":
        assert r["final"]["art_epochs"] == 3 and not any(h["phase"] == "finetune" for h in r["history"])


def test_nonfinite_loss_stops_with_status_and_keeps_checkpoint(tmp_path):
    cfg = art_smoke(regularizer="l2", sparsity=0.5, lambda_init=1e30, eta=1e10)
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] == "failed_nonfinite" and "non-finite" in r["error"]
    assert all(math.isfinite(h["loss"]) for h in r["history"])
    ckpt = tmp_path / "_checkpoints" / "smoke" / f"{experiments.run_id(cfg)}.pt"
    assert ckpt.exists()


def test_same_seed_is_bit_identical(tmp_path):
    cfg = dh_smoke(regularizer="l1", decay=1e-3)
    a = experiments.run(cfg, profile="smoke", results_dir=tmp_path / "a", progress=False)
    b = experiments.run(cfg, profile="smoke", results_dir=tmp_path / "b", progress=False)
    assert strip_times(a["history"]) == strip_times(b["history"]) and a["final"] == b["final"]


def test_resume_after_interruption_matches_uninterrupted(tmp_path, monkeypatch):
    cfg = art_smoke(regularizer="hypersparse", sparsity=0.8)
    ref = experiments.run(cfg, profile="smoke", results_dir=tmp_path / "ref", progress=False)
    saves = {"n": 0}
    real_save = runner.atomic_torch_save

    def interrupt_after_two(obj, path):
        real_save(obj, path)
        saves["n"] += 1
        if saves["n"] == 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(runner, "atomic_torch_save", interrupt_after_two)
    with pytest.raises(KeyboardInterrupt):
        experiments.run(cfg, profile="smoke", results_dir=tmp_path / "cut", progress=False)
    assert not experiments.result_path(cfg, "smoke", tmp_path / "cut").exists()  # no half-written result
    monkeypatch.setattr(runner, "atomic_torch_save", real_save)
    resumed = experiments.run(cfg, profile="smoke", results_dir=tmp_path / "cut", progress=False)
    assert resumed["env"]["resumed"] is True
    assert strip_times(resumed["history"]) == strip_times(ref["history"])
    assert resumed["final"] == ref["final"] and resumed["status"] == ref["status"]


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from sparsebook import experiments
    from sparsebook.experiments import profiles, runner
    kill_at = int(sys.argv[2])
    real_save, n = runner.atomic_torch_save, [0]
    def save(obj, path):
        real_save(obj, path)
        if os.path.basename(path).startswith("warmup-"):  # the shared warm-up, not a checkpoint
            return
        n[0] += 1
        if n[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    runner.atomic_torch_save = save
    cfg = profiles.make_config("art", "smoke", model="resnet20", dataset="synthetic_cifar10", normalize=True,
                               regularizer="l1", sparsity=0.3, lambda_init=1e-2, warmup_epochs=3)
    experiments.run(cfg, profile="smoke", results_dir=sys.argv[1], progress=False)
""")


def saved_phases(cfg, result) -> list[str]:
    """The trainer phase each checkpoint save of an ART run holds: warm-up epochs, the switch to ART,
    each ART epoch (the last one already switched to fine-tuning), each fine-tuning epoch."""
    n_art = sum(h["phase"] == "art" for h in result["history"])
    return (["warmup"] * cfg.warmup_epochs + ["art"] + ["art"] * (n_art - 1) + ["finetune"]
            + ["finetune"] * cfg.finetune_epochs)


@pytest.mark.parametrize("kill_at", [5, 8])  # saves: warm-up x3, ->ART, ART x4, FT x2
def test_sigkilled_process_resumes_to_the_same_result(tmp_path, kill_at):
    """The paper's loop (augmented pruned evaluation, the original's stop rule) on augmented data."""
    # a strong L1 that makes the dense accuracy fall, so ART stops within the smoke cap (4 ART epochs)
    cfg = profiles.make_config("art", "smoke", model="resnet20", dataset="synthetic_cifar10", normalize=True,
                               regularizer="l1", sparsity=0.3, lambda_init=1e-2, warmup_epochs=3)
    assert cfg.pruned_eval == "augmented" and cfg.stop_rule == "original"
    ref = experiments.run(cfg, profile="smoke", results_dir=tmp_path / "ref", progress=False)
    assert ref["status"] == "finished"
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(tmp_path / "cut"), str(kill_at)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not experiments.result_path(cfg, "smoke", tmp_path / "cut").exists()
    ckpt = torch.load(tmp_path / "cut" / "_checkpoints" / "smoke" / f"{experiments.run_id(cfg)}.pt", weights_only=True)
    assert ckpt["trainer"]["phase"] == saved_phases(cfg, ref)[kill_at - 1]
    resumed = experiments.run(cfg, profile="smoke", results_dir=tmp_path / "cut", progress=False)
    assert resumed["env"]["resumed"] is True
    assert strip_times(resumed["history"]) == strip_times(ref["history"])
    assert resumed["final"] == ref["final"]


def test_augmented_pruned_evaluation_leaves_the_training_stream_alone(tmp_path):
    """Scoring the pruned copy on augmented images draws from a generator of its own: the warm-up and the
    first ART epoch's training are the same whichever data the pruned copy is scored on."""
    kw = dict(model="resnet20", dataset="synthetic_cifar10", normalize=True, regularizer="l1", sparsity=0.8,
              art_max_epochs=2, stop_rule="full_window", window=3)
    plain = experiments.run(profiles.make_config("art", "smoke", pruned_eval="plain", **kw), profile="smoke",
                     results_dir=tmp_path, progress=False)
    aug = experiments.run(profiles.make_config("art", "smoke", pruned_eval="augmented", **kw), profile="smoke",
                   results_dir=tmp_path, progress=False)
    keys = ("loss", "train_acc", "test_acc")
    for a, b in zip(plain["history"], aug["history"]):
        assert {k: a[k] for k in keys} == {k: b[k] for k in keys}
    art = [(a["train_acc_pruned"], b["train_acc_pruned"]) for a, b in zip(plain["history"], aug["history"])
           if a["phase"] == "art"]
    assert art and any(p != q for p, q in art)  # but the pruned copy saw other images


@needs_mnist
def test_corrupt_checkpoint_is_set_aside_not_trusted(tmp_path):
    cfg = dh_smoke()
    ckpt_dir = tmp_path / "_checkpoints" / "smoke"
    ckpt_dir.mkdir(parents=True)
    bad = ckpt_dir / f"{experiments.run_id(cfg)}.pt"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.warns(UserWarning, match="not a usable checkpoint"):
        r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] == "finished" and r["env"]["resumed"] is False
    assert list(ckpt_dir.glob("*.bad-*"))


@needs_mnist
def test_foreign_checkpoint_is_set_aside(tmp_path):
    cfg = dh_smoke()
    ckpt_dir = tmp_path / "_checkpoints" / "smoke"
    ckpt_dir.mkdir(parents=True)
    torch.save({"model": {}}, ckpt_dir / f"{experiments.run_id(cfg)}.pt")
    with pytest.warns(UserWarning, match="foreign format"):
        r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["env"]["resumed"] is False


def test_corrupt_result_is_not_taken_as_finished(tmp_path):
    cfg = dh_smoke()
    path = experiments.result_path(cfg, "smoke", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"status": "finished", "conf')
    with pytest.warns(UserWarning, match="not a usable result"):
        r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] == "finished" and "history" in json.loads(path.read_text())


@needs_mnist
def test_two_processes_same_settings_do_not_collide(tmp_path):
    script = textwrap.dedent("""
        import sys
        from sparsebook import experiments
        from sparsebook.experiments import profiles
        cfg = profiles.make_config("deephoyer", "smoke", model="lenet_300_100")
        r = experiments.run(cfg, profile="smoke", results_dir=sys.argv[1], progress=False)
        print(r["env"]["finished_at"], r["final"]["std_ratio_test_acc_final"])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1]  # the second waited on the lock and reused the first's result
    assert len(list((tmp_path / "smoke").glob("*.json"))) == 1
    assert not list((tmp_path / "smoke").glob(".*.tmp"))


def test_load_results(tmp_path):
    experiments.run(dh_smoke(), profile="smoke", results_dir=tmp_path, progress=False)
    rs = experiments.load_results(tmp_path, "smoke")
    assert len(rs) == 1 and rs[0]["profile"] == "smoke"
    assert dataclasses.asdict(DeepHoyerConfig())["model"] == rs[0]["config"]["model"]


def test_gpu_path_options_run_on_the_cpu(tmp_path):
    """bf16 autocast with fp32 master weights and channels_last: the paper profile's GPU options, checked here."""
    cfg = art_smoke(model="resnet32", dataset="synthetic_cifar10", normalize=True, regularizer="hypersparse",
                    sparsity=0.9, amp=True, channels_last=True, train_subset=128)
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    assert r["status"] in ("finished", "art_cap_reached")
    assert all(math.isfinite(h["loss"]) for h in r["history"])
    ckpt = torch.load(tmp_path / "_checkpoints" / "smoke" / f"{experiments.run_id(cfg)}.pt", weights_only=True)
    assert all(v.dtype == torch.float32 for k, v in ckpt["model"].items() if v.is_floating_point())


def test_compiled_training_is_recorded_and_checkpoints_the_eager_module(tmp_path):
    """torch.compile is an execution option: same id, recorded in env; the checkpoint holds plain names."""
    cfg = art_smoke(dataset="synthetic_cifar10", normalize=True, regularizer="l1", sparsity=0.9)
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False, compile=True)
    assert r["status"] in ("finished", "art_cap_reached") and r["env"]["compiled"] is True
    assert r["id"] == experiments.run_id(cfg) and all(math.isfinite(h["loss"]) for h in r["history"])
    ckpt = torch.load(tmp_path / "_checkpoints" / "smoke" / f"{experiments.run_id(cfg)}.pt", weights_only=True)
    assert not any(k.startswith("_orig_mod") for k in ckpt["model"])


def test_art_runs_share_their_warmup_bit_for_bit(tmp_path):
    """Runs differing only after the warm-up (sparsity, regularizer) start from one stored warm-up, and come
    out exactly as if each had trained its own; a run with another warm-up setting does not take it."""
    kw = dict(model="resnet20", dataset="synthetic_cifar10", normalize=True, lambda_init=1e-2, warmup_epochs=2,
              record_epochs=("warmup_end", "final"))
    first, second = art_smoke(regularizer="l1", sparsity=0.5, **kw), art_smoke(regularizer="hypersparse",
                                                                                  sparsity=0.8, **kw)
    assert runner.warmup_key(first) == runner.warmup_key(second)
    assert runner.warmup_key(art_smoke(**{**kw, "warmup_epochs": 3})) != runner.warmup_key(first)
    a = experiments.run(first, profile="smoke", results_dir=tmp_path / "shared", progress=False)
    assert "warmup_from" not in a["env"] and len(list((tmp_path / "shared" / "_models").rglob("warmup-*.pt"))) == 1
    b = experiments.run(second, profile="smoke", results_dir=tmp_path / "shared", progress=False)
    assert b["env"]["warmup_from"] == f"warmup-{runner.warmup_key(second)}" and b["env"]["resumed"] is False
    alone = experiments.run(second, profile="smoke", results_dir=tmp_path / "alone", progress=False,
                            share_warmup=False)
    assert strip_times(b["history"]) == strip_times(alone["history"]) and b["final"] == alone["final"]
    assert b["snapshots"] == alone["snapshots"]  # the warm-up's end seen through this run's regularizer
    assert b["snapshots"][0]["tag"] == "warmup_end"
    assert not (tmp_path / "alone" / "_models").exists()


def test_a_longer_warmup_continues_the_longest_shorter_one_bit_for_bit(tmp_path):
    """ART's warm-up runs at a constant learning rate, so a run with a longer warm-up starts from the longest
    stored shorter one (same settings otherwise) and comes out as if it had trained its own; a shorter warm-up
    never starts from a longer one."""
    kw = dict(dataset="synthetic_cifar10", normalize=True, lambda_init=1e-2, regularizer="l1", sparsity=0.5)
    shared = tmp_path / "shared"
    for epochs in (1, 2):
        experiments.run(art_smoke(warmup_epochs=epochs, **kw), profile="smoke", results_dir=shared, progress=False)
    longer = art_smoke(warmup_epochs=3, **kw)
    b = experiments.run(longer, profile="smoke", results_dir=shared, progress=False)
    two = art_smoke(warmup_epochs=2, **kw)
    assert b["env"]["warmup_from"] == f"warmup-{runner.warmup_key(two)}" and b["env"]["resumed"] is False
    alone = experiments.run(longer, profile="smoke", results_dir=tmp_path / "alone", progress=False,
                            share_warmup=False)
    assert strip_times(b["history"]) == strip_times(alone["history"]) and b["final"] == alone["final"]
    assert (shared / "_models" / "smoke" / f"warmup-{runner.warmup_key(longer)}.pt").exists()
    other = tmp_path / "other"
    experiments.run(longer, profile="smoke", results_dir=other, progress=False)
    short = experiments.run(art_smoke(warmup_epochs=1, **kw), profile="smoke", results_dir=other, progress=False)
    assert "warmup_from" not in short["env"]


def test_deephoyer_runs_share_their_training_bit_for_bit(tmp_path):
    """Runs differing only in pruning and fine-tuning start from one stored trained network (its training
    snapshots with it) and come out exactly as if each had trained its own; a rule's fine-tuning does not depend
    on how long the other one ran; a longer training continues a shorter one."""
    kw = dict(regularizer="l1", decay=1e-3, record_epochs=(0,))
    first, second = dh_smoke(**kw), dh_smoke(**kw, threshold_finetune_epochs=2, std_ratio=0.5)
    assert runner.warmup_key(first) == runner.warmup_key(second) != runner.warmup_key(dh_smoke(**{**kw, "decay": 2e-3}))
    shared = tmp_path / "shared"
    a = experiments.run(first, profile="smoke", results_dir=shared, progress=False)
    assert "warmup_from" not in a["env"] and len(list((shared / "_models").rglob("trained-*.pt"))) == 1
    b = experiments.run(second, profile="smoke", results_dir=shared, progress=False)
    assert b["env"]["warmup_from"] == f"trained-{runner.warmup_key(second)}" and b["env"]["resumed"] is False
    alone = experiments.run(second, profile="smoke", results_dir=tmp_path / "alone", progress=False,
                            share_warmup=False)
    assert strip_times(b["history"]) == strip_times(alone["history"]) and b["final"] == alone["final"]
    assert b["snapshots"] == alone["snapshots"] and b["snapshots"][0]["tag"] == "train_0"

    def std_ratio_finetuning(result):
        return [(h["loss"], h["test_acc"]) for h in result["history"] if h["phase"] == "finetune_std_ratio"]
    longer_threshold = experiments.run(dh_smoke(**kw, threshold_finetune_epochs=2), profile="smoke",
                                       results_dir=shared, progress=False)
    assert std_ratio_finetuning(longer_threshold) == std_ratio_finetuning(a)
    longer = dh_smoke(**kw, train_epochs=2)
    c = experiments.run(longer, profile="smoke", results_dir=shared, progress=False)
    assert c["env"]["warmup_from"] == f"trained-{runner.warmup_key(first)}"
    alone = experiments.run(longer, profile="smoke", results_dir=tmp_path / "alone", progress=False,
                            share_warmup=False)
    assert strip_times(c["history"]) == strip_times(alone["history"]) and c["final"] == alone["final"]
