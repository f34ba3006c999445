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

Each regularizer is written as its paper writes it (:mod:`.base`: L1, L2;
:mod:`.deephoyer`: Hoyer, Hoyer-Square, Transformed L1, Group Lasso, Group-HS;
:mod:`.hypersparse`: the readable :func:`hypersparse_reference` and the fast
:class:`HyperSparse`, whose closed form lives in :mod:`sparsebook.fast.hypersparse`).
This module is the registry.
"""
from __future__ import annotations

from ..fast.hypersparse import HYPERSPARSE_INFLECTION
from .base import PARAM_SETS, L1, L2, Regularizer, hoyer_measure
from .deephoyer import (GROUPINGS, GroupHoyerSquare, GroupLasso, Hoyer, HoyerSquare, TransformedL1, group_norms,
                        kernel_position_norms)
from .hypersparse import HyperSparse, hypersparse_reference, hypersparse_threshold

__all__ = ["REGULARIZERS", "ELEMENTWISE", "STRUCTURAL", "build", "hoyer_measure", "hypersparse_threshold",
           "hypersparse_reference", "HYPERSPARSE_INFLECTION", "Regularizer", "PARAM_SETS", "L1", "L2", "HyperSparse",
           "Hoyer", "HoyerSquare", "TransformedL1", "GroupLasso", "GroupHoyerSquare", "group_norms",
           "kernel_position_norms", "GROUPINGS"]

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
