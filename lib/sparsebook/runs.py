"""Runs: frozen settings, a stable id, and a results store of plain files.

A run is an :class:`ARTConfig` or a :class:`DeepHoyerConfig`. Its id is a hash
of its settings (fields left at ``None`` are not hashed, so a new optional field
keeps old runs' ids). ``run(config, profile="cpu")`` trains it, or returns the
stored result when it already finished: re-running a chapter is free.

Store layout::

    results/<profile>/<kind>-<id>.json        settings, environment, history, final metrics
    results/_checkpoints/<profile>/<id>.pt   last good checkpoint (git-ignored), resumed on restart
    results/_checkpoints/<profile>/<id>.lock one process trains a run at a time
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import data as data_mod
from . import models, regularizers
from .art import PRUNED_EVALS, STOP_RULES, train_art
from .deephoyer import train_deephoyer
from .loop import NonFiniteLoss, Session
from .store import RunBusy, atomic_torch_save, atomic_write_json, environment, load_checkpoint, read_result, run_lock

__all__ = ["ARTConfig", "DeepHoyerConfig", "dense_start_config", "config_from_settings", "run_id", "run", "stored",
           "result_path", "load_results", "validate", "resolve_device", "threads_for", "TERMINAL_STATUSES", "RunBusy",
           "run_lock"]

TERMINAL_STATUSES = ("finished", "art_cap_reached", "failed_nonfinite")


@dataclass(frozen=True)
class _Common:
    """Settings every run has; all fields sit at the end of a run's settings."""
    train_subset: int | None = None     # a seeded random subset of the training set; None = all
    test_subset: int | None = None
    num_classes: int | None = None      # None = the data set's; given, it must match
    amp: bool = False                   # bf16 autocast (GPU); regularizer and thresholds stay fp32
    channels_last: bool = False


@dataclass(frozen=True)
class ARTConfig(_Common):
    """One ART run (defaults: the HyperSparse code's, ResNet-32 on CIFAR-10 at 90 %)."""
    model: str = "resnet32"
    width: int | None = None            # first-stage channels (ResNet: 32 paper; VGG: 64); None = the paper's
    dataset: str = "cifar10"
    regularizer: str = "hypersparse"    # hypersparse, l1, l2 (or none)
    sparsity: float = 0.9
    seed: int = 0
    lambda_init: float = 5e-6
    eta: float = 1.05
    warmup_epochs: int = 60
    art_max_epochs: int | None = None   # a cap on ART's epochs; None = open-ended, as the original
    finetune_epochs: int = 160
    window: int = 3
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 64
    test_batch_size: int = 1000
    normalize: bool = True
    augment: bool = True
    record_epochs: tuple = ()           # epochs or tags ("warmup_end", "art" = every ART epoch, "art_stop", "final")
    stop_rule: str | None = None        # "original" (the HyperSparse code's ModelBuffer); None = "full_window"
    pruned_eval: str | None = None      # "augmented" (the original's training loader); None = "plain" tensors
    kind = "art"


@dataclass(frozen=True)
class DeepHoyerConfig(_Common):
    """One DeepHoyer run (defaults: the original MNIST code's, LeNet-300-100, no regularizer)."""
    model: str = "lenet_300_100"
    dataset: str = "mnist"
    regularizer: str = "none"           # none, l1, hoyer, hoyer_square, transformed_l1, group_lasso, group_hoyer_square
    decay: float = 0.0                  # the regularizer's strength
    weight_decay: float = 0.0           # Adam weight decay while training (1e-4 in the structural scripts)
    tl1_a: float = 1.0
    seed: int = 0
    train_epochs: int = 250
    lr: float = 1e-3
    batch_size: int = 100
    test_batch_size: int = 1000
    threshold: float = 1e-3
    threshold_finetune_epochs: int = 100
    threshold_finetune_lr: float = 1e-4
    std_ratio: float = 0.25
    std_finetune_epochs: int = 50
    std_finetune_lr: float = 1e-3
    std_finetune_weight_decay: float = 1e-4
    normalize: bool = False             # ToTensor scaling only, as the original
    record_epochs: tuple = ()           # training epochs to snapshot (after training and pruning always)
    start: str | None = None            # "dense": from the unregularized run of the same schedule; None = scratch
    kind = "deephoyer"


Config = ARTConfig | DeepHoyerConfig


def settings(config: Config) -> dict:
    """The config as plain JSON data, fields at None left out."""
    out = {"kind": config.kind}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if v is not None:
            out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def config_from_settings(stored: dict) -> Config:
    """The config a stored result's ``config`` block (:func:`settings`) was made from."""
    cls = {"art": ARTConfig, "deephoyer": DeepHoyerConfig}[stored["kind"]]
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items() if k != "kind"})


def run_id(config: Config) -> str:
    """A stable 12-hex-digit hash of the settings."""
    blob = json.dumps(settings(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def resolve_device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device {device!r} is not a device name (use 'cpu', 'cuda', 'cuda:0', 'mps')") from err
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if not available.get(dev.type, False):
        have = [k for k, ok in available.items() if ok]
        raise ValueError(f"device {device!r} is not available on this machine; available: {', '.join(have)}")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    return dev


def _check(cond: bool, name: str, value, accepted: str) -> None:
    if not cond:
        raise ValueError(f"{name} must be {accepted}, got {value!r}")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def validate(config: Config) -> None:
    """Every setting checked before any work: names against the registries, numbers against their ranges."""
    _check(isinstance(config, (ARTConfig, DeepHoyerConfig)), "config", config, "an ARTConfig or a DeepHoyerConfig")
    _check(config.model in models.MODELS, "model", config.model, f"one of {', '.join(sorted(models.MODELS))}")
    _check(config.dataset in data_mod.DATASETS, "dataset", config.dataset,
           f"one of {', '.join(sorted(data_mod.DATASETS))}")
    valid_regs = ("none", "hypersparse", "l1", "l2") if config.kind == "art" else \
        ("none", *regularizers.ELEMENTWISE, *regularizers.STRUCTURAL)
    _check(config.regularizer in valid_regs, "regularizer", config.regularizer, f"one of {', '.join(valid_regs)}")
    spec = data_mod.DATASETS[config.dataset]
    if config.num_classes is not None:
        _check(config.num_classes == spec.num_classes, "num_classes", config.num_classes,
               f"{spec.num_classes} for data set {config.dataset!r}")
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if f.name == "art_max_epochs" and v is None:
            continue
        if f.name.endswith("epochs") and f.name != "record_epochs":
            _check(isinstance(v, int) and not isinstance(v, bool) and v >= 0, f.name, v, "an integer >= 0")
        elif f.name in ("lr", "momentum", "weight_decay", "decay", "lambda_init", "threshold", "std_ratio",
                        "threshold_finetune_lr", "std_finetune_lr", "std_finetune_weight_decay"):
            _check(_number(v) and v >= 0 and not math.isinf(v), f.name, v, "a finite number >= 0")
        elif f.name in ("batch_size", "test_batch_size", "window", "seed") or f.name.endswith("subset"):
            lo = 0 if f.name == "seed" else 1
            _check(v is None and f.name.endswith("subset") or isinstance(v, int) and not isinstance(v, bool)
                   and v >= lo, f.name, v, f"an integer >= {lo}")
    if config.kind == "art":
        _check(_number(config.sparsity) and 0 <= config.sparsity < 1, "sparsity", config.sparsity, "in [0, 1)")
        _check(_number(config.eta) and config.eta >= 1 and not math.isinf(config.eta), "eta", config.eta,
               "a finite number >= 1")
        _check(config.lr > 0, "lr", config.lr, "> 0")
        _check(config.art_max_epochs is None or config.art_max_epochs >= 1, "art_max_epochs",
               config.art_max_epochs, "None (open-ended) or at least 1")
        _check(config.stop_rule in (None, *STOP_RULES), "stop_rule", config.stop_rule,
               f"None or one of {', '.join(STOP_RULES)}")
        _check(config.pruned_eval in (None, *PRUNED_EVALS), "pruned_eval", config.pruned_eval,
               f"None or one of {', '.join(PRUNED_EVALS)}")
    else:
        _check(_number(config.tl1_a) and config.tl1_a > 0, "tl1_a", config.tl1_a, "> 0")
        _check(config.start in (None, "scratch", "dense"), "start", config.start, "None, 'scratch' or 'dense'")
    models.build(config.model, num_classes=spec.num_classes, in_channels=spec.in_channels,
                 image_size=spec.image_size, width=getattr(config, "width", None))  # shape checks, cheap


def check_data_root(data_root) -> None:
    if data_root is not None and not Path(data_root).is_dir():
        raise ValueError(f"data_root {str(data_root)!r} does not exist or is not a folder")


def result_path(config: Config, profile: str, results_dir: str | os.PathLike) -> Path:
    return Path(results_dir) / profile / f"{config.kind}-{run_id(config)}.json"


@functools.lru_cache(maxsize=2)
def _load_data(dataset: str, normalize: bool, data_root: str | None, device: str, train_subset, test_subset):
    """The run's data on its device; a subset is the same for every seed and regularizer (subset seed 0)."""
    d = data_mod.load(dataset, data_root=data_root, normalize=normalize)
    if train_subset or test_subset:
        d = d.subset(train_subset, test_subset, seed=0)
    return d.to(device)


def stored(config: Config, profile: str, results_dir: str | os.PathLike) -> dict | None:
    """The stored result of a run that reached a terminal status, or None."""
    done = read_result(result_path(config, profile, results_dir))
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
        layout: dict | None = None) -> dict:
    """Train ``config`` (resuming a checkpoint if one is there) or return its stored result.

    ``device``, ``compile`` (the training forward pass through ``torch.compile``; the benchmark page
    shows where that pays) and ``threads`` (default :func:`threads_for`) change how a run executes, not
    its settings or id; the result records them, with ``layout`` (executor, workers, job id). ``wait=False``
    raises :class:`~sparsebook.store.RunBusy` when another process is training the same run. ``progress``
    may be a tqdm line number (parallel workers each keep one line)."""
    validate(config)
    _check(threads is None or isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1,
           "threads", threads, "None or an integer >= 1")
    _check(isinstance(profile, str) and re.fullmatch(r"[A-Za-z0-9_-]+", profile) is not None, "profile", profile,
           "a profile name (letters, digits, - or _)")
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
                          init=init, layout=layout)
    finally:
        torch.set_num_threads(before)


def dense_start_config(config: DeepHoyerConfig) -> DeepHoyerConfig:
    """The unregularized training a ``start="dense"`` run starts from: the original's ``element.py --reg 0
    --decay 0.0`` (same model, data, seed and schedule; no pruning, so the same run serves every regularizer)."""
    d = DeepHoyerConfig()
    return dataclasses.replace(config, regularizer="none", decay=0.0, weight_decay=0.0, tl1_a=d.tl1_a,
                               threshold=d.threshold, std_ratio=d.std_ratio, threshold_finetune_epochs=0,
                               std_finetune_epochs=0, record_epochs=(), start=None)


def _dense_start(config, profile, results_dir, device, data_root, progress, compile) -> dict:
    """The dense model's weights, trained once and kept under ``results/_models/<profile>/<id>.pt``."""
    dense = dense_start_config(config)
    rid = run_id(dense)
    weights = Path(results_dir) / "_models" / profile / f"{rid}.pt"
    state = load_checkpoint(weights)
    if state is None:
        ckpt_dir = Path(results_dir) / "_checkpoints" / profile
        with run_lock(ckpt_dir / f"{rid}.lock"):
            state = load_checkpoint(weights)
            if state is None:
                _train(dense, profile, result_path(dense, profile, results_dir), ckpt_dir / f"{rid}.pt", device,
                       data_root, progress, compile, keep_trained=weights)
                state = load_checkpoint(weights)
    return state["model"]


def _train(config, profile, path: Path, ckpt_path: Path, device, data_root, progress, compile=False,
           init: dict | None = None, keep_trained: Path | None = None, layout: dict | None = None) -> dict:
    spec = data_mod.DATASETS[config.dataset]
    data = _load_data(config.dataset, config.normalize, None if data_root is None else str(data_root), str(device),
                      config.train_subset, config.test_subset)
    torch.manual_seed(config.seed)
    model = models.build(config.model, num_classes=spec.num_classes, in_channels=spec.in_channels,
                         image_size=spec.image_size, width=getattr(config, "width", None)).to(device)
    if init is not None:
        model.load_state_dict(init)
    ckpt = load_checkpoint(ckpt_path)
    if ckpt is not None and ckpt.get("settings") != settings(config):
        ckpt = None  # a checkpoint of other settings under this id cannot happen unless the hash collides
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
                      amp=config.amp, channels_last=config.channels_last, compile=compile)
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
    result = {
        "id": run_id(config), "kind": config.kind, "profile": profile, "status": outcome["status"],
        "config": settings(config), "dataset_label": spec.label, "data_root": data.root,
        "env": {**environment(device), **({"layout": layout} if layout else {}), "flush_denormal": bool(flush),
                "compiled": session.compiled, "wall_time_s": elapsed0 + time.time() - t0,
                "cpu_time_s": cpu0 + time.process_time() - c0, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "resumed": ckpt is not None},
        **{k: v for k, v in outcome.items() if k != "status"},
        "history": session.history, "snapshots": session.snapshots,
    }
    atomic_write_json(path, result)
    return result


def load_results(results_dir: str | os.PathLike, profile: str | None = None) -> list[dict]:
    """Every stored result (of one profile, or all), for tables and the status page."""
    root = Path(results_dir)
    pattern = f"{profile}/*.json" if profile else "*/*.json"
    return [r for p in sorted(root.glob(pattern)) if (r := read_result(p)) is not None]
