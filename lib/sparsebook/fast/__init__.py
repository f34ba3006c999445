"""Speed paths, each tested equal to the readable form it replaces.

* :mod:`.select`: the k-th smallest of a long vector by NumPy's introselect, in parts on
  several threads (pruning thresholds, HyperSparse's threshold).
* :mod:`.hypersparse`: the HyperSparse loss with its gradient in closed form, in reused buffers
  (the readable form: :func:`sparsebook.regularizers.hypersparse_reference`).
* :mod:`.inference`: an evaluation copy of a model with BatchNorm folded and CSR Linear layers.

Tuning knobs are arguments with measured defaults, never module globals to patch. Nothing
here imports a method module: the methods import these.
"""
