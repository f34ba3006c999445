"""Commit the shared states a sweep still needs, so that a sweep spanning machines does not train them again.

Runs that differ only after their warm-up (ART) or training (DeepHoyer) share it: the first stores its end
under ``results/_models/<profile>/`` (git-ignored, see :mod:`sparsebook.experiments.runner`) and the others start
from it. A sweep too long for one session (the ResNet chapter's: a seed's warm-up alone takes an hour here)
loses that file with the machine. This copies every shared state that a planned run still needs (one of the
runs sharing it is not stored yet) into ``results/kept/<profile>/``, which is committed and which runs read
like the git-ignored folder, and removes the kept states whose runs are all stored, so the store stays lean
once a table is complete. A run started from a kept state comes out bit for bit as one trained from scratch.

    python tools/keep_shared.py results --profile cpu --model resnet20   # keep, atomically; drop finished ones
    python tools/keep_shared.py results --profile cpu --dry-run          # list what would be kept and dropped
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sparsebook.experiments import profiles, sweep
from sparsebook.experiments.runner import dense_start_path, shared_dirs, shared_path, stored
from sparsebook.experiments.store import atomic_torch_save, load_checkpoint


def pending_states(results: Path, profile: str, configs: list) -> dict[str, list]:
    """The file name of every shared state one of ``configs`` still needs (its run is not stored) -> the
    configs that share it: warm-ups and trainings, and the dense starts of ``start="dense"`` runs."""
    groups: dict[str, list] = {}
    for cfg in configs:
        groups.setdefault(shared_path(cfg, Path()).name, []).append(cfg)
        if getattr(cfg, "start", None) == "dense":
            groups.setdefault(dense_start_path(cfg, Path()).name, []).append(cfg)
    return {name: cfgs for name, cfgs in groups.items() if any(stored(c, profile, results) is None for c in cfgs)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path, help="the results store (holds _models/<profile>/)")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--model", nargs="+", help="keep only these models' states (dropping is never filtered)")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    if args.profile not in profiles.PROFILES:
        p.error(f"unknown profile {args.profile!r}; valid profiles: {', '.join(sorted(profiles.PROFILES))}")
    if not args.results.is_dir():
        p.error(f"{args.results} is not a folder")
    configs = [c for part in sweep.PARTS for c in sweep.plan(part, args.profile)]
    planned = {c.model for c in configs}
    if args.model and set(args.model) - planned:
        p.error(f"--model: no planned run of {sorted(set(args.model) - planned)} at profile {args.profile!r}; "
                f"its models: {', '.join(sorted(planned))}")
    pending = pending_states(args.results, args.profile, configs)
    wanted = [name for name, cfgs in pending.items() if not args.model or any(c.model in args.model for c in cfgs)]
    made, kept = shared_dirs(args.results, args.profile)
    note = " (dry run)" if args.dry_run else ""
    copied = dropped = 0
    for name in sorted(wanted):
        src, dst = made / name, kept / name
        if dst.exists() or not src.exists():
            continue
        state = load_checkpoint(src)
        if state is None:  # load_checkpoint has set a corrupt file aside and said so
            continue
        print(f"keep {name}: {len(pending[name])} runs share it{note}")
        if not args.dry_run:
            atomic_torch_save(state, dst)
        copied += 1
    for path in sorted(kept.glob("*.pt")) if kept.is_dir() else []:
        if path.name not in pending:
            print(f"drop {path.name}: no planned run still needs it{note}")
            if not args.dry_run:
                path.unlink()
            dropped += 1
    print(f"{copied} shared state(s) {'to keep' if args.dry_run else 'kept'}, {dropped} "
          f"{'to drop' if args.dry_run else 'dropped'} under {kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
