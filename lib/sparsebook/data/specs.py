"""The data sets the book knows: classes, shape, normalization, and the label tables use."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DatasetSpec", "DATASETS", "dataset_spec"]


@dataclass(frozen=True)
class DatasetSpec:
    """What a model needs to know about a data set, and its label for tables."""
    name: str
    num_classes: int
    in_channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    label: str

_C10 = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))

_C100 = ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761))

DATASETS: dict[str, DatasetSpec] = {s.name: s for s in [
    DatasetSpec("mnist", 10, 1, 28, (0.1307,), (0.3081,), "MNIST"),
    DatasetSpec("fashion_mnist", 10, 1, 28, (0.2860,), (0.3530,), "Fashion-MNIST"),
    DatasetSpec("cifar10", 10, 3, 32, *_C10, "CIFAR-10"),
    DatasetSpec("cifar100", 100, 3, 32, *_C100, "CIFAR-100"),
    DatasetSpec("tinyimagenet", 200, 3, 64, (0.4802, 0.4481, 0.3975), (0.2770, 0.2691, 0.2821),
                "Tiny ImageNet"),
    DatasetSpec("cifar10_jpeg", 10, 3, 32, *_C10, "CIFAR-10 (JPEG copy)"),
    DatasetSpec("cifar100_jpeg", 100, 3, 32, *_C100, "CIFAR-100 (JPEG copy)"),
    DatasetSpec("synthetic_cifar10", 10, 3, 32, *_C10, "synthetic CIFAR-10 stand-in"),
    DatasetSpec("synthetic_cifar100", 100, 3, 32, *_C100, "synthetic CIFAR-100 stand-in"),
]}



def dataset_spec(name: str) -> DatasetSpec:
    """The spec of a data set of :data:`DATASETS`, or one line naming the valid ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]
