"""Tests of sparsebook.data: offline copies, lookup order, errors, augmentation, batches.

Every test runs with SPARSEBOOK_DATA unset and SPARSEBOOK_CACHE in a fresh temporary
folder, except the real CIFAR-10 JPEG copy, which reuses the real cache for speed
(``make data`` prepares it; cold, it takes about 20 s to extract and decode).
"""
from __future__ import annotations

import gzip
import struct
import tarfile
import urllib.error

import pytest
import torch
import torchvision
import torchvision.transforms.functional as TF
from PIL import Image

from sparsebook import data
from sparsebook.data import (DATASETS, Augment, DataNotFoundError, augmentation_for, batches, load,
                             resolve_root)

REAL_CACHE = data.cache_dir()  # read before any test changes the environment
SHARED_MNIST = data.SHARED_DATA / "mnist"
IDX = data._IDX_FILES
needs_shared_mnist = pytest.mark.skipif(not (SHARED_MNIST / "train-images-idx3-ubyte.gz").is_file(),
                                        reason=f"the offline MNIST copy {SHARED_MNIST} is absent")
needs_shared_cifar = pytest.mark.skipif(not (data.SHARED_DATA / "cifar10-jpeg.tar.gz").is_file(),
                                        reason=f"no offline CIFAR-10 JPEG copy in {data.SHARED_DATA}")
needs_debian = pytest.mark.skipif(not (data.DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file(),
                                  reason="optional: Debian's dataset-fashion-mnist is not installed "
                                         "(apt-get install dataset-fashion-mnist)")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.delenv("SPARSEBOOK_DATA", raising=False)
    monkeypatch.setenv("SPARSEBOOK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def mnist_cache(tmp_path_factory):
    """One cache for the MNIST tests, so the shared copy is decompressed once."""
    return tmp_path_factory.mktemp("mnist-cache")


def write_fake_idx(folder, n_train=20, n_test=10):
    """The four gzipped IDX files of a tiny MNIST-like set; pixel = image index, label = index % 10."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = struct.pack(">IIII", 0x803, n, 28, 28) + bytes(i % 256 for i in range(n) for _ in range(784))
        labels = struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    return folder


def write_image_folder(root, classes, per_class, size=32, ext="png"):
    """Class folders of random images; returns {relative path: uint8 CHW tensor}."""
    g = torch.Generator().manual_seed(0)
    images = {}
    for c in classes:
        (root / c).mkdir(parents=True)
        for k in range(per_class):
            img = torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(root / c / f"{k}.{ext}")
            images[f"{c}/{k}.{ext}"] = img
    return images


# --- the real offline copies --------------------------------------------------------------

@needs_shared_mnist
def test_mnist_from_shared_copy(monkeypatch, mnist_cache):
    monkeypatch.setenv("SPARSEBOOK_CACHE", str(mnist_cache))
    d = load("mnist", normalize=False)
    assert d.train_x.shape == (60000, 1, 28, 28) and d.test_x.shape == (10000, 1, 28, 28)
    assert d.train_x.dtype == torch.float32 and d.train_y.dtype == torch.int64
    assert d.train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert d.train_x.min() == 0 and d.train_x.max() == 1
    assert d.train_x.mean().item() == pytest.approx(0.1307, abs=1e-3)
    assert d.root.startswith(str(mnist_cache / "prepared"))
    n = load("mnist")  # normalized
    assert abs(n.train_x.mean().item()) < 1e-3 and n.train_x.std().item() == pytest.approx(1, abs=1e-2)
    torch.testing.assert_close(n.test_x, (d.test_x - 0.1307) / 0.3081)


@needs_debian
def test_fashion_mnist_from_debian_package(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "SHARED_DATA", tmp_path / "shared")  # the Debian folder alone
    d = load("fashion_mnist", normalize=False, download=False)
    assert d.root.startswith(str(data.cache_dir() / "prepared"))
    assert d.train_x.shape == (60000, 1, 28, 28) and d.test_x.shape == (10000, 1, 28, 28)
    assert d.train_y[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert d.train_x.mean().item() == pytest.approx(0.2860, abs=1e-3)
    assert DATASETS["fashion_mnist"].label == "Fashion-MNIST"


@needs_shared_cifar
def test_cifar10_jpeg_from_shared_copy(monkeypatch):
    monkeypatch.setenv("SPARSEBOOK_CACHE", str(REAL_CACHE))
    d = load("cifar10_jpeg", normalize=False, download=False)
    assert d.train_x.shape == (50000, 3, 32, 32) and d.test_x.shape == (10000, 3, 32, 32)
    assert d.train_y.bincount().tolist() == [5000] * 10 and d.test_y.bincount().tolist() == [1000] * 10
    torch.testing.assert_close(d.train_x.mean((0, 2, 3)), torch.tensor([0.4913, 0.4821, 0.4465]),
                               atol=2e-4, rtol=0)
    assert d.spec.label == "CIFAR-10 (JPEG copy)"


# Each data set ../shared/data ships, loaded by name offline, against its README's figures:
# (train size, test size, classes, train images per class or None, train mean per channel, tolerance).
SHIPPED_FIGURES = {
    "mnist": (60000, 10000, 10, None, (0.1307,), 1e-3),
    "fashion_mnist": (60000, 10000, 10, None, (0.2860,), 1e-3),
    "cifar100": (50000, 10000, 100, 500, (0.5071, 0.4865, 0.4409), 2e-4),
    "cifar10_jpeg": (50000, 10000, 10, 5000, (0.4913, 0.4821, 0.4465), 2e-4),
}


@pytest.mark.parametrize("name", sorted(SHIPPED_FIGURES))
def test_each_shipped_data_set_loads_by_name_offline(name, monkeypatch):
    if not (data.SHARED_DATA / data.SHIPPED[name]).is_file():
        pytest.skip(f"{data.SHARED_DATA / data.SHIPPED[name]} is absent (no ../shared/data beside the checkout)")
    monkeypatch.setenv("SPARSEBOOK_CACHE", str(REAL_CACHE))  # `make data` prepared it there
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", data.Path("/nonexistent"))  # shared/data alone
    n_train, n_test, classes, per_class, mean, tol = SHIPPED_FIGURES[name]
    d = load(name, normalize=False, download=False)
    assert d.root.startswith(str(REAL_CACHE / "prepared"))
    assert len(d.train_y) == n_train and len(d.test_y) == n_test
    assert d.spec.num_classes == classes and d.train_y.unique().numel() == classes
    if per_class is not None:
        assert d.train_y.bincount().tolist() == [per_class] * classes
    torch.testing.assert_close(d.train_x.mean((0, 2, 3)), torch.tensor(mean), atol=tol, rtol=0)


def test_cifar100_tarball_is_extracted_once_atomically(tmp_path, isolated, monkeypatch):
    """A cifar100.tar.gz of the official python files is extracted into the cache once and read."""
    import pickle
    src = tmp_path / "src" / "cifar-100-python"
    src.mkdir(parents=True)
    for split, n in (("train", 6), ("test", 3)):
        blob = {"data": (torch.arange(n * 3072) % 256).to(torch.uint8).view(n, 3072).numpy(),
                "fine_labels": [k % 100 for k in range(n)], "coarse_labels": [0] * n}
        (src / split).write_bytes(pickle.dumps(blob))
    (src / "meta").write_bytes(pickle.dumps({"fine_label_names": [str(k) for k in range(100)]}))
    with tarfile.open(tmp_path / "cifar100.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="cifar-100-python")
    monkeypatch.setattr(torchvision.datasets.CIFAR100, "_check_integrity", lambda self: True)  # not the real md5s
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kw: True)
    d = load("cifar100", verify=False, data_root=tmp_path, normalize=False)
    assert d.root.startswith(str(isolated / "prepared")) and d.train_x.shape == (6, 3, 32, 32)
    assert d.test_y.tolist() == [0, 1, 2]
    calls = []
    monkeypatch.setattr(data, "_untar", lambda *a: calls.append(a))
    assert load("cifar100", verify=False, data_root=tmp_path).test_x.shape == (3, 3, 32, 32) and calls == []


# --- image folders, through the same code path on tiny fakes ------------------------------

def test_image_folder_decoded_once_and_cached(tmp_path, monkeypatch, isolated):
    root = tmp_path / "fake"
    train = write_image_folder(root / "train", data.folders._CIFAR10_CLASSES, per_class=2)
    test = write_image_folder(root / "test", data.folders._CIFAR10_CLASSES, per_class=1)
    d = load("cifar10_jpeg", verify=False, data_root=root, normalize=False)
    assert d.root == str(root)
    assert d.train_x.shape == (20, 3, 32, 32) and d.test_x.shape == (10, 3, 32, 32)
    assert d.train_y.tolist() == [k // 2 for k in range(20)] and d.test_y.tolist() == list(range(10))
    assert torch.equal((d.train_x * 255).round().to(torch.uint8), torch.stack(list(train.values())))
    assert torch.equal((d.test_x * 255).round().to(torch.uint8), torch.stack(list(test.values())))
    assert len(list((isolated / "tensors").glob("cifar10_jpeg-*.pt"))) == 1

    def no_decoding(*args):
        raise AssertionError("decoded again although the cache is up to date")
    real_decode = data.folders.decode
    monkeypatch.setattr(data.folders, "decode", no_decoding)
    assert torch.equal(load("cifar10_jpeg", verify=False, data_root=root, normalize=False).train_x, d.train_x)
    monkeypatch.setattr(data.folders, "decode", real_decode)
    Image.new("RGB", (32, 32)).save(root / "test" / "cat" / "extra.png")  # a changed folder is re-read
    assert load("cifar10_jpeg", verify=False, data_root=root).test_x.shape == (11, 3, 32, 32)


def test_image_folder_from_tarball(tmp_path, isolated):
    src = tmp_path / "src" / "cifar10-jpeg"
    write_image_folder(src / "train", data.folders._CIFAR10_CLASSES, per_class=1)
    write_image_folder(src / "test", data.folders._CIFAR10_CLASSES, per_class=1)
    with tarfile.open(tmp_path / "cifar10-jpeg.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="cifar10-jpeg")
    d = load("cifar10_jpeg", verify=False, data_root=tmp_path)
    assert d.root.startswith(str(isolated / "prepared")) and d.root.endswith("cifar10-jpeg")
    assert d.train_x.shape == (10, 3, 32, 32)


def test_image_folder_checks_class_order(tmp_path):
    for split in ("train", "test"):
        write_image_folder(tmp_path / split, list("abcdefghij"), per_class=1)
    with pytest.raises(ValueError, match=r"CIFAR-10 \(JPEG copy\)'s label order .*\['a', 'airplane'"):
        load("cifar10_jpeg", verify=False, data_root=tmp_path)


def test_cifar100_jpeg_copy_reads_its_fine_labels_in_the_official_order(tmp_path, isolated):
    classes = data.folders.CLASSES["cifar100_jpeg"]
    assert len(classes) == 100 and classes == sorted(classes)  # alphabetical, as the official meta file lists them
    assert classes[:3] == ["apple", "aquarium_fish", "baby"] and classes[-3:] == ["wolf", "woman", "worm"]
    src = tmp_path / "src" / "cifar100-jpeg"
    write_image_folder(src / "train", classes, per_class=1)
    write_image_folder(src / "test", classes, per_class=1)
    with tarfile.open(tmp_path / "cifar100-jpeg.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="cifar100-jpeg")
    d = load("cifar100_jpeg", verify=False, data_root=tmp_path)
    assert d.spec.label == "CIFAR-100 (JPEG copy)" and d.spec.num_classes == 100
    assert d.train_y.tolist() == list(range(100)) and d.test_x.shape == (100, 3, 32, 32)
    (src / "train" / "worm").rename(src / "train" / "worms")  # a misnamed folder would shift no label silently
    with pytest.raises(ValueError, match="'worm', 'worms'"):
        load("cifar100_jpeg", verify=False, data_root=src)


def test_tinyimagenet_official_layout(tmp_path):
    """train/<wnid>/images/*.JPEG, val/images + val_annotations.txt, unlabelled test/."""
    root = tmp_path / "tiny-imagenet-200"
    wnids = [f"n{k:08d}" for k in range(200)]
    for k, w in enumerate(wnids):
        (root / "train" / w / "images").mkdir(parents=True)
        Image.new("RGB", (64, 64), (k, 0, 0)).save(root / "train" / w / "images" / f"{w}_0.JPEG")
    (root / "val" / "images").mkdir(parents=True)
    (root / "test" / "images").mkdir(parents=True)
    Image.new("L", (64, 64), 200).save(root / "val" / "images" / "val_0.JPEG")  # grayscale, as some are
    Image.new("RGB", (64, 64)).save(root / "val" / "images" / "val_1.JPEG")
    (root / "val" / "val_annotations.txt").write_text(f"val_0.JPEG\t{wnids[7]}\t0\t0\t63\t63\n"
                                                      f"val_1.JPEG\t{wnids[3]}\t0\t0\t63\t63\n")
    d = load("tinyimagenet", verify=False, data_root=tmp_path, normalize=False)
    assert d.root == str(root)
    assert d.train_x.shape == (200, 3, 64, 64) and d.train_y.tolist() == list(range(200))
    assert d.test_x.shape == (2, 3, 64, 64) and d.test_y.tolist() == [7, 3]
    assert torch.allclose(d.test_x[0], torch.full((3, 64, 64), 200 / 255), atol=3 / 255)


# --- where files come from ---------------------------------------------------------------

def fake_mnist_root(path):
    (path / "MNIST" / "raw").mkdir(parents=True)
    for f in IDX:
        (path / "MNIST" / "raw" / f).touch()
    return path


def test_resolve_root_order(tmp_path, monkeypatch, isolated):
    explicit, env = fake_mnist_root(tmp_path / "explicit"), fake_mnist_root(tmp_path / "env")
    monkeypatch.setattr(data, "SHARED_DATA", tmp_path / "shared")
    write_fake_idx(tmp_path / "shared" / "mnist")
    offline = resolve_root("mnist", verify=False)  # 3. the offline copy, prepared into the cache
    assert offline.parent == isolated / "prepared" and (offline / "MNIST" / "raw" / IDX[0]).is_file()
    monkeypatch.setenv("SPARSEBOOK_DATA", str(env))
    assert resolve_root("mnist", verify=False) == env  # 2. the environment beats the offline copy
    assert resolve_root("mnist", verify=False, data_root=explicit) == explicit  # 1. data_root beats both
    monkeypatch.setenv("SPARSEBOOK_DATA", str(tmp_path))  # holds no MNIST: fall through
    assert resolve_root("mnist", verify=False) == offline
    assert resolve_root("mnist", verify=False, data_root=str(tmp_path / "shared" / "mnist")) == offline  # a .gz folder


def test_fake_idx_files_load(tmp_path):
    d = load("fashion_mnist", verify=False, data_root=write_fake_idx(tmp_path / "gz"), normalize=False)
    assert d.train_x.shape == (20, 1, 28, 28) and d.test_y.tolist() == list(range(10))
    assert d.train_x[3].mul(255).round().unique().tolist() == [3]


def test_a_folder_of_several_data_sets_is_searched_by_name(tmp_path, monkeypatch):
    """SPARSEBOOK_DATA=<folder> with <folder>/mnist/*.gz and <folder>/fashion_mnist/*.gz, as ../shared/data."""
    write_fake_idx(tmp_path / "data" / "mnist")
    write_fake_idx(tmp_path / "data" / "fashion_mnist", n_train=30)
    monkeypatch.setenv("SPARSEBOOK_DATA", str(tmp_path / "data"))
    assert load("mnist", verify=False, normalize=False).train_x.shape == (20, 1, 28, 28)
    assert load("fashion_mnist", verify=False, normalize=False).train_x.shape == (30, 1, 28, 28)


def test_interrupted_preparation_leaves_nothing(tmp_path, monkeypatch, isolated):
    src = write_fake_idx(tmp_path / "gz")
    real_gunzip, calls = data.integrity.gunzip_checked, []

    def fails_on_second_file(name, a, b, verify):
        calls.append(a)
        if len(calls) == 2:
            raise OSError("simulated disk full")
        real_gunzip(name, a, b, verify)
    monkeypatch.setattr(data.integrity, "gunzip_checked", fails_on_second_file)
    with pytest.raises(OSError, match="simulated"):
        load("mnist", verify=False, data_root=src)
    assert list((isolated / "prepared").iterdir()) == []  # neither a half-filled folder nor its tmp
    monkeypatch.setattr(data.integrity, "gunzip_checked", real_gunzip)
    assert load("mnist", verify=False, data_root=src).train_x.shape == (20, 1, 28, 28)


# --- errors ------------------------------------------------------------------------------

def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=", ".join(sorted(DATASETS))):
        load("imagenet")
    with pytest.raises(ValueError, match="valid names"):
        augmentation_for("imagenet")


def test_missing_data_root_names_the_parameter(tmp_path, monkeypatch):
    for call in (lambda: load("mnist", data_root=tmp_path / "nope"),
                 lambda: resolve_root("mnist", tmp_path / "nope")):
        with pytest.raises(ValueError, match=r"data_root=.*nope"):
            call()
    monkeypatch.setenv("SPARSEBOOK_DATA", str(tmp_path / "gone"))
    with pytest.raises(ValueError, match="SPARSEBOOK_DATA"):
        load("mnist")


def test_not_found_offline_lists_places(tmp_path, monkeypatch, isolated):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    monkeypatch.setattr(data, "SHARED_DATA", tmp_path / "shared")
    monkeypatch.setenv("SPARSEBOOK_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError) as info:
        load("fashion_mnist", download=False)
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for part in ("'fashion_mnist'", f"SPARSEBOOK_DATA={tmp_path}", str(tmp_path / "shared"),
                 str(tmp_path / "debian"), str(isolated),
                 "data_root=", "internet"):
        assert part in msg
    with pytest.raises(DataNotFoundError, match="tiny-imagenet-200.zip"):
        load("tinyimagenet")
    with pytest.raises(DataNotFoundError, match="cifar100"):
        resolve_root("cifar100")


def test_failed_download_is_chained_and_cleaned_up(monkeypatch, isolated):
    class OfflineCIFAR10(torchvision.datasets.CIFAR10):
        def download(self):
            (isolated / self.base_folder).mkdir(parents=True)
            (isolated / self.filename).write_bytes(b"partial")
            raise urllib.error.URLError("no network")
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", OfflineCIFAR10)
    with pytest.raises(DataNotFoundError, match="cifar10") as info:
        load("cifar10")
    assert isinstance(info.value.__cause__, urllib.error.URLError)
    assert not (isolated / "cifar-10-batches-py").exists()
    assert not (isolated / "cifar-10-python.tar.gz").exists()


def test_prepare_offline_never_raises_for_missing_data(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SHARED_DATA", tmp_path / "shared")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "debian")
    write_fake_idx(tmp_path / "shared" / "mnist")
    result = data.prepare_offline()
    assert set(result) == {n for n in DATASETS if not n.startswith("synthetic_")}
    assert result["mnist"].startswith("refused: data set 'mnist'")  # fake pixels are not MNIST: named, not raised
    assert all(result[n].startswith("not prepared") for n in result if n != "mnist")


# --- augmentation and batches --------------------------------------------------------------

def test_augment_shape_and_determinism():
    x = torch.randn(16, 3, 32, 32)
    aug = augmentation_for("cifar10")
    assert aug(x, torch.Generator().manual_seed(0)).shape == x.shape
    assert torch.equal(aug(x, torch.Generator().manual_seed(1)), aug(x, torch.Generator().manual_seed(1)))
    assert not torch.equal(aug(x, torch.Generator().manual_seed(1)), aug(x, torch.Generator().manual_seed(2)))
    torch.manual_seed(3)
    first = aug(x)
    torch.manual_seed(3)
    assert torch.equal(first, aug(x))  # generator=None: the global RNG
    big = augmentation_for("tinyimagenet")
    assert big.crop == 64 and big(torch.randn(4, 3, 64, 64)).shape == (4, 3, 64, 64)


def test_augment_flip_flips_some_and_not_others():
    x = torch.randn(64, 3, 8, 8)
    out = Augment(crop=8, padding=0, flip=True)(x, torch.Generator().manual_seed(0))
    same = [torch.equal(o, i) for o, i in zip(out, x)]
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x)]
    assert all(s != f for s, f in zip(same, flipped)) and 10 < sum(flipped) < 54
    assert torch.equal(Augment(crop=8, padding=0, flip=False)(x), x)


def test_augment_pads_with_normalized_black_like_torchvision():
    """Each output is one of torchvision's Normalize(RandomCrop(32, padding=4)) crops, maybe flipped."""
    spec = DATASETS["cifar10"]
    raw = torch.rand(8, 3, 32, 32)
    normalized = TF.normalize(raw, spec.mean, spec.std)
    out = augmentation_for("cifar10")(normalized, torch.Generator().manual_seed(0))
    ref = TF.normalize(TF.pad(raw, 4, fill=0), spec.mean, spec.std)
    padded_seen = False
    for o, r in zip(out, ref):
        crops = [r[:, a:a + 32, b:b + 32] for a in range(9) for b in range(9)]
        assert any(torch.allclose(o, c) or torch.allclose(o, c.flip(-1)) for c in crops)
        padded_seen |= bool(torch.isclose(o, torch.tensor(spec.mean).neg().div(torch.tensor(spec.std))
                                          .view(3, 1, 1)).all(0).any())
    assert padded_seen
    assert augmentation_for("cifar10", normalize=False).fill == (0.0,)


def test_augmentation_for_each_data_set():
    assert augmentation_for("mnist") is None and augmentation_for("fashion_mnist") is None
    for name in ("cifar10", "cifar100", "cifar10_jpeg", "synthetic_cifar10", "synthetic_cifar100"):
        aug = augmentation_for(name)
        assert (aug.crop, aug.padding, aug.flip) == (32, 4, True)


def test_batches_cover_every_index_once_and_are_seeded():
    x, y = torch.arange(10).float().view(10, 1, 1, 1), torch.arange(10)
    plain = list(batches(x, y, 4, shuffle=False))
    assert [len(yb) for _, yb in plain] == [4, 4, 2]
    assert torch.cat([yb for _, yb in plain]).tolist() == list(range(10))

    def epoch(seed):
        g = torch.Generator().manual_seed(seed)
        return torch.cat([yb for _, yb in batches(x, y, 4, shuffle=True, generator=g)])

    assert sorted(epoch(0).tolist()) == list(range(10))
    assert torch.equal(epoch(0), epoch(0)) and not torch.equal(epoch(0), epoch(1))
    for xb, yb in batches(x, y, 3, shuffle=True):
        assert torch.equal(xb.view(-1).long(), yb)  # images stay with their labels
    aug = list(batches(torch.randn(5, 3, 32, 32), torch.arange(5), 2, shuffle=True,
                       augment=augmentation_for("cifar10"), generator=torch.Generator().manual_seed(0)))
    assert [xb.shape[0] for xb, _ in aug] == [2, 2, 1]


# --- synthetic data sets and InMemoryData ----------------------------------------------------

@pytest.mark.parametrize("name, classes", [("synthetic_cifar10", 10), ("synthetic_cifar100", 100)])
def test_synthetic_data_sets(name, classes):
    d = load(name)
    assert d.root is None and d.spec.num_classes == classes
    assert d.train_x.shape == (512, 3, 32, 32) and d.test_x.shape == (256, 3, 32, 32)
    assert d.train_y.unique().tolist() == list(range(classes))
    assert torch.equal(load(name).train_x, d.train_x)  # deterministic
    means = torch.stack([d.train_x[d.train_y == k].mean(0) for k in range(classes)]).flatten(1)
    nearest = torch.cdist(d.test_x.flatten(1), means).argmin(1)
    assert (nearest == d.test_y).float().mean() > 0.5  # learnable
    spec = d.spec
    raw = load(name, normalize=False).train_x
    torch.testing.assert_close(TF.normalize(raw, spec.mean, spec.std), d.train_x)
    with pytest.raises(ValueError):
        resolve_root(name)


def test_subset_and_to():
    d = load("synthetic_cifar10")
    s = d.subset(100, None, seed=1)
    assert s.train_x.shape[0] == 100 and torch.equal(s.test_x, d.test_x)
    assert torch.equal(s.train_y, d.subset(100, None, seed=1).train_y)
    assert not torch.equal(s.train_x, d.subset(100, None, seed=2).train_x)
    rows = (s.train_x.flatten(1)[:, None] == d.train_x.flatten(1)[None]).all(-1).float().argmax(1)
    assert torch.equal(d.train_y[rows], s.train_y) and bool((rows.diff() > 0).all())
    assert d.subset(None, 10_000).test_x.shape[0] == 256  # more than there is: all of it
    assert d.to("cpu").train_x.device.type == "cpu"
