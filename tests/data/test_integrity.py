"""Data integrity: every copy checked against the official checksums before first use; corrupted,
truncated and random-pixel copies refused with one line, nothing left in the cache; the way out
(verify=False) recorded."""
from __future__ import annotations

import gzip
import json
import os
import struct
import tarfile
from pathlib import Path

import pytest
import torch

from sparsebook import data
from sparsebook.data import DataIntegrityError, integrity, load

IDX = data._IDX_FILES
SHARED_MNIST = data.SHARED_DATA / "mnist"
needs_shared_mnist = pytest.mark.skipif(not (SHARED_MNIST / "train-images-idx3-ubyte.gz").is_file(),
                                        reason=f"the offline MNIST copy {SHARED_MNIST} is absent")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("SPARSEBOOK_DATA", raising=False)
    monkeypatch.setenv("SPARSEBOOK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def random_pixel_mnist(folder, n_train=60000, n_test=10000):
    """Valid gzipped IDX files of MNIST's shape holding random pixels: what the review fed through --data-root."""
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        pixels = torch.randint(0, 256, (n * 784,), generator=g, dtype=torch.uint8).numpy().tobytes()
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">IIII", 0x803, n, 28, 28) + pixels, compresslevel=1))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)), compresslevel=1))
    return folder


def assert_one_line_refusal(err, path_part):
    msg = str(err)
    assert "\n" not in msg and path_part in msg and "verify=False" in msg


def test_random_pixels_are_refused_before_anything_is_cached(tmp_path, isolated):
    src = random_pixel_mnist(tmp_path / "gz", n_train=100, n_test=10)
    with pytest.raises(DataIntegrityError) as info:
        load("mnist", data_root=src)
    assert_one_line_refusal(info.value, "train-images-idx3-ubyte.gz")
    found = integrity.hashlib.sha256(gzip.decompress((src / "train-images-idx3-ubyte.gz").read_bytes())).hexdigest()
    assert found in str(info.value) and integrity.IDX_SHA256["mnist"]["train-images-idx3-ubyte"] in str(info.value)
    assert not list((isolated / "prepared").glob("*")) if (isolated / "prepared").exists() else True
    # the way out: the user's own copy, deliberately; labelled
    d = load("mnist", data_root=src, verify=False)
    assert d.verified is False and d.train_x.shape == (100, 1, 28, 28)
    source = json.loads((Path(d.root) / "SOURCE.json").read_text())  # the cache records what it was built from
    assert source["verified"] is False and source["sources"][str(src / "train-images-idx3-ubyte.gz")] == found


@pytest.mark.parametrize("damage", ["truncated", "garbage", "truncated_idx"])
def test_unreadable_files_are_one_line_naming_the_file(tmp_path, damage):
    src = random_pixel_mnist(tmp_path / "gz", n_train=50, n_test=10)
    bad = src / "t10k-images-idx3-ubyte.gz"
    blob = bad.read_bytes()
    if damage == "truncated":
        bad.write_bytes(blob[: len(blob) // 2])
    elif damage == "garbage":
        bad.write_bytes(blob[:10] + os.urandom(len(blob) - 10))
    else:  # a valid gzip holding a truncated IDX file
        bad.write_bytes(gzip.compress(gzip.decompress(blob)[:5000]))
    for verify in (True, False) if damage != "truncated_idx" else (True,):
        with pytest.raises(DataIntegrityError) as info:
            load("mnist", data_root=src, verify=verify)
        assert "\n" not in str(info.value) and ("t10k-images" in str(info.value) or str(src) in str(info.value))


@needs_shared_mnist
def test_the_real_copy_passes_and_one_changed_byte_does_not(tmp_path):
    d = load("mnist")
    assert d.verified is True and len(d.train_y) == 60000
    copy = tmp_path / "mnist"
    copy.mkdir()
    for f in IDX:
        (copy / f"{f}.gz").write_bytes((SHARED_MNIST / f"{f}.gz").read_bytes())
    labels = bytearray(gzip.decompress((copy / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    labels[100] = (labels[100] + 1) % 10  # one label changed
    (copy / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(labels), compresslevel=1))
    with pytest.raises(DataIntegrityError) as info:
        data.resolve_root("mnist", copy)
    assert_one_line_refusal(info.value, "t10k-labels-idx1-ubyte.gz")


def test_an_uncompressed_folder_is_checked_too(tmp_path):
    raw = tmp_path / "own" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in IDX:
        (raw / f).write_bytes(b"\0" * 16)
    with pytest.raises(DataIntegrityError) as info:
        data.resolve_root("mnist", tmp_path / "own")
    assert_one_line_refusal(info.value, "MNIST/raw/train-images-idx3-ubyte")


def test_archives_and_image_folders_are_checked(tmp_path, isolated):
    src = tmp_path / "src" / "cifar10-jpeg"
    for split in ("train", "test"):
        for c in data.folders._CIFAR10_CLASSES:
            (src / split / c).mkdir(parents=True)
            (src / split / c / "0.jpg").write_bytes(b"not an image")
    with tarfile.open(tmp_path / "cifar10-jpeg.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="cifar10-jpeg")
    with pytest.raises(DataIntegrityError) as info:  # an archive whose checksum is not the offline copy's
        data.resolve_root("cifar10_jpeg", tmp_path)
    assert_one_line_refusal(info.value, "cifar10-jpeg.tar.gz")
    assert not list((isolated / "prepared").iterdir())  # nothing extracted
    with pytest.raises(DataIntegrityError) as info:  # an extracted folder: its file tree
        data.ensure("cifar10_jpeg", tmp_path / "src")
    assert_one_line_refusal(info.value, "(file tree)")
    (tmp_path / "bad.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataIntegrityError, match="not a readable archive"):
        data._untar("cifar10_jpeg", tmp_path / "bad.tar.gz", tmp_path / "out", verify=False)
