"""A pruning mask: boolean keep-masks by parameter name, applied to a model and kept through training."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import torch
from torch import nn

__all__ = ["Mask"]


@dataclass
class Mask:
    """Boolean keep-masks by parameter name (True = kept)."""

    keep: dict[str, torch.Tensor]
    #: the masks as multipliers, per (name, device, dtype): ``keep``'s tensors are read once, never changed
    _factors_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

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

    def _factors(self, tensors: list[torch.Tensor], names: list[str]) -> list[torch.Tensor]:
        """The keep-masks of ``names`` as multipliers of ``tensors``' device and dtype, converted once and
        cached: a masked training multiplies four times a step, and converting the boolean masks each time
        cost more than the products (about 40 % of a LeNet-300-100 fine-tuning step)."""
        cache = self._factors_cache
        out = []
        for name, t in zip(names, tensors):
            key = (name, t.device, t.dtype)
            if key not in cache:
                cache[key] = self.keep[name].to(t.device, t.dtype)
            out.append(cache[key])
        return out

    def _multiply(self, pairs: list[tuple[str, torch.Tensor]]) -> None:
        """Zero the pruned entries of each (name, tensor) in place, in one fused product."""
        if pairs:
            names, tensors = [n for n, _ in pairs], [t for _, t in pairs]
            torch._foreach_mul_(tensors, self._factors(tensors, names))

    @torch.no_grad()
    def apply(self, model: nn.Module) -> nn.Module:
        """Zero every pruned entry of ``model`` in place; returns the model."""
        self._multiply(list(self._params(model).items()))
        return model

    def mask_gradients(self, model: nn.Module) -> None:
        self._multiply([(n, p.grad) for n, p in self._params(model).items() if p.grad is not None])

    @torch.no_grad()
    def mask_optimizer_state(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        """Zero momentum buffers and Adam moments of pruned entries."""
        self._multiply([(n, value) for n, p in self._params(model).items()
                        for value in optimizer.state.get(p, {}).values()
                        if torch.is_tensor(value) and value.shape == p.shape])

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
