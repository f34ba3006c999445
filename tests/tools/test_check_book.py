"""tools/check_book.py fails a built page on what a reader should never meet."""
import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_book.py"
spec = importlib.util.spec_from_file_location("check_book", TOOL)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


OPENING = "<p>The answer. What was found. How far from the paper: how far.</p>"


def page(tmp_path, rel, body):
    (tmp_path / "index.html").write_text("<html><body><article><p>home</p></article></body></html>")
    (tmp_path / "fig.png").write_bytes(b"png")
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body><article>{body}</article></body></html>")
    return check.page_problems(path, tmp_path)


def test_a_clean_results_page_passes(tmp_path):
    body = OPENING + '<p>prose first</p><img src="../fig.png"><table><tr><td>1.5</td></tr></table>'
    assert page(tmp_path, "hypersparse/a.html", body) == []


def test_a_figure_shown_twice_nan_a_broken_image_and_code_first_each_fail(tmp_path):
    body = ('<div class="cell_input">x = 1</div>' + OPENING + '<img src="../fig.png"><img src="../fig.png">'
            '<img src="../gone.png"><table><tr><td>NaN</td></tr></table>'
            '<pre>&lt;Figure size 600x340 with 1 Axes&gt;</pre>')
    problems = " | ".join(page(tmp_path, "hypersparse/a.html", body))
    assert "image shown 2 times: ../fig.png" in problems and "broken image ../gone.png" in problems
    assert "a figure is shown as text" in problems
    assert "'NaN' in a table" in problems and "first visible element is a code cell" in problems


def test_a_method_page_may_open_with_code(tmp_path):
    assert page(tmp_path, "deephoyer/method.html", '<div class="cell_input">x = 1</div>' + OPENING) == []


def test_code_names_and_leftovers_in_the_prose_fail_but_not_in_code_or_tables(tmp_path):
    body = (OPENING + "<p>The run stores warmup_end and, until then, nothing.</p>"
            "<p>In code: <code>test_acc_best</code></p><table><tr><td>std_ratio</td></tr></table>")
    problems = page(tmp_path, "deephoyer/a.html", body)
    assert problems == ["deephoyer/a.html: a code name in the prose: warmup_end",
                        "deephoyer/a.html: a leftover phrase: 'until then'"]


def test_a_page_that_does_not_open_with_its_answer_fails(tmp_path):
    assert page(tmp_path, "deephoyer/b.html", "<p>Some method first.</p>") == [
        "deephoyer/b.html: does not open with 'The answer'",
        "deephoyer/b.html: does not say 'How far from the paper' in its opening"]
    late = "<p>" + "words " * 400 + "</p>" + OPENING  # the answer below the first screen does not count
    assert "hypersparse/c.html: does not open with 'The answer'" in page(tmp_path, "hypersparse/c.html", late)
    assert page(tmp_path, "about/d.html", "<p>The answer. 3 of 7 goals.</p>") == []  # no runs: no distance
    assert page(tmp_path, "claims.html", "<table><tr><td>verdict</td></tr></table>") == []  # the ledger: tables


def test_figures_and_tables_are_numbered_from_one_on_each_page(tmp_path):
    def fig(n):
        return f'<figure><figcaption><span class="caption-number">Figure {n} </span>x</figcaption></figure>'

    def tab(n):
        return f"<table><caption>Table {n}. x</caption><tr><td>1</td></tr></table>"
    assert page(tmp_path, "about/e.html", "<p>The answer.</p>" + fig(1) + tab(1) + fig(2) + tab(2)) == []
    assert page(tmp_path, "about/f.html", "<p>The answer.</p>" + fig(18) + tab(1) + tab(3)) == [
        "about/f.html: figures numbered [18], not 1 to 1 in order",
        "about/f.html: tables numbered [1, 3], not 1 to 2 in order"]
