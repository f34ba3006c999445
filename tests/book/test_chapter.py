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
    with pytest.raises(ValueError, match="parameter profile must be one of cpu, paper, smoke"):
        chapter.art_chapter("resnet32", profile="gpu", results_dir=tmp_path)
    with pytest.raises(ValueError, match="sparsity must be in"):
        chapter.art_chapter("resnet32", profile="cpu", results_dir=tmp_path, sparsities="[1.5]")
    ch = chapter.art_chapter("resnet32", profile="cpu", results_dir=tmp_path, sparsities="[0.9]",
                             regularizers="['l1']", seeds="[0]")
    assert [r["status"] for _, r in ch.pairs] == ["not_run"] and "1 runs of resnet20" in ch.summary()
