"""The one training loop both trainers share.

:class:`Session` owns what every run needs besides its own schedule: the model
and in-memory data on the run's device, the seeded generator that drives
shuffling and augmentation, one epoch of (optionally regularized) training,
evaluation, the per-epoch history, the tqdm bar, the snapshots behind the
distribution figures, and checkpoints. ART (:mod:`sparsebook.train.art`) and DeepHoyer
(:mod:`sparsebook.train.deephoyer`) only decide which phase runs next.
"""
from __future__ import annotations

import dataclasses
import math
import threading
import time
import warnings
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..data import Augment, InMemoryData, batches
from ..fast.inference import inference_copy
from ..pruning import Mask

__all__ = ["NonFiniteLoss", "StopRequested", "request_stop", "stop_requested", "Session", "TrainerState", "evaluate",
           "evaluate_masked"]

LOG10_BINS = np.linspace(-8, 1, 91)
#: on the CPU, evaluation runs in chunks of at most this many images whatever the batch size: larger chunks
#: spill the caches (measured: ResNet evaluation 1.6x slower at 1000 than at 128-256). Results do not
#: depend on it (eval mode); the loss sum may differ in its last float digits.
CPU_EVAL_CHUNK = 256


def _round(t: torch.Tensor) -> list[float]:
    """Four significant digits: plenty for a figure, a third of the JSON."""
    return [float(f"{v:.4g}") for v in t.tolist()]


class TrainerState:
    """Base of a trainer's typed state (a dataclass): what a checkpoint holds of it, as plain data."""

    def checkpoint(self) -> dict:
        """The state as a checkpoint stores it (plain data and tensors, no copy)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_checkpoint(cls, saved: dict):
        return cls(**{f.name: saved[f.name] for f in dataclasses.fields(cls) if f.name in saved})


class StopRequested(BaseException):
    """A stop was asked for (:func:`request_stop`, a signal to the sweep): the run ends at the next mini-batch
    and keeps its last checkpoint (the end of its last whole epoch), from which it resumes exactly. A
    ``BaseException``, like ``KeyboardInterrupt``, so that no ``except Exception`` swallows it."""


#: set when this process should stop training (by a signal handler: see experiments.executor)
_STOP = threading.Event()


def request_stop() -> None:
    """Ask every run training in this process to stop at its next mini-batch (safe in a signal handler)."""
    _STOP.set()


def stop_requested() -> bool:
    return _STOP.is_set()


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite; the run stops and keeps its last good checkpoint."""


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000,
             channels_last: bool = False, cpu_chunk: int = CPU_EVAL_CHUNK) -> dict:
    """Loss and accuracy (%) in eval mode, no gradients; on the CPU in chunks of at most ``cpu_chunk``."""
    if x.device.type == "cpu":
        batch_size = min(batch_size, cpu_chunk)
    was_training = model.training
    model.eval()
    loss, correct = torch.zeros((), device=x.device), torch.zeros((), device=x.device, dtype=torch.long)
    for xb, yb in batches(x, y, batch_size, shuffle=False):
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        out = model(xb)
        loss += F.cross_entropy(out, yb, reduction="sum")
        correct += (out.argmax(1) == yb).sum()
    model.train(was_training)
    return {"loss": float(loss) / len(y), "acc": 100.0 * float(correct) / len(y)}


@torch.no_grad()
def evaluate_masked(model: nn.Module, mask: Mask, x, y, batch_size: int = 1000, channels_last: bool = False,
                    fast: bool = True) -> dict:
    """Evaluate ``model`` as if pruned by ``mask``, leaving ``model`` as it was.

    The weights are masked in place, copied into an :func:`inference_copy` (BatchNorm folded, and on the
    CPU channels_last where the model's class prefers it and CSR products for Linear layers that keep few
    weights) and restored at once; the copy is evaluated. Where no such copy would be faster (or with
    ``fast=False``), the masked model itself is evaluated and restored after. The numbers are the pruned
    model's up to float rounding; the benchmark page measures the gain.
    """
    params = dict(model.named_parameters())
    saved = {n: params[n].detach().clone() for n in mask.keep}
    on_cpu = x.device.type == "cpu"
    channels_last = channels_last or (on_cpu and getattr(model, "cpu_eval_channels_last", False))

    def restore():
        for n, w in saved.items():
            params[n].copy_(w)
    mask.apply(model)
    try:
        copied = inference_copy(model, channels_last, csr=on_cpu) if fast else None
        if copied is not None:
            restore()
        return evaluate(copied if copied is not None else model, x, y, batch_size, channels_last)
    finally:
        restore()


class Session:
    """Training state of one run. ``state`` is what a checkpoint holds besides model and optimizer."""

    def __init__(self, model: nn.Module, data: InMemoryData, *, seed: int, batch_size: int,
                 test_batch_size: int, device: torch.device, augment: Augment | None,
                 checkpoint: Callable[[dict], None], progress: bool | int = True, desc: str = "",
                 amp: bool = False, channels_last: bool = False, compile: bool = False,
                 share: Callable[[str, dict], None] | None = None):
        self.device = torch.device(device)
        self.model, self.data = model, data
        # the training forward pass may run through torch.compile; ``model`` itself (what checkpoints save
        # and evaluation runs) stays the eager module, and the compiled one shares its parameters
        self.forward = torch.compile(model) if compile else model
        self.compiled = compile
        self.batch_size, self.test_batch_size = batch_size, test_batch_size
        self.augment, self.amp, self.channels_last = augment, amp, channels_last
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self._save, self._share = checkpoint, share
        self.history: list[dict] = []
        self.snapshots: list[dict] = []
        line = None if isinstance(progress, bool) else progress  # a tqdm line number: one per parallel worker
        self.bar = tqdm(desc=desc, unit="epoch", disable=progress is False, leave=False, dynamic_ncols=True,
                        position=line)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)

    # -- one epoch -------------------------------------------------------------------------
    def train_epoch(self, optimizer: torch.optim.Optimizer, regularizer=None, alpha: float = 0.0) -> dict:
        """One pass over the training data; returns mean cross-entropy, mean regularizer and running accuracy."""
        model, x, y = self.model, self.data.train_x, self.data.train_y
        model.train()
        # per-batch statistics (loss, logits, labels) are kept as tensors and reduced once per epoch: no
        # kernel per step beyond the bare loop's, and no host sync (the benchmark page compares the two)
        ces, regs, outs, labels = [], [], [], []
        regularize = regularizer is not None and alpha
        for xb, yb in batches(x, y, self.batch_size, shuffle=True, generator=self.generator):
            if _STOP.is_set():
                raise StopRequested("stop requested")
            if self.augment is not None:
                xb = self.augment(xb, self.generator)
            if self.channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            if self.amp:
                with torch.autocast(self.device.type, dtype=torch.bfloat16):
                    out = self._forward(xb)
                    ce = F.cross_entropy(out, yb)
                loss = ce.float()
            else:
                out = self._forward(xb)
                loss = ce = F.cross_entropy(out, yb)
            if regularize:
                r = regularizer(model)  # fp32, outside autocast
                loss = loss + alpha * r
                regs.append(r.detach())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            ces.append(ce.detach())
            outs.append(out.detach())
            labels.append(yb)
        n = len(y)
        w = torch.tensor([len(b) for b in labels], device=self.device, dtype=torch.float64)
        ce_sum = (torch.stack(ces).double() * w).sum()
        reg_sum = (torch.stack(regs).double() * w).sum() if regs else 0.0  # every batch, or none
        hits = (torch.cat(outs).argmax(1) == torch.cat(labels)).sum()
        row = {"loss": float(ce_sum) / n, "reg": float(reg_sum) / n, "train_acc": 100.0 * float(hits) / n}
        if not all(math.isfinite(v) for v in row.values()):
            raise NonFiniteLoss(f"training loss became non-finite: {row}")
        return row

    def _forward(self, xb: torch.Tensor) -> torch.Tensor:
        if self.forward is self.model:
            return self.model(xb)
        try:
            return self.forward(xb)
        except Exception as err:  # no C++ compiler, an unsupported op...: train on, uncompiled
            warnings.warn(f"torch.compile failed ({type(err).__name__}: {str(err)[:200]}); training uncompiled",
                          stacklevel=2)
            self.forward, self.compiled = self.model, False
            return self.model(xb)

    def test(self) -> dict:
        return evaluate(self.model, self.data.test_x, self.data.test_y, self.test_batch_size, self.channels_last)

    def validate(self) -> dict:
        """Loss and accuracy on the validation split (:meth:`InMemoryData.split_validation`)."""
        return evaluate(self.model, self.data.val_x, self.data.val_y, self.test_batch_size, self.channels_last)

    @property
    def held_out(self) -> bool:
        """Whether the run holds out a validation split: then every choice reads it, and the test set is read
        once per result (:meth:`monitor`)."""
        return self.data.val_x is not None

    def monitor(self) -> dict:
        """What a run watches epoch by epoch: ``{"val_acc": ...}`` where it holds out a validation split (the test
        set stays unread), else ``{"test_acc": ...}`` (the book's runs before the claims protocol)."""
        return {"val_acc": self.validate()["acc"]} if self.held_out else {"test_acc": self.test()["acc"]}

    def log(self, row: dict) -> dict:
        """Append an epoch's row to the history and show it on the bar."""
        row = {"epoch": len(self.history), **row, "time": time.time()}
        self.history.append(row)
        self.bar.update(1)
        shown = {k: row[k] for k in ("phase", "loss", "train_acc", "test_acc", "sparsity") if k in row}
        self.bar.set_postfix({k: f"{v:.4g}" if isinstance(v, float) else v for k, v in shown.items()})
        return row

    # -- what the figures need ------------------------------------------------------------------
    def snapshot(self, tag: str, tensors: dict[str, torch.Tensor], regularizer=None, n_sample: int = 2000,
                 **extra) -> None:
        """Per-layer weight histograms, and |grad R| against |w| on a fixed sample of weights."""
        layers = {}
        for name, w in tensors.items():
            w = w.detach().float().cpu().flatten()
            nz = w[w != 0]
            m = float(w.abs().max()) or 1.0
            counts, edges = np.histogram(w.numpy(), bins=61, range=(-m, m))
            logs = nz.abs().log10()  # with denormals flushed, a denormal weight reads as 0: keep finite logs only
            log_counts, _ = np.histogram(logs[torch.isfinite(logs)].numpy(), bins=LOG10_BINS)
            layers[name] = {"counts": counts.tolist(), "edges": edges.tolist(), "log10_counts": log_counts.tolist(),
                            "numel": w.numel(), "nonzero": int(nz.numel())}
        snap = {"tag": tag, "epoch": len(self.history) - 1, "layers": layers, "log10_edges": LOG10_BINS.tolist(),
                **extra}
        if regularizer is not None:  # on the tensors the regularizer covers, which may differ from ``tensors``
            params = list(regularizer.select(self.model))
            with torch.enable_grad():
                grads = torch.autograd.grad(regularizer.penalty(params), params, allow_unused=True)
            flat_w = torch.cat([p.detach().flatten() for p in params]).float().cpu()
            flat_g = torch.cat([(g if g is not None else torch.zeros_like(p)).flatten()
                                for g, p in zip(grads, params)]).float().cpu()
            idx = torch.randperm(flat_w.numel(), generator=torch.Generator().manual_seed(0))[:n_sample]
            snap["grad_vs_w"] = {"abs_w": _round(flat_w[idx].abs()), "abs_grad": _round(flat_g[idx].abs())}
        self.snapshots.append(snap)

    # -- checkpoints ---------------------------------------------------------------------------
    def save(self, optimizer: torch.optim.Optimizer | None, **state) -> None:
        self._save({"model": self.model.state_dict(),
                    "optimizer": optimizer.state_dict() if optimizer is not None else {},
                    "generator": self.generator.get_state(), "history": self.history,
                    "snapshots": self.snapshots, **state})

    def share(self, name: str, optimizer: torch.optim.Optimizer | None, snapshots: bool = False, **state) -> None:
        """Offer the state as it is now (a checkpoint's content; the snapshots taken so far only with
        ``snapshots``) for other runs to start from: ART's end of warm-up, DeepHoyer's end of training, which
        runs differing only after it share. Nothing happens without a ``share`` callback."""
        if self._share is not None:
            self._share(name, {"model": self.model.state_dict(),
                               "optimizer": optimizer.state_dict() if optimizer is not None else {},
                               "generator": self.generator.get_state(), "history": self.history,
                               "snapshots": list(self.snapshots) if snapshots else [], **state})

    def restore(self, ckpt: dict, optimizer: torch.optim.Optimizer | None = None) -> None:
        self.model.load_state_dict(ckpt["model"])
        if optimizer is not None and ckpt.get("optimizer"):
            optimizer.load_state_dict(ckpt["optimizer"])
        self.generator.set_state(ckpt["generator"])
        self.history, self.snapshots = list(ckpt["history"]), list(ckpt["snapshots"])
        self.bar.update(len(self.history))

    def close(self) -> None:
        self.bar.close()
