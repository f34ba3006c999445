"""Training a run, or reading its stored result: re-running a chapter is free.

``run(config, profile="cpu")`` trains ``config`` (resuming a checkpoint if one is there) or
returns the stored result when it already finished. Store layout::

    results/<profile>/<kind>-<id>.json        settings, environment, history, final metrics
    results/_checkpoints/<profile>/<id>.pt   last good checkpoint (git-ignored), resumed on restart
    results/_checkpoints/<profile>/<id>.lock one process trains a run at a time
    results/_models/<profile>/<id>.pt        trained weights other runs start from (git-ignored)
    results/_models/<profile>/warmup-<key>.pt  an ART warm-up's end state, shared by the runs that differ only
                                             after it (regularizer, sparsity, ART and fine-tuning settings)
    results/_models/<profile>/trained-<key>.pt DeepHoyer's trained network, shared by the runs that differ only
                                             in pruning and fine-tuning
    results/kept/<profile>/<warmup|trained>-<key>.pt  a shared state committed so that a sweep spanning
                                             machines does not train it again (``tools/keep_shared.py``);
                                             read like the two above, never written by a run
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from contextlib import ExitStack
from pathlib import Path

import torch

from .. import data as data_mod
from .. import models
from ..train import NonFiniteLoss, Session, train_art, train_deephoyer
from ..train.art import AFTER_WARMUP
from ..train.deephoyer import AFTER_TRAINING
from .config import Config, check, check_data_root, dense_start_config, resolve_device, run_id, \
    settings, validate
from .profiles import PROFILES
from .store import RunBusy, atomic_torch_save, atomic_write_json, environment, load_checkpoint, read_result, run_lock, \
    state_digest

__all__ = ["run", "stored", "result_path", "load_results", "threads_for", "warmup_key", "TERMINAL_STATUSES", "RunBusy"]

TERMINAL_STATUSES = ("finished", "art_cap_reached", "failed_nonfinite")


def result_path(config: Config, profile: str, results_dir: str | os.PathLike) -> Path:
    return Path(results_dir) / profile / f"{config.kind}-{run_id(config)}.json"


@functools.lru_cache(maxsize=2)
def _load_data(dataset: str, normalize: bool, data_root: str | None, device: str, train_subset, test_subset,
               verify: bool = True, val_size: int | None = None):
    """The run's data on its device; a subset, and a validation split carved from the training set, are the same
    for every seed and regularizer (subset and split seed 0)."""
    d = data_mod.load(dataset, data_root=data_root, normalize=normalize, verify=verify)
    if train_subset or test_subset:
        d = d.subset(train_subset, test_subset, seed=0)
    if val_size:
        d = d.split_validation(val_size, seed=0)
    return d.to(device)


def stored(config: Config, profile: str, results_dir: str | os.PathLike, readonly: bool = False) -> dict | None:
    """The stored result of a run that reached a terminal status, or None (``readonly``: an unreadable result
    is left where it is)."""
    done = read_result(result_path(config, profile, results_dir), set_aside=not readonly)
    return done if done is not None and done["status"] in TERMINAL_STATUSES else None

#: profiles whose runs train on one CPU thread each: the committed results' rule, so that a run's numbers do
#: not depend on how many ran beside it (float sums depend on the thread count), and the layout that trains
#: most images per second on a small machine (2 processes x 1 thread: 1.5x one process x 2 threads)
ONE_THREAD_PROFILES = ("smoke", "cpu")


def threads_for(profile: str, device: str | torch.device) -> int | None:
    """The thread count a run trains with by default: 1 on the CPU at the smoke and cpu profiles, else
    torch's own choice (None)."""
    return 1 if torch.device(device).type == "cpu" and profile in ONE_THREAD_PROFILES else None


def run(config: Config, *, profile: str, results_dir: str | os.PathLike = "results",
        device: str | torch.device = "cpu", data_root: str | os.PathLike | None = None,
        progress: bool | int = True, compile: bool = False, threads: int | None = None, wait: bool = True,
        layout: dict | None = None, share_warmup: bool = True) -> dict:
    """Train ``config`` (resuming a checkpoint if one is there) or return its stored result.

    ``device``, ``compile`` (the training forward pass through ``torch.compile``; the benchmark page
    shows where that pays) and ``threads`` (default :func:`threads_for`) change how a run executes, not
    its settings or id; the result records them, with ``layout`` (executor, workers, job id). ``wait=False``
    raises :class:`~sparsebook.experiments.store.RunBusy` when another process is training the same run. ``progress``
    may be a tqdm line number (parallel workers each keep one line). ``share_warmup``: an ART run starts from
    the stored end of a warm-up it shares with another run (:func:`warmup_key`), a DeepHoyer run from the stored
    trained network, or stores its own; the result is the same bit for bit (a warm-up is a checkpoint, and
    resuming one is exact), only faster."""
    validate(config)
    check(threads is None or isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1,
           "threads", threads, "None or an integer >= 1")
    check(profile in PROFILES, "profile", profile, f"one of {', '.join(sorted(PROFILES))}")
    dev = resolve_device(device)
    check_data_root(data_root)
    path = result_path(config, profile, results_dir)
    ckpt_dir = Path(results_dir) / "_checkpoints" / profile
    rid = run_id(config)
    done = stored(config, profile, results_dir)
    if done is not None:
        return done
    threads = threads or threads_for(profile, dev)
    before = torch.get_num_threads()
    try:
        if threads:
            torch.set_num_threads(threads)
        with run_lock(ckpt_dir / f"{rid}.lock", wait=wait):
            done = stored(config, profile, results_dir)  # another process may have finished it while we waited
            if done is not None:
                return done
            init = _dense_start(config, profile, results_dir, dev, data_root, progress, compile) \
                if getattr(config, "start", None) == "dense" else None
            return _train(config, profile, path, ckpt_dir / f"{rid}.pt", dev, data_root, progress, compile,
                          init=init, layout=layout, warm_dirs=shared_dirs(results_dir, profile) if share_warmup else ())
    finally:
        torch.set_num_threads(before)


def dense_start_path(config, warm_dir) -> Path:
    """Where the dense start of a ``start="dense"`` run is stored under ``warm_dir`` (one of :func:`shared_dirs`)."""
    return Path(warm_dir) / f"{run_id(dense_start_config(config))}.pt"


def _dense_start(config, profile, results_dir, device, data_root, progress, compile) -> dict:
    """The dense model's weights, trained once and kept under ``results/_models/<profile>/<id>.pt`` (or read from
    ``results/kept/<profile>/``, where ``tools/keep_shared.py`` commits it for a sweep spanning machines)."""
    dense = dense_start_config(config)
    rid = run_id(dense)
    made, kept = shared_dirs(results_dir, profile)
    weights = made / f"{rid}.pt"
    state = load_checkpoint(kept / f"{rid}.pt") if (kept / f"{rid}.pt").exists() else load_checkpoint(weights)
    if state is None:
        ckpt_dir = Path(results_dir) / "_checkpoints" / profile
        with run_lock(ckpt_dir / f"{rid}.lock"):
            state = load_checkpoint(weights)
            if state is None:
                _train(dense, profile, result_path(dense, profile, results_dir), ckpt_dir / f"{rid}.pt", device,
                       data_root, progress, compile, keep_trained=weights)
                state = load_checkpoint(weights)
    return state["model"]


#: per kind of run, the state runs share (the file's prefix), the settings read only after it, and the setting
#: that counts its epochs (at a constant learning rate, so a shorter one continues exactly into a longer one)
SHARED = {"art": ("warmup", AFTER_WARMUP, "warmup_epochs"),
          "deephoyer": ("trained", AFTER_TRAINING, "train_epochs")}


def warmup_settings(config) -> dict:
    """The settings a run's shared first part (ART's warm-up, DeepHoyer's training) reads: all but those read
    only afterwards."""
    after = SHARED[config.kind][1]
    return {k: v for k, v in settings(config).items() if k not in after}


def warmup_key(config) -> str:
    """A hash of :func:`warmup_settings`: runs with the same key share their warm-up (or training)."""
    return _settings_key(warmup_settings(config))


def shared_path(config, warm_dir: Path) -> Path:
    """Where the state that ``config``'s run shares with others is stored under ``warm_dir``."""
    return Path(warm_dir) / f"{SHARED[config.kind][0]}-{warmup_key(config)}.pt"


def shared_dirs(results_dir: str | os.PathLike, profile: str) -> tuple[Path, Path]:
    """Where runs find shared states: ``results/_models/<profile>`` (git-ignored; runs write their own there)
    and ``results/kept/<profile>`` (committed by ``tools/keep_shared.py``; runs only read it)."""
    return Path(results_dir) / "_models" / profile, Path(results_dir) / "kept" / profile


def _settings_key(shared: dict) -> str:
    blob = json.dumps(shared, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _stored_warmup(warm_dirs, config) -> dict | None:
    """The stored state to start a run's warm-up (or training) from, in ``warm_dirs`` (the first that holds
    one wins): its own (same settings), else the longest one that differs only in being shorter. ART's
    warm-up and DeepHoyer's training run at a constant learning rate, so their first epochs do not depend on
    how many follow, and continuing a shorter one is exact: lengthening them reuses the epochs already
    trained. Returns the checkpoint with ``_from`` (the file's stem), or None."""
    prefix, _, length = SHARED[config.kind]
    shared = warmup_settings(config)
    for warm_dir in warm_dirs:
        own = shared_path(config, warm_dir)
        warm = load_checkpoint(own)
        if warm is not None and warm.get("warmup_settings") == shared:
            return {**warm, "_from": own.stem}
    best = None
    for path in sorted(p for warm_dir in warm_dirs for p in Path(warm_dir).glob(f"{prefix}-*.pt")):
        warm = load_checkpoint(path)
        theirs = (warm or {}).get("warmup_settings") or {}
        shorter = {**theirs, length: shared.get(length)} == shared and theirs.get(length, 0) < shared.get(length, 0) \
            and warm.get("continuable", True)  # one without its optimizer's state can start runs, not continue
        if shorter and (best is None or theirs[length] > best["warmup_settings"][length]):
            best = {**warm, "_from": path.stem}
    return best


def _train(config, profile, path: Path, ckpt_path: Path, device, data_root, progress, compile=False,
           init: dict | None = None, keep_trained: Path | None = None, layout: dict | None = None,
           warm_dirs: tuple[Path, ...] = ()) -> dict:
    spec = data_mod.DATASETS[config.dataset]
    data = _load_data(config.dataset, config.normalize, None if data_root is None else str(data_root), str(device),
                      config.train_subset, config.test_subset, not config.data_unverified,
                      getattr(config, "val_size", None))
    torch.manual_seed(config.seed)
    model = models.build(config.model, num_classes=spec.num_classes, in_channels=spec.in_channels,
                         image_size=spec.image_size, width=getattr(config, "width", None)).to(device)
    if init is not None:
        model.load_state_dict(init)
    ckpt = load_checkpoint(ckpt_path)
    if ckpt is not None and ckpt.get("settings") != settings(config):
        ckpt = None  # a checkpoint of other settings under this id cannot happen unless the hash collides
    resumed, share, warmed = ckpt is not None, None, None
    hold = ExitStack()  # the lock on the shared state this run trains, released once it is stored
    if warm_dirs:  # the run stores its own shared state in the first, and starts from one in any
        warm_path, shared_settings = shared_path(config, warm_dirs[0]), warmup_settings(config)

        def share(name, state):
            if not warm_path.exists():
                atomic_torch_save({**state, "warmup_settings": shared_settings}, warm_path)
            hold.close()  # runs waiting for this state start from it now
        warm = _stored_warmup(warm_dirs, config) if ckpt is None else None
        if warm is None and ckpt is None:  # another process may be training it: wait for it, never train it twice
            hold.enter_context(run_lock(warm_path.with_suffix(".lock")))
            warm = _stored_warmup(warm_dirs, config)
            if warm is not None:
                hold.close()
        if warm is not None:  # its time is counted by the run that made it, or (``elapsed``) carried by the file
            ckpt, warmed = {**warm, "settings": settings(config), "elapsed": warm.get("elapsed", 0.0),
                            "cpu_elapsed": warm.get("cpu_elapsed", 0.0)}, warm["_from"]
    # which weights the run started from, bit for bit: runs paired by seed must share them (book.frontier checks)
    digests = {**({"start_digest": state_digest(init)} if init is not None else {}),
               **({"warmup_digest": state_digest(warm["model"])} if warmed else {})}
    with hold:
        return _train_session(config, profile, path, model, ckpt, ckpt_path, device, data, progress, compile,
                              keep_trained, layout, share, resumed, warmed, digests)


def _train_session(config, profile, path, model, ckpt, ckpt_path, device, data, progress, compile, keep_trained,
                   layout, share, resumed, warmed, digests) -> dict:
    """The training itself, from a checkpoint (its own, or the shared state it starts from) or from scratch."""
    spec = data_mod.DATASETS[config.dataset]
    augment = data_mod.augmentation_for(config.dataset, normalize=config.normalize) \
        if getattr(config, "augment", False) else None
    elapsed0 = ckpt["elapsed"] if ckpt else 0.0
    cpu0 = ckpt.get("cpu_elapsed", 0.0) if ckpt else 0.0  # CPU time: immune to pauses, counts every thread
    t0, c0 = time.time(), time.process_time()
    session = Session(model, data, seed=config.seed, batch_size=config.batch_size,
                      test_batch_size=config.test_batch_size, device=device, augment=augment,
                      checkpoint=lambda state: atomic_torch_save(
                          {**state, "settings": settings(config), "elapsed": elapsed0 + time.time() - t0,
                           "cpu_elapsed": cpu0 + time.process_time() - c0}, ckpt_path),
                      progress=progress, desc=f"{config.kind} {config.model} {config.regularizer}",
                      amp=config.amp, channels_last=config.channels_last, compile=compile, share=share)
    trainer = train_art if config.kind == "art" else train_deephoyer
    # Sparsity regularizers drive many weights towards (not to) zero; float32 denormals then make a CPU epoch
    # several times slower (a Group-HS epoch grew from 3 s to 19 s). Flushing them to zero costs no accuracy.
    flush = device.type == "cpu" and torch.set_flush_denormal(True)
    try:
        outcome = trainer(config, session, ckpt)
    except NonFiniteLoss as err:
        outcome = {"status": "failed_nonfinite", "error": str(err), "final": {}}
    finally:
        session.close()
        if flush:
            torch.set_flush_denormal(False)
    trained = outcome.pop("trained_state", None)
    if keep_trained is not None and trained is not None:
        atomic_torch_save({"model": trained, "settings": settings(config)}, keep_trained)
        digests = {**digests, "trained_digest": state_digest(trained)}  # the dense start its runs record
    result = {
        "id": run_id(config), "kind": config.kind, "profile": profile, "status": outcome["status"],
        "config": settings(config), "data_root": data.root,
        "dataset_label": spec.label + ("" if data.verified else " (unverified copy)"),
        "env": {**environment(device), **({"layout": layout} if layout else {}), "flush_denormal": bool(flush),
                "compiled": session.compiled, "wall_time_s": elapsed0 + time.time() - t0,
                "cpu_time_s": cpu0 + time.process_time() - c0, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "resumed": resumed, "data_verified": data.verified, **({"warmup_from": warmed} if warmed else {}),
                **digests},
        **{k: v for k, v in outcome.items() if k != "status"},
        "history": session.history, "snapshots": session.snapshots,
    }
    atomic_write_json(path, result)
    return result


def load_results(results_dir: str | os.PathLike, profile: str | None = None, readonly: bool = False) -> list[dict]:
    """Every stored result (of one profile, or all), for tables and the status page (``readonly``: an
    unreadable one is left where it is)."""
    root = Path(results_dir)
    pattern = f"{profile}/*.json" if profile else "*/*.json"
    return [r for p in sorted(root.glob(pattern)) if (r := read_result(p, set_aside=not readonly)) is not None]
