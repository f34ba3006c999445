"""The HyperSparse loss in closed form, with reused buffers: the speed path behind
:class:`sparsebook.regularizers.HyperSparse`, tested equal (values and gradients) to the readable
:func:`sparsebook.regularizers.hypersparse_reference`.

It owns the one constant both forms share, :data:`HYPERSPARSE_INFLECTION`, and the scale
``s = HYPERSPARSE_INFLECTION / t`` (:func:`scale_at`).
"""
from __future__ import annotations

import functools
import math

import torch

from .select import kth_smallest

__all__ = ["HYPERSPARSE_INFLECTION", "scale_at", "Workspace", "hypersparse_loss"]

#: atanh(1/sqrt(3)): where sech^2 bends, so s = HYPERSPARSE_INFLECTION / t puts the bend at the threshold t.
HYPERSPARSE_INFLECTION = 0.6585


def scale_at(t: torch.Tensor) -> torch.Tensor:
    """s = 0.6585 / t, which puts sech^2's bend at the threshold t (t = 0 clamped to the tiniest float)."""
    return HYPERSPARSE_INFLECTION / t.clamp_min(torch.finfo(t.dtype).tiny)


class Workspace:
    """Two buffers of N floats reused from one mini-batch to the next.

    ``abs`` holds |w| of every covered weight in order, then tanh(s|w|), which the backward pass reuses;
    ``scratch`` is a copy that selection may reorder. Allocating 80 MB afresh per batch (VGG-19) costs
    more in page faults than the arithmetic: the benchmark page has the before/after figures.
    ``generation`` counts fills, so a backward pass knows whether ``abs`` still holds its forward's values.

    On a GPU the cost is the number of kernels, not memory traffic (``bench/gpu.py``: each regularizer adds
    20-40 % to a millisecond step, launching a few kernels per weight tensor). There (``flat``: None =
    off the CPU) the weights are concatenated once and every step, the backward pass included, runs on
    the one flat vector.
    """

    def __init__(self, flat: bool | None = None):
        self.abs: torch.Tensor | None = None
        self.scratch: torch.Tensor | None = None
        self.generation = 0
        self.flat = flat

    def is_flat(self, device: torch.device) -> bool:
        return device.type != "cpu" if self.flat is None else self.flat

    def fill(self, tensors, dtype: torch.dtype) -> torch.Tensor:
        if self.is_flat(tensors[0].device):  # one concatenation; the caching allocator makes it cheap
            self.abs, self.scratch = _concat(tensors, dtype).abs_(), None
            self.generation += 1
            return self.abs
        n, device = sum(t.numel() for t in tensors), tensors[0].device
        if self.abs is None or (self.abs.numel(), self.abs.dtype, self.abs.device) != (n, dtype, device):
            self.abs, self.scratch = torch.empty(n, dtype=dtype, device=device), None
        offset = 0
        for t in tensors:
            flat, dst = t.detach().reshape(-1), self.abs[offset:offset + t.numel()]
            if flat.dtype == dtype:
                torch.abs(flat, out=dst)  # one pass instead of two
            else:
                dst.copy_(flat).abs_()   # half-precision weights into the fp32 buffer
            offset += t.numel()
        self.generation += 1
        return self.abs

    def kth_smallest(self, k: int) -> torch.Tensor:
        """``abs`` sorted ascending at index k, leaving ``abs`` as it is."""
        if self.scratch is None and self.abs.device.type == "cpu":
            self.scratch = torch.empty_like(self.abs)
        return kth_smallest(self.abs, k, self.scratch)


class _HyperSparseLoss(torch.autograd.Function):
    """A * T / stopgrad(T) - A with its gradient in closed form, sign(w) * s * sech^2(s|w|) * A / T.

    Written by hand for speed and memory: |w| of all weights goes into one reused buffer (no
    concatenation, no per-batch allocation), the threshold is selected from a reused copy of it in place,
    and tanh(s|w|) computed in the forward pass is kept in that buffer for the backward pass, which then
    writes each tensor's gradient into one new tensor (sign, scale, sech^2 in place). Math is in fp32 (fp64
    for fp64 weights) even for half-precision weights: thresholds of tiny weights need the range. The tests
    check the gradient against the paper's formula and against finite differences."""

    @staticmethod
    def forward(ctx, sparsity, s, work, *tensors):
        dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors), torch.float32)
        buf = work.fill(tensors, dtype)
        a = buf.sum()
        if s is None:
            s = scale_at(work.kth_smallest(int(math.floor(sparsity * buf.numel()))).to(buf.device))
        big_t = buf.mul_(s).tanh_().sum()  # buf now holds tanh(s|w|)
        ctx.save_for_backward(s, *tensors)
        ctx.work, ctx.generation, ctx.dtype = work, work.generation, dtype
        safe_t = big_t.clamp_min(torch.finfo(dtype).tiny)  # all-zero weights: A = 0, gradient 0; no sync
        ctx.ratio = a / safe_t
        return a * big_t / safe_t - a

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        s, *tensors = ctx.saved_tensors
        scale = grad * ctx.ratio * s
        kept = ctx.work.generation == ctx.generation  # else another forward pass refilled the buffer

        def slope(g, th):  # tanh_backward(g, th) = g * (1 - th^2): sech^2 in one pass, in place into g
            return torch.ops.aten.tanh_backward(g, th, grad_input=g)
        if ctx.work.is_flat(tensors[0].device):  # a handful of kernels for all tensors together
            flat = _concat(tensors, ctx.dtype)
            th = ctx.work.abs if kept else torch.tanh(s * flat.abs())
            parts = slope(torch.sign(flat).mul_(scale), th).split([t.numel() for t in tensors])
            return (None, None, None, *(p.view(t.shape).to(t.dtype) for p, t in zip(parts, tensors)))
        out, offset = [], 0
        for t in tensors:
            th = (ctx.work.abs[offset:offset + t.numel()].view(t.shape) if kept
                  else torch.tanh(s * t.detach().to(ctx.dtype).abs()))
            offset += t.numel()
            out.append(slope(torch.sign(t).to(ctx.dtype).mul_(scale), th).to(t.dtype))
        return (None, None, None, *out)


def _concat(tensors, dtype: torch.dtype) -> torch.Tensor:
    """Every tensor flattened into one new vector of ``dtype``."""
    return torch.cat([t.detach().reshape(-1).to(dtype) for t in tensors])



def hypersparse_loss(sparsity: float, s: torch.Tensor | None, work: Workspace, tensors) -> torch.Tensor:
    """A * T / stopgrad(T) - A over ``tensors`` (``s``: the scale, None = from their threshold at ``sparsity``)."""
    return _HyperSparseLoss.apply(sparsity, s, work, *tensors)
