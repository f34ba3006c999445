"""Image-folder data sets (the CIFAR-10 JPEG copy, Tiny ImageNet): their (path, label) lists and decoding."""
from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torchvision.datasets.folder import default_loader
from torchvision.transforms.functional import pil_to_tensor

from .specs import dataset_spec

__all__ = ["image_folder_splits", "decode", "TEST_SPLITS", "SUBFOLDER"]

_CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                    "ship", "truck"]

# Preferred held-out split first: Tiny ImageNet's test/ has no labels.
TEST_SPLITS = {"cifar10_jpeg": ("test", "val"), "tinyimagenet": ("val", "test")}

SUBFOLDER = {"cifar10_jpeg": "cifar10-jpeg", "tinyimagenet": "tiny-imagenet-200"}


def image_folder_splits(name: str, root: Path):
    """ImageFolder's (path, label) lists for train and test, checking class order.
    Tiny ImageNet's official val/ is not in class folders: its labels are read by hand
    from val_annotations.txt, which ImageFolder does not know."""
    train = torchvision.datasets.ImageFolder(str(root / "train"))
    classes = train.classes
    if name == "cifar10_jpeg" and classes != _CIFAR10_CLASSES:
        raise ValueError(f"{root}/train: class folders {classes} do not sort into CIFAR-10's order")
    if len(classes) != dataset_spec(name).num_classes:
        raise ValueError(f"{root}/train has {len(classes)} class folders, expected {dataset_spec(name).num_classes}")
    split = next(root / s for s in TEST_SPLITS[name] if (root / s).is_dir())
    if (split / "val_annotations.txt").is_file():
        lines = (ln.split("\t") for ln in (split / "val_annotations.txt").read_text().splitlines() if ln)
        test = [(str(split / "images" / f[0]), train.class_to_idx[f[1]]) for f in lines]
    else:
        ds = torchvision.datasets.ImageFolder(str(split))
        if ds.classes != classes:
            raise ValueError(f"{split}: class folders differ from {root / 'train'}")
        test = ds.samples
    return train.samples, test


def decode(samples, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.empty((len(samples), 3, size, size), dtype=torch.uint8)
    for i, (path, _) in enumerate(samples):  # ImageFolder's own loader: PIL, converted to RGB
        img = pil_to_tensor(default_loader(path))
        if img.shape[1:] != (size, size):
            raise ValueError(f"{path}: image is {tuple(img.shape[1:])}, expected {size}x{size}")
        x[i] = img
    return x, torch.tensor([label for _, label in samples], dtype=torch.int64)
