"""Train every run a part of the book shows, in the background, before building it.

    python -m sparsebook.sweep deephoyer --profile cpu
    python -m sparsebook.sweep hypersparse --profile paper --device cuda

Runs are cached in the results store, so an interrupted sweep resumes where it
stopped (finished runs are skipped, a half-finished one resumes from its
checkpoint) and a chapter built afterwards trains nothing.
"""
from __future__ import annotations

import argparse
import sys
import time

from . import data, runs
from .experiments import art_runs, deephoyer_runs
from .profiles import model_for

# the DeepHoyer chapters' tables, in the order the book shows them
DEEPHOYER_PLAN = [("lenet_300_100", "mnist"), ("lenet5", "mnist"),
                  ("lenet_300_100", "fashion_mnist"), ("lenet5", "fashion_mnist")]


# the HyperSparse chapters' runs, by the paper's model: (model, dataset per profile, sparsities); a profile
# may train a smaller stand-in (profiles.model_for), and the cheapest, most seeded table comes first
HYPERSPARSE_PLAN = [("lenet5", {}, (0.9, 0.98, 0.995, 0.998)), ("resnet32", {"paper": "cifar10"}, None),
                    ("vgg19", {"paper": "cifar100"}, None)]
HYPERSPARSE_DATASETS = {"resnet32": "cifar10_jpeg", "vgg19": "cifar100", "lenet5": "fashion_mnist"}
# breadth first: one seed of every setting before the next seed, the middle sparsity first, so an interrupted
# sweep leaves every table partly filled rather than some empty
SPARSITY_ORDER = (0.98, 0.9, 0.995, 0.998)
PARTS = ("deephoyer", "hypersparse")


def plan(part: str, profile: str) -> list:
    if part == "deephoyer":
        return [cfg for model, dataset in DEEPHOYER_PLAN for _, cfg in deephoyer_runs(model, dataset, profile)]
    if part == "hypersparse":
        out = []
        for model, datasets, sparsities in HYPERSPARSE_PLAN:
            cfgs = [cfg for _, cfg in art_runs(model_for("art", profile, model),
                                               datasets.get(profile, HYPERSPARSE_DATASETS[model]), profile,
                                               sparsities=sparsities)]
            out += sorted(cfgs, key=lambda c: (c.seed, SPARSITY_ORDER.index(c.sparsity)
                                               if c.sparsity in SPARSITY_ORDER else len(SPARSITY_ORDER)))
        return out
    raise ValueError(f"unknown part {part!r}; valid parts: {', '.join(PARTS)}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sparsebook.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("part", choices=PARTS)
    p.add_argument("--profile", default="cpu")
    p.add_argument("--device", default="cpu")
    p.add_argument("--results", default="results")
    p.add_argument("--data-root", default=None)
    p.add_argument("--model", nargs="+", help="only these models (the paper's name or the profile's stand-in)")
    p.add_argument("--sparsity", nargs="+", type=float, help="only these target sparsities (ART)")
    p.add_argument("--seed", nargs="+", type=int, help="only these seeds")
    p.add_argument("--compile", action="store_true",
                   help="train through torch.compile (pays on the ResNets here: see the benchmark page)")
    p.add_argument("--dry-run", action="store_true", help="list the runs and whether they are stored")
    args = p.parse_args(argv)
    configs = plan(args.part, args.profile)
    if args.model:
        known = {c.model for c in configs}
        wanted = {model_for("art", args.profile, m) if args.part == "hypersparse" else m for m in args.model}
        if wanted - known:
            p.error(f"--model: no runs of {sorted(wanted - known)} in this part; its models: {sorted(known)}")
        configs = [c for c in configs if c.model in wanted]
    if args.sparsity:
        configs = [c for c in configs if getattr(c, "sparsity", None) in args.sparsity]
    if args.seed:
        configs = [c for c in configs if c.seed in args.seed]
    for cfg in configs:  # validate everything before training anything
        runs.validate(cfg)
    runs.resolve_device(args.device)
    missing = {}
    for name in sorted({cfg.dataset for cfg in configs}):
        try:
            data.resolve_root(name, args.data_root)
        except data.DataNotFoundError as err:  # torchvision may still download it; say so, then try
            missing[name] = str(err).splitlines()[0]
    for name, why in missing.items():
        print(f"note: {name} is not found offline ({why}); its runs will try torchvision's download", flush=True)
    t0 = time.time()
    for i, cfg in enumerate(configs, 1):
        stored = runs.result_path(cfg, args.profile, args.results).exists()
        print(f"[{i}/{len(configs)}] {cfg.kind} {cfg.model} {cfg.dataset} {cfg.regularizer} "
              f"{'' if cfg.kind != 'art' else f'sparsity={cfg.sparsity} '}seed={cfg.seed} "
              f"id={runs.run_id(cfg)} {'stored' if stored else 'to run'}", flush=True)
        if args.dry_run:
            continue
        try:
            r = runs.run(cfg, profile=args.profile, results_dir=args.results, device=args.device, compile=args.compile,
                         data_root=args.data_root, progress=False)
        except data.DataNotFoundError as err:
            print(f"    skipped: {str(err).splitlines()[0]}", flush=True)
            continue
        print(f"    {r['status']} in {r['env']['wall_time_s']:.0f} s; sweep at {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
