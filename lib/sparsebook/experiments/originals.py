"""The originals' settings, transcribed from their code: what the ``paper`` profile must equal.

Each value names the file and line of the original it was read from (HyperSparse:
``GreenAutoML4FAS/HyperSparse`` at ec945f9; DeepHoyer: ``yanghr/DeepHoyer`` at 2a50da0). The
transcription is written here by hand and never computed from the library's own defaults, so that a
changed default or profile setting shows as a departure (:func:`sparsebook.experiments.departures`)
and fails ``tests/experiments/test_originals.py``.

* :data:`SETTINGS`: run settings (fields of ``ARTConfig`` / ``DeepHoyerConfig``) per (kind, paper model);
  :data:`BY_GROUP`: those that depend on the regularizer's group (DeepHoyer's structural scripts);
* :data:`CONSTANTS`: facts the library holds in code rather than in a run's settings (normalization,
  crop padding, the optimizer's Nesterov flag, the learning-rate factor); the test reads each from the
  library.

What each pruning rule reports is a stated departure, not a setting: the original reports the final
accuracy after the threshold's fine-tuning (``prun_tune_T.py``) and the best test accuracy, tested at the
start of each epoch, after the std ratio's (``prun_tune_V.py``, line 78); the book reads the final
accuracy under both rules (no choice on the test images) and shows the original's figure beside it.

Left out on purpose: the seed (an experiment variable: the originals fix one, 12345678 in DeepHoyer,
none by default in HyperSparse; the book runs several) and the regularizer's strength (DeepHoyer's
script default 1e-3 is a placeholder; each table row sets its own, from the reproduction's notebooks).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Original", "SETTINGS", "BY_GROUP", "CONSTANTS", "original_settings", "PAPER_MODELS"]


@dataclass(frozen=True)
class Original:
    value: object
    source: str      # the original's file and line

    def __str__(self) -> str:
        return f"{self.value} ({self.source})"


_HS = "HyperSparse "
_ARG = _HS + "utils/arg.py:"
_ART = {
    "lr": Original(0.1, _ARG + "49"),
    "momentum": Original(0.9, _ARG + "53"),
    "weight_decay": Original(1e-4, _ARG + "52"),          # on model.parameters(): every parameter, BN included
    "batch_size": Original(64, _ARG + "45"),
    "test_batch_size": Original(64, _HS + "utils/dataloader.py:113"),  # the test loader uses --batch_size too
    "warmup_epochs": Original(60, _ARG + "44"),
    "eta": Original(1.05, _ARG + "23"),
    "lambda_init": Original(5e-6, _ARG + "24"),
    "window": Original(3, _HS + "utils/art.py:12"),     # 2 * size_model_buffer + 1, size_model_buffer = 1
    "finetune_epochs": Original(160, _ARG + "43"),
    "finetune_milestones": Original((80, 120), _ARG + "51"),
    "stop_rule": Original("original", _HS + "utils/art.py:44"),          # ModelBuffer, best entry's own acc
    "pruned_eval": Original("augmented", _HS + "train.py:267"),          # the pruned copy on train_loader
    "art_max_epochs": Original(None, _HS + "train.py:248"),              # ART's epochs run to infinity
    "normalize": Original(True, _HS + "utils/dataloader.py:65"),
    "augment": Original(True, _HS + "utils/dataloader.py:62"),
    "width": Original(None, _HS + "train.py:203"),      # planes [32, 64, 128]; VGG's own widths
    "train_subset": Original(None, _HS + "utils/dataloader.py:87"),     # the whole training set
    "test_subset": Original(None, _HS + "utils/dataloader.py:106"),
}

_DH = "DeepHoyer mnist/"


def _deephoyer(script_dir: str) -> dict:
    el, tt, tv = _DH + script_dir + "/element.py:", _DH + script_dir + "/prun_tune_T.py:", \
        _DH + script_dir + "/prun_tune_V.py:"
    return {
        "train_epochs": Original(250, el + "24"),
        "lr": Original(1e-3, el + "32"),
        "batch_size": Original(100, el + "20"),
        "test_batch_size": Original(1000, el + "22"),
        "weight_decay": Original(0.0, el + "78"),       # Adam without weight decay (element-wise scripts)
        "tl1_a": Original(1.0, el + "105"),              # 2|w| / (1 + |w|) = (a+1)|w| / (a+|w|) at a = 1
        "normalize": Original(False, el + "63"),         # ToTensor() only
        "start": Original("dense", _DH + "README.md:7"),  # the README's recommended --pretrained start
        "threshold": Original(1e-3, tt + "38"),
        "threshold_finetune_epochs": Original(100, tt + "24"),
        "threshold_finetune_lr": Original(1e-4, tt + "26"),
        "std_ratio": Original(0.25, tv + "38"),
        "std_finetune_epochs": Original(50, tv + "24"),
        "std_finetune_lr": Original(1e-3, tv + "26"),
        "std_finetune_weight_decay": Original(1e-4, tv + "71"),
        "train_subset": Original(None, el + "62"),
        "test_subset": Original(None, el + "66"),
    }


#: (kind, the paper's model) -> setting -> its original value
SETTINGS: dict[tuple[str, str], dict[str, Original]] = {
    ("art", "resnet32"): _ART,
    ("art", "vgg19"): _ART,
    ("deephoyer", "lenet_300_100"): _deephoyer("MLP"),
    ("deephoyer", "lenet5"): {
        **_deephoyer("CNN"),
        # Group Lasso on a conv weight: sum over dims 0 and 1 of the 4-d weight, one group per kernel position
        "group_lasso_groups": Original("kernel_position", _DH + "CNN/structure.py:103"),
    },
}

#: settings that depend on the regularizer's group: (kind, group) -> setting -> value
BY_GROUP: dict[tuple[str, str], dict[str, Original]] = {
    ("deephoyer", "structural"): {"weight_decay": Original(1e-4, _DH + "MLP/structure.py:79 and CNN/structure.py:79")},
}

PAPER_MODELS = {kind: tuple(m for k, m in SETTINGS if k == kind) for kind in ("art", "deephoyer")}

#: facts the library keeps in code: name -> value (tests/experiments/test_originals.py reads each from the library)
CONSTANTS: dict[str, Original] = {
    "cifar10_mean_std": Original(((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
                                 _HS + "utils/dataloader.py:34-35"),
    "cifar100_mean_std": Original(((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
                                  _HS + "utils/dataloader.py:43-44"),
    "crop_padding": Original(4, _HS + "utils/dataloader.py:62"),
    "crop_fill": Original(0, _HS + "utils/dataloader.py:62"),       # RandomCrop's default fill, on raw pixels
    "horizontal_flip": Original(True, _HS + "utils/dataloader.py:63"),
    "sgd_nesterov": Original(False, _HS + "train.py:227"),
    "finetune_lr_decay": Original(0.1, _ARG + "50"),
    "deephoyer_threshold_finetune_weight_decay": Original(0.0, _DH + "MLP/prun_tune_T.py:71"),
}


def original_settings(kind: str, model: str, regularizer: str = "none") -> dict[str, Original]:
    """The transcribed settings of the paper's ``model`` (a paper model of ``kind``) with ``regularizer``."""
    from ..regularizers import STRUCTURAL
    if (kind, model) not in SETTINGS:
        valid = ", ".join(f"{k}/{m}" for k, m in SETTINGS)
        raise ValueError(f"no transcribed original for {kind}/{model}; transcribed: {valid}")
    group = "structural" if regularizer in STRUCTURAL else "elementwise"
    return {**SETTINGS[(kind, model)], **BY_GROUP.get((kind, group), {})}
