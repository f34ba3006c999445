"""The benchmark suite runs (tiny sizes) and writes its JSON; it asserts no timing."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_smoke_writes_every_benchmark(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--size", "smoke", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    kinds = {r["benchmark"] for r in result["rows"]}
    assert kinds == {"train step", "regularizer cost", "hypersparse threshold", "data pipeline",
                     "pruned evaluation", "sparse inference", "before/after"}
    assert all(r["ours_s"] > 0 and r["baseline_s"] > 0 for r in result["rows"])
    assert "torch" in result["env"]
