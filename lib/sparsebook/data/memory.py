"""Data sets as in-memory tensors on the run's device: batches sliced from them and augmented on the
device (:class:`Augment`: the papers' random crop with 4-pixel zero padding plus horizontal flip), so a
seeded ``torch.Generator`` reproduces every batch."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterator

import torch

from .specs import DatasetSpec, dataset_spec

__all__ = ["InMemoryData", "Augment", "augmentation_for", "batches"]


@dataclass
class InMemoryData:
    """A data set's train and test split as tensors, plus where it came from."""
    spec: DatasetSpec
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    root: str | None
    verified: bool = True   # False: checksums not checked (the user's own copy, deliberately)
    val_x: torch.Tensor | None = None   # a validation split carved from the training set (split_validation)
    val_y: torch.Tensor | None = None

    def to(self, device: str | torch.device) -> "InMemoryData":
        return replace(self, **{k: getattr(self, k).to(device)
                                for k in ("train_x", "train_y", "test_x", "test_y", "val_x", "val_y")
                                if getattr(self, k) is not None})

    def split_validation(self, n: int, seed: int = 0) -> "InMemoryData":
        """``n`` training examples held out as a validation split, the rest kept for training (both in their
        original order). The split depends only on ``seed`` and the training set, never on a run's seed, so
        every run that asks for the same ``n`` holds out the same images."""
        if not 0 < n < len(self.train_y):
            raise ValueError(f"val_size must be between 1 and {len(self.train_y) - 1}, got {n}")
        g = torch.Generator().manual_seed(seed)
        held = torch.zeros(len(self.train_y), dtype=torch.bool)
        held[torch.randperm(len(self.train_y), generator=g)[:n]] = True
        held = held.to(self.train_y.device)
        return replace(self, train_x=self.train_x[~held], train_y=self.train_y[~held],
                       val_x=self.train_x[held], val_y=self.train_y[held])

    def subset(self, n_train: int | None, n_test: int | None, seed: int = 0) -> "InMemoryData":
        """A seeded random subset (kept in the original order) of at most n_train / n_test
        examples; None keeps a split whole."""
        g = torch.Generator().manual_seed(seed)
        parts = {}
        for split, n in (("train", n_train), ("test", n_test)):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            idx = torch.randperm(len(y), generator=g)[:n].sort().values.to(y.device)
            parts[f"{split}_x"], parts[f"{split}_y"] = (x, y) if n is None else (x[idx], y[idx])
        return replace(self, **parts)


@dataclass(frozen=True)
class Augment:
    """The papers' augmentation on a batch: RandomCrop(crop, padding) then RandomHorizontalFlip.

    ``fill`` is the padding value per channel (or one for all): on normalized images the
    normalized value of a black pixel, (0 - mean) / std, which is what torchvision's zero
    padding of the raw image becomes after Normalize. Vectorized (pad once, gather each
    image's crop with advanced indexing); random numbers come from ``generator`` on the
    batch's device (the global RNG if None), so a seeded generator reproduces a batch."""
    crop: int = 32
    padding: int = 4
    flip: bool = True
    fill: tuple[float, ...] = (0.0,)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, c, h, w = x.shape
        p, k = self.padding, self.crop
        if k > h + 2 * p or k > w + 2 * p:
            raise ValueError(f"crop {k} is larger than the padded image ({h + 2 * p}x{w + 2 * p})")
        fill = torch.tensor(self.fill, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        padded = fill.expand(n, c, h + 2 * p, w + 2 * p).clone()
        padded[:, :, p:p + h, p:p + w] = x
        top = torch.randint(0, h + 2 * p - k + 1, (n,), generator=generator, device=x.device)
        left = torch.randint(0, w + 2 * p - k + 1, (n,), generator=generator, device=x.device)
        offsets = torch.arange(k, device=x.device)
        rows, cols = top[:, None] + offsets, left[:, None] + offsets  # (n, k) each
        if self.flip:  # flipping the crop = reading its columns backwards
            flipped = torch.rand(n, generator=generator, device=x.device) < 0.5
            cols = torch.where(flipped[:, None], cols.flip(1), cols)
        return padded[torch.arange(n, device=x.device)[:, None, None, None],
                      torch.arange(c, device=x.device)[None, :, None, None],
                      rows[:, None, :, None], cols[:, None, None, :]]


def augmentation_for(name: str, *, normalize: bool = True) -> Augment | None:
    """The papers' augmentation for a data set (None for MNIST / Fashion-MNIST), padding with
    black in the images' scale (``normalize`` as passed to :func:`load`)."""
    spec = dataset_spec(name)
    if spec.image_size == 28:
        return None
    fill = tuple(-m / s for m, s in zip(spec.mean, spec.std)) if normalize else (0.0,)
    return Augment(crop=spec.image_size, padding=4, flip=True, fill=fill)


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, *, shuffle: bool,
            generator: torch.Generator | None = None,
            augment: Augment | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (xb, yb) batches of ``batch_size`` (the last one partial) in order or, with
    ``shuffle``, in the order of ``torch.randperm(n, generator=generator)`` on x's device
    (the generator must live there too); ``augment`` is applied with the same generator."""
    n = len(y)
    order = torch.randperm(n, generator=generator, device=x.device) if shuffle else None
    for start in range(0, n, batch_size):
        if order is None:
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        else:
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
        yield (augment(xb, generator) if augment is not None else xb), yb
