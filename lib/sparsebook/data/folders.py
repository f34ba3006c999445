"""Image-folder data sets (the CIFAR-10 and CIFAR-100 JPEG copies, Tiny ImageNet): their (path, label) lists and
decoding."""
from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torchvision.datasets.folder import default_loader
from torchvision.transforms.functional import pil_to_tensor

from .specs import dataset_spec

__all__ = ["image_folder_splits", "decode", "CLASSES", "TEST_SPLITS", "SUBFOLDER"]

_CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                    "ship", "truck"]

#: CIFAR-100's fine labels in the official order (its meta file's ``fine_label_names``), which is alphabetical:
#: the JPEG copy's class folders must be exactly these, so that ImageFolder's sorted labels are the official ones
_CIFAR100_CLASSES = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle "
    "caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant "
    "flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man "
    "maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree "
    "plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk skyscraper "
    "snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger tractor train "
    "trout tulip turtle wardrobe whale willow_tree wolf woman worm").split()
#: the class folders a copy must have, in the official label order, where the data set has one
CLASSES = {"cifar10_jpeg": _CIFAR10_CLASSES, "cifar100_jpeg": _CIFAR100_CLASSES}

# Preferred held-out split first: Tiny ImageNet's test/ has no labels.
TEST_SPLITS = {"cifar10_jpeg": ("test", "val"), "cifar100_jpeg": ("test",), "tinyimagenet": ("val", "test")}

SUBFOLDER = {"cifar10_jpeg": "cifar10-jpeg", "cifar100_jpeg": "cifar100-jpeg", "tinyimagenet": "tiny-imagenet-200"}


def image_folder_splits(name: str, root: Path):
    """ImageFolder's (path, label) lists for train and test, checking class order.
    Tiny ImageNet's official val/ is not in class folders: its labels are read by hand
    from val_annotations.txt, which ImageFolder does not know."""
    train = torchvision.datasets.ImageFolder(str(root / "train"))
    classes = train.classes
    if name in CLASSES and classes != CLASSES[name]:
        odd = sorted(set(classes) ^ set(CLASSES[name]))[:5]
        raise ValueError(f"{root}/train: class folders do not sort into {dataset_spec(name).label}'s label order "
                         f"(folders not among its classes, or classes without a folder: {odd})")
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
