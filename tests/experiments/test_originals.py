"""The `paper` profile against the originals' settings, transcribed with their file and line
(sparsebook.experiments.originals): a changed default, profile value or library constant fails here."""
import dataclasses

import pytest
import torch

from sparsebook import models, regularizers
from sparsebook.data import DATASETS
from sparsebook.data.memory import augmentation_for
from sparsebook.experiments import originals, profiles
from sparsebook.train import art, deephoyer

CASES = [(kind, model, reg) for (kind, model) in originals.SETTINGS
         for reg in (("none", "l1", "group_lasso", "group_hoyer_square") if kind == "deephoyer"
                     else ("hypersparse", "l1", "l2"))]


@pytest.mark.parametrize("kind,model,regularizer", CASES)
def test_the_paper_profile_equals_the_transcription(kind, model, regularizer):
    cfg = profiles.make_config(kind, "paper", model=model, regularizer=regularizer)
    for name, original in originals.original_settings(kind, model, regularizer).items():
        assert getattr(cfg, name) == original.value, f"{kind}/{model}/{regularizer}: {name} vs {original}"
    assert profiles.departures(kind, "paper", model, regularizer=regularizer) == []


def test_every_transcribed_value_names_a_real_setting_and_its_source():
    for (kind, _), table in originals.SETTINGS.items():
        names = {f.name for f in dataclasses.fields(profiles.KINDS[kind])}
        for name, original in table.items():
            assert name in names, name
            assert original.source.startswith(("HyperSparse ", "DeepHoyer ")) and original.source[-1].isdigit()


@pytest.mark.parametrize("setting,value", [("eta", 1.1), ("finetune_epochs", 100), ("lambda_init", 5e-4),
                                           ("finetune_milestones", (80, 128)), ("test_batch_size", 1000)])
def test_a_changed_paper_setting_is_a_departure(monkeypatch, setting, value):
    monkeypatch.setitem(profiles.PROFILES["paper"].overrides, "art",
                        {**profiles.PROFILES["paper"].overrides["art"], setting: value})
    rows = {r["setting"]: r for r in profiles.departures("art", "paper", "resnet32")}
    assert set(rows) == {setting}
    assert rows[setting]["source"].startswith("HyperSparse utils/")
    with pytest.raises(AssertionError):
        test_the_paper_profile_equals_the_transcription("art", "resnet32", "hypersparse")


def test_a_changed_default_is_a_departure(monkeypatch):
    # what a changed dataclass default does: the paper profile builds from the changed class
    changed = dataclasses.make_dataclass("Changed", [("std_ratio", float, 0.3)],
                                         bases=(profiles.KINDS["deephoyer"],), frozen=True)
    monkeypatch.setitem(profiles.KINDS, "deephoyer", changed)
    assert [r["setting"] for r in profiles.departures("deephoyer", "paper", "lenet_300_100")] == ["std_ratio"]


def test_structural_runs_train_with_the_scripts_weight_decay_in_every_profile():
    for profile in profiles.PROFILES:
        assert profiles.make_config("deephoyer", profile, regularizer="group_lasso").weight_decay == 1e-4
        assert profiles.make_config("deephoyer", profile, regularizer="hoyer_square").weight_decay == 0.0
        assert profiles.make_config("deephoyer", profile, regularizer="group_lasso", weight_decay=0.0).weight_decay == 0


def test_fine_tuning_steps_at_the_originals_absolute_epochs():
    paper = profiles.make_config("art", "paper")
    lrs = [art._finetune_lr(paper, e) for e in range(160)]
    assert lrs[79] == pytest.approx(0.1) and lrs[80] == pytest.approx(0.01) and lrs[120] == pytest.approx(0.001)
    short = dataclasses.replace(paper, finetune_epochs=100)  # absolute at paper: the second step never comes
    assert art.finetune_milestones(short) == (80, 120)
    scaled = profiles.make_config("art", "cpu", model="vgg11")  # other profiles scale them, and say so
    assert art.finetune_milestones(scaled) == (scaled.finetune_epochs // 2, 3 * scaled.finetune_epochs // 4)
    rows = {r["setting"]: r for r in profiles.departures("art", "cpu", "vgg11", "vgg19")}
    assert rows["finetune_milestones"]["cpu"].startswith("1/2 and 3/4") and "why" in rows["finetune_milestones"]


def test_library_constants_equal_the_transcription():
    c = originals.CONSTANTS
    for name in ("cifar10", "cifar100"):
        spec = DATASETS[name]
        assert (spec.mean, spec.std) == c[f"{name}_mean_std"].value
    aug = augmentation_for("cifar10", normalize=False)
    assert aug.padding == c["crop_padding"].value and aug.flip is c["horizontal_flip"].value
    assert aug.fill == (float(c["crop_fill"].value),)
    # normalized images pad with the value a raw 0 becomes
    spec = DATASETS["cifar10"]
    assert augmentation_for("cifar10").fill == pytest.approx(tuple(-m / s for m, s in zip(spec.mean, spec.std)))
    model = models.build("resnet20", width=8)
    opt = art._sgd(model, profiles.make_config("art", "paper"))
    assert opt.defaults["nesterov"] is c["sgd_nesterov"].value
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == sum(p.numel() for p in model.parameters())
    assert art.LR_DECAY == c["finetune_lr_decay"].value
    dh = profiles.make_config("deephoyer", "paper")
    assert deephoyer._rule_settings(dh, "threshold")[3] == c["deephoyer_threshold_finetune_weight_decay"].value


def test_lenet5_group_lasso_groupings_differ_as_stated():
    w = torch.randn(50, 20, 5, 5, generator=torch.Generator().manual_seed(0))
    by_channel = regularizers.build("group_lasso").penalty([w])
    by_position = regularizers.build("group_lasso", grouping="kernel_position").penalty([w])
    reference = torch.sqrt((w ** 2).sum(0)).sum() + torch.sqrt((w ** 2).sum(1)).sum()  # structure.py, line 103
    assert by_position == pytest.approx(reference.item(), rel=1e-6)
    assert by_channel.item() < by_position.item()
    lin = torch.randn(30, 40)  # on a Linear weight the two agree
    assert regularizers.build("group_lasso", grouping="kernel_position").penalty([lin]) == pytest.approx(
        regularizers.build("group_lasso").penalty([lin]).item(), rel=1e-6)
    paper = profiles.make_config("deephoyer", "paper", model="lenet5", regularizer="group_lasso")
    assert deephoyer.build_regularizer(paper).grouping == "kernel_position"
    cpu = profiles.make_config("deephoyer", "cpu", model="lenet5", regularizer="group_lasso")
    assert deephoyer.build_regularizer(cpu).grouping == "channel_filter"
    rows = {r["setting"]: r for r in profiles.departures("deephoyer", "cpu", "lenet5")}
    assert rows["group_lasso_groups"]["original"] == "kernel_position" and rows["group_lasso_groups"]["why"]
    with pytest.raises(ValueError, match="grouping must be one of"):
        regularizers.build("group_lasso", grouping="fibres")
