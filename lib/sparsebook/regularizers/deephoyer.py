"""DeepHoyer's regularizers (Yang, Wen, Li 2020) and the baselines it compares with: Hoyer,
Hoyer-Square and Transformed L1 (element-wise), Group Lasso and Group-HS (structural)."""
from __future__ import annotations

import math

import torch

from .base import Regularizer

__all__ = ["Hoyer", "HoyerSquare", "TransformedL1", "GroupLasso", "GroupHoyerSquare", "group_norms",
           "kernel_position_norms", "GROUPINGS"]


def _over_nonzero(num: torch.Tensor, sq: torch.Tensor, root: bool = False) -> torch.Tensor:
    """num / sq (num / sqrt(sq) with ``root``) for a tensor whose sum of squares is sq, and 0 for an
    all-zero tensor, which the original skips. Decided on the device, with no value read back to the
    host (no GPU synchronisation per tensor and batch); the stand-in denominator keeps the gradient of
    the skipped branch finite."""
    ok = sq > 0
    safe = torch.where(ok, sq, torch.ones_like(sq))
    return torch.where(ok, num / (safe.sqrt() if root else safe), torch.zeros_like(num))


class Hoyer(Regularizer):
    """DeepHoyer's Hoyer regularizer: sum over tensors of |w|_1 / |w|_2."""
    name = "hoyer"
    default_params = "all"

    def penalty(self, tensors):
        return sum(_over_nonzero(t.abs().sum(), t.pow(2).sum(), root=True) for t in tensors)


class HoyerSquare(Regularizer):
    """DeepHoyer's Hoyer-Square: sum over tensors of |w|_1^2 / |w|_2^2."""
    name = "hoyer_square"
    default_params = "all"

    def penalty(self, tensors):
        return sum(_over_nonzero(t.abs().sum().pow(2), t.pow(2).sum()) for t in tensors)


class TransformedL1(Regularizer):
    """Transformed L1: sum (a+1)|w| / (a+|w|), a = 1 as in DeepHoyer's code."""
    name = "transformed_l1"
    default_params = "all"

    def __init__(self, a: float = 1.0, params=None):
        super().__init__(params)
        if not isinstance(a, (int, float)) or not a > 0 or math.isinf(a):
            raise ValueError(f"transformed_l1 parameter a must be a positive number, got {a!r}")
        self.a = float(a)

    def penalty(self, tensors):  # 0 for an all-zero tensor as it stands: nothing to skip
        return sum(((self.a + 1) * t.abs() / (self.a + t.abs())).sum() for t in tensors)


def group_norms(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(row norms, column norms): output neurons / filters, and input neurons / input channels."""
    rows = w.flatten(1).norm(dim=1)
    cols = w.transpose(0, 1).flatten(1).norm(dim=1)
    return rows, cols


#: how Group Lasso groups a convolution's weight (a Linear weight: rows and columns under both)
GROUPINGS = ("channel_filter", "kernel_position")


def kernel_position_norms(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The DeepHoyer MNIST CNN script's Group Lasso groups (``mnist/CNN/structure.py``, line 103:
    ``sum(sqrt(sum(W**2, 0))) + sum(sqrt(sum(W**2, 1)))``): on a conv weight (out x in x k x k), one group
    per input channel *and kernel position* (W[:, c, i, j]) and one per filter and kernel position
    (W[o, :, i, j]); on a Linear weight, the columns and rows, as :func:`group_norms`."""
    return w.pow(2).sum(1).sqrt().flatten(), w.pow(2).sum(0).sqrt().flatten()


class GroupLasso(Regularizer):
    """Group Lasso over rows and columns (filters and input channels): sum of group 2-norms.

    ``grouping="kernel_position"`` groups a conv weight as the original MNIST CNN script does
    (:func:`kernel_position_norms`); the default, ``"channel_filter"``, as the paper's text, the CIFAR
    script and Group-HS do. The two agree on Linear weights."""
    name = "group_lasso"

    def __init__(self, grouping: str = "channel_filter", params=None):
        super().__init__(params)
        if grouping not in GROUPINGS:
            raise ValueError(f"group_lasso grouping must be one of {', '.join(GROUPINGS)}, got {grouping!r}")
        self.grouping = grouping

    def penalty(self, tensors):
        norms = kernel_position_norms if self.grouping == "kernel_position" else group_norms
        return sum(r.sum() + c.sum() for r, c in map(norms, tensors))


class GroupHoyerSquare(Regularizer):
    """DeepHoyer's Group-HS: ((sum_rows |g|)^2 + (sum_cols |g|)^2) / |W|_F^2 per layer, summed."""
    name = "group_hoyer_square"

    def penalty(self, tensors):
        terms = []
        for w in tensors:
            rows, cols = group_norms(w)
            terms.append(_over_nonzero(rows.sum().pow(2) + cols.sum().pow(2), w.pow(2).sum()))
        return sum(terms)
