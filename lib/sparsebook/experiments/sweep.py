"""Train every run a part of the book shows, in the background, before building it.

    python -m sparsebook.experiments.sweep deephoyer --profile cpu                  # every core here, one run each
    python -m sparsebook.experiments.sweep hypersparse --profile paper --executor slurm --slurm-partition gpu \\
        --timeout-min 720 --runs-per-gpu 4                               # one SLURM job array

Runs are cached in the results store, so an interrupted sweep resumes where it
stopped (finished runs are skipped, a half-finished one resumes from its
checkpoint, a run another live process is training is left to it) and a
chapter built afterwards trains nothing.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import time

from .. import data
from . import executor
from .config import resolve_device, run_id, validate
from .costs import estimate_seconds
from .frontiers import frontier_runs
from .grid import (CURVE_TABLES, DEEPHOYER_PLAN, art_dataset, art_dense_runs, art_runs, art_sparsities,
                   deephoyer_curve_runs, deephoyer_runs)
from .profiles import PROFILES, model_for
from .runner import load_results, shared_dirs, shared_path, warmup_key



# the HyperSparse chapters' runs, by the paper's model: (model, sparsities); a profile may train a smaller
# stand-in (profiles.model_for), and the cheapest, most seeded table comes first
HYPERSPARSE_PLAN = ("lenet5", "resnet32", "vgg19")
#: a profile that runs only some of the HyperSparse chapters: gpu, the CIFAR tables in the papers' regime
HYPERSPARSE_PLAN_AT = {"gpu": ("resnet32", "vgg19")}
# breadth first: one seed of every setting before the next seed, the middle sparsity first, so an interrupted
# sweep leaves every table partly filled rather than some empty
SPARSITY_ORDER = (0.98, 0.9, 0.995, 0.998)
#: gpu: the dense reference first (does the setting reach the regime bar?), then the primary rows' sparsities (98
#: and 99.5 %), then 90 %, made where the GPU time allows
SPARSITY_ORDER_AT = {"gpu": (0.0, 0.98, 0.995, 0.9)}
PARTS = ("deephoyer", "hypersparse")


def _unique(configs) -> list:
    seen, out = set(), []
    for cfg in configs:
        if (rid := run_id(cfg)) not in seen:
            seen.add(rid)
            out.append(cfg)
    return out


def _warmups_first(configs) -> list:
    """The first run of each shared warm-up (:func:`~.runner.warmup_key`) first, the rest in their order:
    parallel workers then start on different warm-ups, and every later run finds its warm-up stored."""
    seen, first, rest = set(), [], []
    for cfg in configs:
        key = warmup_key(cfg)
        (rest if key in seen else first).append(cfg)
        seen.add(key)
    return first + rest


def schedule(todo, profile: str, results_dir) -> list:
    """The order to train the missing runs in: the first run of the first warm-up (or DeepHoyer training) not
    stored yet, which trains it; then the runs whose warm-up is stored (``results/_models`` or ``results/kept``);
    then, in turn, the first run of the next missing warm-up and the other runs of the one before it, which is
    by then trained or nearly so. So a free worker takes a run it can start from a stored warm-up rather than
    wait for one another worker is training (a run that would share a warm-up being trained waits for it,
    never trains it again), parallel workers start different warm-ups, and the shared states a sweep leaves
    behind at any moment are few (``tools/keep_shared.py`` commits them between machines)."""
    dirs = shared_dirs(results_dir, profile)
    firsts, ready, rest = [], [], {}
    for cfg in todo:
        if any(shared_path(cfg, d).exists() for d in dirs):
            ready.append(cfg)
        elif (key := warmup_key(cfg)) in rest:
            rest[key].append(cfg)
        else:
            rest[key] = []
            firsts.append(cfg)
    order = firsts[:1] + ready
    for before, first in zip(firsts, firsts[1:]):
        order += [first] + rest[warmup_key(before)]
    return order + (rest[warmup_key(firsts[-1])] if firsts else [])


def plan(part: str, profile: str) -> list:
    """Every run of a part at a profile, each once, seeds breadth first."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid profiles: {', '.join(sorted(PROFILES))}")
    if part == "deephoyer" and profile in HYPERSPARSE_PLAN_AT:
        raise ValueError(f"the {profile} profile runs HyperSparse's CIFAR tables only; DeepHoyer at full scale: "
                         "--profile paper")
    if part == "deephoyer":
        cfgs = [cfg for model, dataset in DEEPHOYER_PLAN for _, cfg in deephoyer_runs(model, dataset, profile)]
        cfgs += [cfg for model, dataset in sorted(CURVE_TABLES) for long in (False, True)
                 for _, cfg in deephoyer_curve_runs(model, dataset, profile, long=long)]
        # the claims protocol's frontiers last, a seed at a time (every other run is stored at cpu)
        return _unique(sorted(cfgs, key=lambda c: c.seed) + [cfg for _, cfg in frontier_runs(profile)])
    if part == "hypersparse":
        out, order = [], SPARSITY_ORDER_AT.get(profile, SPARSITY_ORDER)
        for model in HYPERSPARSE_PLAN_AT.get(profile, HYPERSPARSE_PLAN):
            sparsities = art_sparsities(model, profile)
            cfgs = [cfg for _, cfg in art_runs(model_for("art", profile, model), art_dataset(model, profile),
                                               profile, sparsities=sparsities)]
            cfgs += [cfg for _, cfg in art_dense_runs(model_for("art", profile, model), art_dataset(model, profile),
                                                      profile)]
            out += sorted(cfgs, key=lambda c: (c.seed, order.index(c.sparsity) if c.sparsity in order else len(order)))
        return _warmups_first(_unique(out))
    raise ValueError(f"unknown part {part!r}; valid parts: {', '.join(PARTS)}")


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (argparse's own prints its whole usage first)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (--help lists the options)\n")


def _parser() -> argparse.ArgumentParser:
    p = _OneLineParser(prog="python -m sparsebook.experiments.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("part", choices=PARTS)
    p.add_argument("--profile", default="cpu", help=f"one of {', '.join(sorted(PROFILES))}")
    p.add_argument("--device", default="cpu")
    p.add_argument("--results", default="results")
    p.add_argument("--data-root", default=None)
    p.add_argument("--model", nargs="+", help="only these models (the paper's name or the profile's stand-in)")
    p.add_argument("--dataset", nargs="+", help="only these data sets")
    p.add_argument("--sparsity", nargs="+", type=float, help="only these target sparsities (ART)")
    p.add_argument("--seed", nargs="+", type=int, help="only these seeds")
    p.add_argument("--regularizer", nargs="+", help="only these regularizers")
    p.add_argument("--train-epochs", nargs="+", type=int,
                   help="only runs of these training lengths (DeepHoyer: the long curves' 250 at cpu)")
    p.add_argument("--compile", action="store_true",
                   help="train through torch.compile (pays on the ResNets here: see the benchmark page)")
    p.add_argument("--dry-run", action="store_true",
                   help="list the runs, whether they are stored and what each would cost; changes nothing")
    p.add_argument("--deadline-min", type=float, default=None,
                   help="stop cleanly this many minutes after the start (a time-boxed slot: give the slot's length "
                        "minus the time your copy-out needs); a later call with the same --results goes on")
    p.add_argument("--unverified-data", action="store_true",
                   help="train on a data copy whose checksums differ from the official data's (your own copy, "
                        "deliberately); the runs get their own ids and are labelled")
    g = p.add_argument_group("layout")
    g.add_argument("--executor", choices=executor.EXECUTORS, default="local")
    g.add_argument("--workers", type=int, default=None,
                   help="parallel runs (local); default: one per core at the runs' thread count")
    g.add_argument("--threads", type=int, default=None,
                   help="threads per run, overriding the rule by profile (1 on the CPU at smoke and cpu)")
    s = p.add_argument_group("slurm (--executor slurm)")
    s.add_argument("--slurm-partition", default=None)
    s.add_argument("--timeout-min", type=int, default=None, help="time limit of each array task (required)")
    s.add_argument("--array-parallelism", type=int, default=32)
    s.add_argument("--gpus-per-task", type=int, default=1)
    s.add_argument("--cpus-per-task", type=int, default=4)
    s.add_argument("--runs-per-gpu", type=int, default=None,
                   help="runs that share one GPU: in one array task (slurm), or the local workers on --device cuda "
                        "(a lent GPU: several small runs side by side keep it busy)")
    s.add_argument("--mem-gb", type=int, default=None)
    s.add_argument("--submitit-folder", default=None, help="submitit's logs (default: <results>/_sweeps/submitit)")
    return p


def _select(p, args) -> list:
    try:
        configs = plan(args.part, args.profile)
    except ValueError as err:
        p.error(str(err))
    filters = []
    if args.model:
        known = {c.model for c in configs}
        wanted = {model_for("art", args.profile, m) if args.part == "hypersparse" else m for m in args.model}
        if wanted - known:
            p.error(f"--model: no runs of {sorted(wanted - known)} in this part; its models: {sorted(known)}")
        configs = [c for c in configs if c.model in wanted]
    for flag, values, key in (("--dataset", args.dataset, "dataset"), ("--sparsity", args.sparsity, "sparsity"),
                              ("--seed", args.seed, "seed"), ("--regularizer", args.regularizer, "regularizer"),
                              ("--train-epochs", args.train_epochs, "train_epochs")):
        if values:
            known = sorted({getattr(c, key, None) for c in configs} - {None})
            configs = [c for c in configs if getattr(c, key, None) in values]
            has = f"the plan has: {', '.join(map(str, known))}" if known else f"this part's runs have no {key}"
            filters.append(f"{flag} {' '.join(map(str, values))} ({has})")
    if not configs:
        p.error("no run of this part matches " + "; ".join(filters or ["the plan"]))
    if args.unverified_data:
        configs = [dataclasses.replace(c, data_unverified=True) for c in configs]
    for cfg in configs:  # validate everything before training anything
        validate(cfg)
    return configs


def main(argv=None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `--dry-run | head`: the reader has gone, so stop writing (Python's SIGPIPE recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except executor.SweepStopped as stop:
        counts = {k: sum(s["status"] == k for s in stop.summaries) for k in ("stopped", "not_started")}
        stored = sum(s["status"] in ("finished", "art_cap_reached", "failed_nonfinite") for s in stop.summaries)
        print(f"sweep {stop}: {stored} runs stored by this sweep, {counts['stopped']} interrupted (each resumes "
              f"from its last checkpoint, the end of its last whole epoch), {counts['not_started']} not started; "
              "run the same command again to go on", file=sys.stderr, flush=True)
        return 0 if stop.signum is None else 128 + stop.signum


def _check_data(p, configs, data_root) -> None:
    """Every data set the runs read, found (or downloaded), checked and prepared before anything trains: a
    missing or corrupt copy is one line and exit code 2."""
    for name, verify in sorted({(c.dataset, not c.data_unverified) for c in configs}):
        try:
            data.ensure(name, data_root, verify=verify)
        except (ValueError, data.DataNotFoundError) as err:  # DataIntegrityError is a ValueError
            p.error(str(err).splitlines()[0])


def _dry_run(configs, done, busy, profile: str, results_dir, workers: int) -> None:
    """Each run, its state and its estimated cost from the stored runs like it (:func:`~.costs.estimate_seconds`);
    then the missing runs' total on ``workers`` one-thread workers. Reads the store, changes nothing."""
    estimates = estimate_seconds(configs, load_results(results_dir, profile, readonly=True))
    missing = [c for c in configs if c not in done]
    for i, cfg in enumerate(configs, 1):
        state = "stored" if cfg in done else "busy" if cfg in busy else "to run"
        est = estimates[run_id(cfg)]
        cost = "" if cfg in done else f" ~{est / 60:.0f} min" if est is not None else " (no stored run like it)"
        print(f"[{i}/{len(configs)}] {cfg.kind} {cfg.model} {cfg.dataset} {cfg.regularizer} "
              f"{f'decay={cfg.decay} ' if cfg.kind == 'deephoyer' else f'sparsity={cfg.sparsity} '}"
              f"seed={cfg.seed} id={run_id(cfg)} {state}{cost}", flush=True)
    known = [estimates[run_id(c)] for c in missing if estimates[run_id(c)] is not None]
    unknown = len(missing) - len(known)
    print(f"estimate: {len(missing)} runs to train, ~{sum(known) / workers / 3600:.1f} h on {workers} worker(s) "
          f"at one thread each" + (f", plus {unknown} run(s) with no stored run like them" if unknown else ""),
          flush=True)


def _main(argv) -> int:
    started = time.time()
    p = _parser()
    args = p.parse_args(argv)
    configs = _select(p, args)
    try:
        resolve_device(args.device)
        if args.threads is not None and args.threads < 1:
            raise ValueError(f"--threads must be an integer >= 1, got {args.threads}")
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"--workers must be an integer >= 1, got {args.workers}")
        if args.deadline_min is not None and (args.deadline_min <= 0 or args.executor != "local"):
            raise ValueError(f"--deadline-min must be a number of minutes > 0 with --executor local, got "
                             f"{args.deadline_min} with --executor {args.executor}")
        if args.runs_per_gpu is not None and args.executor == "local":
            if args.runs_per_gpu < 1:
                raise ValueError(f"--runs-per-gpu must be an integer >= 1, got {args.runs_per_gpu}")
            if not str(args.device).startswith("cuda"):
                raise ValueError(f"--runs-per-gpu shares a GPU between local workers: it needs --device cuda, got "
                                 f"--device {args.device}")
            if args.workers is not None and args.workers != args.runs_per_gpu:
                raise ValueError(f"--runs-per-gpu {args.runs_per_gpu} and --workers {args.workers} disagree: "
                                 "locally, the runs on the GPU are the workers (give one of them)")
            args.workers = args.runs_per_gpu
        slurm = None
        if args.executor == "slurm":
            if args.timeout_min is None:
                raise ValueError("--executor slurm needs --timeout-min (submitit's own default is 5 minutes)")
            slurm = executor.SlurmOptions(args.timeout_min, args.slurm_partition, args.array_parallelism,
                                          args.gpus_per_task, args.cpus_per_task,
                                          1 if args.runs_per_gpu is None else args.runs_per_gpu, args.mem_gb)
            slurm.check()
            if shutil.which("sbatch") is None and not args.dry_run:
                raise ValueError("--executor slurm: no sbatch on PATH (run this on a SLURM login node, or use "
                                 "--executor local)")
        if args.data_root is not None and not os.path.isdir(args.data_root):
            raise ValueError(f"--data-root {args.data_root!r} does not exist (or is not a folder)")
        if os.environ.get("SPARSEBOOK_DATA") and not os.path.isdir(os.path.expanduser(os.environ["SPARSEBOOK_DATA"])):
            raise ValueError(f"SPARSEBOOK_DATA={os.environ['SPARSEBOOK_DATA']!r} does not exist (or is not a folder)")
    except ValueError as err:
        p.error(str(err))
    todo, done, busy = executor.partition_plan(configs, args.profile, args.results, readonly=args.dry_run)
    todo = schedule(todo, args.profile, args.results)
    print(f"{len(configs)} runs: {len(done)} stored, {len(busy)} being trained by another process, "
          f"{len(todo)} to train", flush=True)
    if args.dry_run:
        workers = args.workers or executor.default_workers(args.threads)
        _dry_run(configs, done, busy, args.profile, args.results, workers)
        return 0
    if todo:
        _check_data(p, todo, args.data_root)
    if not todo:
        return 0
    folder = args.submitit_folder or os.path.join(args.results, "_sweeps", "submitit")
    t0 = time.time()
    if args.executor == "slurm":
        try:
            jobs = executor.submit_slurm(todo, profile=args.profile, results_dir=args.results, folder=folder,
                                         options=slurm, device=args.device, threads=args.threads,
                                         data_root=args.data_root, compile=args.compile)
        except ValueError as err:
            p.error(str(err))
        print(f"submitted {len(jobs)} array tasks" + (f" as job {jobs[0].job_id.split('_')[0]}" if jobs else
                                                       " (every missing run is already queued or running)"))
        return 0
    if args.executor == "debug":
        summaries = executor.run_debug(todo, profile=args.profile, results_dir=args.results, folder=folder,
                                       threads=args.threads, device=args.device, data_root=args.data_root,
                                       compile=args.compile)
    else:
        workers = args.workers or executor.default_workers(args.threads)
        warning = executor.oversubscription(workers, args.threads)
        if warning:
            print(warning, file=sys.stderr, flush=True)
        if args.threads:
            print(f"note: --threads {args.threads} overrides the thread rule; these runs' numbers may differ "
                  "in the last digits from runs trained with the rule", flush=True)
        summaries = executor.run_local(todo, profile=args.profile, results_dir=args.results,
                                       workers=min(workers, len(todo)), threads=args.threads, device=args.device,
                                       data_root=args.data_root, compile=args.compile,
                                       deadline=None if args.deadline_min is None else started + 60 * args.deadline_min)
    by_status: dict[str, int] = {}
    for s in summaries:
        by_status[s["status"]] = by_status.get(s["status"], 0) + 1
        if s["status"] == "skipped":
            print(f"skipped {s['id']}: {s['why']}", flush=True)
    print(f"sweep done in {time.time() - t0:.0f} s: " + ", ".join(f"{n} {k}" for k, n in sorted(by_status.items())))
    untrained = by_status.get("skipped", 0)
    if untrained:
        print(f"error: {untrained} run(s) could not be trained (above)", file=sys.stderr, flush=True)
    return 1 if untrained else 0


if __name__ == "__main__":
    sys.exit(main())
