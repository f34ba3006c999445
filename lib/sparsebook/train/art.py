"""Adaptive Regularized Training (ART), as in the HyperSparse code.

1. Warm-up: ``warmup_epochs`` of dense SGD (lr 0.1, momentum 0.9, weight decay
   1e-4 on every parameter, BN included).
2. ART, open-ended: each mini-batch adds alpha * R(w), alpha = lambda_init *
   eta^(epoch - warmup_epochs). After each ART epoch the model is pruned
   globally by magnitude to the target sparsity *for evaluation only* (weights
   swapped and restored, equivalent to the original's pruned copy) and scored in
   eval mode on the training data -> ``train_acc_pruned``. Which training data
   (``pruned_eval``) and how the scores decide the best epoch and the stop
   (``stop_rule``, :func:`art_decisions`) are settings:

   * ``pruned_eval="augmented"`` (the original): the training images with the
     papers' augmentation, drawn from a generator seeded by (seed, ART epoch), so
     the training stream is untouched and a resumed run draws the same images;
     ``None`` (``"plain"``): the training tensors as they are;
   * ``stop_rule="original"``: the original's ``ModelBuffer``; ``None``
     (``"full_window"``): full windows only, best mean against best mean.
3. Fine-tuning: the best pruned model with its mask, fresh SGD (lr 0.1), lr x0.1
   at the original's fine-tuning epochs 80 and 120 (``finetune_milestones``; left unset, at 1/2 and 3/4 of
   ``finetune_epochs``, the same at 160), no regularizer.

A run at ``sparsity=0`` is the setting's **dense reference**: the same warm-up (shared with the seed's ART
runs), then the fine-tuning's stepped schedule from a fresh SGD, with neither ART nor a mask; the claims
protocol reads its final test accuracy as the dense network the setting's regime bar is held against.

``art_max_epochs`` (None: open-ended, as the original) caps ART and ends the run
with status ``art_cap_reached``. We report both the final fine-tuning test
accuracy and the best one (the original reports only the best, selected on the
test set).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .. import regularizers
from ..pruning.accounting import layer_stats
from .loop import Session, TrainerState, evaluate_masked
from ..models import conv_linear_weights
from ..pruning import Mask, global_threshold, prune_global_magnitude

__all__ = ["train_art", "art_decisions", "finetune_milestones", "STOP_RULES", "PRUNED_EVALS", "LR_DECAY"]

#: how the per-epoch pruned accuracies decide (None in a config = "full_window", the first rule of this book)
STOP_RULES = ("original", "full_window")
#: what the pruned copy is scored on (None in a config = "plain")
PRUNED_EVALS = ("augmented", "plain")


def art_decisions(pruned_acc, dense_acc, window: int = 3, rule: str = "original") -> dict:
    """ART's decisions from its per-epoch training accuracies, a pure function.

    ``pruned_acc[k]`` and ``dense_acc[k]`` are ART epoch k+1's pruned-copy and dense running training
    accuracies. With ``rule="original"`` this is the HyperSparse code's ``ART.forward_epoch`` with its
    ``ModelBuffer``: a FIFO of up to ``window`` epochs whose mean counts from the first ART epoch on; the best
    is replaced when that mean exceeds the *best entry's own* pruned accuracy (0 at first), and then holds the
    buffer's middle entry (index ``min(len - 1, window // 2)``) with the current mean; ART stops after the
    first epoch whose stored best mean exceeds its dense accuracy (strictly). ``rule="full_window"`` compares
    full windows only, and means with means.

    Returns ``best_epoch`` (1-based ART epoch whose pruned model is fine-tuned; None before any best),
    ``best_acc`` (its own pruned accuracy), ``best_mean``, ``stop_epoch`` (1-based; None if ART goes on
    past the lists) and ``window_means`` (each epoch's buffer mean; None where the rule has none).
    """
    if len(pruned_acc) != len(dense_acc):
        raise ValueError(f"pruned_acc and dense_acc differ in length ({len(pruned_acc)} vs {len(dense_acc)})")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    if rule not in STOP_RULES:
        raise ValueError(f"rule must be one of {', '.join(STOP_RULES)}, got {rule!r}")
    buffer, best, means = [], None, []
    for epoch, (pruned, dense) in enumerate(zip(pruned_acc, dense_acc), 1):
        buffer = (buffer + [(epoch, pruned)])[-window:]
        full = len(buffer) == window
        mean = sum(a for _, a in buffer) / len(buffer) if rule == "original" or full else None
        means.append(mean)
        if mean is not None:
            if best is None:
                bar = 0.0 if rule == "original" else None
            else:
                bar = best["acc"] if rule == "original" else best["mean"]
            if bar is None or mean > bar:
                mid_epoch, mid_acc = buffer[min(len(buffer) - 1, window // 2)]
                best = {"epoch": mid_epoch, "acc": mid_acc, "mean": mean}
        if best is not None and best["mean"] > dense:
            return {"best_epoch": best["epoch"], "best_acc": best["acc"], "best_mean": best["mean"],
                    "stop_epoch": epoch, "window_means": means}
    return {"best_epoch": best and best["epoch"], "best_acc": best and best["acc"],
            "best_mean": best and best["mean"], "stop_epoch": None, "window_means": means}


#: the fine-tuning's learning-rate factor at each milestone (the original's ``--lr_decay``)
LR_DECAY = 0.1

#: settings an ART run reads only after its warm-up: runs differing only in these share the warm-up
AFTER_WARMUP = ("regularizer", "sparsity", "lambda_init", "eta", "art_max_epochs", "finetune_epochs", "window",
                "record_epochs", "stop_rule", "pruned_eval", "finetune_milestones")


def _sgd(model, cfg):
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def finetune_milestones(cfg) -> tuple[int, ...]:
    """The fine-tuning epochs (0-based) from which lr is another x0.1 lower: the config's, or 1/2 and 3/4 of
    ``finetune_epochs`` (the original's 80 and 120 of 160)."""
    if cfg.finetune_milestones is not None:
        return tuple(cfg.finetune_milestones)
    return cfg.finetune_epochs // 2, (3 * cfg.finetune_epochs) // 4


def _finetune_lr(cfg, epoch: int) -> float:
    steps = sum(epoch >= m for m in finetune_milestones(cfg))
    return cfg.lr * LR_DECAY ** steps


@dataclass
class ARTState(TrainerState):
    """Where an ART run stands, besides model, optimizer and history (what a checkpoint holds of it)."""
    phase: str = "warmup"                   # warmup, art, finetune, art_cap_reached
    window: list = field(default_factory=list)  # the last ``window`` ART epochs: pruned accuracy, weights, mask
    best: dict | None = None                # the best window entry so far, with its window mean
    art_epochs: int = 0
    start_mask: dict | None = None          # the pruning mask at the start of ART (for the overlap)
    stop: dict | None = None                # the stop: ART epochs, alpha, best epoch and mean, dense accuracy



def train_art(cfg, session: Session, ckpt: dict | None) -> dict:
    """Run (or resume from ``ckpt``) one ART run; returns status, final metrics and per-layer stats."""
    model = session.model
    weights = lambda: conv_linear_weights(model)  # noqa: E731 - the live tensors, re-read after loads
    reg = None if cfg.regularizer == "none" else regularizers.build(
        cfg.regularizer, **({"sparsity": cfg.sparsity} if cfg.regularizer == "hypersparse" else {}))
    opt = _sgd(model, cfg)
    st = ARTState()
    if ckpt is not None:
        st = ARTState.from_checkpoint(ckpt["trainer"])
        if st.phase == "finetune":  # the fine-tune optimizer is a fresh one with the mask attached
            session.model.load_state_dict(ckpt["model"])
            opt = _sgd(model, cfg)
            if st.best is not None:  # a dense reference fine-tunes without a mask
                Mask.from_state_dict(st.best["mask"]).attach(model, opt)
        session.restore(ckpt, opt)
    save = lambda: session.save(opt, trainer=st.checkpoint())  # noqa: E731
    record = set(cfg.record_epochs)

    def maybe_snapshot(tag):
        every_art = tag.startswith("art_") and tag[4:].isdigit() and "art" in record
        if tag in record or every_art or (len(session.history) - 1) in record:
            session.snapshot(tag, weights(), reg, threshold=global_threshold(weights(), cfg.sparsity))

    while st.phase == "warmup" and len(session.history) < cfg.warmup_epochs:
        row = session.train_epoch(opt)
        session.log({"phase": "warmup", "alpha": 0.0, **row, "test_acc": session.test()["acc"],
                     "sparsity": _sparsity(weights())})
        save()

    if st.phase == "warmup":  # the warm-up is over: it does not depend on the regularizer or the sparsity
        session.share("warmup", opt, trainer=st.checkpoint())
        if cfg.warmup_epochs:
            maybe_snapshot("warmup_end")
        if cfg.sparsity == 0:  # a dense reference: the fine-tuning's stepped schedule, no ART and no mask
            st.phase, st.stop = "finetune", {"art_epochs": 0, "alpha": 0.0, "best_epoch": None,
                                             "best_window_mean": None, "dense_train_acc": None}
            opt = _sgd(model, cfg)
        else:
            st.phase = "art"
            st.start_mask = prune_global_magnitude(weights(), cfg.sparsity).state_dict()
        save()

    rule = cfg.stop_rule or "full_window"
    while st.phase == "art":
        k = st.art_epochs
        alpha = cfg.lambda_init * cfg.eta ** k
        row = session.train_epoch(opt, reg, alpha)
        mask = prune_global_magnitude(weights(), cfg.sparsity)
        x_eval = session.data.train_x
        if cfg.pruned_eval == "augmented" and session.augment is not None:
            x_eval = _augmented_copy(session, cfg.seed, k)
        pruned = evaluate_masked(model, mask, x_eval, session.data.train_y,
                                 session.test_batch_size, session.channels_last)["acc"]
        st.window = (st.window + [{"acc": pruned, "model": _pruned_state(model, mask), "art_epoch": k + 1,
                                         "mask": mask.state_dict(), "epoch": len(session.history)}])[-cfg.window:]
        art_rows = [h for h in session.history if h["phase"] == "art"]
        dec = art_decisions([h["train_acc_pruned"] for h in art_rows] + [pruned],
                            [h["train_acc"] for h in art_rows] + [row["train_acc"]], cfg.window, rule)
        if dec["best_epoch"] is not None and (st.best is None or (st.best.get("art_epoch"), st.best["mean"])
                                              != (dec["best_epoch"], dec["best_mean"])):
            entry = next(e for e in st.window if e.get("art_epoch") == dec["best_epoch"])
            st.best = {**entry, "mean": dec["best_mean"]}
        st.art_epochs = k + 1
        overlap = mask.overlap(Mask.from_state_dict(st.start_mask))
        session.log({"phase": "art", "alpha": alpha, **row, "train_acc_pruned": pruned,
                     "window_mean": dec["window_means"][-1], "test_acc": session.test()["acc"],
                     "sparsity": _sparsity(weights()), "kept_overlap_with_art_start": overlap})
        maybe_snapshot(f"art_{k}")
        if dec["stop_epoch"] is not None:
            st.stop = {"art_epochs": k + 1, "alpha": alpha, "best_epoch": st.best["epoch"],
                          "best_window_mean": st.best["mean"], "dense_train_acc": row["train_acc"]}
            maybe_snapshot("art_stop")
            st.phase, st.window = "finetune", []
            model.load_state_dict(st.best["model"])
            opt = _sgd(model, cfg)
            Mask.from_state_dict(st.best["mask"]).attach(model, opt)
        elif cfg.art_max_epochs is not None and st.art_epochs >= cfg.art_max_epochs:
            st.phase = "art_cap_reached"
        save()

    if st.phase == "art_cap_reached":
        return {"status": "art_cap_reached", "final": {"art_epochs": st.art_epochs,
                                                       "alpha_last":
                                                       cfg.lambda_init * cfg.eta ** (st.art_epochs - 1),
                                                       "best_window_mean": (st.best or {}).get("mean")}}

    start = len(session.history) - cfg.warmup_epochs - st.art_epochs
    for f in range(start, cfg.finetune_epochs):
        for group in opt.param_groups:
            group["lr"] = _finetune_lr(cfg, f)
        row = session.train_epoch(opt)
        session.log({"phase": "finetune", "lr": opt.param_groups[0]["lr"], **row,
                     "test_acc": session.test()["acc"], "sparsity": _sparsity(weights())})
        save()
    maybe_snapshot("final")
    ft = [h for h in session.history if h["phase"] == "finetune"]
    best = max(ft, key=lambda h: h["test_acc"]) if ft else None
    final = {
        "test_acc_final": ft[-1]["test_acc"] if ft else None,
        "test_acc_best": best["test_acc"] if best else None, "test_acc_best_epoch": best["epoch"] if best else None,
        "art_epochs": st.stop["art_epochs"], "alpha_at_stop": st.stop["alpha"],
        "stop_epoch": st.stop["best_epoch"], "best_window_mean": st.stop["best_window_mean"],
        "dense_train_acc_at_stop": st.stop["dense_train_acc"],
        "total_epochs": len(session.history), "sparsity": _sparsity(weights()),
        "kept_overlap_with_art_start": (Mask.from_state_dict(st.best["mask"]).overlap(
            Mask.from_state_dict(st.start_mask)) if st.best is not None else None),
    }
    return {"status": "finished", "final": final,
            "layers": layer_stats(model, tuple(session.data.train_x.shape[1:]))}


def _augmented_copy(session: Session, seed: int, art_epoch: int) -> torch.Tensor:
    """The training images augmented as the original's training loader would, from a generator of their own
    (seeded by the run's seed and the ART epoch), so the training stream's generator is not advanced."""
    x = session.data.train_x
    g = torch.Generator(device=x.device).manual_seed(seed * 1_000_003 + art_epoch + 1)
    return torch.cat([session.augment(x[i:i + 4096], g) for i in range(0, len(x), 4096)])


@torch.no_grad()
def _pruned_state(model, mask: Mask) -> dict:
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for name, keep in mask.keep.items():
        state[name].mul_(keep.to(state[name].dtype))
    return state


@torch.no_grad()
def _sparsity(tensors) -> float:
    total = sum(t.numel() for t in tensors.values())
    return 1.0 - sum(int((t != 0).sum()) for t in tensors.values()) / total
