"""The book's experiments: run settings, profiles, the grid of runs, and the machinery that trains them.

* :mod:`.config`: :class:`ARTConfig` / :class:`DeepHoyerConfig`, their checks and ids.
* :mod:`.profiles`: ``smoke`` / ``cpu`` / ``paper``, how each departs from the paper.
* :mod:`.grid`: THE grid: every table's rows, strengths, sparsities, data sets and stand-ins;
  :mod:`.frontiers`: the claims protocol's DeepHoyer runs (one pruning grid, a validation split, paired seeds).
* :mod:`.originals`: the originals' settings, transcribed with file and line (what ``paper`` must equal).
* :mod:`.runner`: train one run or read its stored result; :mod:`.store`: files, locks.
* :mod:`.executor`: many runs at once (local processes, SLURM through submitit).
* :mod:`.sweep`: the command line (``python -m sparsebook.experiments.sweep``).
* :mod:`.reference`: the published numbers, with their sources.
"""
from .config import ARTConfig, DeepHoyerConfig, config_from_settings, dense_start_config, run_id, settings, validate
from .executor import Entry, train_or_load
from .frontiers import FRONTIER, FRONTIER_SEEDS, FrontierRow, frontier_grid, frontier_runs
from .grid import (ART_DATASETS, ART_RECORD, ART_REGULARIZERS, ART_SPARSITIES, CURVE_GRID, CURVE_SMOKE, CURVE_TABLES,
                   DEEPHOYER_PLAN, DEEPHOYER_TABLES, LONG_CURVES, MODEL_LABELS, REGULARIZER_LABELS, ARTRow,
                   DeepHoyerRow, art_dataset, art_dense_runs, art_runs, art_sparsities, curve_strengths,
                   deephoyer_curve_runs, deephoyer_rows, deephoyer_runs, long_curve_epochs)
from .profiles import PROFILES, by_profile, departures, make_config, model_for, seeds_for
from .runner import TERMINAL_STATUSES, load_results, result_path, run, stored, threads_for
from .store import RunBusy

__all__ = ["ARTConfig", "DeepHoyerConfig", "config_from_settings", "dense_start_config", "run_id", "settings",
           "validate", "Entry", "train_or_load", "ART_DATASETS", "ART_RECORD", "ART_REGULARIZERS", "ART_SPARSITIES",
           "CURVE_GRID", "CURVE_SMOKE", "CURVE_TABLES", "DEEPHOYER_PLAN", "DEEPHOYER_TABLES", "LONG_CURVES",
           "MODEL_LABELS", "REGULARIZER_LABELS", "ARTRow", "DeepHoyerRow", "art_dataset", "art_dense_runs", "art_runs",
           "art_sparsities", "curve_strengths", "deephoyer_curve_runs", "deephoyer_rows", "deephoyer_runs",
           "long_curve_epochs",
           "PROFILES", "by_profile", "departures", "make_config", "model_for", "seeds_for", "RunBusy",
           "TERMINAL_STATUSES", "load_results", "result_path", "run", "stored", "threads_for", "FRONTIER",
           "FRONTIER_SEEDS", "FrontierRow", "frontier_grid", "frontier_runs"]
