"""What every regularizer shares: the parameters it covers, and the plain norms L1 and L2."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from ..models import conv_linear_weights

__all__ = ["Regularizer", "PARAM_SETS", "L1", "L2", "hoyer_measure"]

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
