"""Arithmetic, pinned: every committed result keeps its id, and a golden smoke run of each trainer retrains
bit for bit.

The golden files hold a smoke run's settings, per-epoch history (times left out) and final metrics. A
change meant to alter the arithmetic regenerates them in the same commit and says why::

    SPARSEBOOK_REGENERATE_GOLDEN=1 ATEN_CPU_CAPABILITY=avx2 python -m pytest tests/train/test_golden.py

(``ATEN_CPU_CAPABILITY`` pins the level the files are made at; AVX2 is one most x86 machines reach.)

Float results depend on the CPU's kernels. torch picks them by the instruction set it dispatches to (AVX2,
AVX512, ...), which machines sold under one model name ("AMD EPYC") differ in, so each golden file records
its dispatch level and the run is retrained in a subprocess pinned to it (``ATEN_CPU_CAPABILITY``); the
comparison is exact there; on another processor (or one that lacks that level) it is within tolerances
(:data:`TOLERANCES`) that a changed method still breaks, naming both processors where it fails.
"""
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from sparsebook import data, experiments
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


#: retrains one case at the smoke profile and prints what the golden file holds
RETRAIN = """
import json, sys, torch
from sparsebook import experiments
from sparsebook.experiments import profiles
case = json.loads(sys.argv[1])
cfg = profiles.make_config(case.pop("kind"), "smoke", **case)
r = experiments.run(cfg, profile="smoke", results_dir=sys.argv[2], progress=False)
print(json.dumps({"id": r["id"], "settings": r["config"], "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                  "history": [{k: v for k, v in row.items() if k != "time"} for row in r["history"]],
                  "final": r["final"]}))
"""


def retrain(name: str, results_dir, capability: str | None) -> dict:
    """A golden case retrained in a fresh interpreter, its kernels pinned to ``capability`` (None: torch's
    own choice), with this machine's processor name."""
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    if capability:
        env["ATEN_CPU_CAPABILITY"] = capability.lower()
    done = subprocess.run([sys.executable, "-c", RETRAIN, json.dumps(CASES[name]), str(results_dir)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return {**json.loads(done.stdout.splitlines()[-1]), "cpu": cpu_model()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_smoke_run_is_bit_identical(name, tmp_path):
    if data._locate("mnist", None)[0] is None and not data.has_offline_copy("mnist"):
        pytest.skip("no MNIST copy offline or in the cache")
    path = GOLDEN / f"{name}.json"
    if os.environ.get("SPARSEBOOK_REGENERATE_GOLDEN"):
        got = retrain(name, tmp_path, os.environ.get("ATEN_CPU_CAPABILITY"))
        path.write_text(json.dumps(got, indent=1) + "\n")
    want = json.loads(path.read_text())
    got = retrain(name, tmp_path / "again", want["cpu_capability"])
    assert got["id"] == want["id"] and got["settings"] == want["settings"]
    if (want["cpu"], want["cpu_capability"]) != (got["cpu"], got["cpu_capability"]):
        # another processor: float kernels may differ in the last digits, so compare within tolerances that a
        # change of arithmetic still breaks (test_tolerances_catch_a_changed_method)
        problems = differences(want, got)
        assert not problems, (f"golden file made on {want['cpu']!r} at {want['cpu_capability']}, this is "
                              f"{got['cpu']!r} at {got['cpu_capability']}; beyond tolerance: {problems[:5]}")
        return
    assert got["history"] == want["history"]
    assert got["final"] == want["final"]


#: how far a value may move between processors, by what it measures: (relative, absolute)
TOLERANCES = {"acc": (0.0, 1.0), "loss": (0.05, 1e-3), "reg": (0.05, 1e-6), "alpha": (1e-6, 0.0)}
#: everything else numeric (counts, ratios, sparsities, thresholds): 1 % relative
DEFAULT_TOLERANCE = (0.01, 1e-9)


def _tolerance(key: str) -> tuple[float, float]:
    return next((t for part, t in TOLERANCES.items() if part in key), DEFAULT_TOLERANCE)


def differences(want: dict, got: dict) -> list[str]:
    """Where a retrained golden run departs from the file beyond :data:`TOLERANCES`: accuracies by a point (five
    of the smoke run's 500 test images), losses by 5 %, counts and ratios by 1 %; phases and epochs exactly."""
    out = []

    def compare(where: str, a, b):
        if isinstance(a, bool) or isinstance(a, str) or a is None:
            if a != b:
                out.append(f"{where}: {a!r} != {b!r}")
        elif isinstance(a, (int, float)):
            rel, abs_ = _tolerance(where.rsplit(".", 1)[-1])
            if not isinstance(b, (int, float)) or not math.isclose(a, b, rel_tol=rel, abs_tol=abs_):
                out.append(f"{where}: {a!r} != {b!r}")
        elif isinstance(a, dict):
            if set(a) != set(b):
                out.append(f"{where}: keys differ")
            for k in a:
                if k in b:
                    compare(f"{where}.{k}", a[k], b[k])
        elif isinstance(a, list):
            if len(a) != len(b):
                out.append(f"{where}: {len(a)} != {len(b)} entries")
            for i, (x, y) in enumerate(zip(a, b)):
                compare(f"{where}[{i}]", x, y)
    for part in ("history", "final"):
        compare(part, want[part], got[part])
    return out


def test_tolerances_catch_a_changed_method():
    """The off-CPU comparison passes a float-level change and fails the review's planted bug (DeepHoyer's mask
    applied once: the threshold rule's pruning ratio 0.110 instead of 0.047) and an accuracy 2 points off."""
    want = json.loads((GOLDEN / "deephoyer_hoyer_square.json").read_text())
    jitter = json.loads(json.dumps(want))
    for row in jitter["history"]:
        row["loss"] *= 1.001
        row["test_acc"] += 0.2
    assert differences(want, jitter) == []
    planted = json.loads(json.dumps(want))
    planted["final"]["threshold_all_pruning_ratio"] *= 0.43
    assert differences(want, planted) == ["final.threshold_all_pruning_ratio: "
                                          f"{want['final']['threshold_all_pruning_ratio']!r} != "
                                          f"{planted['final']['threshold_all_pruning_ratio']!r}"]
    off = json.loads(json.dumps(want))
    off["final"]["threshold_test_acc_final"] += 2.0
    assert differences(want, off)
