"""tools/lean_results.py drops the snapshots no figure reads, and nothing else."""
import importlib.util
import json
from pathlib import Path

import pytest

from sparsebook.experiments.store import atomic_write_json

TOOL = Path(__file__).resolve().parents[2] / "tools" / "lean_results.py"
spec = importlib.util.spec_from_file_location("lean_results", TOOL)
lean = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lean)


def result(kind, model, seed, sparsity=0.98):
    return {"id": f"{model}-{seed}", "kind": kind, "status": "finished", "env": {}, "history": [{"epoch": 0}],
            "config": {"kind": kind, "model": model, "seed": seed, "sparsity": sparsity}, "final": {"acc": 1.0},
            "snapshots": [{"tag": "final"}, {"tag": "art_0"}]}


def test_drops_the_snapshots_no_figure_reads(tmp_path, capsys):
    runs = {"keep": result("art", "resnet20", 0), "seed1": result("art", "resnet20", 1),
            "other_sparsity": result("art", "resnet20", 0, sparsity=0.9),
            "small": result("art", "lenet_300_100", 0), "vgg": result("art", "vgg11", 0),
            "dh": result("deephoyer", "lenet5", 0)}
    for name, r in runs.items():
        atomic_write_json(tmp_path / f"{name}.json", r)
    assert lean.main([str(tmp_path), "--dry-run"]) == 0
    assert all(json.loads((tmp_path / f"{n}.json").read_text())["snapshots"] for n in runs)  # a dry run writes nothing
    assert lean.main([str(tmp_path)]) == 0
    after = {n: json.loads((tmp_path / f"{n}.json").read_text()) for n in runs}
    assert after["keep"]["snapshots"] and after["dh"]["snapshots"]
    for n in ("seed1", "other_sparsity", "small", "vgg"):
        assert after[n]["snapshots"] == [] and after[n]["env"]["snapshots_dropped"] == 2
        assert {k: v for k, v in after[n].items() if k not in ("snapshots", "env")} == \
            {k: v for k, v in runs[n].items() if k not in ("snapshots", "env")}
    with pytest.raises(SystemExit):
        lean.main([str(tmp_path / "nope")])
    assert "is not a folder" in capsys.readouterr().err


def test_the_kept_sparsity_is_the_one_the_pages_show():
    book = Path(__file__).resolve().parents[2] / "book" / "hypersparse"
    for page in ("method.ipynb", "exploration.ipynb"):
        cells = json.loads((book / page).read_text())["cells"]
        params = next("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
        assert f"sparsity = {lean.SNAPSHOT_SPARSITY}  #" in params, page


def test_a_kept_run_keeps_only_the_snapshots_the_figures_show(tmp_path):
    from sparsebook.book.hypersparse import shown_snapshots
    r = result("art", "resnet20", 0)
    r["snapshots"] = [{"tag": t} for t in ["warmup_end", *(f"art_{k}" for k in range(23)), "art_stop", "final"]]
    atomic_write_json(tmp_path / "r.json", r)
    assert lean.main([str(tmp_path)]) == 0
    after = json.loads((tmp_path / "r.json").read_text())
    tags = [s["tag"] for s in after["snapshots"]]
    assert tags == ["warmup_end", "art_0", "art_5", "art_10", "art_15", "art_20", "art_stop", "final"]
    assert after["env"]["snapshots_dropped"] == 18
    assert shown_snapshots(after["snapshots"]) == after["snapshots"] == shown_snapshots(r["snapshots"])
    assert lean.main([str(tmp_path)]) == 0 and json.loads((tmp_path / "r.json").read_text()) == after  # idempotent
