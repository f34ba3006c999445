"""Tables and figures for the chapters, computed from the results store.

Every measured number on a page comes from a stored run result passed in here;
published numbers come from :mod:`sparsebook.reference`, labelled with their
source. A run that did not finish is shown by its status, never as a number.
"""
from __future__ import annotations

import math
import statistics

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import runs
from .experiments import MODEL_LABELS, REGULARIZER_LABELS
from .profiles import departures
from .reference import lookup

__all__ = ["train_or_load", "table", "mean_std", "deephoyer_table", "fashion_table", "departures_table",
           "layer_table", "weight_distribution_figure", "status_table", "deephoyer_claims"]

RULE_LABELS = {"threshold": "fixed threshold", "std_ratio": "std ratio"}
#: one colour per regularizer across the book
PALETTE = dict(zip(["none", "l1", "l2", "hoyer", "hoyer_square", "transformed_l1", "group_lasso",
                    "group_hoyer_square", "hypersparse"], sns.color_palette("tab10", 9)))
# an explicit white background: the theme's dark mode would otherwise invert transparent figures
plt.rcParams.update({"figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white"})
_REPORT_RULES = {"threshold": "threshold", "std_ratio": "std-ratio"}
_TABLE_NUMBER = {("lenet_300_100", "mnist"): 1, ("lenet5", "mnist"): 2}
STATUS_LABELS = {"art_cap_reached": "ART cap reached", "failed_nonfinite": "failed (non-finite loss)",
                 "not_run": "not run at this profile"}


def train_or_load(pairs, *, profile: str, results_dir, device="cpu", data_root=None,
                  train: bool | None = None, compile: bool = False, workers: int | None = None) -> list[tuple]:
    """(row, result) for each (row, config): stored results are read, missing ones trained.

    ``train=None`` trains missing runs except at the ``cpu`` profile, whose results are
    committed and produced by ``python -m sparsebook.sweep``: a book build never starts
    hours of CPU training; a missing run is shown as "not run at this profile".
    ``workers`` > 1 trains the missing runs in parallel processes (:mod:`sparsebook.executor`).
    """
    for _, cfg in pairs:  # every setting is checked before the first run trains
        runs.validate(cfg)
    runs.resolve_device(device)
    runs.check_data_root(data_root)
    if train is None:
        train = profile != "cpu"
    if train and workers and workers > 1:
        from .executor import partition_plan, run_local
        todo = partition_plan([cfg for _, cfg in pairs], profile, results_dir)[0]
        run_local(todo, profile=profile, results_dir=results_dir, workers=min(workers, max(len(todo), 1)),
                  device=str(device), data_root=data_root, compile=compile, progress=False)
    out = []
    for row, cfg in pairs:
        result = runs.stored(cfg, profile, results_dir)
        if result is None and train:
            result = runs.run(cfg, profile=profile, results_dir=results_dir, device=device, data_root=data_root,
                              progress=False, compile=compile)
        out.append((row, result or {"status": "not_run", "config": runs.settings(cfg), "profile": profile}))
    return out


_TABLES = [0]  # tables shown so far in this kernel: one notebook, one page, numbered from 1


def table(df: pd.DataFrame, caption: str, note: str = ""):
    """A table as the book shows it: numbered per page ("Table 3."), captioned, a missing value as "–"
    (``note`` may say why), floats to two decimals."""
    _TABLES[0] += 1
    text = f"Table {_TABLES[0]}. {caption}" + (f" {note}" if note else "")
    return (df.style.set_caption(text).format(precision=2, na_rep="–")
            .set_table_styles([{"selector": "caption", "props": "caption-side: top; text-align: left; "
                                                                 "font-weight: normal; padding-bottom: 0.4em;"}]))


def mean_std(values, digits: int = 2) -> str:
    """'mean ± std (n)' over seeds; a single run is shown as its value."""
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _fmt(value, digits=2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _finished(results):
    failed = [r for r in results if r["status"] != "finished"]
    return [r for r in results if r["status"] == "finished"], failed


def _ours(results, rule: str) -> dict:
    done, failed = _finished(results)
    if not done:
        status = STATUS_LABELS.get(failed[0]["status"], failed[0]["status"]) if failed else "not run"
        return {"acc (final)": status, "acc (best)": "", "pruned %": "",
                "seeds": sum(r["status"] != "not_run" for r in results)}
    rr = [r["rules"][rule] for r in done]
    out = {"acc (final)": mean_std([x["test_acc_final"] for x in rr]),
           "acc (best)": mean_std([x["test_acc_best"] for x in rr]),
           "pruned %": mean_std([100 * x["all_pruning_ratio"] for x in rr]),
           "nonzero": mean_std([x["all_nonzero"] for x in rr], 0),
           "seeds": len(done)}
    if failed:
        out["seeds"] = f"{len(done)} (+{len(failed)} failed)"
    return out


def _group(pairs):
    groups: dict = {}
    for row, result in pairs:
        groups.setdefault(row, []).append(result)
    return groups


def deephoyer_table(pairs, model: str, dataset: str, profile: str) -> pd.DataFrame:
    """The report's Table 1 / 2 beside ours: accuracy and pruning ratio per row and pruning rule."""
    table = _TABLE_NUMBER.get((model, dataset))
    records = []
    for row, results in _group(pairs).items():
        for rule in ("threshold", "std_ratio"):
            ref = dict(source="deephoyer-reproduction", model=model, dataset=dataset, method=row.regularizer,
                       pruning=_REPORT_RULES[rule], table=f"Table {table} {row.group}" if table else None)
            ours = _ours(results, rule)
            ours.pop("nonzero", None)
            records.append({
                ("", "group"): row.group, ("", "regularizer"): REGULARIZER_LABELS[row.regularizer],
                ("", "pruning"): RULE_LABELS[rule],
                ("reproduction report", "acc %"): _fmt(lookup(**ref) if table else None),
                ("reproduction report", "pruned %"): _fmt(lookup(metric="pruned_pct", **ref) if table else None),
                **{(f"this book ({profile})", k): v for k, v in ours.items()},
            })
    df = pd.DataFrame.from_records(records)
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df.set_index([("", "group"), ("", "regularizer"), ("", "pruning")]).rename_axis(
        ["group", "regularizer", "pruning"])


def fashion_table(pairs_by_model: dict, profile: str) -> pd.DataFrame:
    """The report's Table 3 beside ours: accuracy and nonzero weights, per model and pruning rule."""
    records = []
    for model, pairs in pairs_by_model.items():
        for row, results in _group(pairs).items():
            ref = dict(source="deephoyer-reproduction", model=model, dataset="fashion_mnist",
                       method=row.regularizer, table="Table 3")
            rec = {("", "model"): MODEL_LABELS[model], ("", "regularizer"): REGULARIZER_LABELS[row.regularizer],
                   ("reproduction report", "acc %"): _fmt(lookup(**ref)),
                   ("reproduction report", "nonzero"): _fmt(lookup(metric="nonzero_weights", **ref), 0)}
            for rule in ("threshold", "std_ratio"):
                ours = _ours(results, rule)
                rec[(f"ours: {RULE_LABELS[rule]}", "acc %")] = ours["acc (final)"]
                rec[(f"ours: {RULE_LABELS[rule]}", "nonzero")] = ours["nonzero"] if "nonzero" in ours else ""
            rec[("", "seeds")] = ours["seeds"]
            records.append(rec)
    df = pd.DataFrame.from_records(records)
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df.set_index([("", "model"), ("", "regularizer")]).rename_axis(["model", "regularizer"])


def departures_table(kind: str, profile: str, model: str, paper_model: str | None = None) -> pd.DataFrame:
    """How ``profile`` (training ``model``) departs from the paper's protocol (training ``paper_model``)."""
    rows = departures(kind, profile, model, paper_model)
    if not rows:
        return pd.DataFrame({"setting": ["(none)"], "paper": ["the original protocol"], profile: ["same"]})
    return pd.DataFrame([{k: str(v) for k, v in r.items()} for r in rows]).set_index("setting")


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
    return pd.DataFrame(records).set_index(["group", "regularizer", "layer"])


def weight_distribution_figure(pairs, tag: str, title: str = ""):
    """Histograms of the nonzero weights' log10 |w| at snapshot ``tag``: small multiples, one row per
    regularizer (first seed), one column per layer, each as a share of the layer's nonzero weights on shared
    axes, with the share of the layer kept written in the panel."""
    first = {row: rs[0] for row, rs in _group(pairs).items() if rs[0]["status"] == "finished"}
    snaps = {row: s for row, r in first.items() if (s := next((x for x in r["snapshots"] if x["tag"] == tag), None))}
    if not snaps:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "no finished run at this profile", ha="center", va="center")
        return fig
    layers = [n for n in next(iter(snaps.values()))["layers"] if n.endswith(".weight")]
    fig, axes = plt.subplots(len(snaps), len(layers), figsize=(2.7 * len(layers) + 1.2, 0.95 * len(snaps) + 0.9),
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
                    fontsize=7, va="top")
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


def status_table(results) -> pd.DataFrame:
    """One row per stored run: what ran, where, how long, with which packages."""
    rows = []
    for r in results:
        c, e = r["config"], r["env"]
        rows.append({"profile": r["profile"], "id": r["id"], "kind": r["kind"], "model": c["model"],
                     "dataset": r.get("dataset_label", c["dataset"]),
                     "regularizer": REGULARIZER_LABELS.get(c["regularizer"], c["regularizer"]),
                     "setting": c.get("sparsity", c.get("decay")), "seed": c["seed"], "status": r["status"],
                     "wall time (s)": round(e["wall_time_s"], 1),
                     "CPU time (s)": round(e["cpu_time_s"], 1) if "cpu_time_s" in e else None,
                     "machine": f"{e['machine']}, {e['cpu_count']} cpus", "cores": e["cpu_count"],
                     "threads": e.get("torch_threads"), "device": e["device"], "compiled": bool(e.get("compiled")),
                     "torch": e["torch"], "torchvision": e["torchvision"],
                     "git commit": (e.get("git_commit") or "")[:8], "finished": e["finished_at"]})
    return pd.DataFrame(rows)


def rebuild_estimate(table: pd.DataFrame, profile: str, budgets: dict[str, float | None]) -> pd.DataFrame:
    """Per kind of run (``art``, ``deephoyer``): how long rebuilding its results from an empty store
    takes, bracketed by the runs' summed wall times (an upper bound: it counts pauses and other work)
    and their CPU time over the machine's cores (a lower bound), the estimate for the parallel runner
    (each run's wall time times its threads, over the cores), next to a budget in minutes."""
    rows = []
    for kind, budget in budgets.items():
        t = table[(table.profile == profile) & (table.kind == kind)] if len(table) else table
        if not len(t):
            continue
        cpu = t["CPU time (s)"]
        lower = round((cpu / t["cores"]).sum() / 60, 1) if cpu.notna().all() else None
        # the parallel runner keeps every core busy with one-thread runs: a run occupies its threads' cores
        # for its wall time (runs made before it used both cores at once)
        threads = t["threads"].fillna(t["cores"]) if "threads" in t else t["cores"]
        parallel = round((t["wall time (s)"] * threads / t["cores"]).sum() / 60, 1)
        rows.append({"kind": kind, "runs": len(t), "upper bound (min)": round(t["wall time (s)"].sum() / 60, 1),
                     "lower bound (min)": "–" if lower is None else lower,
                     "with the parallel runner (min)": parallel,
                     "budget (min)": budget})
    return pd.DataFrame(rows).set_index("kind") if rows else pd.DataFrame({"note": ["no stored runs yet"]})


def _mean(results, rule: str, key: str):
    done, _ = _finished(results)
    vals = [r["rules"][rule][key] if key in r["rules"][rule] else r["rules"][rule]["totals"][key] for r in done]
    return statistics.mean(vals) if vals else None


def deephoyer_claims(pairs, tolerance: float = 0.5) -> pd.DataFrame:
    """The paper's two claims checked on these results, per pruning rule.

    * Hoyer-Square prunes more than L1 at equal accuracy (accuracy at most ``tolerance`` points lower).
    * Group-HS leaves a smaller structure than Group Lasso (fewer weights after removing dead units).
    """
    by_reg = {(row.group, row.regularizer): rs for row, rs in _group(pairs).items()}
    records = []
    comparisons = [("Hoyer-Square sparser than L1 at equal accuracy", ("element-wise", "hoyer_square"),
                    ("element-wise", "l1"), "all_pruning_ratio", 100, "pruned %"),
                   ("Group-HS smaller structure than Group Lasso", ("structural", "group_hoyer_square"),
                    ("structural", "group_lasso"), "params_after_removal", 1, "weights after removing dead units")]
    for claim, new, old, key, scale, what in comparisons:
        if new not in by_reg or old not in by_reg:
            continue
        for rule in ("threshold", "std_ratio"):
            a_new, a_old = _mean(by_reg[new], rule, "test_acc_final"), _mean(by_reg[old], rule, "test_acc_final")
            s_new, s_old = _mean(by_reg[new], rule, key), _mean(by_reg[old], rule, key)
            if None in (a_new, a_old, s_new, s_old):
                verdict = "not measured"
            else:
                sparser = s_new > s_old if key == "all_pruning_ratio" else s_new < s_old
                if sparser:
                    verdict = "holds" if a_new >= a_old - tolerance else "sparser but less accurate"
                elif a_new > a_old + tolerance:
                    verdict = "not at equal accuracy: less sparse, more accurate"
                else:
                    verdict = "does not hold"
            records.append({"claim": claim, "pruning": RULE_LABELS[rule], "measure": what,
                            "new": "–" if s_new is None else f"{s_new * scale:.2f}" if scale == 100 else f"{s_new:.0f}",
                            "baseline": "–" if s_old is None else
                            f"{s_old * scale:.2f}" if scale == 100 else f"{s_old:.0f}",
                            "acc new / baseline": f"{_fmt(a_new)} / {_fmt(a_old)}", "verdict here": verdict})
    return pd.DataFrame(records).set_index(["claim", "pruning"]) if records else pd.DataFrame()
