"""Keep committed results lean: drop the snapshots (weight histograms, gradient samples) of stored runs that
no figure reads.

The figures that read snapshots show the first seed of a chapter's runs: the ResNet chapter's ART runs at the
sparsity the method and exploration pages show (:data:`SNAPSHOT_SPARSITY`) and the DeepHoyer weights page.
Every other run's snapshots are dropped: seeds after the first, the ResNet runs at other sparsities, and the
small-scale and VGG chapters' runs (their figures and tables read the histories and per-layer counts only).
The runs that keep theirs keep only the snapshots the figures show
(:func:`~sparsebook.book.hypersparse.shown_snapshots`). A run's id, settings, history and final metrics are
untouched; ``env.snapshots_dropped`` records how many went.

    python tools/lean_results.py results/cpu            # drop, atomically, file by file
    python tools/lean_results.py results/cpu --dry-run  # list what would go
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sparsebook.book.hypersparse import shown_snapshots
from sparsebook.experiments import profiles
from sparsebook.experiments.store import atomic_write_json, read_result

#: ART models whose runs no figure reads snapshots of, at any seed (the small-scale and VGG chapters' stand-ins)
NO_SNAPSHOT_FIGURES = {profiles.model_for("art", "cpu", "lenet5"), profiles.model_for("art", "cpu", "vgg19")}
#: the sparsity of the ART runs whose snapshots the method and exploration pages show (their ``sparsity``
#: parameter; a test holds the two equal)
SNAPSHOT_SPARSITY = 0.98


def keeps_snapshots(result: dict) -> bool:
    config = result["config"]
    if config["seed"] != 0:
        return False
    if config["kind"] == "art":
        return config["model"] not in NO_SNAPSHOT_FIGURES and config.get("sparsity") == SNAPSHOT_SPARSITY
    return True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    if not args.folder.is_dir():
        p.error(f"{args.folder} is not a folder")
    dropped = 0
    for path in sorted(args.folder.glob("*.json")):
        result = read_result(path)
        if result is None or not result.get("snapshots"):
            continue
        snaps = result["snapshots"]
        kept = (shown_snapshots(snaps) if result["kind"] == "art" else snaps) if keeps_snapshots(result) else []
        if len(kept) == len(snaps):
            continue
        print(f"{path.name}: {len(snaps) - len(kept)} of {len(snaps)} snapshots{' (dry run)' if args.dry_run else ''}")
        if not args.dry_run:
            result["env"]["snapshots_dropped"] = result["env"].get("snapshots_dropped", 0) + len(snaps) - len(kept)
            atomic_write_json(path, {**result, "snapshots": kept})
        dropped += 1
    print(f"{dropped} results {'would lose' if args.dry_run else 'lost'} snapshots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
