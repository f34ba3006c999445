"""The numbers other people published, with their source.

``reported_results.csv`` beside this module is a copy of the project's
reference table (``shared/reference/reported_results.csv``): every number the
book sets beside its own, each row naming its source, table, model, data set,
method, pruning rule, sparsity and metric. Nothing here is measured by us.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

__all__ = ["SOURCES", "reported", "lookup"]

CSV = Path(__file__).with_name("reported_results.csv")

SOURCES = {
    "hypersparse-readme": "the HyperSparse authors' repository README (GreenAutoML4FAS/HyperSparse)",
    # the README's "SMAC Optimization Results" sit in `[//]: # (...)` comment lines: they do not render on the
    # README's page, so the authors have not published them; shown only labelled as such
    "hypersparse-readme-smac": "unpublished: SMAC-tuned results in a block commented out of the HyperSparse "
                               "README (it does not render there)",
    "hypersparse-reproduction": "the HyperSparse reproduction report",
    "deephoyer-reproduction": "the DeepHoyer reproduction report",
}
_MODEL_NAMES = {"lenet300": "lenet_300_100"}


@lru_cache(maxsize=1)
def reported() -> pd.DataFrame:
    """The reference table, with model names as :mod:`sparsebook.models` spells them."""
    df = pd.read_csv(CSV, dtype={"note": str})
    df["model"] = df["model"].replace(_MODEL_NAMES)
    df["note"] = df["note"].fillna("")
    return df


def lookup(source: str, *, model: str, dataset: str, method: str, metric: str = "test_acc",
           pruning: str | None = None, sparsity: float | None = None, table: str | None = None,
           field: str = "value") -> float | str | None:
    """One published number (or, with ``field="note"``, its note), or None when the source has none."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; valid: {', '.join(SOURCES)}")
    df = reported()
    sel = (df.source == source) & (df.model == model) & (df.dataset == dataset) & (df.method == method) \
        & (df.metric == metric)
    if pruning is not None:
        sel &= df.pruning == pruning
    if table is not None:
        sel &= df.table.str.startswith(table)
    if sparsity is not None:
        sel &= (df.sparsity - sparsity).abs() < 1e-9
    hits = df[sel]
    if len(hits) > 1:
        raise ValueError(f"{len(hits)} reported numbers match; narrow the lookup: {hits.to_dict('records')}")
    if hits.empty:
        return None
    return float(hits.value.iloc[0]) if field == "value" else hits[field].iloc[0]
