"""DeepHoyer's "sparser at equal accuracy" on fair frontiers, chosen on held-out data.

The runs are :func:`sparsebook.experiments.frontier_runs`: every regularizer at every strength, each trained
network pruned at one grid every regularizer shares. For one seed, a regularizer's frontier at a target
accuracy is its sparsest point (over strengths and the whole pruning grid) whose *validation* accuracy after
fine-tuning reaches the target; the target is that seed's unregularized network's validation accuracy (before
pruning) minus a drop. The chosen point's sparsity and its test accuracy (read once, by its run) are what the
book reports; the claims compare the chosen sparsities seed by seed (:func:`claim_values`), paired, since a
seed's runs share the dense start and the data order.
"""
from __future__ import annotations

import pandas as pd

__all__ = ["MEASURES", "DROPS", "frontier_frame", "same_start", "references", "choose", "claim_values",
           "frontier_table", "frontier_figure", "watched", "matched_pairs"]

#: what "sparser" counts: element-wise, the parameters pruned (% of all, biases included, as DeepHoyer counts);
#: structural, the weights removed once dead units go (%)
MEASURES = {"parameters pruned": "pruned", "weights removed": "removed"}
#: the target accuracies: the unregularized network's validation accuracy minus these (points)
DROPS = (0.5, 1.0, 2.0)
_COLUMNS = ["regularizer", "decay", "seed", "rule", "value", "val_acc", "test_acc", "pruned", "removed",
            "trained_val_acc", "dead_layer", "start"]


def frontier_frame(pairs) -> pd.DataFrame:
    """One row per finished frontier run (a ``FrontierRow`` and its result): its point on the grid, its
    validation and test accuracy after fine-tuning, both sparsities (%), the validation accuracy of its trained
    network before pruning, and whether pruning emptied a whole layer."""
    rows = []
    for row, r in pairs:
        if r.get("status") != "finished" or row.rule not in r.get("rules", {}):
            continue
        res = r["rules"][row.rule]
        layers = res.get("layers") or []
        rows.append({"regularizer": row.regularizer, "decay": row.decay, "seed": r["config"]["seed"],
                     "rule": row.rule, "value": row.value, "val_acc": res["val_acc_final"],
                     "test_acc": res["test_acc_final"], "pruned": 100.0 * (1 - res["all_nonzero"] / res["all_params"]),
                     "removed": 100.0 * (1 - res["totals"]["params_after_removal"] / res["all_params"]),
                     "trained_val_acc": r["final"]["trained_val_acc"],
                     "dead_layer": any(layer.get("nonzero_weights", 1) == 0 for layer in layers),
                     "start": r.get("env", {}).get("start_digest") or ""})
    return same_start(pd.DataFrame(rows, columns=_COLUMNS))


def same_start(frame: pd.DataFrame) -> pd.DataFrame:
    """The runs that pair: per seed, those whose dense start (``env.start_digest``; "" for runs made before it
    was recorded) is the one the seed's unregularized runs started from (the most common among them). A seed's
    runs pair only if they started from the same weights bit for bit; a dense start retrained on another CPU
    kind is another start, and its runs are left out (counted in ``attrs["other_start"]``) until rerun."""
    if frame.empty:
        frame.attrs["other_start"] = 0
        return frame
    none = frame[frame.regularizer == "none"]
    starts = none.groupby("seed")["start"].agg(lambda s: s.mode().iloc[0]).to_dict()
    keep = frame.start == [starts.get(seed, own) for seed, own in zip(frame.seed, frame.start)]
    out = frame[keep].reset_index(drop=True)
    out.attrs["other_start"] = int((~keep).sum())
    return out


def references(frame: pd.DataFrame) -> dict[int, float]:
    """Per seed, the unregularized network's validation accuracy before pruning (what the targets hang from)."""
    none = frame[frame.regularizer == "none"]
    return none.groupby("seed")["trained_val_acc"].first().to_dict()


def choose(frame: pd.DataFrame, regularizer: str, drop: float, measure: str, rules=None) -> pd.DataFrame:
    """Per seed, the regularizer's sparsest point whose validation accuracy reaches the seed's target (ties: the
    more accurate on validation); seeds where no point reaches it are left out. ``rules``: only these pruning
    rules (None: the whole shared grid)."""
    column = MEASURES[measure]
    refs = references(frame)
    sub = frame[(frame.regularizer == regularizer) & frame.seed.isin(refs)]
    if rules is not None:
        sub = sub[sub.rule.isin(rules)]
    sub = sub[sub.val_acc >= sub.seed.map(refs) - drop]
    if sub.empty:
        return sub
    best = sub.sort_values([column, "val_acc"], ascending=False).groupby("seed").head(1)
    return best.sort_values("seed").set_index("seed")


def claim_values(frame: pd.DataFrame, claimed: str, baseline: str, drop: float, measure: str) -> dict:
    """What a claim's test reads: per seed, each side's chosen sparsity (:func:`choose`), their test accuracies,
    and whether a chosen network lost a whole layer."""
    a, b = choose(frame, claimed, drop, measure), choose(frame, baseline, drop, measure)
    column = MEASURES[measure]
    return {"claimed": a[column].to_dict(), "baseline": b[column].to_dict(),
            "claimed_acc": a["test_acc"].tolist(), "baseline_acc": b["test_acc"].tolist(),
            "claimed_dead": bool(a["dead_layer"].any()) if len(a) else False,
            "baseline_dead": bool(b["dead_layer"].any()) if len(b) else False}


def frontier_table(frame: pd.DataFrame, regularizers, measure: str, drops=DROPS) -> pd.DataFrame:
    """Per regularizer and target: the chosen points' sparsity and test accuracy (mean ± std over the seeds
    that reach the target), how many seeds did, and which grid points were chosen (strength, rule, value)."""
    from .tables import pm
    column = MEASURES[measure]
    records = []
    for reg in regularizers:
        for drop in drops:
            c = choose(frame, reg, drop, measure)
            picks = ", ".join(sorted({f"{d:.3g} / {'t' if rule == 'threshold' else 'r'} {v:g}"
                                      for d, rule, v in zip(c.decay, c.rule, c.value)})) if len(c) else "–"
            records.append({"regularizer": reg, "target": f"−{drop:g}", f"{measure} (%)":
                            pm(c[column].mean() if len(c) else None, c[column].std() if len(c) > 1 else None),
                            "test accuracy (%)": pm(c.test_acc.mean() if len(c) else None,
                                                    c.test_acc.std() if len(c) > 1 else None, 2),
                            "seeds": len(c), "chosen (strength / t threshold or r std ratio)": picks})
    return pd.DataFrame(records)


def frontier_figure(frame: pd.DataFrame, claims_=(("hoyer_square", "l1", "parameters pruned"),
                                                  ("group_hoyer_square", "group_lasso", "weights removed"))):
    """Per claim, each regularizer's chosen sparsity (mean ± std over the seeds that reach the target) against
    how far below the unregularized validation accuracy the target lies: the frontier, chosen on validation."""
    from ..experiments.grid import REGULARIZER_LABELS
    from .hypersparse import placeholder_figure
    from .tables import PALETTE, figure
    if frame.empty or not references(frame):
        return placeholder_figure("frontiers: no finished frontier run at this profile")
    fig, axes = figure(1, len(claims_), figsize=(4.6 * len(claims_), 3.4), squeeze=False)
    drops = (0.25, *DROPS, 3.0)
    for ax, (claimed, base, measure) in zip(axes[0], claims_):
        if not {claimed, base} & set(frame.regularizer):
            ax.text(0.5, 0.5, "no finished run of these regularizers yet", ha="center", va="center",
                    transform=ax.transAxes)
        for reg in (claimed, base):
            chosen = [choose(frame, reg, d, measure) for d in drops]
            means = [c[MEASURES[measure]].mean() if len(c) else float("nan") for c in chosen]
            sds = [c[MEASURES[measure]].std() if len(c) > 1 else 0.0 for c in chosen]
            ax.errorbar(drops, means, yerr=sds, marker="o", ms=4, capsize=2, color=PALETTE[reg],
                        label=REGULARIZER_LABELS[reg])
        ax.axvline(0.5, color="0.6", lw=0.8, ls="--")
        ax.set(xlabel="target: unregularized validation accuracy minus (points)", ylabel=f"{measure} (%)",
               title=f"{REGULARIZER_LABELS[claimed]} against {REGULARIZER_LABELS[base]}")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    return fig


def watched(pairs):
    """The runs with their validation accuracy under the name the convergence tables read (``test_acc``): a
    frontier run reads the test set once, so its epochs are watched on the validation split."""
    return [(row, {**r, "history": [{**h, "test_acc": h.get("val_acc", h.get("test_acc"))} for h in r["history"]]})
            if r.get("status") == "finished" else (row, r) for row, r in pairs]


def matched_pairs(pairs, drop: float = 0.5, seed: int = 0) -> list:
    """The runs the weights page compares at matched accuracy: for one seed, each regularizer's frontier point
    at the unregularized validation accuracy minus ``drop`` (:func:`choose`; the unregularized network's own),
    as (table row, result) pairs whose chosen rule reads ``rules["matched"]`` and whose snapshot after it reads
    ``pruned_matched``, so the DeepHoyer page's figure and per-layer table take them as they are."""
    from ..experiments.grid import DeepHoyerRow
    from ..regularizers import STRUCTURAL
    frame = frontier_frame(pairs)
    by_point = {(row.regularizer, row.decay, row.rule, row.value, r["config"]["seed"]): r
                for row, r in pairs if r.get("status") == "finished"}
    out = []
    for reg in dict.fromkeys(("none", *frame.regularizer)):  # the unregularized network first, each once
        structural = reg in STRUCTURAL
        chosen = choose(frame, reg, drop, "weights removed" if structural else "parameters pruned")
        if seed not in chosen.index:
            continue
        c = chosen.loc[seed]
        r = by_point[(reg, c.decay, c.rule, c.value, seed)]
        snaps = [{**s, "tag": "pruned_matched"} for s in r["snapshots"] if s["tag"] == f"pruned_{c.rule}"]
        out.append((DeepHoyerRow("structural" if structural else "element-wise", reg),
                    {**r, "rules": {"matched": r["rules"][c.rule]}, "snapshots": snaps}))
    return out
