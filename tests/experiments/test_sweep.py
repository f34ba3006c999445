"""The sweep: parallel local workers, a killed worker, submitit's debug executor, SLURM without a cluster,
and one clear line for bad input."""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sparsebook import data, experiments
from sparsebook.experiments import executor, profiles, store, sweep

pytestmark = pytest.mark.skipif(data._locate("mnist", None)[0] is None and not data.has_offline_copy("mnist"),
                                reason="no MNIST copy offline or in the cache")


def strip(result):
    return [{k: v for k, v in row.items() if k != "time"} for row in result["history"]], result["final"]


def smoke_plan(n=3):
    """A few DeepHoyer smoke runs (seconds each on 1,000 MNIST images)."""
    return [profiles.make_config("deephoyer", "smoke", model="lenet_300_100", regularizer="l1", decay=d)
            for d in (1e-5, 1e-4, 1e-3, 3e-3)[:n]]


def test_two_local_workers_match_a_sequential_sweep(tmp_path):
    plan = smoke_plan(3)
    summaries = executor.run_local(plan, profile="smoke", results_dir=tmp_path / "par", workers=2, progress=False)
    assert [s["status"] for s in summaries] == ["finished"] * 3
    assert sorted(s["id"] for s in summaries) == sorted(experiments.run_id(c) for c in plan)  # each once
    assert len(list((tmp_path / "par" / "smoke").glob("*.json"))) == 3
    for cfg in plan:  # the same runs, one after another in this process
        seq = experiments.run(cfg, profile="smoke", results_dir=tmp_path / "seq", progress=False)
        par = experiments.stored(cfg, "smoke", tmp_path / "par")
        assert strip(par) == strip(seq)  # bit for bit: the thread count follows the profile, not the layout
        assert par["env"]["torch_threads"] == seq["env"]["torch_threads"] == 1
        assert par["env"]["layout"]["executor"] == "local" and par["env"]["layout"]["workers"] == 2
    pids = {experiments.stored(c, "smoke", tmp_path / "par")["env"]["layout"]["worker_pid"] for c in plan}
    assert os.getpid() not in pids


KILLED_WORKER = textwrap.dedent("""
    import os, signal, sys
    from sparsebook import experiments
    from sparsebook.experiments import profiles, runner
    real_save, n = runner.atomic_torch_save, [0]
    def save(obj, path):
        real_save(obj, path)
        n[0] += 1
        if n[0] == 2:  # after the first fine-tuning epoch's checkpoint
            os.kill(os.getpid(), signal.SIGKILL)
    runner.atomic_torch_save = save
    cfg = profiles.make_config("deephoyer", "smoke", model="lenet_300_100", regularizer="l1", decay=1e-5)
    experiments.run(cfg, profile="smoke", results_dir=sys.argv[1], progress=False)
""")


def test_a_killed_worker_is_resumed_and_nothing_is_trained_twice(tmp_path):
    plan = smoke_plan(2)
    proc = subprocess.run([sys.executable, "-c", KILLED_WORKER, str(tmp_path / "cut")], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not experiments.result_path(plan[0], "smoke", tmp_path / "cut").exists()  # nothing half-written trusted
    todo, done, busy = executor.partition_plan(plan, "smoke", tmp_path / "cut")
    assert todo == plan and not done and not busy  # the dead worker's lock died with it
    executor.run_local(plan, profile="smoke", results_dir=tmp_path / "cut", workers=2, progress=False)
    resumed = experiments.stored(plan[0], "smoke", tmp_path / "cut")
    assert resumed["env"]["resumed"] is True
    assert experiments.stored(plan[1], "smoke", tmp_path / "cut")["env"]["resumed"] is False
    ref = experiments.run(plan[0], profile="smoke", results_dir=tmp_path / "ref", progress=False)
    assert strip(resumed) == strip(ref)
    # a second sweep finds everything stored and trains nothing
    assert executor.partition_plan(plan, "smoke", tmp_path / "cut")[0] == []


def test_a_run_locked_by_a_live_process_is_left_to_it(tmp_path):
    cfg = smoke_plan(1)[0]
    lock = tmp_path / "_checkpoints" / "smoke" / f"{experiments.run_id(cfg)}.lock"
    with store.run_lock(lock):
        todo, done, busy = executor.partition_plan([cfg], "smoke", tmp_path)
        assert busy == [cfg] and not todo
        with pytest.raises(experiments.RunBusy):
            experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False, wait=False)


def test_submitit_debug_executor_runs_a_smoke_plan(tmp_path):
    plan = smoke_plan(2)
    summaries = executor.run_debug(plan, profile="smoke", results_dir=tmp_path, folder=tmp_path / "submitit")
    assert [s["status"] for s in summaries] == ["finished", "finished"]
    r = experiments.stored(plan[1], "smoke", tmp_path)
    assert r["env"]["layout"]["executor"] == "debug"


# -- SLURM without a cluster ---------------------------------------------------------------------------

@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """sbatch that answers like SLURM and logs its calls; srun so submitit believes it is on a cluster."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "sbatch.log"
    (bin_ / "sbatch").write_text(f"#!/bin/sh\necho \"$@\" >> {log}\necho 'Submitted batch job 12'\n")
    (bin_ / "srun").write_text("#!/bin/sh\nexit 0\n")
    for f in bin_.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}{os.environ['PATH']}")
    return log


SLURM_ARGS = ["deephoyer", "--profile", "smoke", "--model", "lenet_300_100", "--regularizer", "l1",
              "--executor", "slurm", "--slurm-partition", "gpu", "--timeout-min", "90", "--array-parallelism", "2",
              "--gpus-per-task", "1", "--cpus-per-task", "8", "--runs-per-gpu", "2"]


def test_slurm_submission_is_one_job_array(tmp_path, fake_slurm, capsys):
    results = tmp_path / "results"
    plan = [c for c in sweep.plan("deephoyer", "smoke") if c.model == "lenet_300_100" and c.regularizer == "l1"]
    assert sweep.main(SLURM_ARGS + ["--results", str(results)]) == 0
    assert "submitted" in capsys.readouterr().out and len(fake_slurm.read_text().splitlines()) == 1
    script = next((results / "_sweeps" / "submitit").rglob("*submission*")).read_text()
    tasks = -(-len(plan) // 2)
    assert f"#SBATCH --array=0-{tasks - 1}%2" in script
    for line in ("#SBATCH --time=90", "#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=1",
                 "#SBATCH --cpus-per-task=8"):
        assert line in script
    # submitted again at once: every run is queued already, nothing is submitted
    assert sweep.main(SLURM_ARGS + ["--results", str(results)]) == 0
    assert len(fake_slurm.read_text().splitlines()) == 1
    # a finished plan submits nothing either
    (results / "_sweeps").rename(tmp_path / "old-sweeps")
    for cfg in plan:
        path = experiments.result_path(cfg, "smoke", results)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"status": "finished", "config": experiments.settings(cfg)}))
    assert sweep.main(SLURM_ARGS + ["--results", str(results)]) == 0
    assert len(fake_slurm.read_text().splitlines()) == 1


def test_slurm_without_sbatch_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit) as info:
        sweep.main(SLURM_ARGS + ["--results", str(tmp_path)])
    assert info.value.code == 2 and "no sbatch on PATH" in capsys.readouterr().err


# -- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["hypersparse", "--sparsity", "1.5", "--dry-run"], "no run of this part matches --sparsity 1.5"),
    (["deephoyer", "--profile", "laptop"], "unknown profile 'laptop'"),
    (["deephoyer", "--profile", "gpu"], "the gpu profile runs HyperSparse's CIFAR tables only"),
    (["hypersparse", "--profile", "gpu", "--runs-per-gpu", "4"], "--runs-per-gpu shares a GPU between local "
                                                                 "workers: it needs --device cuda, got --device cpu"),
    (["hypersparse", "--runs-per-gpu", "0"], "--runs-per-gpu must be an integer >= 1, got 0"),
    (["deephoyer", "--seed", "7"], "no run of this part matches --seed 7"),
    (["deephoyer", "--dataset", "mnst"], "no run of this part matches --dataset mnst (the plan has: "),
    (["deephoyer", "--workers", "0", "--profile", "smoke"], "--workers must be"),
    (["deephoyer", "--executor", "slurm", "--profile", "smoke"], "needs --timeout-min"),
    (["deephoyer", "--model", "lenet7"], "no runs of ['lenet7']"),
    (["hypersparse", "--train-epochs", "250"], "--train-epochs 250 (this part's runs have no train_epochs)"),
])
def test_bad_input_is_one_line_before_any_work(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        sweep.main(args + ["--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err
    assert not any(tmp_path.rglob("*.json"))


def test_a_dry_run_whose_reader_has_gone_ends_quietly(tmp_path):
    import subprocess
    import sys
    # `true` exits before the sweep writes its first line (as `head` does after its lines): every write fails
    cmd = f"{sys.executable} -m sparsebook.experiments.sweep deephoyer --profile smoke --dry-run --results {tmp_path}"
    done = subprocess.run(["bash", "-c", cmd + " | true; echo ${PIPESTATUS[0]} >&2"], capture_output=True,
                          text=True, timeout=120)
    assert done.stderr == "0\n"


def test_oversubscription_is_a_warning_with_its_cost():
    cores = os.cpu_count()
    assert executor.oversubscription(cores, 1) is None
    warning = executor.oversubscription(cores, 2)
    assert "oversubscribed" in warning and f"{executor.OVERSUBSCRIBED_SPEED}x" in warning
    assert executor.default_workers(None) == cores


ORPHANED_SWEEP = textwrap.dedent("""
    import sys
    from sparsebook.experiments import executor, profiles
    cfg = profiles.make_config("art", "smoke", model="resnet20", dataset="synthetic_cifar10", normalize=True,
                               warmup_epochs=10_000)  # trains until killed
    executor.run_local([cfg], profile="smoke", results_dir=sys.argv[1], workers=1, progress=False)
""")


def test_a_killed_sweep_takes_its_workers_with_it(tmp_path):
    """SIGKILL the sweep: its pool worker notices within seconds and exits, releasing the run's lock, instead of
    training on, orphaned, beside the next sweep."""
    cfg = profiles.make_config("art", "smoke", model="resnet20", dataset="synthetic_cifar10", normalize=True,
                               warmup_epochs=10_000)
    lock = tmp_path / "_checkpoints" / "smoke" / f"{experiments.run_id(cfg)}.lock"
    proc = subprocess.Popen([sys.executable, "-c", ORPHANED_SWEEP, str(tmp_path)])
    try:
        deadline = time.time() + 120
        while not (lock.exists() and store.is_locked(lock)):  # the worker is training
            assert time.time() < deadline and proc.poll() is None, "the worker never started"
            time.sleep(0.2)
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.time() + 10 * executor.PARENT_POLL_S
        while store.is_locked(lock):
            assert time.time() < deadline, "the worker outlived its sweep"
            time.sleep(0.2)
    finally:
        proc.kill()


def test_a_free_worker_takes_a_run_whose_warmup_is_stored_not_one_being_trained(tmp_path):
    """Seed 0's warm-up stored (or kept), seed 1's not: seed 1's first run trains it, seed 0's runs follow, and
    seed 1's other runs wait at the end, so a second worker never trains seed 1's warm-up again."""
    cfgs = [c for c in sweep.plan("hypersparse", "smoke") if c.model == "lenet_300_100"]
    two = [dataclasses.replace(c, seed=seed) for c in cfgs[:3] for seed in (0, 1)]
    kept = experiments.runner.shared_path(two[0], tmp_path / "kept" / "smoke")
    kept.parent.mkdir(parents=True)
    kept.touch()
    order = sweep.schedule(two, "smoke", tmp_path)
    assert [c.seed for c in order] == [1, 0, 0, 0, 1, 1] and order[0] == two[1]
    # nothing stored: the two warm-ups first, then each warm-up's other runs, one warm-up at a time
    assert [(c.seed, c.regularizer) for c in sweep.schedule(two, "smoke", tmp_path / "empty")] == \
        [(0, two[0].regularizer), (1, two[1].regularizer)] + [(s, c.regularizer) for s in (0, 1) for c in cfgs[1:3]]
    three = [dataclasses.replace(c, seed=seed) for seed in (0, 1, 2) for c in cfgs[:3]]  # a seed's runs together
    order = [(c.seed, c.regularizer) for c in sweep.schedule(three, "smoke", tmp_path / "empty")]
    regs = [c.regularizer for c in cfgs[:3]]
    assert order == [(0, regs[0]), (1, regs[0]), (0, regs[1]), (0, regs[2]), (2, regs[0]), (1, regs[1]),
                     (1, regs[2]), (2, regs[1]), (2, regs[2])]


def test_the_gpu_profile_plans_the_cifar_tables_in_the_papers_regime():
    from sparsebook.experiments import profiles
    from sparsebook.experiments import sweep as sweep_module
    cfgs = sweep_module.plan("hypersparse", "gpu")
    assert {(c.model, c.dataset) for c in cfgs} == {("resnet20", "cifar10_jpeg"), ("vgg19", "cifar100_jpeg")}
    assert all(c.train_subset is None and c.test_subset is None and c.width is None for c in cfgs)  # full data
    for model in ("resnet20", "vgg19"):
        mine = [c for c in cfgs if c.model == model]
        assert len(mine) == 3 * 3 * 3 + 3 and {c.seed for c in mine} == {0, 1, 2}  # 3 regularizers x 3 sparsities
        assert {c.sparsity for c in mine if c.regularizer != "none"} == {0.9, 0.98, 0.995}
        assert all(c.warmup_epochs == 60 and c.finetune_epochs == 60 and c.art_max_epochs == 60 and c.eta == 1.15
                   and c.stop_rule == "original" and c.pruned_eval == "augmented" for c in mine)
        seed0 = [c.sparsity for c in mine if c.seed == 0]
        first = list(dict.fromkeys(seed0))  # the dense reference, then the primary rows' sparsities, then 90 %
        assert first == [0.0, 0.98, 0.995, 0.9]
    departed = {r["setting"]: r for r in profiles.departures("art", "gpu", "resnet20", "resnet32")}
    assert departed["eta"]["gpu"] == 1.15 and "2.2e-2" in departed["eta"]["why"]
    assert departed["finetune_epochs"]["original"] == 160 and departed["finetune_epochs"]["gpu"] == 60
    with pytest.raises(ValueError, match="HyperSparse's CIFAR tables only"):
        sweep_module.plan("deephoyer", "gpu")
