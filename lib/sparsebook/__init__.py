"""sparsebook: models, sparsity regularizers, pruning and the ART / DeepHoyer trainers, and the experiments
and book built on them.

The folders are the layers; imports run one way, from the top down:

* :mod:`~sparsebook.book`: tables, figures and verdicts for the chapters (the ``book`` extra);
* :mod:`~sparsebook.experiments`: run settings, profiles, the grid, the runner, sweeps;
* :mod:`~sparsebook.train`: the shared loop and the ART and DeepHoyer trainers;
* :mod:`~sparsebook.pruning` and :mod:`~sparsebook.regularizers`: the methods as the papers write them;
* :mod:`~sparsebook.fast`, :mod:`~sparsebook.models`, :mod:`~sparsebook.data`: speed paths, networks, data.

``sparsebook.art_decisions`` is ART's stop rule as a pure function, to check against the HyperSparse code.
``import sparsebook`` loads neither matplotlib nor seaborn.
"""
from .train.art import art_decisions

__all__ = ["art_decisions"]
__version__ = "0.2.0"
