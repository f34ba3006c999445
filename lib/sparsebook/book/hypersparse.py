"""Tables and figures of the HyperSparse / ART chapters, computed from stored runs.

Published numbers come from :mod:`sparsebook.experiments.reference` (the authors' README and the
reproduction report); ours from the results passed in. A run that did not finish
shows its status instead of a number.
"""
from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import seaborn as sns

from ..experiments.grid import REGULARIZER_LABELS
from ..experiments.reference import lookup
from .tables import PALETTE, STATUS_LABELS, _finished, _group, figure, mean_std, pm, seeds_label

__all__ = ["art_table", "reproduction_table", "keep_ratio_table", "gradient_figure", "distribution_figure",
           "art_curves_figure", "accuracy_vs_sparsity_figure", "convergence_figure", "art_epochs_table",
           "overlap_table", "first_finished", "placeholder_figure", "shown_snapshots", "alpha_schedule"]


REFERENCE_DATASET = {"cifar10_jpeg": "cifar10", "cifar100_jpeg": "cifar100", "synthetic_cifar10": "cifar10",
                     "synthetic_cifar100": "cifar100"}


def _finished_runs(results):
    return _finished(results)[0]


def _status(results) -> str:
    statuses = sorted({r["status"] for r in results if r["status"] != "finished"})
    return ", ".join(STATUS_LABELS.get(s, s) for s in statuses)


def art_table(pairs, model: str, dataset: str, profile: str) -> pd.DataFrame:
    """Authors' README numbers beside ours, per regularizer and sparsity (the JPEG copy of
    CIFAR-10 is compared with the authors' CIFAR-10 numbers; the chapter labels it)."""
    dataset = REFERENCE_DATASET.get(dataset, dataset)
    records = []
    for row, results in _group(pairs).items():
        done = _finished_runs(results)
        ref = dict(model=model, dataset=dataset, method=row.regularizer, sparsity=row.sparsity)
        smac, smac_std = lookup("hypersparse-readme-smac", **ref), _smac_std(ref)
        f = [r["final"] for r in done]
        rec = {("", "regularizer"): REGULARIZER_LABELS[row.regularizer],
               ("", "sparsity %"): f"{100 * row.sparsity:g}",
               ("authors (README)", "acc %"): pm(lookup("hypersparse-readme", **ref)),
               ("authors (README)", "SMAC-tuned acc %, unpublished"): "–" if smac is None else
               f"{smac:.2f}" + (f" ± {smac_std}" if smac_std else ""),
               (f"this book ({profile})", "acc % (final)"): mean_std([x["test_acc_final"] for x in f]),
               (f"this book ({profile})", "acc % (best)"): mean_std([x["test_acc_best"] for x in f]),
               (f"this book ({profile})", "ART epochs"): mean_std([x["art_epochs"] for x in f], 1),
               (f"this book ({profile})", "alpha at stop"): (f"{statistics.mean(x['alpha_at_stop'] for x in f):.2e}"
                                                            if f else "–"),
               (f"this book ({profile})", "seeds"): seeds_label(results)}
        records.append(rec)
    df = pd.DataFrame.from_records(records)
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df.set_index([("", "regularizer"), ("", "sparsity %")]).rename_axis(["regularizer", "sparsity %"])


def _smac_std(ref) -> str:
    note = lookup("hypersparse-readme-smac", field="note", **ref)
    return note.removeprefix("std ").strip() if note else ""


def reproduction_table(model: str, dataset: str) -> pd.DataFrame:
    """The reproduction report's numbers for this model and data set (it does not state the sparsity)."""
    from ..experiments.reference import reported
    df = reported()
    dataset = REFERENCE_DATASET.get(dataset, dataset)
    sel = df[(df.source == "hypersparse-reproduction") & (df.model == model) & (df.dataset == dataset)]
    if sel.empty:
        return pd.DataFrame({"note": ["the reproduction report has no numbers for this model and data set"]})
    out = sel.assign(regularizer=sel.method.map(REGULARIZER_LABELS)).pivot_table(
        index="regularizer", columns="table", values="value", aggfunc="first")
    return out.rename_axis(columns="reproduction report table (test acc %)")


def keep_ratio_table(pairs) -> pd.DataFrame:
    """Per-layer kept fraction (%) of each finished run (first seed), one column per regularizer and sparsity."""
    cols = {}
    for row, results in _group(pairs).items():
        done = _finished_runs(results)
        if done:
            cols[(REGULARIZER_LABELS[row.regularizer], f"{100 * row.sparsity:g} %")] = {
                layer["layer"]: 100 * layer["nonzero_weights"] / layer["weights"] for layer in done[0]["layers"]}
    if not cols:
        return pd.DataFrame({"note": ["no finished run"]})
    return pd.DataFrame(cols).round(2).rename_axis("layer")


def placeholder_figure(text: str):
    """A small figure that says why there is nothing to plot (a run not made at this profile)."""
    fig, ax = figure(figsize=(6, 1.2))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.axis("off")
    return fig


def first_finished(pairs, regularizer: str, sparsity: float | None = None):
    """(row, result) of the first run of ``regularizer`` (at ``sparsity``) that stored snapshots, else (None, None)."""
    for row, results in _group(pairs).items():
        if row.regularizer == regularizer and (sparsity is None or row.sparsity == sparsity):
            done = _finished_runs(results) or [r for r in results if r.get("snapshots")]
            if done:
                return row, done[0]
    return None, None


def gradient_figure(pairs, sparsity: float, tags=("warmup_end", "art_0", "art_stop")):
    """|dR/dw| against |w| at several snapshots, one panel per regularizer, pruning threshold marked."""
    regs = [r for r in ("hypersparse", "l1", "l2") if first_finished(pairs, r, sparsity)[1] is not None]
    if not regs:
        return placeholder_figure(f"no stored run at {100 * sparsity:g} % sparsity at this profile")
    fig, axes = figure(1, max(len(regs), 1), figsize=(4 * max(len(regs), 1), 3.2), squeeze=False)
    for ax, reg in zip(axes[0], regs):
        _, result = first_finished(pairs, reg, sparsity)
        snaps = {s["tag"]: s for s in result["snapshots"] if "grad_vs_w" in s}
        chosen = [t for t in tags if t in snaps] or list(snaps)[:3]
        for tag, color in zip(chosen, sns.color_palette("viridis", len(chosen))):
            s = snaps[tag]
            w, g = np.asarray(s["grad_vs_w"]["abs_w"]), np.asarray(s["grad_vs_w"]["abs_grad"])
            keep = (w > 0) & (g > 0)
            ax.scatter(w[keep], g[keep], s=3, alpha=0.5, color=color, label=f"{tag} (epoch {s['epoch']})")
            if "threshold" in s:
                ax.axvline(s["threshold"], color=color, ls="--", lw=1)
        ax.set(xscale="log", yscale="log", xlabel="|w|", title=REGULARIZER_LABELS[reg])
        ax.legend(fontsize=9, markerscale=3)
    axes[0][0].set_ylabel("|dR/dw|")
    fig.tight_layout()
    return fig


def shown_snapshots(snapshots: list[dict], max_art: int = 4) -> list[dict]:
    """The snapshots the figures show: the end of the warm-up, every ``len(art) // max_art``-th ART epoch from
    the first, the stop and the end of fine-tuning (the gradient figure's warm-up end, first ART epoch and stop
    among them). Keeping only these leaves every figure unchanged (``tools/lean_results.py``)."""
    art = [s for s in snapshots if s["tag"].startswith("art_") and s["tag"][4:].isdigit()]
    step = max(1, len(art) // max_art)
    return [s for s in snapshots if s["tag"] == "warmup_end"] + art[::step] + \
        [s for s in snapshots if s["tag"] in ("art_stop", "final")]


def distribution_figure(result, max_art: int = 4):
    """log10 |w| over all covered weights through warm-up, ART and fine-tuning."""
    chosen = shown_snapshots(result["snapshots"], max_art)
    fig, ax = figure(figsize=(7, 3.4))
    for s, color in zip(chosen, sns.color_palette("viridis", len(chosen))):
        edges = np.asarray(s["log10_edges"])
        counts = sum(np.asarray(layer["log10_counts"], dtype=float) for layer in s["layers"].values())
        ax.plot((edges[1:] + edges[:-1]) / 2, counts, color=color, label=f"{s['tag']} (epoch {s['epoch']})")
        if "threshold" in s and s["threshold"] > 0:
            ax.axvline(np.log10(s["threshold"]), color=color, ls=":", lw=1)
    ax.set(xlabel="log10 |w| (nonzero weights)", ylabel="weights", yscale="log")
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig


def art_curves_figure(result):
    """Dense running training accuracy vs the pruned copy's, per ART epoch, with the stop marked."""
    hist = result["history"]
    art = [h for h in hist if h["phase"] == "art"]
    fig, (ax, ax2) = figure(1, 2, figsize=(9, 3.2))
    ep = [h["epoch"] for h in art]
    ax.plot(ep, [h["train_acc"] for h in art], "o-", label="dense (running, train)")
    ax.plot(ep, [h["train_acc_pruned"] for h in art], "s-", label="pruned copy (train)")
    ax.plot(ep, [h["window_mean"] for h in art], "--", label="pruned, 3-epoch mean")
    if result["status"] == "finished":
        f = result["final"]
        ax.axvline(art[f["art_epochs"] - 1]["epoch"], color="k", lw=1, ls=":", label="stop")
        ax.axvline(f["stop_epoch"], color="grey", lw=1, ls="--", label="model kept")
    ax.set(xlabel="epoch", ylabel="accuracy %", title="ART: dense vs pruned")
    ax.legend(fontsize=9)
    ax2.plot(ep, [100 * h["kept_overlap_with_art_start"] for h in art], "o-")
    ax2.set(xlabel="epoch", ylabel="% of kept weights", title="kept weights already top-k at ART start")
    fig.tight_layout()
    return fig


def overlap_table(pairs) -> pd.DataFrame:
    """How many finally kept weights were among the largest at the start of ART."""
    records = []
    for row, results in _group(pairs).items():
        done = _finished_runs(results)
        records.append({"regularizer": REGULARIZER_LABELS[row.regularizer], "sparsity %": f"{100 * row.sparsity:g}",
                        "kept weights already top-k at ART start (%)":
                            mean_std([100 * r["final"]["kept_overlap_with_art_start"] for r in done]),
                        "seeds": seeds_label(results)})
    return pd.DataFrame(records).set_index(["regularizer", "sparsity %"])


def accuracy_vs_sparsity_figure(pairs, metric: str = "test_acc_final", authors: tuple[str, str] | None = None):
    """Accuracy against sparsity with error bars over seeds, one line per regularizer; with ``authors`` =
    (the paper's model, data set), the authors' published points (their README: HyperSparse only) on the same
    axis, so that the distance between our setting and theirs is drawn, not hidden by a second scale."""
    by_reg: dict = {}
    for row, results in _group(pairs).items():
        vals = [r["final"][metric] for r in _finished_runs(results)]
        if vals:
            by_reg.setdefault(row.regularizer, []).append(
                (row.sparsity, statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0))
    if not by_reg:
        return placeholder_figure("accuracy against sparsity: no finished run at this profile")
    sps = sorted({p[0] for pts in by_reg.values() for p in pts})
    published = {}
    if authors is not None:
        model, dataset = REFERENCE_DATASET.get(authors[0], authors[0]), REFERENCE_DATASET.get(authors[1], authors[1])
        published = {sp: v for sp in sps if (v := lookup("hypersparse-readme", model=model, dataset=dataset,
                                                          method="hypersparse", sparsity=sp)) is not None}
    fig, ax = figure(figsize=(7.5, 3.6))
    for reg, pts in by_reg.items():
        pts.sort()
        ax.errorbar([sps.index(p[0]) for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o",
                    capsize=3, color=PALETTE[reg], label=f"{REGULARIZER_LABELS[reg]}, this book")
    if published:
        ax.plot([sps.index(sp) for sp in published], list(published.values()), marker="s", ls="--",
                color=PALETTE["hypersparse"], mfc="white", label=f"{REGULARIZER_LABELS['hypersparse']}, the authors "
                                                                 "(full model and data)")
    ax.set(xlabel="sparsity %", ylabel="test accuracy %")
    ax.set_xticks(range(len(sps)), [f"{100 * sp:g}" for sp in sps])
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def convergence_figure(pairs):
    """Test accuracy per epoch of every run, one panel per sparsity, coloured by regularizer: has the warm-up
    levelled off before ART, and the fine-tuning before the end? Dotted lines mark the warm-up's end."""
    groups = {row: _finished_runs(rs) for row, rs in _group(pairs).items()}
    sps = sorted({row.sparsity for row, rs in groups.items() if rs})
    if not sps:
        return placeholder_figure("accuracy per epoch: no finished run at this profile")
    fig, axes = figure(1, len(sps), figsize=(2.6 * len(sps) + 1, 3.0), sharey=True, squeeze=False)
    for j, sp in enumerate(sps):
        ax = axes[0][j]
        for row, rs in groups.items():
            if row.sparsity != sp:
                continue
            for k, r in enumerate(rs):
                acc = [h["test_acc"] for h in r["history"]]
                ax.plot(range(len(acc)), acc, color=PALETTE[row.regularizer], lw=0.8, alpha=0.8,
                        label=REGULARIZER_LABELS[row.regularizer] if k == 0 else None)
                ax.axvline(sum(h["phase"] == "warmup" for h in r["history"]) - 0.5, color="grey", ls=":", lw=0.6)
        ax.set(title=f"{100 * sp:g} %", xlabel="epoch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy %")
    axes[0][-1].legend(fontsize=9)
    fig.tight_layout()
    return fig


def art_epochs_table(pairs) -> pd.DataFrame:
    """ART epochs until the stop rule fired (the optimization-time claim), mean ± std over seeds."""
    cols: dict = {}
    for row, results in _group(pairs).items():
        done = _finished_runs(results)
        cols.setdefault(REGULARIZER_LABELS[row.regularizer], {})[f"{100 * row.sparsity:g} %"] = (
            mean_std([r["final"]["art_epochs"] for r in done], 1) if done else _status(results) or "–")
    return pd.DataFrame(cols).rename_axis("sparsity")


def alpha_schedule(pairs, paper_eta: float) -> str:
    """One sentence for a chapter: how far ART's alpha grew in the stored runs (from its initial value, by
    ``eta`` per epoch, to its value at the stop) over how many ART epochs, and how many epochs the paper's
    growth factor ``paper_eta`` would take over the same range (a faster growth buys fewer ART epochs)."""
    done = [r for _, r in pairs if r.get("status") == "finished" and r["final"].get("alpha_at_stop")]
    if not done:
        return "no finished run shows how far alpha grew"
    start = {r["config"]["lambda_init"] for r in done}
    etas = {r["config"]["eta"] for r in done}
    stops = [r["final"]["alpha_at_stop"] for r in done]
    epochs = [r["final"]["art_epochs"] for r in done]
    paper = [math.log(a / r["config"]["lambda_init"]) / math.log(paper_eta) + 1 for a, r in zip(stops, done)]
    span = "{:.3g}".format if len(start) == 1 else (lambda _: "its initial value")
    return (f"alpha grew by a factor {'/'.join(f'{e:g}' for e in sorted(etas))} per ART epoch from "
            f"{span(next(iter(start)))} to between {min(stops):.3g} and {max(stops):.3g} at the stop, over "
            f"{min(epochs)} to {max(epochs)} ART epochs ({len(done)} runs); at the paper's factor "
            f"{paper_eta:g} the same range would take {math.ceil(min(paper))} to {math.ceil(max(paper))} epochs")
