"""Run settings: two frozen dataclasses, their checks, and a stable id.

A run is an :class:`ARTConfig` or a :class:`DeepHoyerConfig`. Each field declares what it
accepts (its ``metadata``); :func:`validate` checks every field from that declaration, so a
new setting brings its own check. The id is a hash of the settings; fields left at ``None``
are not hashed, so a new optional field keeps old runs' ids.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from .. import data as data_mod
from .. import models, regularizers
from ..train.art import PRUNED_EVALS, STOP_RULES
from ..train.deephoyer import RULES

__all__ = ["ARTConfig", "DeepHoyerConfig", "Config", "settings", "config_from_settings", "run_id", "validate",
           "resolve_device", "check_data_root", "dense_start_config", "check"]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _integer(value, lo: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= lo


def _setting(default, accepted: str, ok: Callable[[object], bool]):
    """A field that accepts values for which ``ok`` holds; ``accepted`` says which, in the error line."""
    return field(default=default, metadata={"accepted": accepted, "ok": ok})


def _count(default, lo: int = 0, optional: str = ""):
    """An integer >= lo (or None, which means ``optional``)."""
    return _setting(default, f"{'None or ' if optional else ''}an integer >= {lo}",
                    lambda v: (optional and v is None) or _integer(v, lo))


def _amount(default, lo: float = 0.0):
    """A finite number >= lo."""
    return _setting(default, f"a finite number >= {lo:g}", lambda v: _number(v) and v >= lo and not math.isinf(v))


def _one_of(default, names, optional: bool = False):
    return _setting(default, f"{'None or ' if optional else ''}one of {', '.join(names)}",
                    lambda v: (optional and v is None) or v in names)


def _registry(default, registry: Callable[[], object]):
    """A name in a registry (looked up at check time)."""
    return field(default=default, metadata={"registry": registry})


_MODELS = _registry("lenet_300_100", lambda: models.MODELS)
_DATASETS = lambda: data_mod.DATASETS  # noqa: E731


@dataclass(frozen=True)
class _Common:
    """Settings every run has; all fields sit at the end of a run's settings."""
    train_subset: int | None = _count(None, 1, optional="all")  # a seeded random subset; None = all
    test_subset: int | None = _count(None, 1, optional="all")
    num_classes: int | None = None      # None = the data set's; given, it must match (checked in validate)
    amp: bool = False                   # bf16 autocast (GPU); regularizer and thresholds stay fp32
    channels_last: bool = False
    # True: the data's checksums are not checked (the user's own copy, deliberately; data.integrity); in the id
    data_unverified: bool | None = _setting(None, "None or True", lambda v: v is None or v is True)


@dataclass(frozen=True)
class ARTConfig(_Common):
    """One ART run (defaults: the HyperSparse code's, ResNet-32 on CIFAR-10 at 90 %)."""
    model: str = _registry("resnet32", lambda: models.MODELS)
    width: int | None = _count(None, 1, optional="the paper's")  # first-stage channels (ResNet 32, VGG 64)
    dataset: str = _registry("cifar10", _DATASETS)
    regularizer: str = _one_of("hypersparse", ("none", "hypersparse", "l1", "l2"))
    sparsity: float = _setting(0.9, "in [0, 1)", lambda v: _number(v) and 0 <= v < 1)
    seed: int = _count(0)
    lambda_init: float = _amount(5e-6)
    eta: float = _amount(1.05, 1)
    warmup_epochs: int = _count(60)
    art_max_epochs: int | None = _count(None, 1, optional="open-ended")  # None = open-ended, as the original
    finetune_epochs: int = _count(160)
    window: int = _count(3, 1)
    lr: float = _setting(0.1, "a finite number > 0", lambda v: _number(v) and 0 < v < math.inf)
    momentum: float = _amount(0.9)
    weight_decay: float = _amount(1e-4)
    batch_size: int = _count(64, 1)
    test_batch_size: int = _count(1000, 1)
    normalize: bool = True
    augment: bool = True
    record_epochs: tuple = ()           # epochs or tags ("warmup_end", "art" = every ART epoch, "art_stop", "final")
    stop_rule: str | None = _one_of(None, STOP_RULES, optional=True)  # None = "full_window"
    pruned_eval: str | None = _one_of(None, PRUNED_EVALS, optional=True)  # None = "plain" tensors
    # the fine-tuning epochs (0-based) at which lr falls x0.1: the original's (80, 120) at `paper`; None = at 1/2
    # and 3/4 of finetune_epochs (the same at 160, scaled for shorter fine-tunings)
    finetune_milestones: tuple | None = _setting(None, "None or increasing integers >= 1",
                                                 lambda v: v is None or (isinstance(v, tuple) and all(
                                                     _integer(m, 1) for m in v) and list(v) == sorted(set(v))))
    kind = "art"


@dataclass(frozen=True)
class DeepHoyerConfig(_Common):
    """One DeepHoyer run (defaults: the original MNIST code's, LeNet-300-100, no regularizer)."""
    model: str = _MODELS
    dataset: str = _registry("mnist", _DATASETS)
    regularizer: str = _one_of("none", ("none", *regularizers.ELEMENTWISE, *regularizers.STRUCTURAL))
    decay: float = _amount(0.0)         # the regularizer's strength
    weight_decay: float = _amount(0.0)  # Adam weight decay while training (1e-4 in the structural scripts)
    tl1_a: float = _setting(1.0, "> 0", lambda v: _number(v) and v > 0)
    seed: int = _count(0)
    train_epochs: int = _count(250)
    lr: float = _amount(1e-3)
    batch_size: int = _count(100, 1)
    test_batch_size: int = _count(1000, 1)
    threshold: float = _amount(1e-3)
    threshold_finetune_epochs: int = _count(100)
    threshold_finetune_lr: float = _amount(1e-4)
    std_ratio: float = _amount(0.25)
    std_finetune_epochs: int = _count(50)
    std_finetune_lr: float = _amount(1e-3)
    std_finetune_weight_decay: float = _amount(1e-4)
    normalize: bool = False             # ToTensor scaling only, as the original
    record_epochs: tuple = ()           # training epochs to snapshot (after training and pruning always)
    start: str | None = _one_of(None, ("scratch", "dense"), optional=True)  # "dense": from the unregularized run
    # how Group Lasso groups a conv weight (regularizers.GROUPINGS): None = "channel_filter" (the paper's text, the
    # CIFAR script); "kernel_position" = the MNIST CNN script's (mnist/CNN/structure.py, line 103)
    group_lasso_groups: str | None = _one_of(None, regularizers.GROUPINGS, optional=True)
    # training images held out as a validation split (the same images for every run): every epoch is evaluated
    # on it and the test set is read once per rule, after fine-tuning; None = no split, the test set evaluated
    # every epoch (the book's runs before the claims protocol)
    val_size: int | None = _count(None, 1, optional="no validation split")
    # the pruning rules this run fine-tunes (a subset of train.deephoyer.RULES); None = both. Runs that differ
    # only in their rules and rule settings share their training, so a pruning grid costs only its fine-tunings
    # (): none, the network is only trained (a dense start)
    rules: tuple | None = _setting(None, f"None or a tuple of {', '.join(RULES)}, each at most once",
                                   lambda v: v is None or (isinstance(v, tuple) and len(set(v)) == len(v)
                                                           and set(v) <= set(RULES)))
    kind = "deephoyer"

    @property
    def epochs_total(self) -> int:
        """Every epoch the run trains: its training and the fine-tuning after each pruning rule."""
        return self.train_epochs + self.threshold_finetune_epochs + self.std_finetune_epochs


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


def check(cond: bool, name: str, value, accepted: str) -> None:
    """One line naming the setting, what it accepts and what it got."""
    if not cond:
        raise ValueError(f"{name} must be {accepted}, got {value!r}")


def validate(config: Config, shapes: bool = True) -> None:
    """Every setting checked before any work, from what its field declares; then the data set's class count
    and (``shapes``) the model's shapes."""
    check(isinstance(config, (ARTConfig, DeepHoyerConfig)), "config", config, "an ARTConfig or a DeepHoyerConfig")
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if "registry" in f.metadata:
            names = f.metadata["registry"]()
            check(v in names, f.name, v, f"one of {', '.join(sorted(names))}")
        elif "ok" in f.metadata:
            check(f.metadata["ok"](v), f.name, v, f.metadata["accepted"])
    spec = data_mod.DATASETS[config.dataset]
    if config.num_classes is not None:
        check(config.num_classes == spec.num_classes, "num_classes", config.num_classes,
              f"{spec.num_classes} for data set {config.dataset!r}")
    if not shapes:
        return
    _shapes_fit(config.model, spec.num_classes, spec.in_channels, spec.image_size, getattr(config, "width", None))


@functools.lru_cache(maxsize=None)
def _shapes_fit(model: str, num_classes: int, in_channels: int, image_size: int, width) -> None:
    """The model's shape checks, by building it once per shape (a failed build raises and is not remembered):
    a plan validates the same few shapes thousands of times, and each build initializes every weight."""
    models.build(model, num_classes=num_classes, in_channels=in_channels, image_size=image_size, width=width)


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


def check_data_root(data_root) -> None:
    if data_root is not None and not Path(data_root).is_dir():
        raise ValueError(f"data_root {str(data_root)!r} does not exist or is not a folder")


def dense_start_config(config: DeepHoyerConfig) -> DeepHoyerConfig:
    """The unregularized training a ``start="dense"`` run starts from: the original's ``element.py --reg 0
    --decay 0.0`` (same model, data, seed and schedule; no pruning, so the same run serves every regularizer).
    With a validation split it fine-tunes no rule at all, so the test set is never read for it."""
    d = DeepHoyerConfig()
    return dataclasses.replace(config, regularizer="none", decay=0.0, weight_decay=0.0, tl1_a=d.tl1_a,
                               threshold=d.threshold, std_ratio=d.std_ratio, threshold_finetune_epochs=0,
                               std_finetune_epochs=0, record_epochs=(), start=None,
                               rules=() if config.val_size else None, group_lasso_groups=None)
