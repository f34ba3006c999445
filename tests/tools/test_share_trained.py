"""tools/share_trained.py stores the trained network of DeepHoyer runs finished before runs shared their
training; a run started from it comes out as one trained from scratch."""
import importlib.util
from pathlib import Path

import pytest

from sparsebook import experiments
from sparsebook.experiments import profiles, runner

TOOL = Path(__file__).resolve().parents[2] / "tools" / "share_trained.py"
spec = importlib.util.spec_from_file_location("share_trained", TOOL)
share = importlib.util.module_from_spec(spec)
spec.loader.exec_module(share)


def dh(**kw):
    return profiles.make_config("deephoyer", "smoke", model="lenet_300_100", regularizer="l1", decay=1e-3,
                                record_epochs=(0,), **kw)


def test_a_finished_run_shares_its_training_and_a_longer_finetuning_starts_from_it(tmp_path, capsys):
    store = tmp_path / "store"
    experiments.run(dh(), profile="smoke", results_dir=store, progress=False, share_warmup=False)
    assert not (store / "_models").exists()
    assert share.main([str(store), "--profile", "smoke", "--dry-run"]) == 0
    assert not (store / "_models").exists() and "1 trained network(s) to share" in capsys.readouterr().out
    assert share.main([str(store), "--profile", "smoke"]) == 0
    saved = runner.shared_path(dh(), store / "_models" / "smoke")
    assert saved.exists() and "1 trained network(s) shared" in capsys.readouterr().out
    assert share.main([str(store), "--profile", "smoke"]) == 0 and "0 trained" in capsys.readouterr().out
    longer = dh(threshold_finetune_epochs=2)
    new = experiments.run(longer, profile="smoke", results_dir=store, progress=False)
    assert new["env"]["warmup_from"] == saved.stem
    assert new["env"]["wall_time_s"] > 0 and new["snapshots"][0]["tag"] == "train_0"
    alone = experiments.run(longer, profile="smoke", results_dir=tmp_path / "alone", progress=False)
    strip = lambda h: [{k: v for k, v in row.items() if k != "time"} for row in h]  # noqa: E731
    assert strip(new["history"]) == strip(alone["history"]) and new["final"] == alone["final"]
    assert new["snapshots"] == alone["snapshots"]
    longer_training = experiments.run(dh(train_epochs=2), profile="smoke", results_dir=store, progress=False)
    assert "warmup_from" not in longer_training["env"]  # no optimizer state to continue from


def test_training_share_reads_the_time_stamps():
    history = [{"time": t} for t in (0.0, 1.0, 2.0, 3.0, 4.0)]
    assert share.training_share(history, 3) == pytest.approx(0.5)
    assert share.training_share([{"time": None}] * 3, 3) == 1.0


def test_no_checkpoints_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        share.main([str(tmp_path), "--profile", "cpu"])
    assert "is not a folder" in capsys.readouterr().err
