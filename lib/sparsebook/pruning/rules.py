"""The pruning rules of both papers: functions from named tensors to a :class:`~.mask.Mask`."""
from __future__ import annotations

import math
from typing import Mapping

import torch

from ..fast.select import kth_smallest
from .mask import Mask

__all__ = ["PRUNING_RULES", "prune", "prune_global_magnitude", "prune_by_threshold", "prune_by_std_ratio",
           "global_threshold"]


def _check_fraction(value: float, name: str) -> None:
    if not isinstance(value, (int, float)) or math.isnan(value) or not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


def _check_nonnegative(value: float, name: str) -> None:
    if not isinstance(value, (int, float)) or math.isnan(value) or value < 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


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
