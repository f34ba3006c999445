"""tools/gpu_slice.py, a GPU slice's three steps, on the CPU at the smoke profile: prepare what travels, train
until the deadline and pack what changed into parts that come back, unpack them into a results folder, where
the next prepare finds them."""
import importlib.util
import json
import os
from pathlib import Path

import pytest

from sparsebook import data

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gpu_slice.py"
spec = importlib.util.spec_from_file_location("gpu_slice", TOOL)
gpu_slice = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_slice)
ARCHIVE = data.SHARED_DATA / data.SHIPPED["cifar10_jpeg"]


@pytest.mark.skipif(not ARCHIVE.is_file(), reason=f"no offline CIFAR-10 JPEG copy at {ARCHIVE}")
def test_a_slice_trains_packs_and_unpacks_where_the_next_one_goes_on(tmp_path, monkeypatch):
    results, carry, out = tmp_path / "results", tmp_path / "carry", tmp_path / "out"
    (results / "smoke").mkdir(parents=True)
    (results / "smoke" / "old.json").write_text("{}")
    assert gpu_slice.prepare(["cifar10_jpeg"], results, "smoke", carry=carry) == 0
    assert (carry / "data" / ARCHIVE.name).read_bytes()[:64] == ARCHIVE.read_bytes()[:64]  # a copy: links stay
    assert (carry / "results" / "smoke" / "old.json").is_file()
    # the run reads the carried archive; here a link to the shared one, whose decoded tensors are cached already
    (carry / "data" / ARCHIVE.name).unlink()
    os.symlink(ARCHIVE, carry / "data" / ARCHIVE.name)
    args = ["--model", "resnet32", "--seed", "0", "--sparsity", "0.98", "--regularizer", "hypersparse"]
    assert gpu_slice.run(5, 1, "smoke", "cpu", out, args, carry=carry) == 0
    record = json.loads((out / "slice.json").read_text())
    assert record["sweep_exit_code"] == 0 and record["parts"] == ["slice.tar.gz.00"]
    assert any(f.startswith("smoke/art-") for f in record["files"]) and "smoke/old.json" not in record["files"]
    assert any(f.startswith("_models/smoke/") for f in record["files"])  # the shared warm-up a later slice needs
    assert gpu_slice.unpack(out, results) == 0
    assert len(list((results / "smoke").glob("art-*.json"))) == 1 and (results / "_models" / "smoke").is_dir()
    assert gpu_slice.unpack(tmp_path / "nothing", results) == 2


def test_parts_stay_under_what_comes_back(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_slice, "PART", 1000)
    monkeypatch.setattr(gpu_slice, "MAX_PARTS", 2)
    (tmp_path / "f").write_bytes(os.urandom(5000))  # incompressible: 5 parts of 1000 bytes
    with pytest.raises(ValueError, match="more than the 2 parts"):
        gpu_slice._pack([tmp_path / "f"], tmp_path, tmp_path)
