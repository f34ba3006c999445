"""Arithmetic, pinned: every committed result keeps its id, and a golden smoke run of each trainer retrains
bit for bit.

The golden files hold a smoke run's settings, per-epoch history (times left out) and final metrics. A
change meant to alter the arithmetic regenerates them in the same commit and says why::

    SPARSEBOOK_REGENERATE_GOLDEN=1 python -m pytest tests/train/test_golden.py

Float results depend on the CPU's kernels: the comparison is exact on the processor the files were made
on and skipped, naming both, elsewhere.
"""
import json
import os
import platform
from pathlib import Path

import pytest

from sparsebook import data, experiments
from sparsebook.experiments import profiles
from sparsebook.experiments.store import read_result

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden")
CASES = {
    "art_hypersparse": dict(kind="art", model="lenet_300_100", dataset="mnist", normalize=False,
                            regularizer="hypersparse", sparsity=0.9),
    "deephoyer_hoyer_square": dict(kind="deephoyer", model="lenet_300_100", regularizer="hoyer_square", decay=2e-4),
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def committed_results():
    return sorted((ROOT / "results").glob("*/*.json"))


def test_every_committed_result_keeps_its_id():
    paths = [p for p in committed_results() if p.parent.name != "bench"]
    assert paths, "no committed results found"
    for path in paths:
        r = read_result(path)
        cfg = experiments.config_from_settings(r["config"])
        assert experiments.run_id(cfg) == r["id"] == path.stem.split("-", 1)[1], path
        assert experiments.settings(cfg) == r["config"], path


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_smoke_run_is_bit_identical(name, tmp_path):
    if data._locate("mnist", None)[0] is None and not data.has_offline_copy("mnist"):
        pytest.skip("no MNIST copy offline or in the cache")
    case = dict(CASES[name])
    cfg = profiles.make_config(case.pop("kind"), "smoke", **case)
    r = experiments.run(cfg, profile="smoke", results_dir=tmp_path, progress=False)
    got = {"id": r["id"], "settings": r["config"], "cpu": cpu_model(),
           "history": [{k: v for k, v in row.items() if k != "time"} for row in r["history"]], "final": r["final"]}
    path = GOLDEN / f"{name}.json"
    if os.environ.get("SPARSEBOOK_REGENERATE_GOLDEN"):
        path.write_text(json.dumps(got, indent=1) + "\n")
    want = json.loads(path.read_text())
    assert got["id"] == want["id"] and got["settings"] == want["settings"]
    if want["cpu"] != got["cpu"]:
        pytest.skip(f"golden file made on {want['cpu']!r}, this is {got['cpu']!r}: float kernels may differ")
    assert got["history"] == want["history"]
    assert got["final"] == want["final"]
