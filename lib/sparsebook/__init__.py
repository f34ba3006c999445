"""sparsebook: models, sparsity regularizers, pruning and the ART / DeepHoyer trainers.

Modules, one concern each: :mod:`~sparsebook.data` (data sets as in-memory
tensors), :mod:`~sparsebook.models`, :mod:`~sparsebook.regularizers`,
:mod:`~sparsebook.pruning`, :mod:`~sparsebook.accounting`, :mod:`~sparsebook.loop`
(the shared training loop), :mod:`~sparsebook.art`, :mod:`~sparsebook.deephoyer`,
:mod:`~sparsebook.runs` (settings, ids, results store), :mod:`~sparsebook.profiles`
and :mod:`~sparsebook.reference` (the published numbers).

``sparsebook.art_decisions`` is ART's stop rule as a pure function, to check
against the HyperSparse code.
"""
from .art import art_decisions

__all__ = ["art_decisions"]
__version__ = "0.1.0"
