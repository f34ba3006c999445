"""tools/keep_shared.py commits the shared states a sweep still needs; a run on a machine without the git-ignored
folder starts from the kept state and comes out as one trained from scratch."""
import importlib.util
import shutil
from pathlib import Path

import pytest

from sparsebook import experiments
from sparsebook.experiments import runner, sweep

TOOL = Path(__file__).resolve().parents[2] / "tools" / "keep_shared.py"
spec = importlib.util.spec_from_file_location("keep_shared", TOOL)
keep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(keep)


def two_sharing():
    """Two planned smoke ART runs of the smallest model that share their warm-up."""
    cfgs = [c for c in sweep.plan("hypersparse", "smoke") if c.model == "lenet_300_100"]
    first = cfgs[0]
    return first, next(c for c in cfgs[1:] if runner.warmup_key(c) == runner.warmup_key(first))


def strip(history):
    return [{k: v for k, v in row.items() if k != "time"} for row in history]


def test_a_kept_warmup_starts_a_run_on_a_new_machine_and_unneeded_ones_are_dropped(tmp_path, capsys):
    store = tmp_path / "store"
    first, second = two_sharing()
    experiments.run(first, profile="smoke", results_dir=store, progress=False)
    name = runner.shared_path(first, Path()).name
    assert keep.main([str(store), "--profile", "smoke", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"keep {name}" in out and not (store / "kept").exists()
    assert keep.main([str(store), "--profile", "smoke", "--model", "lenet_300_100"]) == 0
    kept = store / "kept" / "smoke" / name
    assert kept.exists() and "1 shared state(s) kept" in capsys.readouterr().out
    shutil.rmtree(store / "_models")
    shutil.rmtree(store / "_checkpoints")  # the machine is gone; the committed store stays
    new = experiments.run(second, profile="smoke", results_dir=store, progress=False)
    assert new["env"]["warmup_from"] == kept.stem
    alone = experiments.run(second, profile="smoke", results_dir=tmp_path / "alone", progress=False,
                            share_warmup=False)
    assert strip(new["history"]) == strip(alone["history"]) and new["final"] == alone["final"]
    stale = kept.with_name("warmup-000000000000.pt")
    shutil.copy(kept, stale)
    assert keep.main([str(store), "--profile", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "drop warmup-000000000000.pt" in out and not stale.exists() and kept.exists()


@pytest.mark.parametrize("argv, message", [
    (["--profile", "laptop"], "unknown profile 'laptop'"),
    (["--model", "resnet50"], "no planned run of ['resnet50']"),
])
def test_bad_input_gets_one_line_before_any_work(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        keep.main([str(tmp_path), *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_missing_store_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit):
        keep.main([str(tmp_path / "nowhere")])
    assert "nowhere is not a folder" in capsys.readouterr().err
