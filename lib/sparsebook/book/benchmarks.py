"""The benchmark page's tables, computed from ``bench/run.py``'s JSON (``results/bench/cpu.json``)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import models
from ..data import DATASETS
from ..experiments import grid
from ..experiments.profiles import make_config
from ..pruning.accounting import dense_macs

__all__ = ["load_bench", "bench_table", "goals_table", "machine_line", "step_cost_ratio",
           "gpu_table", "gpu_line", "gpu_images_per_s", "paper_cost_table", "goals_answer"]

#: issue #6's goals: (benchmark, which rows, how to read them, the goal, the threshold)
GOALS = [
    ("train step", lambda c: "," not in c, "ratio", "our trainer >= 1.0x a minimal loop, every model", 1.0),
    ("regularizer cost", lambda c: c.startswith("resnet32 + hypersparse"), "overhead_pct",
     "HyperSparse step <= 5 % over unregularized, ResNet-32", 5.0),
    ("regularizer cost", lambda c: c.startswith("vgg19 + hypersparse"), "overhead_pct",
     "HyperSparse step <= 10 % over unregularized, VGG-19", 10.0),
    ("hypersparse threshold", lambda c: c.startswith("vgg19"), "ratio",
     "threshold by selection >= 3x the original's full sort, VGG-19", 3.0),
    ("data pipeline", lambda c: True, "ratio", "in-memory augmentation >= 5x DataLoader + PIL", 5.0),
    ("pruned evaluation", lambda c: True, "ratio_original", "pruned evaluation >= 2x the original's", 2.0),
    ("parallel sweep", lambda c: True, "ratio", "parallel sweep >= 1.4x the one-process sweep, 2 cores", 1.4),
]


def load_bench(path) -> dict | None:
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else None


def step_cost_ratio(bench: dict, model: str, other: str) -> float | None:
    """How many times ``other``'s training throughput (images/s, our trainer) ``model``'s is; None if
    either was not measured."""
    speed = {r["case"]: r.get("images_per_s") for r in bench["rows"] if r["benchmark"] == "train step"}
    return speed[other] / speed[model] if speed.get(model) and speed.get(other) else None


def _peak_gflops(peak: dict) -> float | None:
    """The nominal fp32 peak in GFLOP/s; older records name it by vector unit."""
    return peak.get("gflops", peak.get("avx512_gflops", peak.get("avx2_gflops")))


def machine_line(bench: dict) -> str:
    """Where and when each part of the stored suite was measured (``--only`` reruns replace parts)."""
    lines = []
    for run in bench.get("runs") or [{"suites": ["all"], "env": bench["env"], "peak": bench.get("peak", {})}]:
        env, peak = run["env"], run.get("peak", {})
        gflops = _peak_gflops(peak)
        steal = env.get("cpu_steal_pct")
        lines.append(
            f"{', '.join(run['suites'])}: measured on {env['machine']} ({env['cpu_count']} cores, "
            f"{peak.get('mhz', '?')} MHz nominal, fp32 peak {gflops or float('nan'):.0f} GFLOP/s), "
            f"torch {env['torch']}, git {(env.get('git_commit') or '?')[:8]}, {env['wall_time_s']:.0f} s"
            + (f", CPU steal {steal:.0f} %" if steal is not None else ""))
    return f"size {bench['size']!r}\n" + "\n".join(lines)


def bench_table(bench: dict) -> pd.DataFrame:
    t = pd.DataFrame(bench["rows"])
    out = pd.DataFrame({"benchmark": t.benchmark, "case": t.case, "ours (ms)": (1e3 * t.ours_s).round(2),
                        "baseline": t.baseline, "baseline (ms)": (1e3 * t.baseline_s).round(2),
                        "ratio": t.ratio.round(2)})
    gflops = _peak_gflops(bench.get("peak", {}))
    if "gflops" in t and "peak_pct" not in t and gflops:
        t["peak_pct"] = 100 * t["gflops"] / gflops
    for col, label, digits in (("gflops", "GFLOP/s", 1), ("peak_pct", "% of peak", 1),
                               ("baseline_peak_pct", "baseline % of peak", 1),
                               ("compile_s", "compile (s)", 1), ("break_even_images", "break-even (images)", 0)):
        if col in t:
            out[label] = t[col].round(digits)
    return out.set_index(["benchmark", "case"]).fillna("")


def goals_table(bench: dict) -> pd.DataFrame:
    """Each goal, the measured figure (worst case over its rows) and whether it is met."""
    rows = pd.DataFrame(bench["rows"])
    records = []
    for benchmark, which, how, goal, limit in GOALS:
        sel = rows[(rows.benchmark == benchmark) & rows.case.map(which)]
        if how == "ratio_original":
            sel = sel[sel.baseline.str.contains("original")]
            how = "ratio"
        if sel.empty:
            records.append({"goal": goal, "measured (worst case)": "not measured at this size", "met": "–"})
            continue
        at = sel[how].idxmax() if how == "overhead_pct" else sel[how].idxmin()
        worst = sel[how][at]
        met = "yes" if (worst <= limit if how == "overhead_pct" else worst >= limit) else "no"
        measured = f"{worst:.1f} %" if how == "overhead_pct" else f"{worst:.2f}x"
        if "ratio_q3" in sel and pd.notna(sel.ratio_q3[at]):  # the spread of the paired ratios behind it
            measured += f" ({sel.case[at]}; paired ratios {sel.ratio_q1[at]:.2f}-{sel.ratio_q3[at]:.2f}"
            control = "control_q1" in sel and pd.notna(sel.control_q1[at])
            if control:  # the baseline timed against itself: what two equal steps read here
                measured += f"; baseline against itself {sel.control_q1[at]:.2f}-{sel.control_q3[at]:.2f}"
            measured += ")"
            ratio_limit = 1 / (1 + limit / 100) if how == "overhead_pct" else limit  # as baseline / ours
            if met == "no" and (sel.ratio_q3[at] >= ratio_limit
                                or (control and sel.ratio[at] >= sel.control_q1[at])):
                met = "within noise"
        if met == "no" and "baseline_peak_pct" in sel and pd.notna(sel.baseline_peak_pct[at]):
            need = sel.baseline_peak_pct[at] * limit  # what the goal asks of the machine, in dense FLOP/s
            best = rows.loc[rows.benchmark == "train step", "peak_pct"].max() if "peak_pct" in rows else None
            measured += f" ({sel.case[at]}; the baseline runs at {sel.baseline_peak_pct[at]:.0f} % of peak)"
            if best is not None and pd.notna(best) and need > best:
                met = (f"no: {limit:g}x would need {need:.0f} % of the peak in dense kernels; "
                       f"the best step measured here reaches {best:.0f} %")
        records.append({"goal": goal, "measured (worst case)": measured, "met": met})
    return pd.DataFrame(records).set_index("goal")


def goals_answer(goals: pd.DataFrame) -> str:
    """The benchmark page's first sentence, from :func:`goals_table`: how many goals are met, within noise or
    missed, and which are missed."""
    met = goals["met"].astype(str)
    missed = [g for g, m in met.items() if m.startswith("no")]
    return (f"{(met == 'yes').sum()} of {len(goals)} speed goals are met on this machine, "
            f"{(met == 'within noise').sum()} within the noise of its measurements"
            + (f", and {len(missed)} missed ({'; '.join(missed)})" if missed else ""))


# -- bench/gpu.py's record (results/bench/gpu.json) ---------------------------------------------------------
GPU_COLUMNS = {"step_ms": "time (ms)", "images_per_s": "images/s", "tflops": "TFLOP/s",
               "overhead_pct": "over unregularized (%)", "kthvalue_ms": "torch.kthvalue (ms)",
               "ratio": "x faster than kthvalue"}


def gpu_line(gpu: dict) -> str:
    env = gpu["env"]
    return (f"measured on {env.get('gpu', env.get('device_name', '?'))}, torch {env['torch']}, "
            f"git {(env.get('git_commit') or '?')[:8]}, {env['wall_time_s']:.0f} s; cuDNN TF32 "
            f"{'on' if env.get('cudnn_allow_tf32') else 'off'}, "
            f"matmul TF32 {'on' if env.get('matmul_allow_tf32') else 'off'}")


def gpu_table(gpu: dict) -> pd.DataFrame:
    """Each measured GPU step and threshold, as ``bench/gpu.py`` recorded them."""
    t = pd.DataFrame(gpu["rows"]).set_index(["benchmark", "case"])
    return t[[c for c in GPU_COLUMNS if c in t]].rename(columns=GPU_COLUMNS).round(2).astype(object).fillna("")


def gpu_images_per_s(gpu: dict | None, model: str, regularizer: str | None = None,
                     mode: str = "fp32") -> float | None:
    """Measured training throughput of ``model`` on the GPU (``mode`` as recorded), or None."""
    case = f"{model}, {mode}" + (f" + {regularizer}" if regularizer else "")
    for r in (gpu or {}).get("rows", []):
        if r["benchmark"] == "gpu step" and r["case"] == case:
            return r["images_per_s"]
    return None


#: ART epochs the cost estimate assumes: the reported length at 99 % sparsity on ResNet-32 (the ART stop is
#: open-ended, so a protocol's epochs are not a setting)
REPORTED_ART_EPOCHS = 65
#: training-set sizes of the papers' data sets
TRAIN_IMAGES = {"cifar10": 50_000, "cifar100": 50_000, "mnist": 60_000, "fashion_mnist": 60_000}


def paper_cost_table(gpu: dict | None, gpu_tflops: float) -> pd.DataFrame:
    """What one run of the ``paper`` profile costs, per model of the papers' tables (the grid's): dense forward
    MACs per image, epochs (ART: warm-up, :data:`REPORTED_ART_EPOCHS`, fine-tuning), PFLOP per run (a step as 3
    forward passes, 2 FLOPs per MAC), hours at ``gpu_tflops``, and hours at the GPU step ``bench/gpu.py``
    measured (ART at the HyperSparse step, warm-up and fine-tuning at the unregularized one)."""
    plan = [("art", m, grid.art_dataset(m, "paper")) for m in ("resnet32", "vgg19")] + \
        [("deephoyer", m, "mnist") for m in ("lenet5", "lenet_300_100")]
    rows = []
    for kind, name, dataset in plan:
        spec, cfg = DATASETS[dataset], make_config(kind, "paper", model=name, dataset=dataset)
        shape = (spec.in_channels, spec.image_size, spec.image_size)
        macs = dense_macs(models.build(name, num_classes=spec.num_classes, in_channels=spec.in_channels,
                                       image_size=spec.image_size), shape)
        n = TRAIN_IMAGES[dataset]
        if kind == "art":
            dense_epochs = cfg.warmup_epochs + cfg.finetune_epochs
            epochs = dense_epochs + REPORTED_ART_EPOCHS
        else:
            dense_epochs = epochs = cfg.train_epochs + cfg.threshold_finetune_epochs + cfg.std_finetune_epochs
        flops = 3 * 2 * macs * n * epochs
        plain, hs = (gpu_images_per_s(gpu, name, r) for r in (None, "hypersparse"))
        measured = (n * dense_epochs / plain + n * REPORTED_ART_EPOCHS / hs) / 3600 if kind == "art" and plain \
            and hs else None
        rows.append({"model": grid.MODEL_LABELS[name], "data": spec.label,
                     "protocol": "ART" if kind == "art" else "DeepHoyer",
                     "forward MMACs / image": round(macs / 1e6, 2), "epochs": epochs,
                     "PFLOP per run": round(flops / 1e15, 1),
                     "hours at gpu_tflops": round(flops / (gpu_tflops * 1e12) / 3600, 2),
                     "hours at the measured GPU step": round(measured, 2) if measured else "not measured"})
    return pd.DataFrame(rows).set_index("model")
