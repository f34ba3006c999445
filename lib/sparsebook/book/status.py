"""The status page: every stored run's state, and what rebuilding a part costs."""
from __future__ import annotations

import pandas as pd

from ..experiments.config import run_id
from ..experiments.costs import core_seconds
from ..experiments.grid import REGULARIZER_LABELS


__all__ = ["status_table", "rebuild_estimate", "core_seconds", "hours_for", "answer"]


def hours_for(results, runs: int, cores: int = 2) -> float | None:
    """Hours that ``runs`` more runs like the finished ``results`` take with the parallel runner on ``cores``
    cores (their mean :func:`core_seconds`); None without a finished result to measure by."""
    done = [core_seconds(r) for r in results if r.get("status") == "finished"]
    return sum(done) / len(done) * runs / cores / 3600 if done else None


def status_table(results) -> pd.DataFrame:
    """One row per stored run: what ran, where, how long, with which packages."""
    rows = []
    for r in results:
        c, e = r["config"], r["env"]
        rows.append({"profile": r["profile"], "id": r["id"], "kind": r["kind"], "model": c["model"],
                     "dataset": r.get("dataset_label", c["dataset"]),
                     "regularizer": REGULARIZER_LABELS.get(c["regularizer"], c["regularizer"]),
                     # a sparsity or a strength as it was set (0.995, 3.16e-05), not rounded to the table's 2 digits
                     "setting": f"{c.get('sparsity', c.get('decay')):g}", "seed": c["seed"], "status": r["status"],
                     "model_key": c["model"], "dataset_key": c["dataset"], "epochs_key": c.get("train_epochs", 0),
                     "variant_key": str((c.get("rules"), c.get("val_size"))),
                     "wall time (s)": round(e["wall_time_s"], 1),
                     "CPU time (s)": round(e["cpu_time_s"], 1) if "cpu_time_s" in e else None,
                     "core seconds": core_seconds(r),
                     "machine": f"{e['machine']}, {e['cpu_count']} cpus", "cores": e["cpu_count"],
                     "threads": e.get("torch_threads"), "device": e["device"], "compiled": bool(e.get("compiled")),
                     "torch": e["torch"], "torchvision": e["torchvision"],
                     "git commit": (e.get("git_commit") or "")[:8], "finished": e["finished_at"]})
    return pd.DataFrame(rows)


def rebuild_estimate(table: pd.DataFrame, profile: str, budgets: dict[str, float | None],
                     plans: dict[str, list] | None = None) -> pd.DataFrame:
    """Per kind of run (``art``, ``deephoyer``): how long rebuilding its results from an empty store
    takes, bracketed by the runs' summed wall times (an upper bound: it counts pauses and other work)
    and their CPU time over the machine's cores (a lower bound), the estimate for the parallel runner
    (the runs' :func:`core_seconds` over the cores), next to a budget in minutes.

    ``plans`` (kind -> the configs of the part's whole plan, ``sweep.plan``) adds the whole plan: its stored
    runs at their own times, each missing run at the mean time of the plan's stored runs of its model, data
    set and training length (a missing run with none such stored cannot be estimated and is counted apart)."""
    rows = []
    for kind, budget in budgets.items():
        t = table[(table.profile == profile) & (table.kind == kind)] if len(table) else table
        if not len(t):
            continue
        cpu = t["CPU time (s)"]
        lower = round((cpu / t["cores"]).sum() / 60, 1) if cpu.notna().all() else None
        seconds = t["core seconds"]  # the parallel runner keeps every core busy (core_seconds)
        parallel = round((seconds / t["cores"]).sum() / 60, 1)
        row = {"kind": kind, "runs": len(t), "upper bound (min)": round(t["wall time (s)"].sum() / 60, 1),
               "lower bound (min)": "–" if lower is None else lower, "with the parallel runner (min)": parallel}
        if plans is not None and kind in plans:
            row.update(_whole_plan(t.assign(parallel_s=seconds / t["cores"]), plans[kind]))
        whole = row.get("whole plan with the parallel runner (min)", parallel)
        unknown = row.get("planned runs not estimable")  # they only add time: over budget without them is over
        fits = "–" if budget is None else "no" if whole > budget else "–" if unknown else "yes"
        rows.append({**row, "budget (min)": budget, "within budget": fits})
    return pd.DataFrame(rows).set_index("kind") if rows else pd.DataFrame({"note": ["no stored runs yet"]})


def _whole_plan(t: pd.DataFrame, plan: list) -> dict:
    """The whole plan's time with the parallel runner: stored runs as measured, missing ones at their model
    and data set's mean (:func:`rebuild_estimate`)."""
    planned = {run_id(cfg) for cfg in plan}
    t = t[t["id"].isin(planned)]  # a stored run of another schedule says nothing about this plan's
    measured = dict(zip(t["id"], t["parallel_s"]))
    means = t.groupby(["model_key", "dataset_key", "epochs_key", "variant_key"])["parallel_s"].mean().to_dict()
    total, stored, unknown = 0.0, 0, 0
    for cfg in plan:
        rid, like = run_id(cfg), (cfg.model, cfg.dataset, getattr(cfg, "train_epochs", 0),  # ART: 0
                                  str((getattr(cfg, "rules", None), getattr(cfg, "val_size", None))))
        if rid in measured:
            total, stored = total + measured[rid], stored + 1
        elif like in means:
            total += means[like]
        else:
            unknown += 1
    return {"planned runs": len(plan), "stored of them": stored,
            "whole plan with the parallel runner (min)": round(total / 60, 1),
            "planned runs not estimable": unknown}


def answer(table: pd.DataFrame, profile: str, plans: dict[str, list]) -> str:
    """The status page's first sentence: the runs stored at ``profile``, how many finished, and per part
    (name -> its planned configs) how many of its planned runs are stored."""
    t = table[table.profile == profile] if len(table) else table
    if not len(t):
        return f"no run is stored at the {profile} profile yet"
    stored = set(t["id"])
    planned = {part: {run_id(c) for c in plan} for part, plan in plans.items()}
    parts = [f"{part}: {len(ids & stored)} of {len(ids)} planned runs" for part, ids in planned.items()]
    unfinished = int((t.status != "finished").sum())
    return (f"{len(t)} runs are stored at the {profile} profile, {len(t) - unfinished} of them finished"
            + (f" ({unfinished} stopped short: the run table says how)" if unfinished else "")
            + "; " + "; ".join(parts))
