"""The book's experiments as data: which runs each table needs.

Chapters and the sweep command (``python -m sparsebook.experiments.sweep``) both build their
runs here, so the runs a sweep trains in the background are exactly the ones a
chapter then finds in the results store.

DeepHoyer's decays and std ratios are the ones the DeepHoyer reproduction used
(from its notebooks; ``shared/reference/deephoyer.md``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..regularizers import ELEMENTWISE, STRUCTURAL
from .profiles import make_config, seeds_for

__all__ = ["DeepHoyerRow", "DEEPHOYER_TABLES", "deephoyer_rows", "deephoyer_runs", "MODEL_LABELS", "REGULARIZER_LABELS",
           "ARTRow", "art_runs", "art_dense_runs", "ART_RECORD", "ART_SPARSITIES", "art_sparsities", "ART_DATASETS",
           "art_dataset",
           "CURVE_GRID", "LONG_CURVES", "long_curve_epochs", "curve_strengths", "deephoyer_curve_runs",
           "DEEPHOYER_PLAN", "STRUCTURAL_WEIGHT_DECAY"]

MODEL_LABELS = {"lenet_300_100": "LeNet-300-100", "lenet5": "LeNet-5", "resnet32": "ResNet-32", "resnet20": "ResNet-20",
                "vgg11": "VGG-11",
                "vgg19": "VGG-19"}
REGULARIZER_LABELS = {"none": "unregularized", "l1": "L1", "l2": "L2", "hoyer": "Hoyer", "hoyer_square": "Hoyer-Square",
                      "transformed_l1": "Transformed L1", "group_lasso": "Group Lasso",
                      "group_hoyer_square": "Group-HS", "hypersparse": "HyperSparse"}

# (decay, std ratio) per regularizer, as the DeepHoyer reproduction tuned them
_MNIST = {
    "lenet_300_100": {"none": (0.0, 0.25), "l1": (1e-3, 0.25), "hoyer": (2e-2, 0.05), "hoyer_square": (2e-4, 0.03),
                      "transformed_l1": (2e-5, 0.3), "group_lasso": (1e-3, 0.25), "group_hoyer_square": (2e-3, 0.8)},
    "lenet5": {"none": (0.0, 0.25), "l1": (1e-3, 0.25), "hoyer": (1e-2, 0.08), "hoyer_square": (1e-4, 0.03),
               "transformed_l1": (2e-5, 0.6), "group_lasso": (1e-3, 0.25), "group_hoyer_square": (1e-1, 0.008)},
}
# Fashion-MNIST: the reproduction's own values where it gives them, else its MNIST ones
_FASHION = {
    "lenet_300_100": {**_MNIST["lenet_300_100"], "hoyer": (2e-3, 0.05), "hoyer_square": (2e-4, 0.03),
                      "group_hoyer_square": (1e-4, 1.5)},
    "lenet5": {**_MNIST["lenet5"], "hoyer": (1e-3, 0.08), "hoyer_square": (1e-4, 0.03)},
}
HPARAMS = {"mnist": _MNIST, "fashion_mnist": _FASHION}
#: the DeepHoyer chapters' tables (model, data set), in the order the book shows them
DEEPHOYER_PLAN = [("lenet_300_100", "mnist"), ("lenet5", "mnist"),
                  ("lenet_300_100", "fashion_mnist"), ("lenet5", "fashion_mnist")]
STRUCTURAL_WEIGHT_DECAY = 1e-4  # Adam weight decay of the structural scripts


@dataclass(frozen=True)
class DeepHoyerRow:
    group: str          # "element-wise" or "structural"
    regularizer: str


_ELEMENTWISE = [DeepHoyerRow("element-wise", r) for r in ("none", *ELEMENTWISE)]
_STRUCTURAL = [DeepHoyerRow("structural", r) for r in ("none", *STRUCTURAL)]
DEEPHOYER_TABLES = {
    "mnist": _ELEMENTWISE + _STRUCTURAL,
    "fashion_mnist": [DeepHoyerRow("element-wise", r) for r in ("none", "hoyer", "hoyer_square", "transformed_l1")]
    + [DeepHoyerRow("structural", "group_hoyer_square")],
}


def deephoyer_rows(dataset: str, regularizers: list[str] | None = None) -> list[DeepHoyerRow]:
    """The report's rows for a data set, optionally only some regularizers."""
    if dataset not in DEEPHOYER_TABLES:
        raise ValueError(f"no DeepHoyer table for data set {dataset!r}; valid: {', '.join(DEEPHOYER_TABLES)}")
    rows = DEEPHOYER_TABLES[dataset]
    if regularizers is not None:
        valid = sorted({r.regularizer for r in rows})
        unknown = sorted(set(regularizers) - set(valid))
        if unknown:
            raise ValueError(f"regularizers {unknown} are not rows of this table; valid: {', '.join(valid)}")
        rows = [r for r in rows if r.regularizer in regularizers]
    return rows


def deephoyer_runs(model: str, dataset: str, profile: str, seeds=None, regularizers=None,
                   decays: dict | None = None, std_ratios: dict | None = None,
                   train_epochs: int | None = None) -> list[tuple[DeepHoyerRow, object]]:
    """(row, config) for every row and seed of a DeepHoyer table; ``decays`` / ``std_ratios`` override by name,
    ``train_epochs`` the profile's training length."""
    hp = HPARAMS[dataset][model] if dataset in HPARAMS else _MNIST[model]
    out = []
    for row in deephoyer_rows(dataset, regularizers):
        decay, ratio = hp[row.regularizer]
        decay = (decays or {}).get(row.regularizer, decay)
        ratio = (std_ratios or {}).get(row.regularizer, ratio)
        wd = STRUCTURAL_WEIGHT_DECAY if row.group == "structural" else 0.0
        for seed in (seeds if seeds is not None else seeds_for("deephoyer", profile, model)):
            out.append((row, make_config("deephoyer", profile, model=model, dataset=dataset,
                                         regularizer=row.regularizer, decay=decay, std_ratio=ratio,
                                         weight_decay=wd, train_epochs=train_epochs, seed=seed)))
    return out


# Trade-off curves (issue: deciding DeepHoyer's claims): each regularizer's strength on a half-decade
# geometric grid that contains the reproduction's value (so those runs are shared with the tables), chosen
# so the curves cover the band from the unregularized accuracy down a few points. The std ratio stays the
# reproduction's for that regularizer. Hoyer-Square takes one half-decade more: at 60 + 40 + 20 epochs its
# strongest centre point (2e-3) stayed above the unregularized accuracy minus 2 points under both rules (seeds
# 0 and 1: ~97.0 % at the threshold, ~96.8 % at the std ratio, the targets ~96.5 and ~96.1), so its curve did
# not reach the band's lowest target. L1 takes one half-decade above the reproduction's value for the same
# reason: at the long curves' 250 training epochs its strongest point (1e-3) stayed above that target on one
# seed of three (seed 0: 96.49 % against 96.43 at the threshold, 96.29 against 96.04 at the std ratio), so
# that seed's own curve gave no estimate there and the row had two seeds.
_HALF_DECADES = {"centre": (-1.0, -0.5, 0.0, 0.5, 1.0), "below_and_above": (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5),
                 "centre_and_above": (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5)}
CURVE_GRID = {"l1": "below_and_above", "hoyer": "centre", "hoyer_square": "centre_and_above",
              "transformed_l1": "centre", "group_lasso": "centre", "group_hoyer_square": "centre"}
CURVE_TABLES = {("lenet_300_100", "mnist")}  # where the profile affords curves
#: the smoke profile (tests) runs two strengths of the four regularizers the claims compare
CURVE_SMOKE = {"regularizers": ("l1", "hoyer_square", "group_lasso", "group_hoyer_square"), "points": 2}
# The element-wise claim again at the paper's 250 training epochs, every strength of both curves: at the cpu
# profile's 60, Hoyer-Square's training accuracy still rose at its stronger strengths (by up to 1.3 points over
# the last 30 epochs, three seeds), which holds its verdicts. A probe of 200 epochs (Hoyer-Square at 2e-3, one
# seed, not book evidence) passed the convergence rule's fitted line only at ~200 (its last half still rose
# 1.0 points at 60, 0.5 at 120, 0.2 at 180, 0.1 at 200). The profile's own schedule stays for every other run:
# these 39 runs cost ~15 min each here (one thread). Absent where the profile trains 250 anyway.
LONG_CURVES = {"regularizers": ("l1", "hoyer_square"), "train_epochs": {"cpu": 250, "smoke": 2}}


def long_curve_epochs(profile: str) -> int | None:
    """The training epochs of the element-wise claim's long curves at ``profile`` (None: no such curves)."""
    return LONG_CURVES["train_epochs"].get(profile)


def curve_strengths(model: str, dataset: str, regularizer: str) -> tuple[float, ...]:
    """The decays of one regularizer's trade-off curve: the reproduction's value times 10^k, k on the grid."""
    base = (HPARAMS[dataset][model] if dataset in HPARAMS else _MNIST[model])[regularizer][0]
    return tuple(float(f"{base * 10 ** k:.3g}") for k in _HALF_DECADES[CURVE_GRID[regularizer]])


def deephoyer_curve_runs(model: str, dataset: str, profile: str, seeds=None, regularizers=None,
                         long: bool = False) -> list[tuple[DeepHoyerRow, object]]:
    """(row, config) for every point of every trade-off curve (and the unregularized top of the band);
    ``long``: the element-wise claim's curves at :data:`LONG_CURVES`' training epochs (none where the profile
    has no such length)."""
    smoke = profile == "smoke"
    epochs = long_curve_epochs(profile) if long else None
    if long and epochs is None:
        return []
    if regularizers is None:
        regularizers = LONG_CURVES["regularizers"] if long else CURVE_SMOKE["regularizers"] if smoke else CURVE_GRID
    regs = list(regularizers)
    unknown = sorted(set(regs) - set(CURVE_GRID))
    if unknown:
        raise ValueError(f"no trade-off curve for {unknown}; valid: {', '.join(CURVE_GRID)}")
    out = [(row, cfg) for row, cfg in deephoyer_runs(model, dataset, profile, seeds=seeds, regularizers=["none"],
                                                     train_epochs=epochs)
           if not long or row.group == "element-wise"]
    for reg in regs:
        strengths = curve_strengths(model, dataset, reg)
        for decay in strengths[1:1 + CURVE_SMOKE["points"]] if smoke else strengths:
            out += deephoyer_runs(model, dataset, profile, seeds=seeds, regularizers=[reg], decays={reg: decay},
                                  train_epochs=epochs)
    return out


# -- HyperSparse / ART ---------------------------------------------------------------------------

#: the data set each HyperSparse chapter trains on, by the paper's model and profile: the paper's own, except
#: CIFAR-10 below the paper profile (only a JPEG copy is offline here, labelled as such), and CIFAR-100 at gpu (its
#: JPEG copy travels to a lent GPU; the official archive is too large to)
ART_DATASETS = {"resnet32": {"paper": "cifar10", "cpu": "cifar10_jpeg", "smoke": "cifar10_jpeg", "gpu": "cifar10_jpeg"},
                "vgg19": {"paper": "cifar100", "cpu": "cifar100", "smoke": "cifar100", "gpu": "cifar100_jpeg"},
                "lenet5": {"paper": "fashion_mnist", "cpu": "fashion_mnist", "smoke": "fashion_mnist"}}


def art_dataset(paper_model: str, profile: str) -> str:
    """The data set a HyperSparse chapter on ``paper_model`` trains on at ``profile``."""
    if paper_model not in ART_DATASETS:
        raise ValueError(f"no HyperSparse chapter trains {paper_model!r}; valid: {', '.join(ART_DATASETS)}")
    return ART_DATASETS[paper_model].get(profile, ART_DATASETS[paper_model]["paper"])


#: snapshots every ART run keeps: end of warm-up, every ART epoch ("art"), the stop, the end
ART_RECORD = ("warmup_end", "art", "art_stop", "final")
ART_SPARSITIES = {"paper": (0.9, 0.98, 0.995, 0.998), "cpu": (0.9, 0.98, 0.995), "smoke": (0.9, 0.98),
                  "gpu": (0.9, 0.98, 0.995)}
#: a chapter that runs other sparsities than its profile's, by the paper's model: the small-scale chapter
#: affords the paper's four at every profile
CHAPTER_SPARSITIES = {"lenet5": (0.9, 0.98, 0.995, 0.998)}


def art_sparsities(paper_model: str, profile: str) -> tuple[float, ...]:
    """The target sparsities of the HyperSparse chapter on ``paper_model`` at ``profile``."""
    return CHAPTER_SPARSITIES.get(paper_model) or ART_SPARSITIES.get(profile, ART_SPARSITIES["paper"])
ART_REGULARIZERS = ("hypersparse", "l1", "l2")


@dataclass(frozen=True)
class ARTRow:
    regularizer: str
    sparsity: float


def art_runs(model: str, dataset: str, profile: str, *, seeds=None, sparsities=None, regularizers=None,
             **settings) -> list[tuple[ARTRow, object]]:
    """(row, config) for every regularizer x sparsity x seed of an ART table; ``settings`` override
    ART's schedule (lambda_init, eta, warmup_epochs, finetune_epochs, ...; None keeps the profile's)."""
    regs = list(regularizers) if regularizers is not None else list(ART_REGULARIZERS)
    bad = sorted(set(regs) - set(ART_REGULARIZERS))
    if bad:
        raise ValueError(f"ART regularizers must be among {', '.join(ART_REGULARIZERS)}; got {bad}")
    sps = list(sparsities) if sparsities is not None else list(ART_SPARSITIES.get(profile, ART_SPARSITIES["paper"]))
    out = []
    for reg in regs:
        for sp in sps:
            for seed in (seeds if seeds is not None else seeds_for("art", profile, model)):
                out.append((ARTRow(reg, sp), make_config("art", profile, model=model, dataset=dataset, regularizer=reg,
                                                         sparsity=sp, seed=seed, record_epochs=ART_RECORD,
                                                         **settings)))
    return out


def art_dense_runs(model: str, dataset: str, profile: str, *, seeds=None, **settings) -> list[tuple[ARTRow, object]]:
    """(row, config) per seed of an ART setting's dense reference (``sparsity=0``, no regularizer): the seed's
    warm-up, then the fine-tuning's stepped schedule without ART or a mask (:mod:`sparsebook.train.art`). The
    claims protocol holds its final test accuracy against the setting's regime bar."""
    return [(ARTRow("none", 0.0), make_config("art", profile, model=model, dataset=dataset, regularizer="none",
                                              sparsity=0.0, seed=seed, **settings))
            for seed in (seeds if seeds is not None else seeds_for("art", profile, model))]
