"""Checksums of every data set the library prepares, checked before first use.

A copy is accepted when its content equals the official data's: the IDX files of MNIST and
Fashion-MNIST by the SHA-256 of their *uncompressed* bytes (so a recompressed ``.gz`` passes and
random pixels in a valid gzip do not); the archives of the offline copies by the SHA-256 their
README lists; an extracted image folder by a hash of its file tree (every relative path and its
file's SHA-256, in sorted order); the official CIFAR python files by torchvision's own md5 check.

A mismatch is one line naming the file, the expected and the found checksum, and the way out:
``verify=False`` (``data_unverified=True`` in a run's settings, ``--unverified-data`` on the sweep)
for a user's own deliberate copy. Such a run gets its own id and records ``data_verified: false``.
Tiny ImageNet has no checksum here, so it always needs that flag.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

__all__ = ["DataIntegrityError", "IDX_SHA256", "ARCHIVE_SHA256", "TREE_SHA256", "sha256_file", "tree_sha256",
           "gunzip_checked", "check_idx_folder", "check_archive", "check_tree", "write_source", "WAY_OUT"]

WAY_OUT = ("to train on your own copy deliberately, pass verify=False to data.load (data_unverified=True in a "
           "run's settings, --unverified-data on the sweep); such runs get their own ids and are labelled")


class DataIntegrityError(ValueError):
    """A data file is unreadable or its checksum is not the official data's; ``dataset`` names the set."""

    def __init__(self, message: str, dataset: str | None = None):
        super().__init__(message)
        self.dataset = dataset


# SHA-256 of the uncompressed official IDX files (those of ../shared/data, rebuilt byte for byte from the
# official files; Fashion-MNIST: Zalando's, as Debian's dataset-fashion-mnist ships them)
IDX_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

# SHA-256 of the offline copies' archives, as ../shared/data/README.md lists them
ARCHIVE_SHA256 = {
    "cifar100.tar.gz": "a9533b8528f3a6c16473121cb85b0e720ff544d37cdd1510217b584b6e274c8d",
    "cifar10-jpeg.tar.gz": "efac85c8ed52f4ead1e1f1b670d8dcf435d551fccebdd8b6365e0a01a504f3a4",
    "cifar100-jpeg.tar.gz": "4b53b9133c849ef59f5b9c304f993b837e06fdc60e680c1aa08e86b49508c01d",
}

# tree_sha256 of the image-folder data sets (the archives above, extracted): data set -> hash
TREE_SHA256 = {
    "cifar10_jpeg": "8f2f77ec36d282d215026ab23dfdfecf0f900826092b4f7a8bbc11763bf6a69e",
    "cifar100_jpeg": "88ca6685384d2627ad1f05a3a64314eb1dcd5a17c76a10030188557d82df97e9",
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_sha256(root: Path) -> str:
    """One hash of a folder's files: each relative path and its file's SHA-256, in sorted order."""
    h = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            p = Path(folder) / name
            h.update(str(p.relative_to(root)).encode() + b"\0" + bytes.fromhex(sha256_file(p)))
    return h.hexdigest()


def _mismatch(dataset: str, path: Path, expected: str, found: str, what: str = "") -> DataIntegrityError:
    return DataIntegrityError(f"data set {dataset!r}: {path}{what} has sha256 {found}, expected {expected} "
                              f"(not the official data); {WAY_OUT}", dataset)


def gunzip_checked(dataset: str, src: Path, dst: Path, verify: bool) -> str:
    """Decompress ``src`` into ``dst``, hashing the bytes; an unreadable gzip or (with ``verify``) content that is
    not the official file's is one line naming ``src``."""
    h = hashlib.sha256()
    try:
        with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
            for block in iter(lambda: fin.read(1 << 20), b""):
                h.update(block)
                fout.write(block)
    except (EOFError, OSError, zlib.error) as err:
        raise DataIntegrityError(f"data set {dataset!r}: {src} is not a readable gzip file ({err}); "
                                 "replace it with the official file", dataset) from None
    expected = IDX_SHA256.get(dataset, {}).get(dst.name)
    if verify and h.hexdigest() != expected:
        raise _mismatch(dataset, src, expected or "(none known)", h.hexdigest(), " (uncompressed)")
    return h.hexdigest()


def check_idx_folder(dataset: str, folder: Path, names) -> None:
    """Every uncompressed IDX file in ``folder`` against the official content."""
    for name in names:
        found = sha256_file(folder / name)
        if found != IDX_SHA256[dataset][name]:
            raise _mismatch(dataset, folder / name, IDX_SHA256[dataset][name], found)


def check_archive(dataset: str, tarball: Path, verify: bool = True) -> str:
    """The archive's SHA-256, checked against the offline copy's (with ``verify``)."""
    expected = ARCHIVE_SHA256.get(tarball.name)
    found = sha256_file(tarball)
    if verify and found != expected:
        raise _mismatch(dataset, tarball, expected or "(none known for this file name)", found)
    return found


def write_source(folder: Path, sources: dict[Path, str], verified: bool) -> None:
    """What a prepared cache folder was built from: each source file with its SHA-256 (of the uncompressed
    content for a gzipped IDX file) and whether it was checked against the official data."""
    import json
    (folder / "SOURCE.json").write_text(json.dumps(
        {"sources": {str(p): h for p, h in sources.items()}, "verified": verified}, indent=1))


def check_tree(dataset: str, folder: Path) -> None:
    expected = TREE_SHA256.get(dataset)
    found = tree_sha256(folder)
    if found != expected:
        raise _mismatch(dataset, folder, expected or "(none known for this data set)", found, " (file tree)")
