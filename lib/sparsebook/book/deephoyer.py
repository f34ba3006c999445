"""The DeepHoyer chapters' tables and figures: the reproduction report's tables beside ours, layer tables,
weight distributions."""
from __future__ import annotations


import numpy as np
import pandas as pd

from ..experiments.grid import MODEL_LABELS, REGULARIZER_LABELS
from ..experiments.reference import lookup
from .convergence import levelled_label
from .tables import PALETTE, RULE_LABELS, STATUS_LABELS, _finished, _group, figure, mean_std, pm, seeds_label

__all__ = ["deephoyer_table", "fashion_table", "moving_rows", "layer_table", "weight_distribution_figure",
           "survivors", "weights_answer", "largest_gaps"]

_REPORT_RULES = {"threshold": "threshold", "std_ratio": "std-ratio"}

_TABLE_NUMBER = {("lenet_300_100", "mnist"): 1, ("lenet5", "mnist"): 2}


def _ours(results, rule: str) -> dict:
    done, failed = _finished(results)
    if not done:
        status = STATUS_LABELS.get(failed[0]["status"], failed[0]["status"]) if failed else "not run"
        return {"acc (final)": status, "acc (best)": "", "pruned %": "",
                "seeds": seeds_label(results)}
    rr = [r["rules"][rule] for r in done]
    out = {"acc (final)": mean_std([x["test_acc_final"] for x in rr]),
           "acc (best)": mean_std([x["test_acc_best"] for x in rr]),
           "pruned %": mean_std([100 * x["all_pruning_ratio"] for x in rr]),
           "nonzero": mean_std([x["all_nonzero"] for x in rr], 0),
           "seeds": seeds_label(results)}
    return out


def deephoyer_table(pairs, model: str, dataset: str, profile: str) -> pd.DataFrame:
    """The report's Table 1 / 2 beside ours: accuracy and pruning ratio per row and pruning rule, and whether
    the row's runs levelled off (training and the rule's fine-tuning, :func:`.convergence.levelled_label`)."""
    table = _TABLE_NUMBER.get((model, dataset))
    records = []
    for row, results in _group(pairs).items():
        for rule in ("threshold", "std_ratio"):
            ref = dict(source="deephoyer-reproduction", model=model, dataset=dataset, method=row.regularizer,
                       pruning=_REPORT_RULES[rule], table=f"Table {table} {row.group}" if table else None)
            ours = _ours(results, rule)
            ours.pop("nonzero", None)
            # has this row's schedule levelled off, against the noise of the whole table's runs
            ours["levelled off"] = levelled_label([(row, r) for r in results], ("train", f"finetune_{rule}"), pairs)
            records.append({
                ("", "group"): row.group, ("", "regularizer"): REGULARIZER_LABELS[row.regularizer],
                ("", "pruning"): RULE_LABELS[rule],
                ("reproduction report", "acc %"): pm(lookup(**ref) if table else None),
                ("reproduction report", "pruned %"): pm(lookup(metric="pruned_pct", **ref) if table else None),
                **{(f"this book ({profile})", k): v for k, v in ours.items()},
            })
    df = pd.DataFrame.from_records(records)
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df.set_index([("", "group"), ("", "regularizer"), ("", "pruning")]).rename_axis(
        ["group", "regularizer", "pruning"])


def fashion_table(pairs_by_model: dict, profile: str) -> pd.DataFrame:
    """The report's Table 3 beside ours: accuracy and nonzero weights, per model and pruning rule, and whether
    the row's runs levelled off (every phase, against the noise of the model's runs)."""
    records = []
    for model, pairs in pairs_by_model.items():
        for row, results in _group(pairs).items():
            ref = dict(source="deephoyer-reproduction", model=model, dataset="fashion_mnist",
                       method=row.regularizer, table="Table 3")
            rec = {("", "model"): MODEL_LABELS[model], ("", "regularizer"): REGULARIZER_LABELS[row.regularizer],
                   ("reproduction report", "acc %"): pm(lookup(**ref)),
                   ("reproduction report", "nonzero"): pm(lookup(metric="nonzero_weights", **ref), None, 0)}
            for rule in ("threshold", "std_ratio"):
                ours = _ours(results, rule)
                rec[(f"ours: {RULE_LABELS[rule]}", "acc %")] = ours["acc (final)"]
                rec[(f"ours: {RULE_LABELS[rule]}", "nonzero")] = ours["nonzero"] if "nonzero" in ours else ""
            rec[("", "seeds")] = ours["seeds"]
            rec[("", "levelled off")] = levelled_label([(row, r) for r in results], None, pairs)
            records.append(rec)
    df = pd.DataFrame.from_records(records)
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df.set_index([("", "model"), ("", "regularizer")]).rename_axis(["model", "regularizer"])


def moving_rows(table: pd.DataFrame) -> str:
    """A clause for a chapter's prose from a :func:`deephoyer_table` or :func:`fashion_table`: how many rows
    with finished runs had not levelled off, and in how many of them the training still moved."""
    cells = table[[c for c in table.columns if c[-1] == "levelled off"][0]]
    read = cells[cells != "–"]
    moving = read[read.str.startswith("no")]
    if read.empty:
        return "no row has a finished run yet"
    if moving.empty:
        return f"every one of the {len(read)} rows with finished runs had levelled off"
    training = int(moving.str.contains("training").sum())
    return (f"{len(moving)} of the {len(read)} rows with finished runs had not levelled off"
            + (f", {training} of them still moving in training" if training else ""))


def layer_table(pairs, rule: str) -> pd.DataFrame:
    """Per layer (first seed of each row): weights kept, units left, and weights left after removing dead units."""
    records = []
    for row, results in _group(pairs).items():
        done, _ = _finished(results)
        if not done:
            continue
        for layer in done[0]["rules"][rule]["layers"]:
            rec = {"regularizer": REGULARIZER_LABELS[row.regularizer], "group": row.group, "layer": layer["layer"],
                   "shape": "×".join(map(str, layer["shape"])),
                   "kept %": f"{100 * (1 - layer['pruning_ratio']):.2f}",
                   "rows left": f"{layer['units_out_nonzero']}/{layer['units_out']}",
                   "cols left": f"{layer['units_in_nonzero']}/{layer['units_in']}"}
            if "params_after_removal" in layer:
                rec["alive units"] = f"{layer['units_out_alive']}/{layer['units_out']}"
                rec["params after removal"] = layer["params_after_removal"]
            records.append(rec)
    if not records:
        return pd.DataFrame({"note": ["no finished run at this profile yet"]})
    return pd.DataFrame(records).set_index(["group", "regularizer", "layer"])


def weight_distribution_figure(pairs, tag: str, title: str = ""):
    """Histograms of the nonzero weights' log10 |w| at snapshot ``tag``: small multiples, one row per
    regularizer (first seed), one column per layer, each as a share of the layer's nonzero weights on shared
    axes, with the share of the layer kept written in the panel."""
    first = {row: rs[0] for row, rs in _group(pairs).items() if rs[0]["status"] == "finished"}
    snaps = {row: s for row, r in first.items() if (s := next((x for x in r["snapshots"] if x["tag"] == tag), None))}
    if not snaps:
        fig, ax = figure(figsize=(6, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "no finished run at this profile", ha="center", va="center")
        return fig
    layers = [n for n in next(iter(snaps.values()))["layers"] if n.endswith(".weight")]
    fig, axes = figure(len(snaps), len(layers), figsize=(2.7 * len(layers) + 1.2, 0.95 * len(snaps) + 0.9),
                             sharex=True, sharey=True, squeeze=False)
    for i, (row, snap) in enumerate(snaps.items()):
        edges = np.asarray(snap["log10_edges"])
        centers = (edges[1:] + edges[:-1]) / 2
        for j, name in enumerate(layers):
            ax = axes[i][j]
            layer = snap["layers"][name]
            share = 100 * np.asarray(layer["log10_counts"], dtype=float) / max(layer["nonzero"], 1)
            ax.fill_between(centers, share, color=PALETTE[row.regularizer], alpha=0.8, lw=0)
            ax.text(0.02, 0.92, f"{100 * layer['nonzero'] / layer['numel']:.1f} % kept", transform=ax.transAxes,
                    fontsize=9, va="top")
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_title(name.removesuffix(".weight"), fontsize=9)
            if i == len(snaps) - 1:
                ax.set_xlabel("log10 |w|", fontsize=8)
        label = REGULARIZER_LABELS[row.regularizer] + (" (struct.)" if row.group == "structural" else "")
        axes[i][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.supylabel("% of the layer's nonzero weights", x=0.01, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def survivors(pairs, tag: str) -> pd.DataFrame:
    """Per regularizer (first finished seed, snapshot ``tag``): the weights kept (% of every layer's weights
    together) and the survivors' median |w|, read off the stored log10 |w| histograms (to a bin's width)."""
    records = []
    for row, results in _group(pairs).items():
        done, _ = _finished(results)
        snap = next((x for x in done[0]["snapshots"] if x["tag"] == tag), None) if done else None
        if snap is None:
            continue
        layers = [v for n, v in snap["layers"].items() if n.endswith(".weight")]
        counts = np.sum([np.asarray(v["log10_counts"], dtype=float) for v in layers], axis=0)
        edges = np.asarray(snap["log10_edges"])
        median = edges[1:][np.searchsorted(np.cumsum(counts), counts.sum() / 2)]  # the bin holding the median
        records.append({"regularizer": REGULARIZER_LABELS[row.regularizer] + (" (struct.)" if row.group ==
                                                                              "structural" else ""),
                        "kept %": 100 * sum(v["nonzero"] for v in layers) / sum(v["numel"] for v in layers),
                        "median |w|": float(10 ** median)})
    return pd.DataFrame(records, columns=["regularizer", "kept %", "median |w|"]).set_index("regularizer")


def weights_answer(pairs, tag: str) -> str:
    """The weights page's first sentence: which regularizer keeps the fewest and the most weights and whose
    survivors are largest and smallest (:func:`survivors`), with the numbers."""
    t = survivors(pairs, tag)
    none = REGULARIZER_LABELS["none"]
    base, t = t.loc[t.index == none], t.loc[t.index != none]
    if t.empty:
        return "no finished regularized run stored at this profile, so nothing is shown yet"
    fewest, most = t["kept %"].idxmin(), t["kept %"].idxmax()
    large, small = t["median |w|"].idxmax(), t["median |w|"].idxmin()
    out = (f"{fewest} keeps the fewest weights ({t['kept %'][fewest]:.1f} % of them), {most} the most "
           f"({t['kept %'][most]:.1f} %); the survivors are largest under {large} (median |w| about "
           f"{t['median |w|'][large]:.2g}) and smallest under {small} (about {t['median |w|'][small]:.2g})")
    if len(base):
        out += (f"; the unregularized network, pruned alike, keeps {base['kept %'].iloc[0]:.1f} % at a median "
                f"|w| of about {base['median |w|'].iloc[0]:.2g}")
    return out


def _number(cell) -> float | None:
    """The mean of a table cell ('89.81 ± 0.17', '4156'), or None where it holds none ('–', a status)."""
    try:
        return float(str(cell).split("±")[0].replace(",", ""))
    except ValueError:
        return None


def largest_gaps(table: pd.DataFrame, size: str) -> str:
    """The two largest gaps between a side-by-side table (:func:`deephoyer_table`, :func:`fashion_table`) and the
    report, in accuracy and in ``size`` ("pruned %" or "nonzero"), each with where it sits on the accuracy-sparsity
    trade-off and whether its runs had levelled off: what the gap can be put down to, or that it is not known.
    Of our pruning rules, each row is compared under the one whose size is nearest the report's."""
    sparser = (lambda ours, ref: ours > ref) if size == "pruned %" else (lambda ours, ref: ours < ref)
    ours_groups = [g for g in dict.fromkeys(c[0] for c in table.columns) if g.startswith(("ours", "this book"))]
    flag = next(c for c in table.columns if c[1] == "levelled off")
    rows = []
    for index, r in table.iterrows():
        ref_acc, ref_size = _number(r[("reproduction report", "acc %")]), _number(r[("reproduction report", size)])
        if ref_acc is None or ref_size is None:
            continue
        for g in ours_groups:
            acc = _number(r[(g, "acc %")] if (g, "acc %") in r else r[(g, "acc (final)")])
            ours = _number(r[(g, size)])
            if acc is not None and ours is not None:
                rows.append({"row": " / ".join(str(i) for i in (index if isinstance(index, tuple) else (index,))),
                             "rule": g, "acc": acc, "ref_acc": ref_acc, "size": ours, "ref_size": ref_size,
                             "moving": str(r[flag]).startswith("no")})
    if not rows:
        return "no row has both the report's numbers and finished runs yet"
    t = pd.DataFrame(rows)
    if len(ours_groups) > 1:  # each row under the rule nearest the report's size
        t = t.loc[(t["size"] - t.ref_size).abs().groupby(t["row"]).idxmin()]
    unit, digits = (" %", 2) if size == "pruned %" else ("", 0)
    out = []
    size_name = "the share pruned" if size == "pruned %" else "the nonzero count"
    for what, key in (("accuracy", (t.acc - t.ref_acc).abs()),
                      (size_name, (t["size"] - t.ref_size).abs() / t.ref_size.where(t.ref_size > 0, 1))):
        g = t.loc[key.idxmax()]
        lower, harder = g.acc < g.ref_acc, sparser(g["size"], g.ref_size)
        if REGULARIZER_LABELS["none"] in g["row"]:
            why = "no strength can explain a gap of the unregularized network: not known"
        elif lower == harder:
            why = ("further along the same trade-off (pruned harder, less accurate), as a stronger effective "
                   "regularization would leave it" if harder else "the other way along the same trade-off (pruned "
                   "less, more accurate), as a weaker effective regularization would leave it")
        else:
            both = "sparser and more" if harder else "denser and less"
            why = f"both {both} accurate, which no strength explains: not known"
        rule = f" ({g['rule'].removeprefix('ours: ')})" if g["rule"].startswith("ours") else ""
        out.append(f"in {what}, {g['row']}{rule}: {g.acc:.2f} against the report's {g.ref_acc:.2f} % at "
                   f"{g['size']:,.{digits}f}{unit} against {g.ref_size:,.{digits}f}{unit} {size.replace(' %', '')}, "
                   f"{why}" + ("; its runs had not levelled off, so the short schedule may be part of it"
                              if g.moving else ""))
    text = "; ".join(out) + "."
    return text[0].upper() + text[1:]
