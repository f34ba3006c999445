"""Chapters under papermill: every parameter declared so papermill parses it, the results store found from any
working directory, a bad parameter one line (in the kernel, and first in `python -m sparsebook.book.run`)."""
import ast
import json
import logging
from pathlib import Path

import papermill
import pytest

from sparsebook.book import chapter, run

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if "_build" not in p.parts)


def parameters_cell(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return next("".join(c["source"]) for c in cells if "parameters" in c["metadata"].get("tags", []))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_papermill_parses_every_parameter_without_a_warning(path, caplog):
    assigned = [t.id for node in ast.parse(parameters_cell(path)).body if isinstance(node, ast.Assign)
                for t in node.targets]
    with caplog.at_level(logging.WARNING, logger="papermill"):
        found = papermill.inspect_notebook(str(path))
    assert list(found) == assigned and not caplog.records
    assert all(p["help"] for p in found.values()), "every parameter has its one-line comment"


def test_the_results_store_is_found_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("SPARSEBOOK_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert chapter.results_store() == ROOT / "results"
    monkeypatch.setenv("SPARSEBOOK_RESULTS", str(tmp_path / "mine"))
    assert chapter.results_store() == tmp_path / "mine"
    assert chapter.results_store("rel") == tmp_path / "rel"  # one the user typed: against where they are


def test_a_bad_parameter_renders_as_one_line_in_a_notebook():
    with pytest.raises(chapter.ParameterError) as info:
        chapter.parse("seeds", "[x", items=int)
    assert info.value._render_traceback_() == ["ParameterError: parameter seeds: '[x' is not a Python list "
                                               "(pass e.g. -p seeds \"[0, 1, 2]\")"]
    with pytest.raises(chapter.ParameterError, match="parameter device 'tpu'"):
        chapter.deephoyer_chapter("lenet_300_100", "mnist", profile="smoke", results_dir=".", device="tpu")


def test_run_reports_a_bad_parameter_first_and_alone(tmp_path, capsys):
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "seeds = None  # seeds",
                     "outputs": [], "execution_count": None, "id": "p"},
                    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": "c",
                     "source": "from sparsebook.book import chapter\nchapter.parse('seeds', seeds, items=int)"}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "tiny.ipynb"
    path.write_text(json.dumps(nb))
    assert run.main([str(path), str(tmp_path / "out.ipynb"), "-p", "seed", "0"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {path}: no parameter seed; its parameters: seeds"
    assert run.main([str(path), str(tmp_path / "out.ipynb"), "-p", "seeds", "[x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: parameter seeds: '[x' is not a Python list (pass e.g. -p seeds \"[0, 1, 2]\")"]
    assert run.main([str(path), str(tmp_path / "out.ipynb"), "-p", "seeds", "[0]"]) == 0
