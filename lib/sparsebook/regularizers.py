"""Sparsity regularizers of both papers, built by name.

``reg = build("hoyer_square")`` returns a callable: ``reg(model)`` is a scalar
tensor to add, times a strength, to the loss. Each regularizer covers, by
default, the parameters its paper covers:

* ``l1``, ``l2``, ``hypersparse`` (HyperSparse / ART): the ``.weight`` of every
  Conv2d and Linear layer, taken as one global vector.
* ``hoyer``, ``hoyer_square``, ``transformed_l1`` (DeepHoyer, element-wise):
  every parameter tensor, biases included as the original did, each scored on
  its own and summed; a tensor with sum |w| = 0 is skipped.
* ``group_lasso``, ``group_hoyer_square`` (DeepHoyer, structural): Conv2d and
  Linear weights; groups are the rows and columns of a Linear weight and the
  filters and input channels of a Conv weight.

DeepHoyer's L1 covers biases too: pass ``params="all"`` for it (the DeepHoyer
trainer does). Any regularizer takes ``params`` = ``"conv_linear_weights"``,
``"all"`` or a callable ``model -> list of tensors``.
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import torch
from torch import nn

from .models import conv_linear_weights
from .pruning import kth_smallest

__all__ = ["REGULARIZERS", "build", "hoyer_measure", "hypersparse_threshold", "HYPERSPARSE_INFLECTION"]

#: atanh(1/sqrt(3)): where sech^2 bends, so s = HYPERSPARSE_INFLECTION / t puts the bend at the threshold t.
HYPERSPARSE_INFLECTION = 0.6585

ParamSelector = Callable[[nn.Module], list]
PARAM_SETS: dict[str, ParamSelector] = {
    "conv_linear_weights": lambda model: list(conv_linear_weights(model).values()),
    "all": lambda model: [p for p in model.parameters()],
}


def hoyer_measure(x: torch.Tensor) -> float:
    """Hoyer's sparsity measure (sqrt(n) - |x|_1/|x|_2) / (sqrt(n) - 1): 0 flat, 1 one-hot."""
    x = x.detach().flatten().double()
    n = x.numel()
    l2 = x.norm()
    if n < 2 or l2 == 0:
        return float("nan")
    return float((math.sqrt(n) - x.abs().sum() / l2) / (math.sqrt(n) - 1))


class Regularizer:
    """Base: select the covered parameters, then score them with :meth:`penalty`."""

    name = "base"
    default_params = "conv_linear_weights"

    def __init__(self, params: str | ParamSelector | None = None):
        params = params or self.default_params
        if isinstance(params, str):
            if params not in PARAM_SETS:
                raise ValueError(f"unknown parameter set {params!r}; valid: {', '.join(sorted(PARAM_SETS))}")
            self.params_name, self.select = params, PARAM_SETS[params]
        elif callable(params):
            self.params_name, self.select = getattr(params, "__name__", "custom"), params
        else:
            raise TypeError(f"params must be a name or a callable, got {params!r}")

    def __call__(self, model: nn.Module) -> torch.Tensor:
        return self.penalty(self.select(model))

    def penalty(self, tensors: list[torch.Tensor]) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(params={self.params_name!r})"


class L1(Regularizer):
    """sum |w| over the covered weights."""
    name = "l1"

    def penalty(self, tensors):
        return sum(t.abs().sum() for t in tensors)


class L2(Regularizer):
    """sum w^2 over the covered weights (no factor 1/2, as in ART)."""
    name = "l2"

    def penalty(self, tensors):
        return sum(t.pow(2).sum() for t in tensors)


def hypersparse_threshold(abs_weights: torch.Tensor, sparsity: float) -> torch.Tensor:
    """The pruning threshold t: the value at index floor(sparsity * N) of |w| sorted ascending, found
    by selection (:func:`~sparsebook.pruning.kth_smallest`), not by sorting every weight as the
    original does."""
    return kth_smallest(abs_weights, int(math.floor(sparsity * abs_weights.numel())))


def hypersparse_reference(tensors, sparsity: float) -> torch.Tensor:
    """The HyperSparse loss as the paper writes it, through autograd: the readable form.

    All covered weights form one vector w; t is |w| at the target sparsity's quantile, s = 0.6585 / t (a
    constant for autograd), A = sum |w|, T = sum tanh(s |w|), and L = A * T / stopgrad(T) - A. Its value is
    ~0; its gradient, sign(w) s sech^2(s|w|) A / T, is what training uses. :class:`HyperSparse` computes the
    same value and gradient in a closed form with reused buffers (tested equal to this one)."""
    w = torch.cat([t.reshape(-1) for t in tensors]).abs()
    s = _scale_at(hypersparse_threshold(w.detach(), sparsity))
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

    def __init__(self, sparsity: float, params=None):
        super().__init__(params)
        if not isinstance(sparsity, (int, float)) or not 0 <= sparsity < 1 or math.isnan(sparsity):
            raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
        self.sparsity = float(sparsity)
        self._work = _Workspace()

    def scale(self, abs_weights: torch.Tensor) -> torch.Tensor:
        """s = 0.6585 / t for the threshold t of ``abs_weights``."""
        return _scale_at(hypersparse_threshold(abs_weights.detach(), self.sparsity))

    def penalty(self, tensors, s: torch.Tensor | None = None):
        """The loss over ``tensors``; ``s`` overrides the scale taken from their threshold."""
        return _HyperSparseLoss.apply(self.sparsity, s, self._work, *tensors)


def _scale_at(t: torch.Tensor) -> torch.Tensor:
    """s = 0.6585 / t, which puts sech^2's bend at the threshold t (t = 0 clamped to the tiniest float)."""
    return HYPERSPARSE_INFLECTION / t.clamp_min(torch.finfo(t.dtype).tiny)


class _Workspace:
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
            s = _scale_at(work.kth_smallest(int(math.floor(sparsity * buf.numel()))).to(buf.device))
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


class GroupLasso(Regularizer):
    """Group Lasso over rows and columns (filters and input channels): sum of group 2-norms."""
    name = "group_lasso"

    def penalty(self, tensors):
        return sum(r.sum() + c.sum() for r, c in map(group_norms, tensors))


class GroupHoyerSquare(Regularizer):
    """DeepHoyer's Group-HS: ((sum_rows |g|)^2 + (sum_cols |g|)^2) / |W|_F^2 per layer, summed."""
    name = "group_hoyer_square"

    def penalty(self, tensors):
        terms = []
        for w in tensors:
            rows, cols = group_norms(w)
            terms.append(_over_nonzero(rows.sum().pow(2) + cols.sum().pow(2), w.pow(2).sum()))
        return sum(terms)


REGULARIZERS: dict[str, type[Regularizer]] = {
    cls.name: cls for cls in (L1, L2, HyperSparse, Hoyer, HoyerSquare, TransformedL1, GroupLasso, GroupHoyerSquare)
}
ELEMENTWISE = ("l1", "hoyer", "hoyer_square", "transformed_l1")
STRUCTURAL = ("group_lasso", "group_hoyer_square")


def build(name: str, **params) -> Regularizer:
    """Build a regularizer by name; ``hypersparse`` needs ``sparsity``, ``transformed_l1`` takes ``a``."""
    if name not in REGULARIZERS:
        raise ValueError(f"unknown regularizer {name!r}; valid regularizers: {', '.join(sorted(REGULARIZERS))}")
    cls = REGULARIZERS[name]
    if cls is HyperSparse and "sparsity" not in params:
        raise ValueError("regularizer 'hypersparse' needs a target sparsity: build('hypersparse', sparsity=0.98)")
    try:
        return cls(**params)
    except TypeError as err:
        raise ValueError(f"bad parameters for regularizer {name!r}: {err}") from None

