"""Pruning rules and masks.

A pruning rule is a function from named tensors to a :class:`Mask`; it never
touches the model. ``mask.apply(model)`` zeroes the pruned entries, and
``mask.attach(model, optimizer)`` keeps them exactly zero through any number
of optimizer steps (gradients masked before the step, weights and optimizer
state masked after it, so neither momentum, weight decay nor Adam's moments can
revive a pruned weight).

Rules, in the papers' words:

* :func:`prune_global_magnitude` (ART): one threshold over all covered weights,
  t = |w| sorted ascending at index floor(sparsity * N), keep |w| > t, as the
  HyperSparse code does (ties at t are pruned too).
* :func:`prune_by_threshold` (DeepHoyer A): |p| < threshold -> 0, per tensor.
* :func:`prune_by_std_ratio` (DeepHoyer B): |p| < ratio * std(p) -> 0, with the
  population std over all entries of the tensor, zeros included.
"""
from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
from torch import nn

__all__ = ["Mask", "PRUNING_RULES", "prune", "prune_global_magnitude", "prune_by_threshold", "prune_by_std_ratio"]


@dataclass
class Mask:
    """Boolean keep-masks by parameter name (True = kept)."""

    keep: dict[str, torch.Tensor]

    @property
    def numel(self) -> int:
        return sum(m.numel() for m in self.keep.values())

    @property
    def kept(self) -> int:
        return int(sum(int(m.sum()) for m in self.keep.values()))

    @property
    def sparsity(self) -> float:
        """Fraction of the masked entries that are pruned."""
        return 1.0 - self.kept / max(self.numel, 1)

    def _params(self, model: nn.Module) -> dict[str, torch.Tensor]:
        params = dict(model.named_parameters())
        missing = sorted(set(self.keep) - set(params))
        if missing:
            raise KeyError(f"mask names parameters the model does not have: {missing[:5]}")
        return {name: params[name] for name in self.keep}

    @torch.no_grad()
    def apply(self, model: nn.Module) -> nn.Module:
        """Zero every pruned entry of ``model`` in place; returns the model."""
        for name, p in self._params(model).items():
            p.mul_(self.keep[name].to(p.device, p.dtype))
        return model

    def mask_gradients(self, model: nn.Module) -> None:
        for name, p in self._params(model).items():
            if p.grad is not None:
                p.grad.mul_(self.keep[name].to(p.device, p.grad.dtype))

    @torch.no_grad()
    def mask_optimizer_state(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Zero momentum buffers and Adam moments of pruned entries."""
        for name, p in self._params(model).items():
            for value in optimizer.state.get(p, {}).values():
                if torch.is_tensor(value) and value.shape == p.shape:
                    value.mul_(self.keep[name].to(value.device, value.dtype))

    def attach(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Make ``optimizer.step()`` mask gradients before and weights and state after each step."""
        self.apply(model)
        self.mask_optimizer_state(model, optimizer)
        optimizer.register_step_pre_hook(lambda opt, args, kwargs: self.mask_gradients(model))

        def after(opt, args, kwargs):
            self.apply(model)
            self.mask_optimizer_state(model, opt)
        optimizer.register_step_post_hook(after)

    def overlap(self, other: "Mask") -> float:
        """Fraction of this mask's kept entries that ``other`` keeps too."""
        both = sum(int((self.keep[n] & other.keep[n]).sum()) for n in self.keep)
        return both / max(self.kept, 1)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {n: m.clone() for n, m in self.keep.items()}

    @classmethod
    def from_state_dict(cls, state: Mapping[str, torch.Tensor]) -> "Mask":
        return cls({n: m.bool() for n, m in state.items()})


def _check_fraction(value: float, name: str) -> None:
    if not isinstance(value, (int, float)) or math.isnan(value) or not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


def _check_nonnegative(value: float, name: str) -> None:
    if not isinstance(value, (int, float)) or math.isnan(value) or value < 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


#: Selection on the CPU splits a vector into parts of at least this many values, one thread each.
SELECT_PART_MIN = 1 << 20
_SELECT_CHUNK = 4096  # a part is every P-th run of this many values: every layer has its share in every part


def kth_smallest(values: torch.Tensor, k: int, scratch: torch.Tensor | None = None,
                 part_min: int = SELECT_PART_MIN) -> torch.Tensor:
    """``values`` sorted ascending at index ``k`` (0-based), exactly.

    On the CPU by NumPy's introselect (``np.partition``, O(N)), which this machine runs several times
    faster than ``torch.kthvalue`` (the benchmark page has the figures); for long vectors and high ranks
    (the thresholds of both papers) on as many parts as torch has threads (:func:`_select_in_parts`). On a
    GPU by a full sort, the original's way: there ``torch.kthvalue`` over one long vector is about a
    hundred times slower than sorting it (measured on an H100: ``bench/gpu.py``). ``scratch``, a CPU
    tensor shaped and typed like the flattened ``values``, is reordered in place instead of a fresh copy
    (large fresh allocations cost page faults). ``part_min`` is the fewest values a part may hold (a tuning
    knob; larger than the vector means one part).
    """
    flat = values.detach().reshape(-1)
    if flat.device.type == "cpu" and flat.dtype in (torch.float32, torch.float64):
        work = scratch if scratch is not None else torch.empty_like(flat)
        parts = selection_parts(flat.numel(), part_min)
        if parts >= 2 and 2 * k >= flat.numel():
            found = _select_in_parts(flat, k, work, parts)
            if found is not None:
                return torch.tensor(found, dtype=flat.dtype)
        else:
            work.copy_(flat)
        whole = work.numpy()  # a copy of values, reordered or not: select in the whole
        whole.partition(k)
        return torch.tensor(whole[k], dtype=flat.dtype)
    if flat.device.type == "cpu":
        return flat.kthvalue(k + 1).values
    return torch.sort(flat).values[k]


def selection_parts(n: int, part_min: int = SELECT_PART_MIN) -> int:
    """How many parts (threads) :func:`kth_smallest` selects in on the CPU among ``n`` values."""
    return max(1, min(torch.get_num_threads(), n // part_min))


def _threads(count: int) -> ThreadPoolExecutor:
    return _pool(count, os.getpid())  # a forked child has none of its parent's threads: a pool of its own


@functools.lru_cache(maxsize=None)
def _pool(count: int, pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(count, thread_name_prefix="sparsebook-select")


def _select_in_parts(flat: torch.Tensor, k: int, work: torch.Tensor, parts: int):
    """The value at rank k >= N/2 of ``flat``, found in ``parts`` threads; None if the guess below missed.

    ``flat`` is copied into ``work`` as ``parts`` interleaved parts (runs of _SELECT_CHUNK values dealt
    round-robin), so every part holds about 1/parts of the top N - k values. Each part is partitioned, in
    its own thread (NumPy releases the GIL), so that its last ``keep`` values (that share plus a margin)
    are its largest; the candidates are those tails and the leftover values. The value at rank
    k - (values left out) among the candidates is the answer if no value left out exceeds it: each part's
    values left out are at most its tail's smallest, so it suffices that the candidate is at least every
    tail's smallest. Written by hand because neither NumPy nor torch selects in parallel on the CPU (the
    benchmark page's before/after row has what it buys: the copy into the parts stays)."""
    n = flat.numel()
    run = parts * _SELECT_CHUNK
    dealt = n // run * run
    work[:dealt].view(parts, -1, _SELECT_CHUNK).copy_(flat[:dealt].reshape(-1, parts, _SELECT_CHUNK).transpose(0, 1))
    work[dealt:].copy_(flat[dealt:])
    size = dealt // parts
    keep = min(size, math.ceil((n - k) / parts * 1.05) + 1024)
    head = size - keep  # values of each part left out
    split = [work.numpy()[p * size:(p + 1) * size] for p in range(parts)]
    if head > 0:
        list(_threads(parts).map(lambda part: part.partition(head), split))
    candidates = np.concatenate([part[head:] for part in split] + [work.numpy()[dealt:]])
    rank = k - parts * head
    if rank < 0:
        return None
    candidates.partition(rank)
    found = candidates[rank]
    return found if head == 0 or found >= max(part[head] for part in split) else None


@torch.no_grad()
def global_threshold(tensors: Mapping[str, torch.Tensor], sparsity: float) -> float:
    """|w| sorted ascending at index floor(sparsity * N), found by selection."""
    _check_fraction(sparsity, "sparsity")
    flat = torch.cat([t.detach().reshape(-1).abs().float() for t in tensors.values()])
    k = int(math.floor(sparsity * flat.numel()))
    return float(kth_smallest(flat, k))


@torch.no_grad()
def prune_global_magnitude(tensors: Mapping[str, torch.Tensor], sparsity: float) -> Mask:
    """ART's rule: one global threshold t over all tensors, keep |w| > t (sparsity 0 keeps all)."""
    if sparsity == 0:
        _check_fraction(sparsity, "sparsity")
        return Mask({n: torch.ones_like(t, dtype=torch.bool) for n, t in tensors.items()})
    t = global_threshold(tensors, sparsity)
    return Mask({n: w.detach().abs() > t for n, w in tensors.items()})


@torch.no_grad()
def prune_by_threshold(tensors: Mapping[str, torch.Tensor], threshold: float = 1e-3) -> Mask:
    """DeepHoyer's rule A: per tensor, |p| < threshold is pruned."""
    _check_nonnegative(threshold, "threshold")
    return Mask({n: w.detach().abs() >= threshold for n, w in tensors.items()})


@torch.no_grad()
def prune_by_std_ratio(tensors: Mapping[str, torch.Tensor], ratio: float = 0.25) -> Mask:
    """DeepHoyer's rule B: per tensor, |p| < ratio * std(p) is pruned (population std, zeros included)."""
    _check_nonnegative(ratio, "ratio")
    return Mask({n: w.detach().abs() >= ratio * w.detach().std(unbiased=False) for n, w in tensors.items()})


PRUNING_RULES = {
    "global_magnitude": prune_global_magnitude,
    "threshold": prune_by_threshold,
    "std_ratio": prune_by_std_ratio,
}


def prune(rule: str, tensors: Mapping[str, torch.Tensor], value: float) -> Mask:
    """Apply a rule by name with its one setting (sparsity, threshold or ratio)."""
    if rule not in PRUNING_RULES:
        raise ValueError(f"unknown pruning rule {rule!r}; valid rules: {', '.join(sorted(PRUNING_RULES))}")
    return PRUNING_RULES[rule](tensors, value)
