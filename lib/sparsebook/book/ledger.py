"""Verdict tables, trade-off curves and the claims ledger, computed from stored runs at build time.

The rule behind every verdict is :mod:`sparsebook.book.claims`; this module turns its comparisons into the
book's tables and figures. Nothing here is typed in: a verdict changes when the stored runs do.
"""
from __future__ import annotations

import pandas as pd
import seaborn as sns

from .. import experiments
from ..data import DATASETS
from ..experiments import profiles, train_or_load
from ..experiments.grid import REGULARIZER_LABELS, STRUCTURAL_WEIGHT_DECAY
from ..regularizers import STRUCTURAL
from . import claims
from .chapter import art_chapter
from .hypersparse import _finished_runs, placeholder_figure
from .tables import LEVELLED, PALETTE, RULE_LABELS, STILL_MOVING, _group, figure, pm

__all__ = ["PALETTE", "curve_figure", "training_figure", "matched_table", "convergence_table", "CONVERGENCE_CAPTION",
           "convergence_summary", "levelled", "held_back", "ART_PHASES", "STILL_MOVING", "art_verdicts", "ledger",
           "schedules", "load_curves", "load_art"]

#: how far below the unregularized accuracy the curve figure shows (points); strengths below lie off the chart
BAND = 4.0
#: the claims of "sparser at equal accuracy": (claimed, baseline, structural)
CURVE_CLAIMS = [("hoyer_square", "l1", False), ("group_hoyer_square", "group_lasso", True)]



def load_curves(model: str, dataset: str, profile: str, results_dir, **kw):
    """The (row, result) pairs of a table's trade-off curves; missing runs are shown as not run."""
    return train_or_load(experiments.deephoyer_curve_runs(model, dataset, profile), profile=profile,
                         results_dir=results_dir, **kw)


def _unregularized(pairs, structural: bool):
    """The unregularized runs that set a curve claim's target accuracy (the structural ones with the weight
    decay the structural regularizers train with)."""
    wd = STRUCTURAL_WEIGHT_DECAY if structural else 0.0
    return [(row, r) for row, r in pairs if row.regularizer == "none" and r["config"]["weight_decay"] == wd]


def _top(pairs, rule: str, structural: bool) -> float | None:
    accs = [r["rules"][rule]["test_acc_final"] for _, r in _unregularized(pairs, structural)
            if r.get("status") == "finished"]
    return sum(accs) / len(accs) if accs else None


def _between(regularizer: str, strengths) -> str:
    """A curve's runs behind an estimate, for the line under a held verdict: 'L1 at 1e-04-3.16e-04'."""
    label = REGULARIZER_LABELS[regularizer]
    return label if strengths is None else f"{label} at {strengths[0]:.3g}–{strengths[1]:.3g}"


def curve_figure(pairs):
    """Accuracy against sparsity per regularizer (mean ± std over seeds, one point per strength): element-wise
    (pruned % of all parameters) and structural (% removed once dead units go), each pruning rule a panel."""
    fig, axes = figure(2, 2, figsize=(9, 6.4), sharey="row")
    fig.patch.set_facecolor("white")
    for i, structural in enumerate((False, True)):
        regs = [r for r in experiments.CURVE_GRID if (r in STRUCTURAL) == structural]
        for j, rule in enumerate(("threshold", "std_ratio")):
            ax = axes[i][j]
            ax.set_facecolor("white")
            frame = claims.curve_frame([(row, r) for row, r in pairs if row.regularizer in regs], rule, structural)
            for reg, m in claims.curve_means(frame).groupby("regularizer"):
                ax.errorbar(m.sparsity, m.acc, xerr=m.sparsity_sd.fillna(0), yerr=m.acc_sd.fillna(0), marker="o",
                            ms=4, capsize=2, color=PALETTE[reg], label=REGULARIZER_LABELS[reg])
            top = _top(pairs, rule, structural)
            if top is not None:
                ax.axhline(top, color=PALETTE["none"], lw=1, ls="--", label="no regularizer")
                for drop in (0.5, 1.0, 2.0):
                    ax.axhline(top - drop, color="0.8", lw=0.6, zorder=0)
                ax.set_ylim(top - BAND, top + 0.6)  # the band where the claims are decided
            ax.set_title(f"{'structural' if structural else 'element-wise'}, {RULE_LABELS[rule]}", fontsize=10)
            ax.set_xlabel("weights removed once dead units go (%)" if structural else "parameters pruned (%)")
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel("test accuracy after fine-tuning (%)")
            if j == 1 and ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def training_figure(pairs):
    """Has the regularized training levelled off? Test accuracy per epoch of the training phase, mean over
    seeds, one panel per regularizer a claim compares (:data:`CURVE_CLAIMS`), one line per strength (darker:
    stronger), the unregularized network's dashed; shaded: the last half, where the convergence table fits
    its line. A line still climbing at its right end is a setting whose training has not levelled off."""
    done = [(row, r) for row, r in pairs if r.get("status") == "finished"]
    regs = [reg for claim in CURVE_CLAIMS for reg in claim[:2] if any(row.regularizer == reg for row, _ in done)]
    if not regs:
        return placeholder_figure("accuracy per epoch: no finished curve run at this profile")
    fig, axes = figure(1, len(regs), figsize=(2.3 * len(regs) + 1, 4.0), sharey=True, squeeze=False)
    for ax, reg in zip(axes[0], regs):
        decays = sorted({r["config"]["decay"] for row, r in done if row.regularizer == reg})
        shades = sns.light_palette(PALETTE[reg], len(decays) + 2)[2:]
        for decay, shade in zip(decays, shades):
            _mean_training(ax, [r for row, r in done if row.regularizer == reg and r["config"]["decay"] == decay],
                           color=shade, lw=1.1, label=f"{decay:.3g}")
        top = _mean_training(ax, [r for _, r in _unregularized(done, reg in STRUCTURAL)], color=PALETTE["none"],
                             lw=1, ls="--", label="none")
        if top is not None:
            ax.set_ylim(top[-1] - 2 * BAND, top[-1] + 0.8)
            ax.axvspan(len(top) / 2, len(top), color="0.94", zorder=0)
        ax.set(title=REGULARIZER_LABELS[reg], xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend(title="strength", fontsize=6, title_fontsize=7, ncol=2, loc="upper center",
                  bbox_to_anchor=(0.5, -0.22))
    axes[0][0].set_ylabel("test accuracy while training (%)")
    fig.tight_layout()
    return fig


def _mean_training(ax, runs, **style) -> list[float] | None:
    """Plot the runs' mean test accuracy per training epoch (epochs all of them reached); the means, or None."""
    accs = [[h["test_acc"] for h in r["history"] if h["phase"] == "train"] for r in runs]
    n = min((len(a) for a in accs), default=0)
    if not n:
        return None
    means = [sum(a[e] for a in accs) / len(accs) for e in range(n)]
    ax.plot(range(1, n + 1), means, **style)
    return means


def matched_table(pairs) -> pd.DataFrame:
    """Per claim, pruning rule and target accuracy (the unregularized accuracy minus 0.5, 1 and 2 points):
    each curve's sparsity there, the effect with its spread over seeds, and the verdict."""
    records = []
    for claimed, base, structural in CURVE_CLAIMS:
        for rule in ("threshold", "std_ratio"):
            top = _top(pairs, rule, structural)
            if top is None:
                continue
            frame = claims.curve_frame(pairs, rule, structural)
            for m in claims.matched_accuracy(frame, claimed, base, top):
                c = m["comparison"]
                record = {
                    "claim": f"{REGULARIZER_LABELS[claimed]} sparser than {REGULARIZER_LABELS[base]}",
                    "pruning": RULE_LABELS[rule], "at accuracy (%)": f"{m['target']:.2f} (−{m['drop']:g})",
                    "sparsity (%): claimed / baseline": f"{pm(c.ours, None)} / {pm(c.base, None)}",
                    "effect ± spread (points)": pm(c.effect, c.spread), "seeds": f"{c.n_ours} / {c.n_base}",
                    "verdict": c.verdict}
                behind = [(_between(reg, m["strengths"][reg]),
                           [(row, r) for row, r in pairs if row.regularizer == reg
                            and r["config"]["decay"] in (m["strengths"][reg] or ())]) for reg in (claimed, base)]
                _hold(record, behind + [("no regularizer", _unregularized(pairs, structural))],
                      ("train", f"finetune_{rule}"), pairs)
                records.append(record)
    if not records:
        return pd.DataFrame({"note": ["no unregularized run is stored at this profile, so no target accuracy"]})
    return pd.DataFrame(records).set_index(["claim", "pruning", "at accuracy (%)"])


CONVERGENCE_CAPTION = ("Has the accuracy levelled off? Per phase, medians over the runs: the change of test "
                       "accuracy (points) over its last 3 epochs against the 3 before (half the phase where shorter) "
                       "and the rise of a line fitted through its last half (from its last learning-rate step on), "
                       "each against the noise: the larger of the seeds' spread and the epoch-to-epoch spread.")


#: the phases of an ART run whose accuracy should level off (ART's own is meant to move)
ART_PHASES = ("warmup", "finetune")


def levelled(pairs, phases: tuple[str, ...] | None = None, reference=None) -> bool:
    """Has every phase (``phases``: these only) of the runs levelled off by :func:`convergence_table`'s rule
    (medians over the runs, against the noise of ``reference``'s)? True where no run has finished (no verdict
    is read from them either)."""
    table = convergence_table(pairs, phases, reference)
    return "levelled off" not in table or bool((table["levelled off"] == "yes").all())


def _hold(record: dict, behind, phases: tuple[str, ...] | None, reference) -> None:
    """A verdict needs the runs behind it to have levelled off. ``behind`` holds (label, pairs) per group of
    those runs, each judged on its own (a claimed method still rising is not hidden by a flat baseline)
    against the noise of the whole table's runs (``reference``); ``record["schedule"]`` becomes "levelled
    off", or names the groups still moving and what the runs read, and then the verdict is undecided."""
    moving = [label for label, pairs in behind if not levelled(pairs, phases, reference)]
    if not moving:
        record["schedule"] = LEVELLED
        return
    read = "" if record["verdict"] == "undecided" else f" (runs read: {record['verdict']})"
    record["schedule"] = f"{STILL_MOVING}: {', '.join(moving)}{read}"
    record["verdict"] = "undecided"


def held_back(schedule: pd.Series) -> pd.Series:
    """Which verdicts (a table's ``schedule`` column) are undecided only because their runs are still moving."""
    return schedule.str.startswith(STILL_MOVING) & schedule.str.contains("(runs read: ", regex=False)


def _noise(seeds: float | None, epoch: float) -> float:
    """What a phase's change is held against: the larger of the seeds' spread (None: one seed) and the
    epoch-to-epoch spread."""
    return max(seeds or 0.0, epoch)


def convergence_table(pairs, phases: tuple[str, ...] | None = None, reference=None) -> pd.DataFrame:
    """Has the accuracy levelled off? Per phase (``phases``: these only, e.g. not ART's, where accuracy is meant
    to move), two medians over the runs: the change of test accuracy over its last k epochs against the k
    before (k = 3, or half the phase when shorter; points) and the rise of a line fitted through its last half
    (:func:`~.claims.fitted_rise`), which catches a slow trend the first misses. Both are held against the
    noise: the larger of the spread of the phase's last accuracy over seeds and its epoch-to-epoch spread over
    those 2k epochs (a constant learning rate moves the accuracy from epoch to epoch by more than seeds differ
    at one epoch). A phase has levelled off where both are within the noise.

    ``reference``: the runs whose spreads set the noise (default: ``pairs``). A verdict's few runs move by
    their own medians against the noise of their whole table, which three seeds alone would estimate poorly."""
    records = []
    done = [r for _, r in pairs if r.get("status") == "finished"]
    ref = done if reference is None else [r for _, r in reference if r.get("status") == "finished"]
    for phase in sorted({h["phase"] for r in done for h in r["history"]}):
        if phases is not None and phase not in phases:
            continue
        epochs = max(sum(h["phase"] == phase for h in r["history"]) for r in done)  # runs without it: 0
        k = min(3, epochs // 2)
        changes = [c for r in done if k and (c := claims.levelled_off(r["history"], phase, last=k)) is not None]
        if changes:
            s = pd.Series(changes)
            rise = pd.Series([claims.fitted_rise(r["history"], phase) for r in done]).dropna().median()
            seeds = _seed_spread(ref, phase)
            epoch = pd.Series([claims.epoch_spread(r["history"], phase, last=k) for r in ref]).dropna().median()
            noise = _noise(seeds, epoch)
            verdict = ("no: still moving beyond the noise" if abs(s.median()) > noise else
                       "no: a slow trend beyond the noise" if abs(rise) > noise else "yes")  # NaN rise: too short
            records.append({"phase": phase, "epochs": epochs, "runs": len(changes),
                            "median change (points)": round(s.median(), 3),
                            "largest |change| (points)": round(s.abs().max(), 3),
                            "fitted rise, last half (points)": "–" if pd.isna(rise) else round(rise, 3),
                            "seeds' spread (points)": "–" if seeds is None else round(seeds, 3),
                            "epoch-to-epoch spread (points)": round(epoch, 3), "levelled off": verdict})
    return pd.DataFrame(records).set_index("phase") if records else pd.DataFrame({"note": ["no finished run"]})


def convergence_summary(table: pd.DataFrame) -> str:
    """One clause for a chapter's prose, from a :func:`convergence_table`: which phases have not levelled off,
    each with the figure that failed and the noise it was held against."""
    if "levelled off" not in table:
        return "no finished run shows whether training levelled off"
    moving = table[table["levelled off"] != "yes"]
    if moving.empty:
        return "every phase levelled off"
    parts = []
    for phase, r in moving.iterrows():
        name = " ".join(map(str, phase)) if isinstance(phase, tuple) else phase
        seeds = r["seeds' spread (points)"]
        noise = _noise(None if seeds == "–" else seeds, r["epoch-to-epoch spread (points)"])
        slow = r["levelled off"].endswith("slow trend beyond the noise")
        what = (f"a line fitted through its last half rises {r['fitted rise, last half (points)']:+.2f}" if slow
                else f"its last epochs moved {r['median change (points)']:+.2f}")
        parts.append(f"{name} ({what} points, against a noise of {noise:.2f})")
    return "not every phase levelled off: " + "; ".join(parts)


def _seed_spread(results, phase: str) -> float | None:
    """The median, over settings run with several seeds, of the std over seeds of the phase's last accuracy."""
    by_setting: dict = {}
    for r in results:
        last = [h["test_acc"] for h in r["history"] if h["phase"] == phase]
        if last:
            key = tuple(sorted((k, str(v)) for k, v in r["config"].items() if k != "seed"))
            by_setting.setdefault(key, []).append(last[-1])
    sds = [pd.Series(v).std() for v in by_setting.values() if len(v) > 1]
    return float(pd.Series(sds).median()) if sds else None


def load_art(paper_model: str, profile: str, results_dir, **kw):
    """The runs of a HyperSparse chapter's table at ``profile`` (its stand-in model and data set), as the
    chapter loads them (:func:`~.chapter.art_chapter`)."""
    return art_chapter(paper_model, profile=profile, results_dir=results_dir, **kw).pairs


def art_verdicts(pairs) -> pd.DataFrame:
    """HyperSparse against L1 and L2 per sparsity: final test accuracy (higher is the claim) and ART epochs to
    the stop (fewer is the claim), each with its spread over seeds and verdict; and whether the accuracy lead
    grows from the lowest to the highest sparsity."""
    groups = {row: _finished_runs(rs) for row, rs in _group(pairs).items()}
    sps = sorted({row.sparsity for row in groups})
    records = []

    def vals(reg, sp, key):
        return [r["final"][key] for row, rs in groups.items() if row.regularizer == reg and row.sparsity == sp
                for r in rs]

    def behind(regs, sparsities):  # the runs behind a verdict, one group per regularizer and sparsity
        return [(f"{REGULARIZER_LABELS[reg]} at {100 * sp:g} %",
                 [(row, r) for row, r in pairs if row.regularizer == reg and row.sparsity == sp])
                for sp in sparsities for reg in regs]
    for base in ("l1", "l2"):
        accuracies = {}  # sparsity -> (HyperSparse accuracies, baseline accuracies)
        for sp in sps:
            for claim, key, higher in (("more accurate", "test_acc_final", True),
                                       ("fewer ART epochs", "art_epochs", False)):
                c = claims.compare(vals("hypersparse", sp, key), vals(base, sp, key), higher_is_better=higher)
                if key == "test_acc_final":
                    accuracies[sp] = (vals("hypersparse", sp, key), vals(base, sp, key))
                records.append({"claim": f"HyperSparse {claim} than {REGULARIZER_LABELS[base]}",
                                "sparsity %": f"{100 * sp:g}", "HyperSparse": pm(c.ours, None, 2),
                                "baseline": pm(c.base, None, 2), "effect ± spread": pm(c.effect, c.spread),
                                "seeds": f"{c.n_ours} / {c.n_base}", "verdict": c.verdict})
                _hold(records[-1], behind(("hypersparse", base), (sp,)),  # ART's epochs end before fine-tuning
                      ART_PHASES if key == "test_acc_final" else ("warmup",), pairs)
        if len(sps) > 1:  # the lead grows: per-seed differences at the highest sparsity against the lowest
            (a_hi, b_hi), (a_lo, b_lo) = accuracies[sps[-1]], accuracies[sps[0]]
            n = min(len(a_hi), len(b_hi), len(a_lo), len(b_lo))
            d_hi = [x - y for x, y in zip(a_hi[:n], b_hi[:n])]
            d_lo = [x - y for x, y in zip(a_lo[:n], b_lo[:n])]
            c = claims.compare(d_hi, d_lo)
            records.append({"claim": f"lead over {REGULARIZER_LABELS[base]} grows with sparsity",
                            "sparsity %": f"{100 * sps[-1]:g} vs {100 * sps[0]:g}", "HyperSparse": pm(c.ours, None),
                            "baseline": pm(c.base, None), "effect ± spread": pm(c.effect, c.spread),
                            "seeds": f"{c.n_ours} / {c.n_base}", "verdict": c.verdict})
            _hold(records[-1], behind(("hypersparse", base), (sps[0], sps[-1])), ART_PHASES, pairs)
    if not records:
        return pd.DataFrame({"note": ["no finished run at this profile"]})
    order = {claim: i for i, claim in enumerate(dict.fromkeys(r["claim"] for r in records))}
    records.sort(key=lambda r: order[r["claim"]])  # one block per claim (the page spans it), sparsities in order
    return pd.DataFrame(records).set_index(["claim", "sparsity %"])


def _report_position(paper_model: str, base: str) -> str:
    """HyperSparse minus the baseline (points) in the HyperSparse reproduction report's own tables, from the
    reference table (the report does not state the sparsity): its experimental results where they hold both
    methods, else its comparison with other methods."""
    from ..experiments.reference import lookup
    dataset = {"resnet32": "cifar10", "vgg19": "cifar100"}.get(paper_model)
    if dataset is None:
        return "–"
    for table in ("Experimental results (ours)", "Comparison with other methods"):
        ref = dict(source="hypersparse-reproduction", model=paper_model, dataset=dataset, table=table)
        hs, other = lookup(method="hypersparse", **ref), lookup(method=base, **ref)
        if hs is not None and other is not None:
            return f"{hs - other:+.2f} ({table})"
    return "–"


def _curve_settings(results_dir, profile: str):
    """(setting label, pairs) of each DeepHoyer table with trade-off curves at ``profile``."""
    for model, dataset in sorted(experiments.CURVE_TABLES):
        yield (f"{experiments.MODEL_LABELS[model]}, {DATASETS[dataset].label}",
               load_curves(model, dataset, profile, results_dir, train=False))


def _art_settings(results_dir, profile: str):
    """(paper model, setting label, pairs) of each HyperSparse chapter at ``profile``."""
    for paper_model in ("lenet5", "resnet32", "vgg19"):
        model = profiles.model_for("art", profile, paper_model)
        dataset = experiments.art_dataset(paper_model, profile)
        yield (paper_model, f"{experiments.MODEL_LABELS.get(model, model)} (for "
                            f"{experiments.MODEL_LABELS[paper_model]}), {DATASETS[dataset].label}",
               load_art(paper_model, profile, results_dir, train=False))


def ledger(results_dir, profile: str) -> pd.DataFrame:
    """Every claim the book tests, from both papers, with its verdict computed from the stored runs."""
    rows = []
    for setting, pairs in _curve_settings(results_dir, profile):
        t = matched_table(pairs)
        if "verdict" in t:
            for (claim, rule, acc), r in t.iterrows():
                rows.append({"paper": "DeepHoyer", "claim": f"{claim} at equal accuracy", "setting": setting,
                             "at": f"{rule}, accuracy {acc} %",
                             "effect ± spread": r["effect ± spread (points)"],
                             "seeds": r["seeds"], "verdict": r["verdict"], "schedule": r["schedule"],
                             "profile": profile,
                             "reproduction report": "one strength per regularizer: no equal-accuracy comparison"})
    for model, dataset in experiments.DEEPHOYER_PLAN:  # tables without curves: one strength per regularizer
        regs = {row.regularizer for row in experiments.DEEPHOYER_TABLES[dataset]}
        if (model, dataset) in experiments.CURVE_TABLES:
            continue
        for claimed, base, _ in CURVE_CLAIMS:
            if {claimed, base} <= regs:
                rows.append({"paper": "DeepHoyer", "claim": f"{REGULARIZER_LABELS[claimed]} sparser than "
                                                            f"{REGULARIZER_LABELS[base]} at equal accuracy",
                             "setting": f"{experiments.MODEL_LABELS[model]}, {DATASETS[dataset].label}",
                             "at": "no trade-off curve at this profile", "effect ± spread": "–", "seeds": "–",
                             "verdict": claims.compare([], []).verdict, "schedule": "–", "profile": profile,
                             "reproduction report": "one strength per regularizer: no equal-accuracy comparison"})
    for paper_model, setting, pairs in _art_settings(results_dir, profile):
        t = art_verdicts(pairs)
        if "verdict" not in t:
            continue
        for (claim, sp), r in t.iterrows():
            base = "l1" if claim.endswith("L1") else "l2"
            report = _report_position(paper_model, base) if "accurate" in claim else "–"
            rows.append({"paper": "HyperSparse", "claim": claim, "setting": setting, "at": f"sparsity {sp} %",
                         "effect ± spread": r["effect ± spread"], "seeds": r["seeds"], "verdict": r["verdict"],
                         "schedule": r["schedule"], "profile": profile, "reproduction report": report})
    return pd.DataFrame(rows, columns=["paper", "claim", "setting", "at", "effect ± spread", "seeds", "verdict",
                                       "schedule", "profile", "reproduction report"])


def schedules(results_dir, profile: str) -> pd.DataFrame:
    """Did the schedule behind each setting's verdicts level off? Per setting with a finished run, the
    :func:`convergence_summary` of its runs (ART's own phase is meant to move and is left out)."""
    rows = [{"paper": "DeepHoyer", "setting": setting, "levelled off": convergence_summary(convergence_table(pairs))}
            for setting, pairs in _curve_settings(results_dir, profile)]
    rows += [{"paper": "HyperSparse", "setting": setting,
              "levelled off": convergence_summary(convergence_table(pairs, ART_PHASES))}
             for _, setting, pairs in _art_settings(results_dir, profile)]
    return pd.DataFrame(rows, columns=["paper", "setting", "levelled off"]).set_index(["paper", "setting"])
