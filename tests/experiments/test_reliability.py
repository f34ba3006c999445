"""The sweep at its edges: bad data and paths refused before any work, a signal stops a real two-worker
sweep cleanly, a dry run changes nothing and prints a cost, bad settings never reach the store."""
import gzip
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from sparsebook import data, experiments
from sparsebook.experiments import profiles, store, sweep

ROOT = Path(__file__).resolve().parents[2]


def tree(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes: the store byte for byte."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def random_pixel_mnist(folder: Path) -> Path:
    folder.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for prefix, n in (("train", 1000), ("t10k", 500)):
        pixels = torch.randint(0, 256, (n * 784,), generator=g, dtype=torch.uint8).numpy().tobytes()
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">IIII", 0x803, n, 28, 28) + pixels, compresslevel=1))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))))
    return folder


SMOKE = ["deephoyer", "--profile", "smoke", "--model", "lenet_300_100", "--dataset", "mnist", "--seed", "0"]


def refused(args, capsys, results):
    with pytest.raises(SystemExit) as info:
        sweep.main(args + ["--results", str(results)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err, err
    assert not results.exists() or not list(results.rglob("*")), "something was written before the refusal"
    return err.strip().splitlines()[-1]


def test_bad_data_and_paths_are_one_line_and_exit_2_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPARSEBOOK_CACHE", str(tmp_path / "cache"))
    bad = random_pixel_mnist(tmp_path / "random")
    line = refused(SMOKE + ["--data-root", str(bad)], capsys, tmp_path / "r1")
    assert "train-images-idx3-ubyte.gz" in line and "--unverified-data" in line
    assert "not found" not in line and not list((tmp_path / "cache").rglob("*-ubyte"))  # nothing cached
    assert "does not exist" in refused(SMOKE + ["--data-root", "/nonexistent"], capsys, tmp_path / "r2")
    monkeypatch.setenv("SPARSEBOOK_DATA", "/nonexistent")
    assert "SPARSEBOOK_DATA" in refused(SMOKE, capsys, tmp_path / "r3")
    monkeypatch.delenv("SPARSEBOOK_DATA")
    (tmp_path / "empty").mkdir()  # found nowhere and no download: one line, exit 2, never "skipped" with 0
    monkeypatch.setattr(data, "_download", lambda name, target, looked: (_ for _ in ()).throw(
        data._not_found(name, looked, " and torchvision's download failed (offline)")))
    assert "'mnist' not found" in refused(SMOKE + ["--data-root", str(tmp_path / "empty")], capsys, tmp_path / "r4")


def test_the_way_out_trains_under_its_own_id_and_label(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPARSEBOOK_CACHE", str(tmp_path / "cache"))
    bad = random_pixel_mnist(tmp_path / "random")
    cfg = profiles.make_config("deephoyer", "smoke", model="lenet_300_100", data_unverified=True)
    assert experiments.run_id(cfg) != experiments.run_id(profiles.make_config("deephoyer", "smoke",
                                                                              model="lenet_300_100"))
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path / "r", data_root=bad, progress=False)
    assert r["env"]["data_verified"] is False and r["dataset_label"] == "MNIST (unverified copy)"


def test_settings_are_refused_when_built_and_before_the_store(tmp_path):
    cfg = profiles.make_config("deephoyer", "smoke", model="lenet_300_100")
    for profile in ("nonsense", "Smoke"):
        with pytest.raises(ValueError, match=f"profile must be one of cpu, gpu, paper, smoke, got '{profile}'"):
            experiments.run(cfg, profile=profile, results_dir=tmp_path)
    for bad, match in ((dict(model="lenet300"), "model must be one of"), (dict(lr=-0.1), "lr must be"),
                       (dict(sparsity=1.5), "sparsity must be in"), (dict(sparsity=float("nan")), "sparsity"),
                       (dict(dataset="cifar11"), "dataset must be one of")):
        with pytest.raises(ValueError, match=match):
            profiles.make_config("art", "smoke", **bad)
    assert not list(tmp_path.rglob("*"))


def test_a_dry_run_changes_nothing_and_prints_a_cost(tmp_path, capsys):
    results = tmp_path / "results"
    plan = [c for c in sweep.plan("deephoyer", "smoke") if c.model == "lenet_300_100" and c.dataset == "mnist"]
    experiments.run(plan[0], profile="smoke", results_dir=results, progress=False)  # one stored run to cost by
    bad = results / "smoke" / f"deephoyer-{experiments.run_id(plan[1])}.json"
    bad.write_text("{ torn")  # a corrupt result: a real sweep sets it aside; a dry run leaves it
    before = tree(results)
    assert sweep.main(SMOKE[:7] + ["--dry-run", "--workers", "2", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert tree(results) == before  # byte for byte: no lock, no move, no new file
    assert " stored" in out and " to run ~" in out and "estimate: " in out and "on 2 worker(s)" in out


STOPPED_SWEEP = textwrap.dedent("""
    import sys
    from sparsebook.experiments import profiles, sweep
    # three runs that train until stopped; two workers take two of them
    sweep.plan = lambda part, profile: [profiles.make_config(
        "art", "smoke", model="lenet_300_100", dataset="synthetic_cifar10", normalize=True, seed=seed,
        warmup_epochs=10_000) for seed in (0, 1, 2)]
    sys.exit(sweep.main(["hypersparse", "--profile", "smoke", "--workers", "2", "--results", sys.argv[1]]))
""")


@pytest.mark.parametrize("signum, to_group", [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_a_signal_stops_a_real_two_worker_sweep_within_seconds(tmp_path, signum, to_group):
    """Ctrl-C (SIGINT to the process group) or SIGTERM to the sweep alone: no new run starts, the two runs in
    progress stop and keep their checkpoints, the workers exit, one line says so, exit 128 + signal."""
    cfgs = [profiles.make_config("art", "smoke", model="lenet_300_100", dataset="synthetic_cifar10", normalize=True,
                                 seed=seed, warmup_epochs=10_000) for seed in (0, 1, 2)]
    ckpts = [tmp_path / "_checkpoints" / "smoke" / f"{experiments.run_id(c)}.pt" for c in cfgs]
    proc = subprocess.Popen([sys.executable, "-c", STOPPED_SWEEP, str(tmp_path)], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True, cwd=ROOT)
    try:
        deadline = time.time() + 120
        while sum(p.exists() for p in ckpts) < 2:  # both workers are training (each has checkpointed an epoch)
            assert time.time() < deadline and proc.poll() is None, "the workers never started"
            time.sleep(0.2)
        t0 = time.time()
        os.killpg(proc.pid, signum) if to_group else proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        took = time.time() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 128 + signum, err
    assert took < 20, f"took {took:.1f} s to stop"
    last = err.strip().splitlines()[-1]
    assert f"stopped by {signal.Signals(signum).name}" in last and "2 interrupted" in last and "1 not started" in last
    assert "Traceback" not in err
    started = [p for p in ckpts if p.exists()]
    assert len(started) == 2  # the third run never started
    for p in started:
        assert store.load_checkpoint(p) is not None and not store.is_locked(p.with_suffix(".lock"))
    assert not list((tmp_path / "smoke").glob("*.json")) if (tmp_path / "smoke").exists() else True


SLICED_SWEEP = textwrap.dedent("""
    import sys
    from sparsebook.experiments import profiles, sweep
    # three runs of some seconds each, on two workers: the slot ends before they all finish
    sweep.plan = lambda part, profile: [profiles.make_config(
        "art", "smoke", model="lenet_300_100", dataset="synthetic_cifar10", normalize=True, seed=seed,
        warmup_epochs=int(sys.argv[3]), regularizer="l1", sparsity=0.5, lambda_init=1e-2) for seed in (0, 1, 2)]
    extra = ["--deadline-min", sys.argv[2]] if sys.argv[2] != "none" else []
    sys.exit(sweep.main(["hypersparse", "--profile", "smoke", "--workers", "2", "--results", sys.argv[1], *extra]))
""")


def test_a_time_boxed_slice_stops_before_its_deadline_and_the_next_goes_on(tmp_path):
    def call(deadline):
        return subprocess.run([sys.executable, "-c", SLICED_SWEEP, str(tmp_path), deadline, "150"],
                              capture_output=True, text=True, timeout=300, cwd=ROOT)
    t0 = time.time()
    first = call("0.2")  # 12 s: the workers start, train, and are stopped
    assert first.returncode == 0, first.stderr[-2000:]
    assert time.time() - t0 < 60 and "stopped at its deadline" in first.stderr.strip().splitlines()[-1]
    stored = len(list((tmp_path / "smoke").glob("*.json")))
    assert stored < 3 and list((tmp_path / "_checkpoints" / "smoke").glob("*.pt"))  # the rest resumable
    second = call("none")
    assert second.returncode == 0, second.stderr[-2000:]
    assert len(list((tmp_path / "smoke").glob("art-*.json"))) == 3
