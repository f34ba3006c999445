"""The headline: each paper's primary rows (:data:`~.protocol.PRIMARY`) decided by the claims protocol.

:func:`headline` reads the stored runs (a user's own store too) and returns one row per primary row; the
introduction, the ledger and the chapters read it, so a count in their prose and their tables are one
computation.
"""
from __future__ import annotations

import pandas as pd

from .. import experiments
from ..data import DATASETS
from ..experiments import profiles, runner, train_or_load
from . import frontier, protocol
from .protocol import PRIMARY, SETTINGS

__all__ = ["COLUMNS", "CHAPTERS", "headline", "counts", "dense_reference_art", "setting_label", "headline_table",
           "badge", "standardized_effects", "protocol_rates", "answer", "paper_line", "headline_tables",
           "setting_answer"]

COLUMNS = ["paper", "claim", "setting", "at", "effect", "low", "high", "seeds", "paired", "p", "p_holm",
           "selected_on", "dense_reference", "dense_reference_from", "regime_bar", "verdict", "why", "claimed_mean",
           "baseline_mean", "measure", "setting_key"]

#: the chapter that shows each setting's runs (a path from the book's root, as the introduction and ledger link it)
CHAPTERS = {"deephoyer-lenet300-mnist": "deephoyer/lenet300_mnist.html",
            "hypersparse-resnet-cifar10": "hypersparse/resnet32_cifar10.html",
            "hypersparse-vgg-cifar100": "hypersparse/vgg19_cifar100.html"}
#: the unit of each measure's effect
_UNITS = {"test accuracy": "points", "ART epochs": "epochs", "parameters pruned": "points of sparsity",
          "weights removed": "points of sparsity"}

#: the HyperSparse settings' chapters: setting key -> the paper's model
_ART_SETTINGS = {"hypersparse-resnet-cifar10": "resnet32", "hypersparse-vgg-cifar100": "vgg19"}


#: where an ART setting's evidence comes from, by the profile the book is built at: the papers' regime (``gpu``,
#: full training sets) once any of its runs is stored, else the profile's own stand-ins, whose dense reference
#: the regime bar reads as "outside the paper's regime" (a pipeline check)
EVIDENCE = {"cpu": ("gpu", "cpu")}


def art_profile(key: str, profile: str, results_dir) -> str:
    """The profile whose runs decide the ART setting ``key`` in a book built at ``profile`` (:data:`EVIDENCE`):
    the first whose store holds any run of the setting's plan."""
    paper_model = _ART_SETTINGS[key]
    for candidate in EVIDENCE.get(profile, (profile,)):
        if candidate == profile:
            return profile
        model = profiles.model_for("art", candidate, paper_model)
        dataset = experiments.art_dataset(paper_model, candidate)
        cfgs = [cfg for _, cfg in experiments.art_runs(model, dataset, candidate)
                + experiments.art_dense_runs(model, dataset, candidate)]
        if any(runner.stored(cfg, candidate, results_dir, readonly=True) for cfg in cfgs):
            return candidate
    return profile


def setting_label(key: str, profile: str) -> str:
    """What ran in a setting at ``profile``: model (and the paper's, where a stand-in trains), data."""
    if key in _ART_SETTINGS:
        paper_model = _ART_SETTINGS[key]
        model = profiles.model_for("art", profile, paper_model)
        cfg = profiles.make_config("art", profile, model=model, dataset=experiments.art_dataset(paper_model, profile))
        images = f", {cfg.train_subset:,} training images" if cfg.train_subset else ""
        return (f"{experiments.MODEL_LABELS.get(model, model)}"
                f"{'' if model == paper_model else ' (for ' + experiments.MODEL_LABELS[paper_model] + ')'}, "
                f"{DATASETS[cfg.dataset].label}{images}")
    return SETTINGS[key].label


def dense_reference_art(pairs, dense_pairs=()) -> tuple[float | None, str]:
    """(accuracy, how it was trained) of an ART setting's dense network, as the regime bar reads it: the mean over
    seeds of the dense reference's final test accuracy (``dense_pairs``, :func:`~sparsebook.experiments.
    art_dense_runs`: the warm-up, then the fine-tuning's stepped schedule), once every planned seed of it is
    stored; until then the mean of the warm-up's last test accuracy over the ART runs' seeds (``pairs``), a
    constant-rate network a few points short of a stepped one, and said so."""
    planned = {r["config"]["seed"] for _, r in dense_pairs}
    stepped = {r["config"]["seed"]: r["final"]["test_acc_final"] for _, r in dense_pairs
               if r.get("status") == "finished"}
    if planned and set(stepped) >= planned:
        return sum(stepped.values()) / len(stepped), "after the fine-tuning's stepped schedule, no pruning"
    by_seed = {}
    for _, r in pairs:
        if r.get("status") != "finished":
            continue
        warm = [h["test_acc"] for h in r["history"] if h["phase"] == "warmup" and h.get("test_acc") is not None]
        if warm:
            by_seed.setdefault(r["config"]["seed"], warm[-1])
    how = (f"at the end of its warm-up (constant learning rate; the reference with the stepped schedule: "
           f"{len(stepped)} of {len(planned)} seeds stored)")
    return (sum(by_seed.values()) / len(by_seed) if by_seed else None), how


def _at_number(row: protocol.Primary) -> float:
    """The number in a primary row's ``at``: its sparsity (ART, as a fraction) or its accuracy drop (points)."""
    text = row.at.split("−")[1] if "−" in row.at else row.at.split()[1]
    value = float(text.split()[0])
    return value / 100 if row.at.startswith("sparsity") else value


def _art_runs(pairs, row: protocol.Primary, reg: str) -> list:
    """The (row, result) pairs of regularizer ``reg`` at the primary row's sparsity."""
    sparsity = _at_number(row)
    return [(arow, r) for arow, r in pairs if arow.regularizer == reg and abs(arow.sparsity - sparsity) < 1e-9]


def _art_values(pairs, row: protocol.Primary) -> dict:
    key = "test_acc_final" if row.measure == "test accuracy" else "art_epochs"
    out = {}
    for side, reg in (("claimed", row.claimed), ("baseline", row.baseline)):
        runs = [r for _, r in _art_runs(pairs, row, reg) if r.get("status") == "finished"]
        out[side] = {r["config"]["seed"]: r["final"][key] for r in runs}
        out[f"{side}_acc"] = [r["final"]["test_acc_final"] for r in runs]
        out[f"{side}_dead"] = any(layer.get("nonzero_weights", 1) == 0 for r in runs for layer in r.get("layers", []))
    return out


def _art_seeds(pairs, row: protocol.Primary, values: dict) -> tuple[set, set]:
    """(planned, complete) seeds of an ART primary row: every seed the chapter plans for its two regularizers at
    its sparsity, and those where both finished."""
    planned = {r["config"]["seed"] for reg in (row.claimed, row.baseline) for _, r in _art_runs(pairs, row, reg)}
    return planned, set(values["claimed"]) & set(values["baseline"])


def _frontier_seeds(frame: pd.DataFrame, plan: dict, row: protocol.Primary) -> tuple[set, set]:
    """(planned, complete) seeds of a DeepHoyer primary row: a seed is complete once every frontier run of the
    unregularized network and of both regularizers is stored (all strengths, the whole pruning grid). ``plan``:
    (regularizer, seed) -> the runs the plan has of it."""
    plan = {k: n for k, n in plan.items() if k[0] in ("none", row.claimed, row.baseline)}
    stored = frame.groupby(["regularizer", "seed"]).size().to_dict() if len(frame) else {}
    planned = {seed for _, seed in plan}
    return planned, {seed for seed in planned if all(stored.get(k, 0) >= n for k, n in plan.items() if k[1] == seed)}


def _deephoyer(results_dir, profile: str):
    """The frontier runs' frame, the plan's count of runs per (regularizer, seed), and the dense reference."""
    runs = experiments.frontier_runs(profile)
    frame = frontier.frontier_frame(train_or_load(runs, profile=profile, results_dir=results_dir, train=False))
    plan: dict = {}
    for frow, cfg in runs:
        plan[(frow.regularizer, cfg.seed)] = plan.get((frow.regularizer, cfg.seed), 0) + 1
    none = frame[(frame.regularizer == "none") & (frame.rule == "threshold")]
    return (frame, plan), (float(none.test_acc.mean()) if len(none) else None,
                           "after the threshold's fine-tuning, which prunes about 1 %")


def headline(results_dir, profile: str = "cpu") -> pd.DataFrame:
    """One row per primary row, with the columns of :data:`COLUMNS`; ``verdict`` one of
    :data:`~.protocol.VERDICTS`. A row is read only once every seed its plan has is stored (no verdict from a
    sweep half done); Holm's correction runs over each paper's rows that are in the paper's regime, complete and
    did not collapse (the rows a verdict could count). A HyperSparse setting reads the papers' regime's runs
    (``gpu``) where any is stored (:func:`art_profile`), its ``setting`` label saying which ran."""
    from .ledger import load_art
    cache: dict = {}
    records = []
    for row in PRIMARY:
        setting = SETTINGS[row.setting]
        if row.setting not in cache:
            if row.setting in _ART_SETTINGS:
                paper_model = _ART_SETTINGS[row.setting]
                used = art_profile(row.setting, profile, results_dir)
                pairs = load_art(paper_model, used, results_dir, train=False)
                model = profiles.model_for("art", used, paper_model)
                dense_pairs = train_or_load(experiments.art_dense_runs(
                    model, experiments.art_dataset(paper_model, used), used), profile=used,
                    results_dir=results_dir, train=False)
                cache[row.setting] = (pairs, dense_reference_art(pairs, dense_pairs), used)
            else:
                cache[row.setting] = (*_deephoyer(results_dir, profile), profile)
        data, (dense, dense_how), used = cache[row.setting]
        if row.setting in _ART_SETTINGS:
            values, selected = _art_values(data, row), "none"
            planned, complete = _art_seeds(data, row, values)
        else:
            frame, plan = data
            values = frontier.claim_values(frame, row.claimed, row.baseline, _at_number(row), row.measure)
            selected = "validation"
            planned, complete = _frontier_seeds(frame, plan, row)
        test = protocol.paired_test(values["claimed"], values["baseline"], row.higher_is_better)
        collapsed = protocol.collapse(values["claimed_acc"], values["baseline_acc"], setting.chance,
                                      values["claimed_dead"], values["baseline_dead"])
        if dense is None:
            verdict, why = "undecided", "no run stored yet"
        elif dense < setting.bar:
            verdict, why = "outside the paper's regime", (f"dense reference {dense:.1f} % below the bar "
                                                           f"{setting.bar:g} %")
        elif len(complete) < len(planned):  # no verdict is read from a sweep half done: that would be peeking
            verdict, why = "undecided", f"{len(complete)} of {len(planned)} planned seeds stored"
        elif collapsed:
            verdict, why = collapsed, "a side at most twice chance accuracy, or with a whole layer pruned"
        else:
            verdict, why = None, ""  # decided below, after Holm
        mean = lambda d: sum(d.values()) / len(d) if d else None  # noqa: E731
        records.append({"paper": row.paper, "claim": row.claim, "setting": setting_label(row.setting, used),
                        "at": row.at, "effect": test.effect, "low": test.low, "high": test.high, "seeds": test.seeds,
                        "paired": test.paired, "p": test.p, "p_holm": None, "selected_on": selected,
                        "dense_reference": dense, "dense_reference_from": dense_how, "regime_bar": setting.bar,
                        "verdict": verdict, "why": why,
                        "claimed_mean": mean(values["claimed"]), "baseline_mean": mean(values["baseline"]),
                        "measure": row.measure, "setting_key": row.setting})
    for paper in dict.fromkeys(r["paper"] for r in records):
        family = [r for r in records if r["paper"] == paper and r["verdict"] is None]
        for r, adjusted in zip(family, protocol.holm([r["p"] for r in family])):
            r["p_holm"] = adjusted
            test = protocol.Test(r["effect"], r["low"], r["high"], r["p"], r["seeds"], r["paired"])
            r["verdict"] = protocol.decide(test, adjusted)
            if r["verdict"] == "undecided":
                r["why"] = ("fewer than two seeds a side" if r["p"] is None
                            else f"Holm-adjusted p {adjusted:.3g} ≥ {protocol.ALPHA:g}")
            else:
                r["why"] = f"Holm-adjusted p {adjusted:.3g} < {protocol.ALPHA:g}"
    return pd.DataFrame(records, columns=COLUMNS)


def counts(table: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per paper, how many primary rows took each verdict (every verdict listed, zeros included)."""
    return {paper: {v: int((g.verdict == v).sum()) for v in protocol.VERDICTS}
            for paper, g in table.groupby("paper", sort=False)}


def badge(verdict: str) -> str:
    """A verdict as the pages show it: a coloured label (``book/_static/tables.css``)."""
    css = verdict.replace(" ", "-").replace("'", "")
    return f'<span class="verdict verdict-{css}">{verdict}</span>'


def _small(r) -> str:
    """The seeds and the Holm-adjusted p-value, under the effect in small type (the table stays narrow)."""
    seeds = f"{r['seeds']} seeds {'paired' if r['paired'] else 'a side'}" if r["seeds"] else "no seeds yet"
    p = "" if pd.isna(r["p_holm"]) else f", p (Holm) {r['p_holm']:.3g}"
    return f"<br><small>{seeds}{p}</small>"


def headline_table(table: pd.DataFrame, paper: str, setting: str | None = None,
                   link_prefix: str = "") -> pd.DataFrame:
    """A paper's primary rows (in one ``setting``, a key of :data:`~.protocol.SETTINGS`, or all) as the
    introduction and the ledger open with them: the claim (linked to its chapter), the verdict as a badge with
    its reason under it, where, and the effect with its 95 % interval and under it the seeds (paired or not) and
    the Holm-adjusted p-value. The verdict comes second, so a phone shows it without scrolling."""
    rows = []
    sel = table[(table.paper == paper) & ((table.setting_key == setting) if setting else True)]
    for _, r in sel.iterrows():
        unit = _UNITS[r["measure"]]
        effect = "–" if pd.isna(r["effect"]) else (f"{r['effect']:+.2f} {unit}" + (
            "" if pd.isna(r["low"]) else f" [{r['low']:+.2f}, {r['high']:+.2f}]"))
        link = f'<a href="{link_prefix}{CHAPTERS[r["setting_key"]]}">{r["claim"]}</a>'
        rows.append({"claim": link, "verdict": f"{badge(r['verdict'])}<br><small>{r['why']}</small>",
                     "at": r["at"], "effect [95 % interval]": effect + _small(r)})
    return pd.DataFrame(rows).set_index("claim")


def headline_tables(table: pd.DataFrame, paper: str, link_prefix: str = ""):
    """(caption, table) per setting of a paper: the caption names what ran, its dense reference against the
    regime bar and the paper's own dense accuracy with its source; the table is :func:`headline_table`."""
    for key in dict.fromkeys(table[table.paper == paper].setting_key):
        first = table[table.setting_key == key].iloc[0]
        s = SETTINGS[key]
        dense = "no run stored yet" if pd.isna(first["dense_reference"]) else f"{first['dense_reference']:.1f} %"
        how = "" if pd.isna(first["dense_reference"]) else f" {first['dense_reference_from']}"
        yield (f"{first['setting']}. Dense reference {dense}{how}, bar {s.bar:g} % (the paper's model on the full "
               f"data: {s.published:g} %, {s.published_source}).", headline_table(table, paper, key, link_prefix))


def standardized_effects(table: pd.DataFrame) -> pd.Series:
    """Each row's effect over the spread of its per-seed differences (Cohen's d of the paired differences),
    recovered from its 95 % interval; rows without an interval are left out."""
    from scipy import stats
    out = {}
    for i, r in table.dropna(subset=["low", "high"]).iterrows():
        if r["seeds"] < 2 or r["high"] == r["low"]:
            continue
        half = (r["high"] - r["low"]) / 2
        sd = half * r["seeds"] ** 0.5 / stats.t.ppf(1 - protocol.ALPHA / 2, r["seeds"] - 1)
        out[i] = abs(r["effect"]) / sd
    return pd.Series(out, dtype=float)


def protocol_rates(table: pd.DataFrame, seeds=(3, 5), trials: int = 4000) -> pd.DataFrame:
    """The protocol's error rates, simulated (:func:`~.protocol.simulate`) per paper at its family's size: the
    family-wise rate of a false verdict when the methods are identical, and the power at the median
    standardized effect of that paper's stored primary rows (:func:`standardized_effects`; all rows, counted or
    not, since the stand-ins' spreads are what a rerun would meet too)."""
    rows = []
    for paper, g in table.groupby("paper", sort=False):
        d = standardized_effects(g)
        effect = float(d.median()) if len(d) else None
        for n in seeds:
            null = protocol.simulate(len(g), n, 0.0, trials=trials)
            power = protocol.simulate(len(g), n, effect, trials=trials)["power"] if effect else None
            rows.append({"paper": paper, "primary rows": len(g), "seeds a side": n,
                         "false verdict, methods identical (family-wise)": null["family_wise_error"],
                         "median standardized effect of the stored rows": effect,
                         "power at that effect (share of rows reproduced)": power})
    return pd.DataFrame(rows)


def paper_line(table: pd.DataFrame, paper: str) -> str:
    """What one paper's primary rows read, in one clause: 'DeepHoyer: 2 primary rows, undecided 2 (no row
    decided yet)'."""
    by = counts(table).get(paper, {v: 0 for v in protocol.VERDICTS})
    read = ", ".join(f"{k} {v}" for k, v in by.items() if v) or "none yet"
    decided = by["reproduced"] + by["not reproduced"]
    return f"{paper}: {sum(by.values())} primary rows, {read}" + ("" if decided else " (no row decided yet)")


def answer(table: pd.DataFrame) -> str:
    """The first sentences a reader meets: per paper, what its primary rows read, computed from :func:`headline`."""
    return ("; ".join(paper_line(table, paper) for paper in counts(table)) + ". A row outside the paper's regime "
            "ran in a setting too far from the paper's (its dense network never reaches the accuracy the paper "
            "starts from) to count either way.")


def setting_answer(table: pd.DataFrame, key: str) -> tuple[str, str]:
    """(the answer, the distance to the paper) for a chapter's opening lines: its setting's primary verdicts,
    and its dense reference against the bar and the paper's own dense accuracy."""
    rows = table[table.setting_key == key]
    s = SETTINGS[key]
    verdicts = rows.verdict.value_counts()
    if len(verdicts) == 1:
        answer = f"all {len(rows)} primary rows of this setting read \u201c{verdicts.index[0]}\u201d"
    else:
        answer = "; ".join(f"{r.claim} at {r.at}: {r.verdict}" for r in rows.itertuples())
    dense = rows.dense_reference.iloc[0] if len(rows) else None
    if dense is None or pd.isna(dense):
        distance = f"no dense reference stored yet (the bar: {s.bar:g} %; the paper's model: {s.published:g} %)"
    else:
        where = "in the paper's regime" if dense >= s.bar else ("outside the paper's regime: a pipeline check, "
                                                                 "not evidence about the claims")
        which = rows.dense_reference_from.iloc[0]
        distance = (f"{rows.setting.iloc[0]}; its dense network reaches {dense:.1f} % {which}, the paper's "
                    f"{s.published:g} % ({s.published_source}); the bar is {s.bar:g} %, so {where}")
    return answer + ".", distance + "."
