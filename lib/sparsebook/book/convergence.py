"""Has a run's accuracy levelled off? The convergence tables of the chapters, and the rule that holds a verdict
at undecided while the runs behind it are still moving (:mod:`.ledger` applies it to every verdict)."""
from __future__ import annotations

import pandas as pd

from . import claims
from .tables import LEVELLED, STILL_MOVING

__all__ = ["CONVERGENCE_CAPTION", "ART_PHASES", "PHASE_LABELS", "levelled", "levelled_label", "hold", "held_back",
           "convergence_table", "convergence_summary"]


CONVERGENCE_CAPTION = ("Has the accuracy levelled off? Per phase, medians over the runs: the change of test "
                       "accuracy (points) over its last tenth (at least 3 epochs; half the phase where shorter) "
                       "against as many before, and the rise of a line fitted through its last half (from its last "
                       "learning-rate step on), each against its bar: the noise (the larger of the seeds' spread "
                       "and the epoch-to-epoch spread) or, where larger, twice the standard error that the "
                       "epoch-to-epoch spread alone gives that figure.")


#: the phases of an ART run whose accuracy should level off (ART's own is meant to move)
ART_PHASES = ("warmup", "finetune")


def window(epochs: int) -> int:
    """How many epochs at the end of a phase of ``epochs`` are compared with as many before them: a tenth of
    the phase, at least 3 (half the phase where shorter). At a constant learning rate the difference of two
    3-epoch means has a standard error of 0.8 of the epoch-to-epoch spread, so one unlucky epoch calls a flat
    phase "still moving" (one seed, 120 flat epochs with Gaussian noise: a third of the draws with 3 epochs,
    one in twenty with a tenth; tests/book/test_convergence.py). Short fine-tuning phases keep their 3."""
    return max(min(3, epochs // 2), epochs // 10)


def levelled(pairs, phases: tuple[str, ...] | None = None, reference=None) -> bool:
    """Has every phase (``phases``: these only) of the runs levelled off by :func:`convergence_table`'s rule
    (medians over the runs, against the noise of ``reference``'s)? True where no run has finished (no verdict
    is read from them either)."""
    table = convergence_table(pairs, phases, reference)
    return "levelled off" not in table or bool((table["levelled off"] == "yes").all())


#: the phases of a run as a table cell names them
PHASE_LABELS = {"train": "training", "finetune_threshold": "threshold fine-tuning",
                "finetune_std_ratio": "std-ratio fine-tuning", "warmup": "warm-up", "finetune": "fine-tuning"}


def levelled_label(pairs, phases: tuple[str, ...] | None = None, reference=None) -> str:
    """A table row's "levelled off" cell for its runs, by :func:`convergence_table`'s rule against the noise
    of ``reference`` (the whole table's runs): "yes", "no: " and the phases still moving, "–" where no run
    finished (or none is long enough to tell)."""
    table = convergence_table(pairs, phases, reference)
    if "levelled off" not in table:
        return "–"
    order = list(PHASE_LABELS)  # in the order a run goes through them
    moving = sorted((p for p, v in table["levelled off"].items() if v != "yes"),
                    key=lambda p: order.index(p) if p in order else len(order))
    moving = [PHASE_LABELS.get(p, p) for p in moving]
    return "no: " + ", ".join(moving) if moving else "yes"


def hold(record: dict, behind, phases: tuple[str, ...] | None, reference) -> None:
    """A verdict needs the runs behind it to have levelled off. ``behind`` holds (label, pairs) per group of
    those runs, each judged on its own (a claimed method still rising is not hidden by a flat baseline)
    against the noise of the runs it is compared among (``reference``: the table's runs, or a trade-off
    claim's two curves and its unregularized runs); ``record["schedule"]`` becomes "levelled
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


def _chance(epoch: float, k: int, span: float, runs: int) -> tuple[float, float]:
    """Twice the standard error that epoch-to-epoch noise alone (spread ``epoch``) gives the median change
    over ``k`` epochs against the ``k`` before (a difference of two means: sqrt(2 / k)) and the rise of a line
    fitted through ``span`` epochs (its slope's error times its length), for the median over ``runs`` runs
    (1.25 / sqrt(runs) of one run's, the median's large-sample efficiency; one run: 1). On a short phase
    these exceed the spread itself: a 20-epoch fine-tuning at a flat mean would otherwise read "still
    moving" for one run in two (tests/book/test_convergence.py)."""
    per_run = 2 * epoch * (1.25 / runs ** 0.5 if runs > 1 else 1.0)
    rise = (12 * (span - 1) / (span * (span + 1))) ** 0.5 if span > 1 else float("inf")
    return per_run * (2 / k) ** 0.5, per_run * rise


def convergence_table(pairs, phases: tuple[str, ...] | None = None, reference=None) -> pd.DataFrame:
    """Has the accuracy levelled off? Per phase (``phases``: these only, e.g. not ART's, where accuracy is meant
    to move), two medians over the runs: the change of test accuracy over its last k epochs against the k
    before (k: :func:`window`; points) and the rise of a line fitted through its last half
    (:func:`~.claims.fitted_rise`), which catches a slow trend the first misses. Each is held against a bar:
    the noise, the larger of the spread of the phase's last accuracy over seeds and its epoch-to-epoch spread
    over those 2k epochs (a constant learning rate moves the accuracy from epoch to epoch by more than seeds
    differ at one epoch), or, where larger, twice the standard error the epoch-to-epoch spread alone gives
    that figure (:func:`_chance`: a few epochs, or a line through a few, move by chance by more than the
    spread). A phase has levelled off where both are within their bars.

    ``reference``: the runs whose spreads set the noise (default: ``pairs``). A verdict's few runs move by
    their own medians against the noise of their whole table, which three seeds alone would estimate poorly."""
    records = []
    done = [r for _, r in pairs if r.get("status") == "finished"]
    ref = done if reference is None else [r for _, r in reference if r.get("status") == "finished"]
    for phase in sorted({h["phase"] for r in done for h in r["history"]}):
        if phases is not None and phase not in phases:
            continue
        epochs = max(sum(h["phase"] == phase for h in r["history"]) for r in done)  # runs without it: 0
        k = window(epochs)
        changes = [c for r in done if k and (c := claims.levelled_off(r["history"], phase, last=k)) is not None]
        if changes:
            s = pd.Series(changes)
            spans = [claims.fitted_span(r["history"], phase) for r in done]
            rise = pd.Series([claims.rise_of(v) for v in spans]).dropna().median()
            span = pd.Series([len(v) for v in spans]).median()
            seeds = _seed_spread(ref, phase)
            epoch = pd.Series([claims.epoch_spread(r["history"], phase, last=k) for r in ref]).dropna().median()
            noise = max(seeds or 0.0, epoch)  # one seed: no seeds' spread
            bar_change, bar_rise = (max(noise, c) for c in _chance(epoch, k, span, len(changes)))
            verdict = ("no: still moving beyond the noise" if abs(s.median()) > bar_change else
                       "no: a slow trend beyond the noise" if abs(rise) > bar_rise else "yes")  # NaN rise: too short
            records.append({"phase": phase, "epochs": epochs, "runs": len(changes),
                            "median change (points)": round(s.median(), 3),
                            "fitted rise, last half (points)": "–" if pd.isna(rise) else round(rise, 3),
                            "seeds' spread (points)": "–" if seeds is None else round(seeds, 3),
                            "epoch-to-epoch spread (points)": round(epoch, 3),
                            "bar: change (points)": round(bar_change, 2),
                            "bar: rise (points)": round(bar_rise, 2),
                            "levelled off": verdict})
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
        slow = r["levelled off"].endswith("slow trend beyond the noise")
        bar = r["bar: rise (points)"] if slow else r["bar: change (points)"]
        what = (f"a line fitted through its last half rises {r['fitted rise, last half (points)']:+.2f}" if slow
                else f"its last epochs moved {r['median change (points)']:+.2f}")
        parts.append(f"{name} ({what} points, against a bar of {bar:.2f})")
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
