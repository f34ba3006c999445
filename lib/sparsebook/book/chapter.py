"""What a results chapter's hidden loading cell calls: its parameters checked once, its runs loaded.

Papermill hands ``-p sparsities "[0.9]"`` to a notebook as the *string* ``"[0.9]"`` (``-y`` passes YAML);
:func:`parse` accepts both, so a list parameter works either way. Every parameter is checked right after
the parameters cell, and a bad one gets one message naming it and its valid values.
"""
from __future__ import annotations

import ast
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import data, experiments
from ..experiments import profiles, train_or_load
from ..experiments.config import check_data_root, resolve_device

__all__ = ["parse", "Chapter", "ParameterError", "art_chapter", "deephoyer_chapter", "results_store"]


class ParameterError(ValueError):
    """A chapter parameter is bad. In a notebook (papermill, Jupyter) it shows as its one line, not as a
    traceback through the library (IPython's ``_render_traceback_`` hook)."""

    def _render_traceback_(self) -> list[str]:
        return [f"ParameterError: {self}"]


def results_store(results_dir=None) -> Path:
    """The results folder a chapter reads: ``results_dir`` if given (a relative one against the working
    directory, as a user typed it), else ``$SPARSEBOOK_RESULTS``, else this repository's ``results/`` (found
    from the installed package, so a chapter run from any directory reads and writes the same store), else
    ``./results``."""
    if results_dir is not None:
        return Path(results_dir).expanduser().resolve()
    if os.environ.get("SPARSEBOOK_RESULTS"):
        return Path(os.environ["SPARSEBOOK_RESULTS"]).expanduser().resolve()
    for parent in Path(__file__).resolve().parents:
        if (parent / "_toc.yml").is_file() and (parent / "results").is_dir():
            return parent / "results"
    return Path("results").resolve()


def parse(name: str, value, *, kind: str = "list", items=None, valid=None):
    """A chapter parameter as papermill may pass it: a Python value, or its text (``"[0.9]"``, ``"{'l1': 1e-4}"``,
    ``"0.98"``). ``kind`` is "list", "dict" or "number"; ``items`` the element type of a list; ``valid``
    the allowed elements (or keys). None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ParameterError(f"parameter {name}: {value!r} is not a Python {kind} "
                                 f"(pass e.g. -p {name} \"{_example(kind, items)}\")") from None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"parameter {name} must be a number, got {value!r}")
        return value
    expected = dict if kind == "dict" else (list, tuple)
    if kind == "list" and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]  # -p seeds 0 means [0]
    if not isinstance(value, expected):
        raise ParameterError(f"parameter {name} must be a {kind} (e.g. {_example(kind, items)}), got {value!r}")
    keys = list(value) if kind == "dict" else list(value)
    if items is not None and kind == "list":
        bad = [v for v in keys if isinstance(v, bool) or not isinstance(v, items)]
        if bad:
            raise ParameterError(f"parameter {name}: {bad} are not "
                                 f"{items.__name__ if isinstance(items, type) else items}")
    if valid is not None:
        bad = [v for v in keys if v not in valid]
        if bad:
            raise ParameterError(f"parameter {name} must be among {', '.join(map(str, valid))}; got {bad}")
    return dict(value) if kind == "dict" else list(value)


def _example(kind: str, items=None) -> str:
    if kind == "list" and items is int:
        return "[0, 1, 2]"
    if kind == "list" and items is str:
        return "['hypersparse', 'l1']"
    return {"list": "[0.9, 0.98]", "dict": "{'l1': 1e-4}", "number": "0.98"}[kind]


@contextmanager
def _as_parameter_error():
    """A setting the chapter's parameters made that the run settings refuse: one line, as a parameter's."""
    try:
        yield
    except ParameterError:
        raise
    except ValueError as err:
        raise ParameterError(str(err)) from None


def _common(profile, device, data_root, seeds) -> list | None:
    if profile not in profiles.PROFILES:
        raise ParameterError(f"parameter profile must be one of {', '.join(sorted(profiles.PROFILES))}, "
                             f"got {profile!r}")
    try:
        resolve_device(device)
        check_data_root(data_root)
    except ValueError as err:
        raise ParameterError(f"parameter {err}") from None
    return parse("seeds", seeds, items=int)


@dataclass
class Chapter:
    """A chapter's runs, the model and data set they train, and one line saying so."""
    pairs: list
    model: str
    dataset: str
    profile: str

    def summary(self) -> str:
        statuses = ", ".join(sorted({r["status"] for _, r in self.pairs})) or "none"
        return (f"{len(self.pairs)} runs of {self.model} on {data.DATASETS[self.dataset].label} at profile "
                f"{self.profile!r}: {statuses}")


def art_chapter(paper_model: str, *, profile: str, results_dir, device="cpu", data_root=None, train=None,
                seeds=None, sparsities=None, regularizers=None, model=None, dataset=None, workers=None,
                **schedule) -> Chapter:
    """The runs of a HyperSparse chapter: parameters checked, stored runs read, missing ones trained (not at
    ``cpu``: see :func:`sparsebook.experiments.train_or_load`). ``schedule``: lambda_init, eta, warmup_epochs,
    finetune_epochs (None keeps the profile's)."""
    seeds = _common(profile, device, data_root, seeds)
    sparsities = parse("sparsities", sparsities, items=(int, float)) or experiments.art_sparsities(paper_model, profile)
    regularizers = parse("regularizers", regularizers, items=str, valid=experiments.ART_REGULARIZERS)
    schedule = {k: parse(k, v, kind="number") for k, v in schedule.items()}
    model = model or profiles.model_for("art", profile, paper_model)
    dataset = dataset or experiments.art_dataset(paper_model, profile)
    if dataset not in data.DATASETS:
        raise ParameterError(f"parameter dataset must be one of {', '.join(sorted(data.DATASETS))}, got {dataset!r}")
    try:  # without the data set, show the reference numbers and mark ours as not run
        data.resolve_root(dataset, data_root) if not dataset.startswith("synthetic_") else None
    except data.DataNotFoundError as err:
        print(f"{data.DATASETS[dataset].label} is not available here, so no run trains:", str(err).splitlines()[0])
        train = False
    with _as_parameter_error():
        pairs = experiments.art_runs(model, dataset, profile, seeds=seeds, sparsities=sparsities,
                                     regularizers=regularizers, **schedule)
    return Chapter(train_or_load(pairs, profile=profile, results_dir=results_dir, device=device,
                                 data_root=data_root, train=train, workers=workers), model, dataset, profile)


def deephoyer_chapter(model: str, dataset: str, *, profile: str, results_dir, device="cpu", data_root=None,
                      train=None, seeds=None, regularizers=None, decays=None, std_ratios=None,
                      workers=None) -> Chapter:
    """The runs of a DeepHoyer table, checked and loaded like :func:`art_chapter`."""
    seeds = _common(profile, device, data_root, seeds)
    valid = sorted({row.regularizer for row in experiments.deephoyer_rows(dataset)})
    regularizers = parse("regularizers", regularizers, items=str, valid=valid)
    decays = parse("decays", decays or {}, kind="dict", valid=valid)
    std_ratios = parse("std_ratios", std_ratios or {}, kind="dict", valid=valid)
    with _as_parameter_error():
        pairs = experiments.deephoyer_runs(model, dataset, profile, seeds=seeds, regularizers=regularizers,
                                           decays=decays, std_ratios=std_ratios)
    return Chapter(train_or_load(pairs, profile=profile, results_dir=results_dir, device=device,
                                 data_root=data_root, train=train, workers=workers), model, dataset, profile)
