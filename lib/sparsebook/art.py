"""Adaptive Regularized Training (ART), as in the HyperSparse code.

1. Warm-up: ``warmup_epochs`` of dense SGD (lr 0.1, momentum 0.9, weight decay
   1e-4 on every parameter, BN included).
2. ART, open-ended: each mini-batch adds alpha * R(w), alpha = lambda_init *
   eta^(epoch - warmup_epochs). After each ART epoch the model is pruned
   globally by magnitude to the target sparsity *in place for evaluation only*
   (weights swapped and restored, equivalent to the original's pruned copy) and
   evaluated in eval mode on the training data -> ``train_acc_pruned``. A
   ``window``-epoch FIFO smooths it; the best full-window mean keeps its middle
   epoch's pruned model and mask. ART stops when that best mean exceeds the
   epoch's dense running training accuracy.
3. Fine-tuning: the best pruned model with its mask, fresh SGD (lr 0.1), lr x0.1
   at 1/2 and 3/4 of ``finetune_epochs`` (80 and 120 of 160), no regularizer.

Departures from the original, on purpose: the pruned-copy evaluation runs on
the training tensors without augmentation (the original iterates its augmented
training loader); a window is only compared once it is full; ``art_max_epochs``
caps the open-ended ART phase and ends the run with status
``art_cap_reached`` (the original would run on); we report both the final
fine-tuning test accuracy and the best one (the original reports only the
best, selected on the test set).
"""
from __future__ import annotations

import torch

from . import regularizers
from .accounting import layer_stats
from .loop import Session, evaluate_masked
from .models import conv_linear_weights
from .pruning import Mask, global_threshold, prune_global_magnitude

__all__ = ["train_art"]


def _sgd(model, cfg):
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _finetune_lr(cfg, epoch: int) -> float:
    steps = sum(epoch >= m for m in (cfg.finetune_epochs // 2, (3 * cfg.finetune_epochs) // 4))
    return cfg.lr * 0.1 ** steps


def train_art(cfg, session: Session, ckpt: dict | None) -> dict:
    """Run (or resume from ``ckpt``) one ART run; returns status, final metrics and per-layer stats."""
    model = session.model
    weights = lambda: conv_linear_weights(model)  # noqa: E731 - the live tensors, re-read after loads
    reg = None if cfg.regularizer == "none" else regularizers.build(
        cfg.regularizer, **({"sparsity": cfg.sparsity} if cfg.regularizer == "hypersparse" else {}))
    opt = _sgd(model, cfg)
    st = {"phase": "warmup", "window": [], "best": None, "art_epochs": 0, "start_mask": None, "stop": None}
    if ckpt is not None:
        st.update(ckpt["trainer"])
        if st["phase"] == "finetune":  # the fine-tune optimizer is a fresh one with the mask attached
            session.model.load_state_dict(ckpt["model"])
            opt = _sgd(model, cfg)
            Mask.from_state_dict(st["best"]["mask"]).attach(model, opt)
        session.restore(ckpt, opt)
    save = lambda: session.save(opt, trainer=st)  # noqa: E731
    record = set(cfg.record_epochs)

    def maybe_snapshot(tag):
        every_art = tag.startswith("art_") and tag[4:].isdigit() and "art" in record
        if tag in record or every_art or (len(session.history) - 1) in record:
            session.snapshot(tag, weights(), reg, threshold=global_threshold(weights(), cfg.sparsity))

    while st["phase"] == "warmup" and len(session.history) < cfg.warmup_epochs:
        row = session.train_epoch(opt)
        session.log({"phase": "warmup", "alpha": 0.0, **row, "test_acc": session.test()["acc"],
                     "sparsity": _sparsity(weights())})
        if len(session.history) == cfg.warmup_epochs:
            maybe_snapshot("warmup_end")
        save()

    if st["phase"] == "warmup":
        st["phase"] = "art"
        st["start_mask"] = prune_global_magnitude(weights(), cfg.sparsity).state_dict()
        save()

    while st["phase"] == "art":
        k = st["art_epochs"]
        alpha = cfg.lambda_init * cfg.eta ** k
        row = session.train_epoch(opt, reg, alpha)
        mask = prune_global_magnitude(weights(), cfg.sparsity)
        pruned = evaluate_masked(model, mask, session.data.train_x, session.data.train_y,
                                 session.test_batch_size, session.channels_last)["acc"]
        st["window"] = (st["window"] + [{"acc": pruned, "model": _pruned_state(model, mask),
                                         "mask": mask.state_dict(), "epoch": len(session.history)}])[-cfg.window:]
        window_mean = None
        if len(st["window"]) == cfg.window:
            window_mean = sum(e["acc"] for e in st["window"]) / cfg.window
            if st["best"] is None or window_mean > st["best"]["mean"]:
                st["best"] = {**st["window"][cfg.window // 2], "mean": window_mean}
        st["art_epochs"] = k + 1
        overlap = mask.overlap(Mask.from_state_dict(st["start_mask"]))
        session.log({"phase": "art", "alpha": alpha, **row, "train_acc_pruned": pruned, "window_mean": window_mean,
                     "test_acc": session.test()["acc"], "sparsity": _sparsity(weights()),
                     "kept_overlap_with_art_start": overlap})
        maybe_snapshot(f"art_{k}")
        if st["best"] is not None and st["best"]["mean"] > row["train_acc"]:
            st["stop"] = {"art_epochs": k + 1, "alpha": alpha, "best_epoch": st["best"]["epoch"],
                          "best_window_mean": st["best"]["mean"], "dense_train_acc": row["train_acc"]}
            maybe_snapshot("art_stop")
            st["phase"], st["window"] = "finetune", []
            model.load_state_dict(st["best"]["model"])
            opt = _sgd(model, cfg)
            Mask.from_state_dict(st["best"]["mask"]).attach(model, opt)
        elif st["art_epochs"] >= cfg.art_max_epochs:
            st["phase"] = "art_cap_reached"
        save()

    if st["phase"] == "art_cap_reached":
        return {"status": "art_cap_reached", "final": {"art_epochs": st["art_epochs"],
                                                       "alpha_last": cfg.lambda_init * cfg.eta ** (st["art_epochs"] - 1),
                                                       "best_window_mean": (st["best"] or {}).get("mean")}}

    mask = Mask.from_state_dict(st["best"]["mask"])
    start = len(session.history) - cfg.warmup_epochs - st["art_epochs"]
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
        "art_epochs": st["stop"]["art_epochs"], "alpha_at_stop": st["stop"]["alpha"],
        "stop_epoch": st["stop"]["best_epoch"], "best_window_mean": st["stop"]["best_window_mean"],
        "dense_train_acc_at_stop": st["stop"]["dense_train_acc"],
        "total_epochs": len(session.history), "sparsity": _sparsity(weights()),
        "kept_overlap_with_art_start": mask.overlap(Mask.from_state_dict(st["start_mask"])),
    }
    return {"status": "finished", "final": final,
            "layers": layer_stats(model, tuple(session.data.train_x.shape[1:]))}


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
