"""The papers' data sets as in-memory tensors, and their augmentation.

``load("cifar10")`` returns an :class:`InMemoryData` with float32 images scaled
to [0, 1] (``ToTensor``) and normalized with the data set's mean/std, exactly as
``transforms.Normalize`` would. Training then slices batches from these tensors
(:func:`batches`) and augments them on their own device (:class:`Augment`: the
papers' random crop with 4-pixel zero padding plus horizontal flip), so a
seeded ``torch.Generator`` reproduces every batch.

Files are looked up (:func:`resolve_root`) in this order: an explicit
``data_root``; the ``SPARSEBOOK_DATA`` folder; known offline copies (the
``shared/data`` folder beside the checkout, then Debian's ``dataset-fashion-mnist``); the cache
(``SPARSEBOOK_CACHE``, default ``~/.cache/sparsebook``); finally torchvision's
download into the cache. Offline copies that need preparing (gzipped IDX
files, the CIFAR-10 JPEG and CIFAR-100 tarballs) are prepared atomically into the
cache, once per source file.

Every copy is checked against the official data's checksums before first use (:mod:`.integrity`);
a copy that differs, or a file that cannot be read, is refused with one line
(:class:`DataIntegrityError`) unless ``verify=False`` says it is the user's own, deliberately.

Every place is searched in the same layouts: a folder that *is* the data set, or
a folder of several data sets (``mnist/``, ``fashion_mnist/``, ``cifar100.tar.gz``,
``cifar10-jpeg.tar.gz``), as ``../shared/data`` is laid out.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
import torchvision

from . import folders, integrity
from .integrity import DataIntegrityError
from .memory import Augment, InMemoryData, augmentation_for, batches
from .specs import DATASETS, DatasetSpec, dataset_spec

__all__ = ["DatasetSpec", "DATASETS", "InMemoryData", "Augment", "DataNotFoundError", "DataIntegrityError", "load",
           "resolve_root", "ensure", "batches", "augmentation_for", "prepare_offline", "has_offline_copy"]


# torchvision.datasets class names (looked up at call time, so tests can patch them).
_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10",
                "cifar100": "CIFAR100"}
_IDX_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
# What a folder of several data sets (such as ../shared/data) holds for each: one file to look for.
SHIPPED = {"mnist": "mnist/train-images-idx3-ubyte.gz", "fashion_mnist": "fashion_mnist/train-images-idx3-ubyte.gz",
           "cifar100": "cifar100.tar.gz", "cifar10_jpeg": "cifar10-jpeg.tar.gz",
           "cifar100_jpeg": "cifar100-jpeg.tar.gz"}


class DataNotFoundError(FileNotFoundError):
    """No copy of a data set was found (and none could be downloaded); ``dataset`` names it."""

    def __init__(self, message: str, dataset: str | None = None):
        super().__init__(message)
        self.dataset = dataset


def cache_dir() -> Path:
    """The cache folder: ``$SPARSEBOOK_CACHE`` or ``~/.cache/sparsebook``."""
    return Path(os.environ.get("SPARSEBOOK_CACHE", "~/.cache/sparsebook")).expanduser()


def _key(*paths: Path) -> str:
    """Short hash of files' paths, sizes and mtimes: a changed source gets a fresh cache entry."""
    h = hashlib.sha1()
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()[:12]


def _atomic_dir(dest: Path, fill: Callable[[Path], None]) -> Path:
    """Build ``dest`` by ``fill``-ing a temporary sibling folder, then renaming it into place,
    so an interrupted run never leaves a half-prepared folder that a later run would trust."""
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        os.rename(tmp, dest)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not dest.is_dir():  # else another process finished it first: use theirs
            raise
    return dest


def _untar(name: str, tarball: Path, dest: Path, verify: bool) -> None:
    """Extract an archive after checking its checksum (with ``verify``); an unreadable one is one line."""
    digest = integrity.check_archive(name, tarball, verify)
    try:
        with tarfile.open(tarball) as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DataIntegrityError(f"data set {name!r}: {tarball} is not a readable archive ({err}); "
                                 "replace it with the official file", name) from None
    integrity.write_source(dest, {tarball.resolve(): digest}, verify)


def _layout(name: str, root: Path, verify: bool = True) -> Path | None:
    """The folder to hand to torchvision / the image-folder reader if ``root`` holds ``name``
    in a known layout, else None. Gzipped IDX files and the CIFAR-10 JPEG tarball are
    prepared into the cache first (torchvision only trusts them with the official md5s), each
    checked (``verify``) before anything is kept: a refused copy leaves nothing in the cache."""
    if name in ("mnist", "fashion_mnist"):
        folder = _TORCHVISION[name]
        if all((root / folder / "raw" / f).is_file() for f in _IDX_FILES):
            if verify:
                integrity.check_idx_folder(name, root / folder / "raw", _IDX_FILES)
            return root
        for src in (root, root / folder / "raw", root / name):  # root / name: a folder of several data sets
            gz = [src / f"{f}.gz" for f in _IDX_FILES]
            if all(p.is_file() for p in gz):
                def fill(tmp: Path) -> None:
                    (tmp / folder / "raw").mkdir(parents=True)
                    digests = {p.resolve(): integrity.gunzip_checked(name, p, tmp / folder / "raw" / f, verify)
                               for f, p in zip(_IDX_FILES, gz)}
                    integrity.write_source(tmp, digests, verify)
                tag = "" if verify else "-unverified"
                prepared = _atomic_dir(cache_dir() / "prepared" / f"{name}-{_key(*gz)}{tag}", fill)
                return _layout(name, prepared, verify)  # the prepared files checked again: a cache is no proof
        return None
    if name in ("cifar10", "cifar100"):
        base = getattr(torchvision.datasets, _TORCHVISION[name]).base_folder
        if (root / base).is_dir():
            return root  # torchvision checks the official md5s when it reads them (_read)
        tarball = root / f"{name}.tar.gz"  # an archive of the official python files (../shared/data)
        if tarball.is_file():
            return _layout(name, _atomic_dir(cache_dir() / "prepared" / f"{name}-{_key(tarball)}",
                                             lambda tmp: _untar(name, tarball, tmp, verify)), verify)
        return None
    if name in folders.SUBFOLDER:
        for cand in (root, root / folders.SUBFOLDER[name]):
            if (cand / "train").is_dir() and any((cand / s).is_dir() for s in folders.TEST_SPLITS[name]):
                return cand  # its file tree is checked when it is decoded (_read_image_folder)
        tarball = root / f"{folders.SUBFOLDER[name]}.tar.gz"
        if tarball.is_file():
            tag = "" if verify else "-unverified"
            return _layout(name, _atomic_dir(cache_dir() / "prepared" / f"{name}-{_key(tarball)}{tag}",
                                             lambda tmp: _untar(name, tarball, tmp, verify)), verify)
    return None


def has_offline_copy(name: str) -> bool:
    """Whether a known offline folder ships ``name`` (a cheap look at one file, nothing prepared)."""
    return (name in SHIPPED and (SHARED_DATA / SHIPPED[name]).is_file()) or \
        (name == "fashion_mnist" and (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file())


def _offline_copies(name: str) -> list[Path]:
    """Known offline folders for ``name``: ``shared/data`` beside the checkout (every data set
    it ships), then Debian's ``dataset-fashion-mnist`` for Fashion-MNIST."""
    return [SHARED_DATA] + ([DEBIAN_FASHION_MNIST] if name == "fashion_mnist" else [])


def _how_to_provide(name: str) -> str:
    how = "pass data_root=<folder>, or set SPARSEBOOK_DATA=<folder>"
    if name == "tinyimagenet":
        return (how + ", with Tiny ImageNet from http://cs231n.stanford.edu/tiny-imagenet-200.zip "
                "unzipped into it: <folder>/tiny-imagenet-200/train/<wnid>/images/*.JPEG and "
                "val/ either as class folders or as the official val/images + val_annotations.txt")
    if name in ("cifar10_jpeg", "cifar100_jpeg"):
        folder = folders.SUBFOLDER[name]
        return how + f" holding {folder}.tar.gz or {folder}/{{train,test}}/<class>/*.jpg"
    return how + ", or run once with internet access so torchvision downloads it into the cache"


def _locate(name: str, data_root, verify: bool = True) -> tuple[Path | None, list[str]]:
    """Search the places in order; return (root or None, the places looked at)."""
    if data_root is not None:
        root = Path(data_root).expanduser()
        if not root.is_dir():
            raise ValueError(f"data_root={str(data_root)!r} does not exist (or is not a folder)")
        return _layout(name, root, verify), [f"data_root={root}"]  # explicit: look nowhere else
    places = []  # (folder, how to name it in an error message)
    env = os.environ.get("SPARSEBOOK_DATA")
    if env:
        if not Path(env).expanduser().is_dir():
            raise ValueError(f"SPARSEBOOK_DATA={env!r} does not exist (or is not a folder)")
        places.append((Path(env).expanduser(), f"SPARSEBOOK_DATA={env}"))
    places += [(p, f"offline copy {p}") for p in _offline_copies(name)]
    places.append((cache_dir(), f"cache {cache_dir()}"))
    for place, _ in places:
        if place.is_dir() and (root := _layout(name, place, verify)) is not None:
            return root, [how for _, how in places]
    return None, [how for _, how in places]


def _not_found(name: str, looked: list[str], why: str = "") -> DataNotFoundError:
    return DataNotFoundError(f"data set {name!r} not found{why}. Looked in: {'; '.join(looked)}. "
                             f"To provide it: {_how_to_provide(name)}.", dataset=name)


def resolve_root(name: str, data_root: str | os.PathLike | None = None, verify: bool = True) -> Path:
    """The folder :func:`load` reads ``name`` from (preparing offline copies into the cache).

    Does not download: raises :class:`DataNotFoundError` when no copy is present."""
    if dataset_spec(name).name.startswith("synthetic_"):
        raise ValueError(f"{name!r} is generated in memory and has no files")
    root, looked = _locate(name, data_root, verify)
    if root is None:
        raise _not_found(name, looked)
    return root


def _download(name: str, target: Path, looked: list[str]) -> Path:
    """torchvision's download into ``target``; on failure remove what it left behind."""
    cls = getattr(torchvision.datasets, _TORCHVISION[name])
    made = [cls.base_folder, cls.filename] if hasattr(cls, "base_folder") else [cls.__name__]
    fresh = [target / m for m in made if not (target / m).exists()]
    try:
        target.mkdir(parents=True, exist_ok=True)
        for train in (True, False):
            cls(str(target), train=train, download=True)
    except Exception as err:
        for p in fresh:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        raise _not_found(name, looked, f" and torchvision's download into {target} failed ({err})") from err
    return target


def _read_image_folder(name: str, root: Path, verify: bool = True) -> tuple[torch.Tensor, ...]:
    """Decode once with torchvision, then keep the uint8 tensors in the cache as a .pt file
    (decoding tens of thousands of JPEGs every run is slow). The file records a fingerprint
    of the file list with sizes and times, so a changed folder is decoded again, and the folder's
    file tree is checked (``verify``) before it is decoded."""
    splits = folders.image_folder_splits(name, root)
    fingerprint = hashlib.sha1(repr([[(os.path.relpath(p, root), y, os.stat(p).st_size, os.stat(p).st_mtime_ns)
                                      for p, y in s] for s in splits]).encode()).hexdigest()
    where = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12]
    path = cache_dir() / "tensors" / f"{name}-{where}.pt"
    if path.is_file():
        cached = torch.load(path, weights_only=True)
        if cached.get("fingerprint") == fingerprint and (cached.get("verified") or not verify):
            return cached["train_x"], cached["train_y"], cached["test_x"], cached["test_y"]
    if verify:
        integrity.check_tree(name, root)
    (train_x, train_y), (test_x, test_y) = (folders.decode(s, dataset_spec(name).image_size) for s in splits)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save({"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y,
                    "fingerprint": fingerprint, "root": str(root), "verified": verify}, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return train_x, train_y, test_x, test_y


def _read(name: str, root: Path, verify: bool = True) -> tuple[torch.Tensor, ...]:
    """uint8 (N, C, H, W) images and int64 labels for train and test."""
    if name not in _TORCHVISION:
        return _read_image_folder(name, root, verify)
    out = []
    for train in (True, False):
        try:
            ds = getattr(torchvision.datasets, _TORCHVISION[name])(str(root), train=train, download=False)
        except (RuntimeError, ValueError, EOFError, OSError) as err:  # CIFAR: torchvision's md5 check; IDX: shape
            raise DataIntegrityError(f"data set {name!r}: the files in {root} cannot be read as the official "
                                     f"data ({str(err).splitlines()[0]}); {integrity.WAY_OUT}", name) from None
        x = ds.data.unsqueeze(1) if isinstance(ds.data, torch.Tensor) else \
            torch.from_numpy(ds.data).permute(0, 3, 1, 2)  # MNIST: (N,H,W) tensor; CIFAR: NHWC numpy
        out += [x.contiguous(), torch.as_tensor(ds.targets, dtype=torch.int64)]
    return tuple(out)


def _synthetic(spec: DatasetSpec, n_train: int = 512, n_test: int = 256) -> tuple[torch.Tensor, ...]:
    """A stand-in for tests only: one smooth random pattern per class plus unit noise,
    in the normalized range, always the same (fixed seed)."""
    g = torch.Generator().manual_seed(spec.num_classes)
    patterns = F.interpolate(torch.randn(spec.num_classes, 3, 4, 4, generator=g), size=32,
                             mode="bilinear", align_corners=False)
    out = []
    for n in (n_train, n_test):
        y = torch.randperm(n, generator=g) % spec.num_classes  # balanced classes, shuffled
        out += [patterns[y] + torch.randn(n, 3, 32, 32, generator=g), y]
    return tuple(out)


def load(name: str, *, data_root: str | os.PathLike | None = None, normalize: bool = True,
         download: bool = True, device: str | torch.device = "cpu", verify: bool = True) -> InMemoryData:
    """Load a data set of :data:`DATASETS` into memory on ``device``.

    Images are float32 (N, C, H, W) scaled to [0, 1] and, if ``normalize``, standardised with
    the spec's mean/std (synthetic sets are generated normalized; unnormalized they are mapped
    back by x * std + mean). Downloads (torchvision's, into ``data_root`` if given, else the
    cache) are tried only when no copy is found and ``download`` is true. Every copy is checked against
    the official checksums first (``verify=False``: the user's own copy, deliberately; recorded)."""
    spec = dataset_spec(name)
    if name.startswith("synthetic_"):
        root, raw = None, _synthetic(spec)
    else:
        root, looked = _locate(name, data_root, verify)
        if root is None:
            if not download or name not in _TORCHVISION:
                raise _not_found(name, looked)
            target = Path(data_root).expanduser() if data_root is not None else cache_dir()
            root = _download(name, target, looked)
            _layout(name, root, verify)  # the downloaded files checked like any other copy
        raw = _read(name, root, verify)
    mean = torch.tensor(spec.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, device=device).view(1, -1, 1, 1)

    def images(x: torch.Tensor) -> torch.Tensor:
        if root is None:  # synthetic: already normalized
            x = x.to(device)
            return x if normalize else x * std + mean
        x = x.to(device).float().div_(255)  # = ToTensor
        return x.sub_(mean).div_(std) if normalize else x  # = Normalize

    return InMemoryData(spec, images(raw[0]), raw[1].to(device), images(raw[2]), raw[3].to(device),
                        None if root is None else str(root), verified=verify)


def ensure(name: str, data_root: str | os.PathLike | None = None, verify: bool = True) -> Path:
    """Make ``name`` ready before any training: found (or downloaded by torchvision), checked against the
    official checksums (``verify``) and, for an image folder, decoded into the cache. Raises
    :class:`DataNotFoundError` (no copy, and none could be downloaded), :class:`DataIntegrityError` or
    ``ValueError`` (a bad folder), each one line."""
    spec = dataset_spec(name)
    if spec.name.startswith("synthetic_"):
        return Path(".")
    root, looked = _locate(name, data_root, verify)
    if root is None:
        if name not in _TORCHVISION:
            raise _not_found(name, looked)
        root = _download(name, Path(data_root).expanduser() if data_root is not None else cache_dir(), looked)
        _layout(name, root, verify)
    if name not in _TORCHVISION:
        _read_image_folder(name, root, verify)
    return root


def prepare_offline(names: list[str] | None = None) -> dict[str, str]:
    """Prepare every copy that can be found without downloading (decompress, extract, decode
    image folders into the cache). Returns name -> root, or an explanation; never raises for
    missing data."""
    result = {}
    for name in names or [n for n in DATASETS if not n.startswith("synthetic_")]:
        try:
            root = resolve_root(name)
            if name not in _TORCHVISION:
                _read_image_folder(name, root)
            result[name] = str(root)
        except DataNotFoundError as err:
            result[name] = f"not prepared: {err}"
        except DataIntegrityError as err:
            result[name] = f"refused: {err}"
    return result
