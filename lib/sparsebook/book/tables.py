"""What every page shares: one colour and one name per regularizer, numbered captions, mean ± sd.

Every measured number on a page comes from a stored run result passed in here; published numbers
come from :mod:`sparsebook.experiments.reference`, labelled with their source. A run that did not
finish is shown by its status, never as a number.
"""
from __future__ import annotations

import math
import statistics

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from ..experiments.profiles import departures

__all__ = ["PALETTE", "RULE_LABELS", "STATUS_LABELS", "SEEDS_TO_DECIDE", "figure", "table", "mean_std", "pm",
           "seeds_label", "departures_table"]

RULE_LABELS = {"threshold": "fixed threshold", "std_ratio": "std ratio"}

#: one colour per regularizer across the book
PALETTE = dict(zip(["none", "l1", "l2", "hoyer", "hoyer_square", "transformed_l1", "group_lasso",
                    "group_hoyer_square", "hypersparse"], sns.color_palette("tab10", 9)))

# an explicit white background: the theme's dark mode would otherwise invert transparent figures
plt.rcParams.update({"figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
                     # sharp on a high-density screen (2x), and legible: no legend or tick under 9 pt as drawn
                     "figure.dpi": 200, "savefig.dpi": 200, "legend.fontsize": 9, "legend.title_fontsize": 9,
                     "xtick.labelsize": 9, "ytick.labelsize": 9})


def figure(nrows: int = 1, ncols: int = 1, figsize=(6, 3.2), **subplots):
    """A figure and its axes (``plt.subplots``), closed at once: Jupyter shows it where it is returned or
    glued, and only there (an open pyplot figure also shows in the output of a later cell)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, **subplots)
    plt.close(fig)
    return fig, axes


STATUS_LABELS = {"art_cap_reached": "ART cap reached", "failed_nonfinite": "failed (non-finite loss)",
                 "not_run": "not run at this profile"}

#: how a seeds column counts the runs that did not finish
_SHORT_STATUS = {"art_cap_reached": "at the ART cap", "failed_nonfinite": "failed", "not_run": "not run"}


def seeds_label(results) -> str:
    """The finished runs of one setting, and the others said apart: '1 (+1 failed, 1 not run)'."""
    statuses = [r["status"] for r in results]
    parts = [f"{statuses.count(s)} {label}" for s, label in _SHORT_STATUS.items() if s in statuses]
    parts += [f"{statuses.count(s)} {s}" for s in sorted(set(statuses) - {"finished", *_SHORT_STATUS})]
    return f"{statuses.count('finished')}" + (f" (+{', '.join(parts)})" if parts else "")


_TABLES = [0]  # tables shown so far in this kernel: one notebook, one page, numbered from 1


#: what a verdict's ``schedule`` reads where the runs behind it have levelled off, and how it begins where they
#: have not (the verdict is then held at undecided)
LEVELLED, STILL_MOVING = "levelled off", "still moving"
#: a verdict table's column for :func:`~.claims.seeds_label`; :func:`table` shows it under the verdict
SEEDS_TO_DECIDE = "seeds to decide (estimate)"


def table(df: pd.DataFrame, caption: str, note: str = ""):
    """A table as the book shows it: numbered per page ("Table 3."), captioned, a missing value as "–"
    (``note`` may say why), floats to two decimals. A ``schedule`` column beside a ``verdict`` shows under the
    verdict it holds back (:data:`STILL_MOVING`), in small type; so does a :data:`SEEDS_TO_DECIDE` column."""
    _TABLES[0] += 1
    text = f"Table {_TABLES[0]}. {caption}" + (f" {note}" if note else "")
    df = shown(df)
    held = {"verdict", "schedule"} <= set(df.columns)
    if held:  # why a verdict is held reads under it, in small type, rather than in a column past the page's edge
        df = df.assign(verdict=[f"{v}<br><small>{s}</small>" if isinstance(s, str) and s.startswith(STILL_MOVING)
                                else v for v, s in zip(df["verdict"], df["schedule"])]).drop(columns="schedule")
    if {"verdict", SEEDS_TO_DECIDE} <= set(df.columns):  # the same for the seeds that would decide it
        df = df.assign(verdict=[v if n == "–" else f"{v}<br><small>estimate: {n} seeds a side would decide it</small>"
                                for v, n in zip(df["verdict"], df[SEEDS_TO_DECIDE])]).drop(columns=SEEDS_TO_DECIDE)
        held = True
    styler = (df.style.set_caption(text).format(precision=2, na_rep="–")
              .set_table_styles([{"selector": "caption", "props": "caption-side: top; text-align: left; "
                                                                   "font-weight: normal; padding-bottom: 0.4em;"}]))
    if "verdict" in df.columns:  # wraps between words to fit the page, else shows as cards (book/_static/tables.*)
        styler = styler.set_table_attributes('class="verdict-table"')
    if held:  # the reason reads as a sentence, not a column of syllables
        styler = styler.set_table_styles({"verdict": [{"selector": "td", "props": "min-width: 11em;"}]},
                                         overwrite=False)
    return styler


def shown(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the phases, regularizers and models a reader sees by their display names ("std-ratio
    fine-tuning", "Hoyer-Square", "LeNet-300-100"), in the index levels and columns so named."""
    from ..experiments.grid import MODEL_LABELS, REGULARIZER_LABELS
    from .convergence import PHASE_LABELS
    for name, labels in {"phase": PHASE_LABELS, "regularizer": REGULARIZER_LABELS, "model": MODEL_LABELS}.items():
        if name in df.index.names:
            df = df.rename(index=labels, level=name if df.index.nlevels > 1 else None)
        if name in df.columns:
            df = df.assign(**{name: [labels.get(v, v) if isinstance(v, str) else v for v in df[name]]})
    return df


def mean_std(values, digits: int = 2) -> str:
    """'mean ± std (n)' over seeds; a single run is shown as its value."""
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def pm(value, spread=None, digits: int = 2) -> str:
    """'value ± spread' (the spread left out where None); a missing value is '–'."""
    if value is None:
        return "–"
    return f"{value:.{digits}f}" + (f" ± {spread:.{digits}f}" if spread is not None else "")


def _finished(results):
    failed = [r for r in results if r["status"] != "finished"]
    return [r for r in results if r["status"] == "finished"], failed


def _group(pairs):
    groups: dict = {}
    for row, result in pairs:
        groups.setdefault(row, []).append(result)
    return groups


def departures_table(kind: str, profile: str, model: str, paper_model: str | None = None) -> pd.DataFrame:
    """How ``profile`` (training ``model``) departs from the paper's protocol (training ``paper_model``)."""
    rows = departures(kind, profile, model, paper_model)
    if not rows:
        return pd.DataFrame({"setting": ["(none)"], "original": ["the original protocol"], profile: ["same"]})
    return pd.DataFrame([{k: str(v) for k, v in r.items()} for r in rows]).fillna("").set_index("setting")
