"""HyperSparse (Glandorf, Kaiser, Rosenhahn 2023): the readable form and the regularizer training uses."""
from __future__ import annotations

import math

import torch

from ..fast.hypersparse import Workspace, hypersparse_loss, scale_at
from ..fast.select import kth_smallest
from .base import Regularizer

__all__ = ["HyperSparse", "hypersparse_reference", "hypersparse_threshold"]


def hypersparse_threshold(abs_weights: torch.Tensor, sparsity: float) -> torch.Tensor:
    """The pruning threshold t: the value at index floor(sparsity * N) of |w| sorted ascending, found
    by selection (:func:`~sparsebook.fast.select.kth_smallest`), not by sorting every weight as the
    original does."""
    return kth_smallest(abs_weights, int(math.floor(sparsity * abs_weights.numel())))


def hypersparse_reference(tensors, sparsity: float) -> torch.Tensor:
    """The HyperSparse loss as the paper writes it, through autograd: the readable form.

    All covered weights form one vector w; t is |w| at the target sparsity's quantile, s = 0.6585 / t (a
    constant for autograd), A = sum |w|, T = sum tanh(s |w|), and L = A * T / stopgrad(T) - A. Its value is
    ~0; its gradient, sign(w) s sech^2(s|w|) A / T, is what training uses. :class:`HyperSparse` computes the
    same value and gradient in a closed form with reused buffers (tested equal to this one)."""
    w = torch.cat([t.reshape(-1) for t in tensors]).abs()
    s = scale_at(hypersparse_threshold(w.detach(), sparsity))
    a, t = w.sum(), torch.tanh(s * w).sum()
    return a * t / t.detach() - a


class HyperSparse(Regularizer):
    """HyperSparse (Glandorf et al. 2023): L = A * T / stopgrad(T) - A.

    A = sum |w|, T = sum tanh(s|w|), s = 0.6585 / t with t the global pruning
    threshold for the target ``sparsity`` (held constant for autograd). The value
    is ~0; the gradient is sign(w) * s * sech^2(s|w|) * A / T: L1-like below t,
    vanishing above it.
    """
    name = "hypersparse"

    def __init__(self, sparsity: float, params=None, flat: bool | None = None):
        super().__init__(params)
        if not isinstance(sparsity, (int, float)) or not 0 <= sparsity < 1 or math.isnan(sparsity):
            raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
        self.sparsity = float(sparsity)
        self.workspace = Workspace(flat)  # flat: one vector for all weights (None: off the CPU)

    def scale(self, abs_weights: torch.Tensor) -> torch.Tensor:
        """s = 0.6585 / t for the threshold t of ``abs_weights``."""
        return scale_at(hypersparse_threshold(abs_weights.detach(), self.sparsity))

    def penalty(self, tensors, s: torch.Tensor | None = None):
        """The loss over ``tensors``; ``s`` overrides the scale taken from their threshold."""
        return hypersparse_loss(self.sparsity, s, self.workspace, tensors)
