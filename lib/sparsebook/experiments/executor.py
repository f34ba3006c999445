"""Train many runs at once: a local process pool, a SLURM job array, or submitit's in-process debug executor.

Every layout trains through :func:`sparsebook.experiments.runner.run`, so each run still takes its lock, a finished run
is skipped, a run locked by a live worker is left to it, and a run whose worker died resumes from its
checkpoint when a worker picks it up. A run's thread count follows :func:`sparsebook.experiments.runner.threads_for`
(the profile and device, never the number of workers) unless ``threads`` overrides it, so a parallel sweep
computes what a sequential one does, bit for bit on the CPU.

* ``local``: the standard library's :class:`~concurrent.futures.ProcessPoolExecutor` (spawned processes),
  one tqdm line per worker and a total.
* ``slurm``: one job array through submitit over the missing runs, ``runs_per_gpu`` runs per array task
  sharing its GPU (each task is itself a local pool of that many workers).
* ``debug``: submitit's in-process executor, for tests.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import signal
import threading
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from tqdm import tqdm

from .. import data
from ..train import StopRequested, request_stop, stop_requested
from . import runner
from .config import check_data_root, resolve_device, run_id, settings, validate
from .store import RunBusy, atomic_write_json, is_locked

__all__ = ["EXECUTORS", "SlurmOptions", "SweepStopped", "default_workers", "oversubscription", "partition_plan",
           "run_local", "run_debug", "submit_slurm"]

EXECUTORS = ("local", "slurm", "debug")
#: measured on our 2-core machine (LeNet-300-100 Adam step, all processes together): 2 processes x 2 threads
#: trained 0.41x the images per second of 1 process x 2 threads; 2 x 1 thread, 1.50x
OVERSUBSCRIBED_SPEED = 0.41
# SLURM job states after which a submitted run is no longer in flight
_ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
          "DEADLINE", "FINISHED", "INTERRUPTED"}


def default_workers(threads: int | None) -> int:
    """One worker per core at one thread each (or cores // threads)."""
    return max(1, (os.cpu_count() or 1) // (threads or 1))


def oversubscription(workers: int, threads: int | None) -> str | None:
    """A warning when workers x threads exceeds the cores, with the measured cost; else None."""
    cores, t = os.cpu_count() or 1, threads or 1
    if workers * t <= cores:
        return None
    return (f"warning: {workers} workers x {t} threads = {workers * t} threads on {cores} cores; oversubscribed, "
            f"the processes fight over the cores (measured here: {OVERSUBSCRIBED_SPEED}x the throughput of one "
            f"process). Use --workers {max(1, cores // t)} or fewer threads.")


def partition_plan(configs, profile: str, results_dir, readonly: bool = False) -> tuple[list, list, list]:
    """(to train, stored, busy): busy runs are locked by a live process, which is left to finish them.
    ``readonly``: change nothing in the store (a dry run)."""
    todo, done, busy = [], [], []
    for cfg in configs:
        if runner.stored(cfg, profile, results_dir, readonly=readonly) is not None:
            done.append(cfg)
        elif is_locked(Path(results_dir) / "_checkpoints" / profile / f"{run_id(cfg)}.lock"):
            busy.append(cfg)
        else:
            todo.append(cfg)
    return todo, done, busy


# -- one run, in whichever process trains it ---------------------------------------------------------------

def _work(cfg, profile: str, results_dir: str, device: str, data_root, threads, compile: bool,
          layout: dict, line=False) -> dict:
    """Train one run; a short summary for the parent (the result itself is in the store)."""
    job = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("SLURM_JOB_ID")
    layout = {**layout, "worker_pid": os.getpid(), **({"job_id": job} if job else {}),
              **({"array_task": os.environ["SLURM_ARRAY_TASK_ID"]} if "SLURM_ARRAY_TASK_ID" in os.environ else {})}
    t0 = time.time()
    if stop_requested():  # a run the pool had already queued when the stop came: it never starts
        return {"id": run_id(cfg), "status": "not_started", "seconds": 0.0}
    try:
        r = runner.run(cfg, profile=profile, results_dir=results_dir, device=device, data_root=data_root,
                     progress=line, compile=compile, threads=threads, wait=False, layout=layout)
    except RunBusy:
        return {"id": run_id(cfg), "status": "busy", "seconds": 0.0}
    except StopRequested:
        return {"id": run_id(cfg), "status": "stopped", "seconds": time.time() - t0}
    except (data.DataNotFoundError, data.DataIntegrityError) as err:
        return {"id": run_id(cfg), "status": "skipped", "why": str(err).splitlines()[0], "seconds": 0.0}
    return {"id": r["id"], "status": r["status"], "seconds": time.time() - t0}


_LINE = None


#: how often a pool worker checks that the sweep that started it is alive (seconds)
PARENT_POLL_S = 2.0


def _init_worker(counter, threads, parent: int) -> None:
    """Each pool worker takes the next tqdm line (the total keeps line 0) and its thread count, and exits
    when the sweep that started it dies (a killed sweep would otherwise leave its workers training on,
    orphaned, beside the next one; the run resumes from its last checkpoint)."""
    global _LINE
    with counter.get_lock():
        counter.value += 1
        _LINE = counter.value
    if threads:
        torch.set_num_threads(threads)
    for sig in STOP_SIGNALS:  # Ctrl-C reaches every process of the group; the sweep forwards SIGTERM
        signal.signal(sig, lambda *_: request_stop())
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="sparsebook-parent").start()


def _exit_with_parent(parent: int) -> None:
    """Written by hand: ProcessPoolExecutor's workers notice a dead parent only between tasks, and Linux's
    parent-death signal has no Python API. A stopped (paused) parent is alive: its workers pause with it
    only if paused themselves (``kill -STOP`` the process group)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(3)


def _pool_work(*args) -> dict:
    return _work(*args, line=_LINE if _LINE is not None else False)


#: the signals that stop a sweep cleanly (exit code 128 + the signal's number: 130, 143)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SweepStopped(Exception):
    """A sweep stopped by a signal or at its deadline, after its workers stopped: ``signum`` (None: the
    deadline) and every run's summary (status ``stopped``: interrupted, resumes from its last checkpoint;
    ``not_started``)."""

    def __init__(self, signum: int | None, summaries: list[dict]):
        super().__init__("stopped at its deadline" if signum is None else f"stopped by {signal.Signals(signum).name}")
        self.signum, self.summaries = signum, summaries


def run_local(configs, *, profile: str, results_dir, workers: int, threads: int | None = None,
              device: str = "cpu", data_root=None, compile: bool = False, progress: bool = True,
              layout: dict | None = None, deadline: float | None = None) -> list[dict]:
    """Train ``configs`` on ``workers`` spawned processes; returns one summary per run, in plan order.

    SIGINT or SIGTERM (to this process, or Ctrl-C to the group) stops the sweep cleanly: no new run starts,
    each run in progress stops at its next mini-batch and keeps its last checkpoint, the workers exit, and
    :class:`SweepStopped` is raised with every run's summary. ``deadline`` (a ``time.time()``) stops it the
    same way then: a time-boxed slot (a SLURM time limit, a lent GPU) ends with everything finished stored
    and everything else resumable."""
    if not configs:
        return []
    layout = {"executor": "local", "workers": workers, "threads_override": threads, **(layout or {})}
    args = [(cfg, profile, str(results_dir), device, data_root, threads, compile, layout) for cfg in configs]
    ctx = mp.get_context("spawn")  # no fork of a process that holds torch's thread pools
    counter = ctx.Value("i", 0)
    out: dict[int, dict] = {}
    init = (counter, threads, os.getpid())
    stopped: list[int] = []
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=init) as pool, \
            tqdm(total=len(args), desc="sweep", unit="run", position=0, disable=not progress) as total:
        futures = {pool.submit(_pool_work if progress else _work, *a): i for i, a in enumerate(args)}

        def on_signal(signum, _frame):
            stopped.append(signum)  # None: the deadline
            for fut in futures:
                fut.cancel()  # the runs not started yet never start
            # written by hand: ProcessPoolExecutor has no call that signals its workers
            for pid in list(getattr(pool, "_processes", None) or {}):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        previous = _install(on_signal)
        timer = threading.Timer(max(0.0, deadline - time.time()), on_signal, (None, None)) if deadline else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            for fut in as_completed(futures):
                try:
                    out[futures[fut]] = fut.result()
                except CancelledError:  # never started: the bar counts runs done, not this
                    out[futures[fut]] = {"id": run_id(configs[futures[fut]]), "status": "not_started",
                                         "seconds": 0.0}
                    continue
                total.update(1)
        finally:
            _install(previous)
            if timer:
                timer.cancel()
    summaries = [out[i] for i in range(len(args))]
    if stopped:
        raise SweepStopped(stopped[0], summaries)
    return summaries


def _install(handler) -> dict:
    """Set ``handler`` (a function, or a dict of them by signal) for the stop signals; return the previous
    ones. Only the main thread may set handlers: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    if isinstance(handler, dict):
        return {sig: signal.signal(sig, h) for sig, h in handler.items()}
    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


# -- submitit ---------------------------------------------------------------------------------------------

def _chunk(configs, profile, results_dir, device, data_root, threads, compile, runs_per_task, layout) -> list:
    """One array task: its runs on one GPU (or CPU), ``runs_per_task`` at a time."""
    if runs_per_task <= 1 or len(configs) == 1:
        return [_work(cfg, profile, results_dir, device, data_root, threads, compile, layout) for cfg in configs]
    return run_local(configs, profile=profile, results_dir=results_dir, workers=runs_per_task, threads=threads,
                     device=device, data_root=data_root, compile=compile, progress=False, layout=layout)


def run_debug(configs, *, profile: str, results_dir, folder, threads: int | None = None, device: str = "cpu",
              data_root=None, compile: bool = False) -> list[dict]:
    """Every run through submitit's debug executor (in this process): the SLURM path without a cluster."""
    import submitit
    if not configs:
        return []
    ex = submitit.AutoExecutor(folder=str(folder), cluster="debug")
    layout = {"executor": "debug", "workers": 1, "threads_override": threads}
    jobs = ex.map_array(_chunk, [[cfg] for cfg in configs], *([x] * len(configs) for x in (
        profile, str(results_dir), device, data_root, threads, compile, 1, layout)))
    return [s for job in jobs for s in job.result()]


@dataclass(frozen=True)
class SlurmOptions:
    """What the job array asks SLURM for. ``timeout_min`` is always set: submitit's default is 5 minutes."""
    timeout_min: int
    partition: str | None = None
    array_parallelism: int = 32
    gpus_per_task: int = 1
    cpus_per_task: int = 4
    runs_per_gpu: int = 1
    mem_gb: int | None = None

    def check(self) -> None:
        for name in ("timeout_min", "array_parallelism", "cpus_per_task", "runs_per_gpu"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be an integer >= 1, got {v!r}")
        if not isinstance(self.gpus_per_task, int) or self.gpus_per_task < 0:
            raise ValueError(f"--gpus-per-task must be an integer >= 0, got {self.gpus_per_task!r}")


def _ledger_path(results_dir, profile: str) -> Path:
    return Path(results_dir) / "_sweeps" / profile / "submitted.json"


def in_flight(results_dir, profile: str, folder) -> set[str]:
    """Run ids submitted earlier whose SLURM job has not ended (by sacct through submitit; where the state
    cannot be read, a submission younger than its time limit counts as in flight)."""
    import submitit
    path = _ledger_path(results_dir, profile)
    if not path.exists():
        return set()
    ledger, now, busy = json.loads(path.read_text()), time.time(), set()
    for rid, entry in ledger.items():
        try:
            state = submitit.SlurmJob(folder=str(folder), job_id=entry["job_id"]).state.split()[0]
        except Exception:  # no sacct here, or the job is unknown to it
            state = "UNKNOWN"
        if state in _ENDED:
            continue
        if state == "UNKNOWN" and now - entry["submitted_at"] > 60 * entry["timeout_min"]:
            continue
        busy.add(rid)
    return busy


def submit_slurm(configs, *, profile: str, results_dir, folder, options: SlurmOptions, device: str = "cuda",
                 threads: int | None = None, data_root=None, compile: bool = False) -> list:
    """Submit one job array over ``configs`` (already filtered to the missing runs); returns submitit's jobs.

    Runs submitted earlier whose jobs are still queued or running are not submitted again."""
    import submitit
    options.check()
    if shutil.which("sbatch") is None:
        raise ValueError("--executor slurm: no sbatch on PATH (run this on a SLURM login node, or use "
                         "--executor local)")
    busy = in_flight(results_dir, profile, folder)
    configs = [c for c in configs if run_id(c) not in busy]
    if not configs:
        return []
    k = options.runs_per_gpu
    chunks = [configs[i:i + k] for i in range(0, len(configs), k)]
    ex = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
    ex.update_parameters(timeout_min=options.timeout_min, slurm_array_parallelism=options.array_parallelism,
                         cpus_per_task=options.cpus_per_task, gpus_per_node=options.gpus_per_task,
                         name=f"sparsebook-{profile}",
                         **({"slurm_partition": options.partition} if options.partition else {}),
                         **({"mem_gb": options.mem_gb} if options.mem_gb else {}))
    per_run_threads = threads or max(1, options.cpus_per_task // k)
    layout = {"executor": "slurm", "runs_per_gpu": k, "cpus_per_task": options.cpus_per_task,
              "threads_override": threads}
    jobs = ex.map_array(_chunk, chunks, *([x] * len(chunks) for x in (
        profile, str(results_dir), device, data_root, per_run_threads, compile, k, layout)))
    path = _ledger_path(results_dir, profile)
    ledger = json.loads(path.read_text()) if path.exists() else {}
    for job, chunk in zip(jobs, chunks):
        for cfg in chunk:
            ledger[run_id(cfg)] = {"job_id": job.job_id, "submitted_at": time.time(),
                                        "timeout_min": options.timeout_min}
    atomic_write_json(path, ledger)
    return jobs


class Entry(NamedTuple):
    """One run of a table: the table's row (a grid row: regularizer, sparsity, ...) and its stored result,
    or a stand-in ``{"status": "not_run", ...}`` when it was not trained at this profile."""
    row: Any
    result: dict


def train_or_load(pairs, *, profile: str, results_dir, device="cpu", data_root=None,
                  train: bool | None = None, compile: bool = False, workers: int | None = None) -> list[Entry]:
    """An :class:`Entry` for each (row, config): stored results are read, missing ones trained.

    ``train=None`` trains missing runs except at the ``cpu`` profile, whose results are
    committed and produced by ``python -m sparsebook.experiments.sweep``: a book build never starts
    hours of CPU training; a missing run is shown as "not run at this profile".
    ``workers`` > 1 trains the missing runs in parallel processes (:func:`run_local`).
    """
    for _, cfg in pairs:  # every setting is checked before the first run trains
        validate(cfg)
    resolve_device(device)
    check_data_root(data_root)
    if train is None:
        train = profile != "cpu"
    if train and workers and workers > 1:
        todo = partition_plan([cfg for _, cfg in pairs], profile, results_dir)[0]
        run_local(todo, profile=profile, results_dir=results_dir, workers=min(workers, max(len(todo), 1)),
                  device=str(device), data_root=data_root, compile=compile, progress=False)
    out = []
    for row, cfg in pairs:
        result = runner.stored(cfg, profile, results_dir)
        if result is None and train:
            result = runner.run(cfg, profile=profile, results_dir=results_dir, device=device, data_root=data_root,
                                progress=False, compile=compile)
        out.append(Entry(row, result or {"status": "not_run", "config": settings(cfg), "profile": profile}))
    return out
