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

Modules: :mod:`.mask` (the :class:`Mask`), :mod:`.rules` (the rules by name) and
:mod:`.accounting` (weights, MACs and dead units of a pruned model).
"""
from .mask import Mask
from .rules import (PRUNING_RULES, global_threshold, prune, prune_by_std_ratio, prune_by_threshold,
                    prune_global_magnitude)

__all__ = ["Mask", "PRUNING_RULES", "prune", "prune_global_magnitude", "prune_by_threshold", "prune_by_std_ratio",
           "global_threshold"]
