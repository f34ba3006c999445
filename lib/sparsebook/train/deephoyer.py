"""DeepHoyer's protocol: regularized training, then each pruning rule, then masked fine-tuning.

One regularized training (Adam lr 1e-3, batch 100; loss = cross-entropy +
decay * R, every batch; Adam weight decay 1e-4 for the structural scripts,
none for the element-wise ones) feeds both pruning rules:

* ``threshold``: every tensor, biases included, |p| < 1e-3 -> 0; fine-tune
  100 epochs with Adam lr 1e-4, no weight decay.
* ``std_ratio``: per tensor, |p| < r * std(p) -> 0; fine-tune 50 epochs with
  Adam lr 1e-3, weight decay 1e-4.

Fine-tuning freezes every zero weight (the original zeroes their gradients; we
also mask weights and Adam's moments after each step so weight decay cannot
revive them). The original keeps the best test-accuracy checkpoint of the std
fine-tune; we report the final and the best test accuracy, labelled.
Counting covers all parameters, biases included: pruning ratio =
(total - nonzero) / total.

Each fine-tuning draws its batches from a generator seeded afresh from the
run's seed and the rule (:func:`finetune_seed`), so a rule's fine-tuning
depends only on the trained network and its own settings: not on how long the
other rule fine-tuned. Runs that differ only in what they read after training
(:data:`AFTER_TRAINING`) therefore share the training, and the runner stores
the trained state once for them (the original draws on from the training's
stream; which batches a fine-tuning sees is not part of its protocol).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .. import regularizers
from ..pruning.accounting import layer_stats, model_counts, totals
from .loop import Session, TrainerState
from ..pruning import Mask, prune

__all__ = ["train_deephoyer", "RULES", "AFTER_TRAINING", "finetune_seed", "active_rules"]

RULES = ("threshold", "std_ratio")

#: settings a DeepHoyer run reads only after training: runs differing only in these share the trained network
AFTER_TRAINING = ("threshold", "threshold_finetune_epochs", "threshold_finetune_lr", "std_ratio",
                  "std_finetune_epochs", "std_finetune_lr", "std_finetune_weight_decay", "rules")


def active_rules(cfg) -> tuple[str, ...]:
    """The pruning rules a run fine-tunes, in :data:`RULES` order (``cfg.rules``; None: both)."""
    return tuple(r for r in RULES if cfg.rules is None or r in cfg.rules)


def finetune_seed(seed: int, rule: str) -> int:
    """The seed of a rule's fine-tuning batches: distinct per run seed and rule, and from the training's."""
    return 1_000_003 * (seed + 1) + RULES.index(rule)


def build_regularizer(cfg):
    if cfg.regularizer == "none":
        return None
    params = {"a": cfg.tl1_a} if cfg.regularizer == "transformed_l1" else {}
    if cfg.regularizer == "l1":
        params["params"] = "all"  # DeepHoyer's L1 covers biases too
    if cfg.regularizer == "group_lasso" and cfg.group_lasso_groups is not None:
        params["grouping"] = cfg.group_lasso_groups
    return regularizers.build(cfg.regularizer, **params)


def _rule_settings(cfg, rule: str) -> tuple[float, int, float, float]:
    if rule == "threshold":
        return cfg.threshold, cfg.threshold_finetune_epochs, cfg.threshold_finetune_lr, 0.0
    return cfg.std_ratio, cfg.std_finetune_epochs, cfg.std_finetune_lr, cfg.std_finetune_weight_decay


@dataclass
class DeepHoyerState(TrainerState):
    """Where a DeepHoyer run stands, besides model, optimizer and history (what a checkpoint holds of it)."""
    phase: str = "train"                    # train, threshold, std_ratio, done
    trained: dict | None = None             # the trained weights both pruning rules start from
    mask: dict | None = None                # the current rule's mask
    results: dict = field(default_factory=dict)     # per rule: accuracies, counts, layers
    pruned_acc: dict = field(default_factory=dict)  # per rule: test accuracy right after pruning



def train_deephoyer(cfg, session: Session, ckpt: dict | None) -> dict:
    """Run (or resume from ``ckpt``) one DeepHoyer run; returns status, per-rule metrics and layer stats."""
    model = session.model
    reg = build_regularizer(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    st = DeepHoyerState()
    if ckpt is not None:
        st = DeepHoyerState.from_checkpoint(ckpt["trainer"])
        if st.phase != "train":
            model.load_state_dict(ckpt["model"])
            opt = _masked_adam(cfg, model, st.phase, Mask.from_state_dict(st.mask))
        session.restore(ckpt, opt)
    save = lambda: session.save(opt, trainer=st.checkpoint())  # noqa: E731
    named = lambda: dict(model.named_parameters())  # noqa: E731
    input_shape = tuple(session.data.train_x.shape[1:])

    rules = active_rules(cfg)
    while st.phase == "train" and len(session.history) < cfg.train_epochs:
        row = session.train_epoch(opt, reg, cfg.decay)
        session.log({"phase": "train", **row, **session.monitor(), "nonzero": model_counts(model)["nonzero"]})
        if len(session.history) - 1 in cfg.record_epochs:
            session.snapshot(f"train_{len(session.history) - 1}", named(), reg)
        save()
    if st.phase == "train":  # training is over: the runs that differ only in pruning and fine-tuning share it
        session.share("trained", opt, trainer=st.checkpoint(), snapshots=True)
        st.trained = {k: v.detach().clone() for k, v in model.state_dict().items()}
        session.snapshot("trained", named(), reg)
        st.phase = rules[0] if rules else "done"
        if rules:
            opt = _start_finetune(cfg, model, st, session)
        save()

    watched = "val_acc" if session.held_out else "test_acc"
    while st.phase in RULES:
        rule = st.phase
        value, epochs, _, _ = _rule_settings(cfg, rule)
        done = sum(1 for h in session.history if h["phase"] == f"finetune_{rule}")
        for _ in range(done, epochs):
            row = session.train_epoch(opt)
            session.log({"phase": f"finetune_{rule}", **row, **session.monitor(),
                         "nonzero": model_counts(model)["nonzero"]})
            save()
        ft = [h for h in session.history if h["phase"] == f"finetune_{rule}"]
        rows = layer_stats(model, input_shape)
        st.results[rule] = {"value": value, **_accuracies(session, ft, st.pruned_acc.get(rule), watched),
                            **{f"all_{k}": v for k, v in model_counts(model).items()}, "totals": totals(rows),
                            "layers": rows}
        session.snapshot(f"pruned_{rule}", named())
        nxt = rules.index(rule) + 1
        st.phase = rules[nxt] if nxt < len(rules) else "done"
        if st.phase != "done":
            opt = _start_finetune(cfg, model, st, session)
        save()

    trained_acc = next(h[watched] for h in reversed(session.history) if h["phase"] == "train") \
        if cfg.train_epochs else None
    return {"status": "finished", "final": {f"trained_{watched}": trained_acc, **{
        f"{rule}_{k}": v for rule, r in st.results.items() for k, v in r.items()
        if k not in ("layers", "totals")}}, "rules": st.results, "trained_state": st.trained}


def _accuracies(session: Session, ft: list[dict], before: float | None, watched: str) -> dict:
    """A rule's accuracies after fine-tuning. Without a validation split: the final and the best test accuracy
    of the epochs, and the original's best (``prun_tune_V.py`` tests at the start of each epoch, so the pruned
    model before fine-tuning and after every epoch but the last compete). With one: the same on the validation
    split, and the test set read once, for the final model."""
    best = max(ft, key=lambda h: h[watched]) if ft else None
    original = [before] + [h[watched] for h in ft[:-1]] if before is not None else []
    out = {f"{watched}_final": ft[-1][watched] if ft else session.monitor()[watched],
           f"{watched}_best": best[watched] if best else None, f"{watched}_best_epoch": best["epoch"] if best else None,
           f"{watched}_pruned": before, f"{watched}_best_at_epoch_start": max(original) if original else None}
    if session.held_out:
        out["test_acc_final"] = session.test()["acc"]  # the one read of the test set
    return out


def _start_finetune(cfg, model, st: dict, session: Session):
    """Load the trained model, prune it by the current phase's rule, record the mask, return masked Adam."""
    model.load_state_dict(st.trained)
    value = _rule_settings(cfg, st.phase)[0]
    named = dict(model.named_parameters())
    mask = prune(st.phase, named, value)
    # freeze every zero weight, pruned now or already zero (the original masks grads where w == 0)
    mask = Mask({n: keep & (named[n].detach() != 0) for n, keep in mask.keep.items()})
    st.mask = mask.state_dict()
    session.generator.manual_seed(finetune_seed(cfg.seed, st.phase))
    opt = _masked_adam(cfg, model, st.phase, mask)
    st.pruned_acc[st.phase] = next(iter(session.monitor().values()))  # before any fine-tuning
    return opt


def _masked_adam(cfg, model, rule: str, mask: Mask):
    _, _, lr, wd = _rule_settings(cfg, rule)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    mask.attach(model, opt)
    return opt
