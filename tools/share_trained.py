"""Store the trained networks of finished DeepHoyer runs made before runs shared their training, so that runs
differing from them only in pruning and fine-tuning (a longer fine-tuning, another std ratio) start from them.

Since runs share their training (``results/_models/<profile>/trained-<key>.pt``, see
:mod:`sparsebook.experiments.runner`), a DeepHoyer run stores its trained network when its training ends. Runs
finished before that kept it only in their own checkpoint (``results/_checkpoints/<profile>/<id>.pt``, its
``trainer.trained``). This writes the shared file from each such checkpoint: the trained weights, the
training's history and snapshots, and the time the training took (the run's times scaled by the share of its
epochs' time stamps spent training: an estimate), which the first run to start from it counts, since the run
that made it is about to be replaced. A run started from it comes out as one trained from scratch would
(the fine-tunings draw from their own seeded generator). The checkpoint no longer holds the training's
optimizer and generator state, so the file is marked as one a longer training cannot continue.

    python tools/share_trained.py results --profile cpu            # write, atomically, file by file
    python tools/share_trained.py results --profile cpu --dry-run  # list what would be written
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sparsebook.experiments import config_from_settings
from sparsebook.experiments.runner import shared_dirs, shared_path, warmup_settings
from sparsebook.experiments.store import atomic_torch_save, load_checkpoint
from sparsebook.train.deephoyer import DeepHoyerState


def training_share(history: list[dict], train_epochs: int) -> float:
    """The share of a run's time its training took, from its epochs' time stamps (the first epoch's own length
    unknown, the span from the first stamp)."""
    stamps = [h.get("time") for h in history]
    if train_epochs < 1 or None in stamps or len(stamps) < 2 or stamps[-1] <= stamps[0]:
        return 1.0 if train_epochs >= len(history) else 0.0
    return min(1.0, max(0.0, (stamps[train_epochs - 1] - stamps[0]) / (stamps[-1] - stamps[0])))


def shared_state(ckpt: dict) -> dict | None:
    """The shared training state of a finished DeepHoyer run's checkpoint, or None where it holds none."""
    settings = ckpt.get("settings") or {}
    trained = (ckpt.get("trainer") or {}).get("trained")
    if settings.get("kind") != "deephoyer" or trained is None:
        return None
    config = config_from_settings(settings)
    history = ckpt["history"][:config.train_epochs]
    if len(history) != config.train_epochs or any(h["phase"] != "train" for h in history):
        return None
    share = training_share(ckpt["history"], config.train_epochs)
    return {"model": trained, "optimizer": {}, "generator": ckpt["generator"], "history": history,
            "snapshots": [s for s in ckpt.get("snapshots", []) if s["tag"].startswith("train_")],
            "trainer": DeepHoyerState().checkpoint(), "warmup_settings": warmup_settings(config),
            "continuable": False,  # the training's optimizer and generator state are gone: no longer training
            "elapsed": ckpt.get("elapsed", 0.0) * share, "cpu_elapsed": ckpt.get("cpu_elapsed", 0.0) * share}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path, help="the results store (holds _checkpoints/<profile>/)")
    p.add_argument("--profile", default="cpu")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    ckpt_dir = args.results / "_checkpoints" / args.profile
    if not ckpt_dir.is_dir():
        p.error(f"{ckpt_dir} is not a folder: no checkpoints of profile {args.profile!r} under {args.results}")
    warm_dir = shared_dirs(args.results, args.profile)[0]
    written = 0
    for path in sorted(ckpt_dir.glob("*.pt")):
        ckpt = load_checkpoint(path)
        state = shared_state(ckpt) if ckpt is not None else None
        if state is None:
            continue
        target = shared_path(config_from_settings(ckpt["settings"]), warm_dir)
        if target.exists():
            continue
        print(f"{path.name} -> {target.name}{' (dry run)' if args.dry_run else ''}")
        if not args.dry_run:
            atomic_torch_save(state, target)
        written += 1
    print(f"{written} trained network(s) {'to share' if args.dry_run else 'shared'} under {warm_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
