"""Verdict tables, trade-off curves and the claims ledger, computed from stored runs at build time.

:func:`headline` (from :mod:`.headline`) is the claims protocol's table: each paper's primary rows and their
verdicts. Everything else here is the book's exploratory comparisons, by the older rule of :mod:`.claims`.

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
from .convergence import ART_PHASES, convergence_summary, convergence_table, held_back, hold
from .headline import headline
from .hypersparse import _finished_runs, placeholder_figure
from .tables import PALETTE, RULE_LABELS, SEEDS_TO_DECIDE, _group, figure, pm

__all__ = ["headline", "PALETTE", "SEEDS_TO_DECIDE", "curve_figure", "training_figure", "matched_table",
           "verdict_summary", "art_verdicts", "ledger", "schedules", "load_curves", "load_art"]

#: how far below the unregularized accuracy the curve figure shows (points); strengths below lie off the chart
BAND = 4.0
#: the claims of "sparser at equal accuracy": (claimed, baseline, structural)
CURVE_CLAIMS = [("hoyer_square", "l1", False), ("group_hoyer_square", "group_lasso", True)]


def load_curves(model: str, dataset: str, profile: str, results_dir, long: bool = False, **kw):
    """The (row, result) pairs of a table's trade-off curves (``long``: the element-wise claim's curves at the
    paper's training length, :data:`~sparsebook.experiments.LONG_CURVES`); missing runs are shown as not run."""
    return train_or_load(experiments.deephoyer_curve_runs(model, dataset, profile, long=long), profile=profile,
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


def curve_figure(pairs, groups: tuple[bool, ...] = (False, True)):
    """Accuracy against sparsity per regularizer (mean ± std over seeds, one point per strength): element-wise
    (pruned % of all parameters) and structural (% removed once dead units go), each pruning rule a panel;
    ``groups``: the rows, by whether they are structural."""
    if not any(r.get("status") == "finished" for _, r in pairs):
        return placeholder_figure("accuracy against sparsity: no finished curve run at this profile")
    fig, axes = figure(len(groups), 2, figsize=(9, 3.2 * len(groups)), sharey="row", squeeze=False)
    fig.patch.set_facecolor("white")
    for i, structural in enumerate(groups):
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
                ax.legend(fontsize=9, loc="lower left")
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
        ax.legend(title="strength", fontsize=9, title_fontsize=9, ncol=2, loc="upper center",
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
            # the claim's own runs set the noise its verdicts are held against: another curve added to the
            # table (Hoyer, Transformed L1) must not move them
            own = [(row, r) for row, r in pairs if row.regularizer in (claimed, base)]
            own += _unregularized(pairs, structural)
            for m in claims.matched_accuracy(frame, claimed, base, top):
                c = m["comparison"]
                record = {
                    "claim": f"{REGULARIZER_LABELS[claimed]} sparser than {REGULARIZER_LABELS[base]}",
                    "pruning": RULE_LABELS[rule], "at accuracy (%)": f"{m['target']:.2f} (−{m['drop']:g})",
                    "sparsity (%): claimed / baseline": f"{pm(c.ours, None)} / {pm(c.base, None)}",
                    "effect ± spread (points)": pm(c.effect, c.spread), "seeds": f"{c.n_ours} / {c.n_base}",
                    SEEDS_TO_DECIDE: claims.seeds_label(c), "verdict": c.verdict}
                behind = [(_between(reg, m["strengths"][reg]),
                           [(row, r) for row, r in pairs if row.regularizer == reg
                            and r["config"]["decay"] in (m["strengths"][reg] or ())]) for reg in (claimed, base)]
                hold(record, behind + [("no regularizer", _unregularized(pairs, structural))],
                     ("train", f"finetune_{rule}"), own)
                records.append(record)
    if not records:
        return pd.DataFrame({"note": ["no unregularized run is stored at this profile, so no target accuracy"]})
    return pd.DataFrame(records).set_index(["claim", "pruning", "at accuracy (%)"])


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def verdict_summary(by_schedule: dict[str, pd.DataFrame]) -> str:
    """One sentence per claim from :func:`matched_table` tables (keyed by the schedule they were trained at, e.g.
    "60 training epochs"): how many of its rows each verdict took, where it was decided (pruning rule and
    accuracy drop), and how many undecided rows are held because the runs behind them still move."""
    frames = [(label, t.reset_index()) for label, t in by_schedule.items() if "verdict" in t]
    claims_ = list(dict.fromkeys(c for _, t in frames for c in t["claim"]))
    if not claims_:
        return "no claim has a verdict yet: no unregularized run is stored to set the target accuracy"
    sentences = []
    for claim in claims_:
        rows = [(label, r) for label, t in frames for _, r in t[t["claim"] == claim].iterrows()]
        parts = []
        for verdict in ("reproduced", "not reproduced"):
            where: dict[str, dict[str, list[str]]] = {}
            for label, r in rows:
                if r["verdict"] == verdict:
                    drop = r["at accuracy (%)"].rsplit("(", 1)[-1].rstrip(")")
                    where.setdefault(label, {}).setdefault(r["pruning"], []).append(drop)
            n = sum(len(d) for w in where.values() for d in w.values())
            at = "; ".join(f"{label}: " + ", ".join(f"{rule} at {_listed(drops)}" for rule, drops in w.items())
                           for label, w in where.items())
            parts.append(f"{verdict} in {n}" + (f" ({at})" if at else ""))
        undecided = [r for _, r in rows if r["verdict"] == "undecided"]
        # the ledger's count (convergence.held_back): rows whose runs read a verdict, held because they still move
        held = int(held_back(pd.Series([str(r.get("schedule", "")) for r in undecided], dtype=str)).sum())
        parts.append(f"undecided in {len(undecided)}" + (f", {held} of them reading a verdict but held because "
                                                         "runs behind them are still moving" if held else ""))
        sentences.append(f"{claim}, {len(rows)} rows: " + "; ".join(parts))
    return ". ".join(sentences)


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
                                "seeds": f"{c.n_ours} / {c.n_base}", SEEDS_TO_DECIDE: claims.seeds_label(c),
                                "verdict": c.verdict})
                hold(records[-1], behind(("hypersparse", base), (sp,)),  # ART's epochs end before fine-tuning
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
                            "seeds": f"{c.n_ours} / {c.n_base}", SEEDS_TO_DECIDE: claims.seeds_label(c),
                            "verdict": c.verdict})
            hold(records[-1], behind(("hypersparse", base), (sps[0], sps[-1])), ART_PHASES, pairs)
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
        setting = f"{experiments.MODEL_LABELS[model]}, {DATASETS[dataset].label}"
        yield setting, load_curves(model, dataset, profile, results_dir, train=False)
        if (epochs := experiments.long_curve_epochs(profile)) is not None:
            yield (f"{setting}, {epochs} training epochs",
                   load_curves(model, dataset, profile, results_dir, long=True, train=False))


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
    report = "one strength per regularizer: no equal-accuracy comparison"

    def untested(regs, setting: str, why: str, every_claim: bool = False):
        """A curve claim with nothing to read: undecided, and why; ``every_claim``: also the claims whose
        regularizers the setting's table does not run (the report's Fashion-MNIST table has no baseline)."""
        for claimed, base, _ in CURVE_CLAIMS:
            missing = [REGULARIZER_LABELS[r] for r in (claimed, base) if r not in regs]
            if missing and not every_claim:
                continue
            at = f"no {' or '.join(missing)} run: the reproduction's table has none" if missing else why
            rows.append({"paper": "DeepHoyer", "claim": f"{REGULARIZER_LABELS[claimed]} sparser than "
                                                        f"{REGULARIZER_LABELS[base]} at equal accuracy",
                         "setting": setting, "at": at,
                         "effect ± spread": "–", "seeds": "–", SEEDS_TO_DECIDE: "–",
                         "verdict": claims.compare([], []).verdict, "schedule": "–", "profile": profile,
                         "reproduction report": report})
    for setting, pairs in _curve_settings(results_dir, profile):
        t = matched_table(pairs)
        if "verdict" not in t:
            untested({row.regularizer for row, _ in pairs}, setting, t["note"].iloc[0])
        for (claim, rule, acc), r in t.iterrows() if "verdict" in t else ():
            rows.append({"paper": "DeepHoyer", "claim": f"{claim} at equal accuracy", "setting": setting,
                         "at": f"{rule}, accuracy {acc} %", "effect ± spread": r["effect ± spread (points)"],
                         "seeds": r["seeds"], SEEDS_TO_DECIDE: r[SEEDS_TO_DECIDE], "verdict": r["verdict"],
                         "schedule": r["schedule"], "profile": profile, "reproduction report": report})
    for model, dataset in experiments.DEEPHOYER_PLAN:  # tables without curves: one strength per regularizer
        if (model, dataset) not in experiments.CURVE_TABLES:
            untested({row.regularizer for row in experiments.DEEPHOYER_TABLES[dataset]},
                     f"{experiments.MODEL_LABELS[model]}, {DATASETS[dataset].label}",
                     "no trade-off curve at this profile", every_claim=True)
    for paper_model, setting, pairs in _art_settings(results_dir, profile):
        t = art_verdicts(pairs)
        if "verdict" not in t:
            continue
        for (claim, sp), r in t.iterrows():
            base = "l1" if claim.endswith("L1") else "l2"
            report = _report_position(paper_model, base) if "accurate" in claim else "–"
            rows.append({"paper": "HyperSparse", "claim": claim, "setting": setting, "at": f"sparsity {sp} %",
                         "effect ± spread": r["effect ± spread"], "seeds": r["seeds"],
                         SEEDS_TO_DECIDE: r[SEEDS_TO_DECIDE], "verdict": r["verdict"],
                         "schedule": r["schedule"], "profile": profile, "reproduction report": report})
    return pd.DataFrame(rows, columns=["paper", "claim", "setting", "at", "effect ± spread", "seeds", SEEDS_TO_DECIDE,
                                       "verdict",
                                       "schedule", "profile", "reproduction report"])


def schedules(results_dir, profile: str, verdicts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Did the schedule behind each setting's verdicts level off? Per setting with a finished run, the
    :func:`convergence_summary` of its runs (medians over all of them; ART's own phase is meant to move and is
    left out) and, from the ledger's own rows (``verdicts``, :func:`ledger`), how many of the setting's rows are
    held because the runs behind *them* still move: the two can differ, and the table says both."""
    rows = [{"paper": "DeepHoyer", "setting": setting, "levelled off": convergence_summary(convergence_table(pairs))}
            for setting, pairs in _curve_settings(results_dir, profile)]
    rows += [{"paper": "HyperSparse", "setting": setting,
              "levelled off": convergence_summary(convergence_table(pairs, ART_PHASES))}
             for _, setting, pairs in _art_settings(results_dir, profile)]
    out = pd.DataFrame(rows, columns=["paper", "setting", "levelled off"])
    out = out.rename(columns={"levelled off": "levelled off (medians over the setting's runs)"})
    if verdicts is not None:
        held = {setting: f"{int(held_back(g['schedule'].astype(str)).sum())} of {len(g)}"
                for setting, g in verdicts.groupby("setting")}
        out["rows held, their own runs still moving"] = out["setting"].map(held).fillna("–")
    return out.set_index(["paper", "setting"])
