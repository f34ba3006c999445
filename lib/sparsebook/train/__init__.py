"""Training: the one loop both papers' trainers share, and the trainers.

* :mod:`.loop`: :class:`~.loop.Session`, an epoch of (regularized) training, evaluation, history,
  snapshots and checkpoints.
* :mod:`.art`: Adaptive Regularized Training (HyperSparse): warm-up, ART with a growing
  regularization weight until pruning costs nothing (:func:`~.art.art_decisions`), fine-tuning.
* :mod:`.deephoyer`: DeepHoyer's train, prune, fine-tune schedule.
"""
from .art import art_decisions, train_art
from .deephoyer import train_deephoyer
from .loop import NonFiniteLoss, Session, StopRequested, evaluate, evaluate_masked, request_stop, stop_requested

__all__ = ["art_decisions", "train_art", "train_deephoyer", "Session", "NonFiniteLoss", "StopRequested",
           "request_stop", "stop_requested", "evaluate", "evaluate_masked"]
