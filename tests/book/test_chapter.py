"""Chapter parameters as papermill passes them (``-p`` gives strings, ``-y`` values), checked once."""
import pytest

from sparsebook.book import chapter


@pytest.mark.parametrize("value, expected", [
    ("[0.9]", [0.9]), ([0.9, 0.98], [0.9, 0.98]), ("0.9", [0.9]), (0.9, [0.9]), (None, None),
    ("(0.9, 0.98)", [0.9, 0.98]),
])
def test_list_parameters_accept_papermill_strings(value, expected):
    assert chapter.parse("sparsities", value, items=(int, float)) == expected


def test_dict_parameters_and_valid_names():
    assert chapter.parse("decays", "{'l1': 1e-4}", kind="dict", valid=["l1"]) == {"l1": 1e-4}
    assert chapter.parse("regularizers", "['l1']", items=str, valid=["hypersparse", "l1", "l2"]) == ["l1"]


@pytest.mark.parametrize("name, value, kw, message", [
    ("regularizers", "['l3']", dict(items=str, valid=["hypersparse", "l1", "l2"]),
     "parameter regularizers must be among hypersparse, l1, l2; got ['l3']"),
    ("sparsities", "[0.9", dict(items=(int, float)), "parameter sparsities: '[0.9' is not a Python list"),
    ("seeds", "['a']", dict(items=int), "parameter seeds: ['a'] are not int"),
    ("decays", "[1]", dict(kind="dict"), "parameter decays must be a dict"),
    ("eta", "fast", dict(kind="number"), "parameter eta: 'fast' is not a Python number"),
])
def test_bad_parameters_get_one_message_naming_them(name, value, kw, message):
    with pytest.raises(ValueError) as info:
        chapter.parse(name, value, **kw)
    assert message in str(info.value)


def test_art_chapter_checks_before_loading(tmp_path):
    with pytest.raises(ValueError, match="parameter profile must be one of cpu, gpu, paper, smoke"):
        chapter.art_chapter("resnet32", profile="laptop", results_dir=tmp_path)
    with pytest.raises(ValueError, match="sparsity must be in"):
        chapter.art_chapter("resnet32", profile="cpu", results_dir=tmp_path, sparsities="[1.5]")
    ch = chapter.art_chapter("resnet32", profile="cpu", results_dir=tmp_path, sparsities="[0.9]",
                             regularizers="['l1']", seeds="[0]")
    assert [r["status"] for _, r in ch.pairs] == ["not_run"] and "1 runs of resnet20" in ch.summary()


def test_ledger_lists_every_claim_undecided_on_an_empty_store(tmp_path):
    from sparsebook.book import claims, ledger
    t = ledger.ledger(tmp_path, "smoke")
    assert list(t.columns) == ["paper", "claim", "setting", "at", "effect ± spread", "seeds", ledger.SEEDS_TO_DECIDE,
                               "verdict", "schedule", "profile", "reproduction report"]
    assert set(t[ledger.SEEDS_TO_DECIDE]) == {"–"}  # nothing measured, nothing to plan by
    assert set(t["verdict"]) == {"undecided"} and set(t["verdict"]) <= set(claims.VERDICTS)
    lenet5 = t[(t.paper == "DeepHoyer") & (t.setting == "LeNet-5, MNIST")]
    assert len(lenet5) == 2 and (lenet5["at"] == "no trade-off curve at this profile").all()
    # the report's Fashion-MNIST tables run no baseline: both claims listed there, and why they cannot be read
    fashion = t[(t.paper == "DeepHoyer") & t.setting.str.endswith("Fashion-MNIST")]
    assert list(fashion["at"]) == ["no L1 run: the reproduction's table has none",
                                   "no Group Lasso run: the reproduction's table has none"] * 2
    curves = t[(t.paper == "DeepHoyer") & t.setting.str.startswith("LeNet-300-100, MNIST")]
    assert list(curves.setting) == ["LeNet-300-100, MNIST"] * 2 + ["LeNet-300-100, MNIST, 2 training epochs"]
    assert curves["at"].str.startswith("no unregularized run is stored").all()  # listed, and why undecided
    assert {"HyperSparse more accurate than L1", "HyperSparse fewer ART epochs than L2"} <= set(t.claim)
    assert not any(tmp_path.rglob("*.json"))  # reading the ledger trains nothing
    sched = ledger.schedules(tmp_path, "smoke")
    assert set(sched.index.get_level_values("paper")) == {"DeepHoyer", "HyperSparse"}
    assert {"LeNet-300-100, MNIST", "LeNet-300-100, MNIST, 2 training epochs"} <= set(
        sched.index.get_level_values("setting"))  # the long curves are a setting of their own
    assert set(sched["levelled off (medians over the setting's runs)"]) == {
        "no finished run shows whether training levelled off"}
    counted = ledger.schedules(tmp_path, "smoke", t)  # with the ledger's rows: how many each setting holds back
    assert counted["rows held, their own runs still moving"].str.startswith(("0 of ", "–")).all()


def test_every_notebook_cell_has_an_id():
    """nbformat 4.5 cells carry ids; one without warns at every build and will become an error."""
    import json
    from pathlib import Path
    book = Path(__file__).resolve().parents[2] / "book"
    missing = [f"{p.relative_to(book)} cell {i}" for p in sorted(book.rglob("*.ipynb")) if "_build" not in p.parts
               for i, c in enumerate(json.loads(p.read_text())["cells"]) if "id" not in c]
    assert not missing, missing


def test_deephoyer_seeds_column_tells_failed_from_not_run():
    from sparsebook.book import deephoyer
    done = {"status": "finished", "rules": {"threshold": {"test_acc_final": 99.0, "test_acc_best": 99.1,
                                                          "all_pruning_ratio": 0.9, "all_nonzero": 10}}}
    seeds = deephoyer._ours([done, {"status": "not_run"}, {"status": "failed_nonfinite"}], "threshold")["seeds"]
    assert seeds == "1 (+1 failed, 1 not run)"
    assert deephoyer._ours([done, {"status": "not_run"}], "threshold")["seeds"] == "1 (+1 not run)"


def test_art_table_seeds_column_counts_finished_runs_and_says_the_rest_apart():
    from sparsebook.book import tables
    runs = [{"status": "finished"}, {"status": "art_cap_reached"}, {"status": "not_run"}, {"status": "not_run"}]
    assert tables.seeds_label(runs) == "1 (+1 at the ART cap, 2 not run)"
    assert tables.seeds_label(runs[:1]) == "1"


def test_a_held_verdict_shows_why_under_it_with_room_to_read_as_a_sentence():
    import pandas as pd
    from sparsebook.book import tables
    df = pd.DataFrame({"verdict": ["undecided", "reproduced", "undecided"],
                       "schedule": ["still moving: L1 at 90 %", tables.LEVELLED, "–"]})  # "–": nothing to run
    html = tables.table(df, "Verdicts.").to_html()
    assert "undecided<br><small>still moving: L1 at 90 %</small>" in html and ">reproduced<" in html
    assert html.count("<small>") == 1
    assert "min-width: 11em" in html and "caption-side: top" in html
    assert tables.LEVELLED not in html and ">schedule<" not in html and list(df.columns) == ["verdict", "schedule"]
    assert "min-width" not in tables.table(pd.DataFrame({"verdict": ["undecided"]}), "No schedule.").to_html()
    # the seeds that would decide a verdict read under it too, after why it is held
    df[tables.SEEDS_TO_DECIDE] = ["5", "–", "> 30"]
    html = tables.table(df, "Verdicts.").to_html()
    assert "L1 at 90 %</small><br><small>estimate: 5 seeds a side would decide it</small>" in html
    assert "estimate: > 30 seeds" in html and html.count("<small>") == 3 and tables.SEEDS_TO_DECIDE not in html


def test_a_table_names_phases_regularizers_and_models_as_a_reader_reads_them():
    import pandas as pd
    from sparsebook.book import tables
    df = pd.DataFrame({"model": ["lenet_300_100", "lenet5"], "runs": [3, 2]},
                      index=pd.MultiIndex.from_tuples([("group_hoyer_square", "finetune_std_ratio"), ("l1", "train")],
                                                      names=["regularizer", "phase"]))
    html = tables.table(df, "Names.").to_html()
    for shown in ("Group-HS", "std-ratio fine-tuning", "L1", "training", "LeNet-300-100", "LeNet-5"):
        assert f">{shown}<" in html, shown
    assert "_" not in tables.shown(df).to_string() and df.index[0][0] == "group_hoyer_square"  # the input kept
    one = tables.shown(pd.DataFrame({"x": [1]}, index=pd.Index(["finetune_threshold"], name="phase")))
    assert list(one.index) == ["threshold fine-tuning"]


def test_alpha_schedule_counts_the_paper_factors_epochs_over_the_same_range():
    from sparsebook.book import hypersparse

    def run(epochs, eta=2.0):  # alpha doubles each ART epoch from 1e-6: 2 ** (epochs - 1) at the stop
        return None, {"status": "finished", "config": {"lambda_init": 1e-6, "eta": eta},
                      "final": {"alpha_at_stop": 1e-6 * eta ** (epochs - 1), "art_epochs": epochs}}
    text = hypersparse.alpha_schedule([run(4), run(6), (None, {"status": "failed"})], paper_eta=2 ** 0.5)
    assert "factor 2 per ART epoch from 1e-06 to between 8e-06 and 3.2e-05" in text
    assert "over 4 to 6 ART epochs (2 runs)" in text and "would take 7 to 11 epochs" in text
    assert hypersparse.alpha_schedule([], 1.05) == "no finished run shows how far alpha grew"
