"""tools/mutants.py (``make mutants``) without running mutmut: the report explains survivors by name or pattern
and counts the rest; ``--again`` copies anew only the modules that changed, and the current tests."""
import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "mutants.py"
spec = importlib.util.spec_from_file_location("mutants", TOOL)
mutants = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutants)


def test_the_report_explains_by_name_or_pattern_and_counts_the_rest(tmp_path, monkeypatch):
    explained = tmp_path / "explained.toml"
    explained.write_text('"m.x_f__mutmut_1" = "an equivalent change"\n'
                         '"m.x_g__mutmut_* | m.x_h__mutmut_2" = "a label only a reader sees"\n')
    monkeypatch.setattr(mutants, "EXPLAINED", explained)
    monkeypatch.setattr(mutants, "REPORT", tmp_path / "REPORT.md")
    monkeypatch.setattr(mutants, "diff", lambda name: f"-a\n+b  # {name}")
    found = {"m.x_f__mutmut_1": "survived", "m.x_g__mutmut_7": "survived", "m.x_h__mutmut_2": "no tests",
             "m.x_h__mutmut_3": "survived", "m.x_f__mutmut_2": "killed", "m.x_f__mutmut_3": "timeout"}
    assert mutants.report(found, "1 minute") == 1  # only m.x_h__mutmut_3 is neither killed nor explained
    text = (tmp_path / "REPORT.md").read_text()
    assert text.count("**UNEXPLAINED**") == 1 and "## Survivors (4)" in text and "an equivalent change" in text
    assert "| module | killed | no tests | survived | timeout |" in text and "| m | 1 | 1 | 3 | 1 |" in text


def test_again_copies_what_changed_and_the_current_tests(tmp_path, monkeypatch):
    root, stage = tmp_path / "root", tmp_path / "stage"
    for base in (root / "lib", stage):
        (base / "sparsebook").mkdir(parents=True)
        (base / "sparsebook" / "rule.py").write_text("X = 1\n")
        (base / "sparsebook" / "other.py").write_text("Y = 1\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_new.py").write_text("def test_x(): pass\n")
    (stage / "tests").mkdir()
    (stage / "tests" / "test_gone.py").write_text("")
    monkeypatch.setattr(mutants, "ROOT", root)
    monkeypatch.setattr(mutants, "STAGE", stage)
    (stage / "pyproject.toml").write_text(mutants.settings(["sparsebook/rule.py"]))
    before = (stage / "sparsebook" / "rule.py").stat().st_mtime_ns
    (root / "lib" / "sparsebook" / "other.py").write_text("Y = 2\n")
    assert mutants.restage() == ["sparsebook/other.py"]
    assert (stage / "sparsebook" / "other.py").read_text() == "Y = 2\n"
    assert (stage / "sparsebook" / "rule.py").stat().st_mtime_ns == before  # unchanged: its mutants stand
    assert (stage / "tests" / "test_new.py").exists() and not (stage / "tests" / "test_gone.py").exists()
    assert mutants.restage() == []
    (stage / "pyproject.toml").write_text(mutants.settings(["sparsebook/rule.py"]).replace("test_protocol", "x"))
    (root / "tests" / "test_newer.py").write_text("")
    assert mutants.restage() is None and not (stage / "tests" / "test_newer.py").exists()  # a full run is due
