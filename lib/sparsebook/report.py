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

__all__ = ["train_or_load", "mean_std", "deephoyer_table", "fashion_table", "departures_table",
           "layer_table", "weight_distribution_figure", "status_table", "deephoyer_claims"]

RULE_LABELS = {"threshold": "fixed threshold", "std_ratio": "std ratio"}
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
    """Per-layer histograms of the nonzero weights at snapshot ``tag``, one panel per layer, one line per row."""
    first = {row: rs[0] for row, rs in _group(pairs).items() if rs[0]["status"] == "finished"}
    layers = [n for n in next(iter(first.values()))["snapshots"][0]["layers"] if n.endswith(".weight")]
    fig, axes = plt.subplots(1, len(layers), figsize=(3.2 * len(layers), 2.8), squeeze=False)
    palette = sns.color_palette("tab10", len(first))
    for (row, result), color in zip(first.items(), palette):
        snap = next((s for s in result["snapshots"] if s["tag"] == tag), None)
        if snap is None:
            continue
        edges = np.asarray(snap["log10_edges"])
        centers = (edges[1:] + edges[:-1]) / 2
        for ax, name in zip(axes[0], layers):
            counts = np.asarray(snap["layers"][name]["log10_counts"], dtype=float)
            ax.plot(centers, counts, color=color, lw=1.2,
                    label=f"{REGULARIZER_LABELS[row.regularizer]} ({row.group[:6]})")
            ax.set_title(name.removesuffix(".weight"))
            ax.set_xlabel("log10 |w| (nonzero weights)")
    axes[0][0].set_ylabel("weights")
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def status_table(results) -> pd.DataFrame:
    """One row per stored run: what ran, where, how long, with which packages."""
    rows = []
    for r in results:
        c, e = r["config"], r["env"]
        rows.append({"profile": r["profile"], "id": r["id"], "kind": r["kind"], "model": c["model"],
                     "dataset": r.get("dataset_label", c["dataset"]), "regularizer": c["regularizer"],
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
    and their CPU time over the machine's cores (a lower bound), next to a budget in minutes."""
    rows = []
    for kind, budget in budgets.items():
        t = table[(table.profile == profile) & (table.kind == kind)] if len(table) else table
        if not len(t):
            continue
        cpu = t["CPU time (s)"]
        lower = round((cpu / t["cores"]).sum() / 60, 1) if cpu.notna().all() else None
        rows.append({"kind": kind, "runs": len(t), "upper bound (min)": round(t["wall time (s)"].sum() / 60, 1),
                     "lower bound (min)": lower, "budget (min)": budget})
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
