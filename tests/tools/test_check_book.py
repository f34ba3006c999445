"""tools/check_book.py fails a built page on what a reader should never meet."""
import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_book.py"
spec = importlib.util.spec_from_file_location("check_book", TOOL)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def page(tmp_path, rel, body):
    (tmp_path / "index.html").write_text("<html><body><article><p>home</p></article></body></html>")
    (tmp_path / "fig.png").write_bytes(b"png")
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body><article>{body}</article></body></html>")
    return check.page_problems(path, tmp_path)


def test_a_clean_results_page_passes(tmp_path):
    body = '<p>prose first</p><img src="../fig.png"><table><tr><td>1.5</td></tr></table>'
    assert page(tmp_path, "hypersparse/a.html", body) == []


def test_a_figure_shown_twice_nan_a_broken_image_and_code_first_each_fail(tmp_path):
    body = ('<div class="cell_input">x = 1</div><img src="../fig.png"><img src="../fig.png">'
            '<img src="../gone.png"><table><tr><td>NaN</td></tr></table>'
            '<pre>&lt;Figure size 600x340 with 1 Axes&gt;</pre>')
    problems = " | ".join(page(tmp_path, "hypersparse/a.html", body))
    assert "image shown 2 times: ../fig.png" in problems and "broken image ../gone.png" in problems
    assert "a figure is shown as text" in problems
    assert "'NaN' in a table" in problems and "first visible element is a code cell" in problems


def test_a_method_page_may_open_with_code(tmp_path):
    assert page(tmp_path, "deephoyer/method.html", '<div class="cell_input">x = 1</div><p>then prose</p>') == []


def test_code_names_and_leftovers_in_the_prose_fail_but_not_in_code_or_tables(tmp_path):
    body = ("<p>The run stores warmup_end and, until then, nothing.</p><p>In code: <code>test_acc_best</code></p>"
            "<table><tr><td>std_ratio</td></tr></table>")
    problems = page(tmp_path, "deephoyer/a.html", body)
    assert problems == ["deephoyer/a.html: a code name in the prose: warmup_end",
                        "deephoyer/a.html: a leftover phrase: 'until then'"]
