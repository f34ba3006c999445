"""tools/check_layout.py measures tables in headless Chromium: a verdict table wider than the window is clipped,
a narrow one is not; the book's own script (book/_static/tables.js) shows the wide one as cards, unclipped."""
import importlib.util
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "check_layout.py"
spec = importlib.util.spec_from_file_location("check_layout", TOOL)
layout = importlib.util.module_from_spec(spec)
spec.loader.exec_module(layout)


@pytest.mark.skipif(layout.browser() is None, reason="no headless Chromium here (apt-get install chromium)")
def test_a_wide_verdict_table_is_clipped_and_a_narrow_one_is_not(tmp_path):
    wide = "".join(f"<th>column{i}</th>" for i in range(30))
    page = tmp_path / "page.html"
    box = "<div style='overflow-x:auto'><table><caption>{}</caption><tr>{}<th>verdict</th></tr></table></div>"
    tables = box.format("wide", wide) + box.format("narrow", "")
    page.write_text(f"<html><body><article>{tables}</article></body></html>")
    found = {t["caption"]: t for t in layout.measure(page, 390, layout.browser())}
    assert found["wide"]["clipped"] and found["wide"]["verdict"] and not found["narrow"]["clipped"]
    assert not page.with_name("page.__layout__.html").exists()  # the measuring copy is removed


@pytest.mark.skipif(layout.browser() is None, reason="no headless Chromium here (apt-get install chromium)")
def test_the_books_script_shows_a_wide_table_as_labelled_cards(tmp_path):
    static = ROOT / "book" / "_static"
    heads = "<th></th>" + "".join(f"<th>column{i}</th>" for i in range(30)) + "<th>verdict</th>"
    row = "<th>L1</th>" + "".join(f"<td>{i}.5</td>" for i in range(30)) + "<td>reproduced</td>"
    table = f"<table><caption>wide</caption><thead><tr>{heads}</tr></thead><tbody><tr>{row}</tr></tbody></table>"
    narrow = ("<table><caption>narrow</caption><thead><tr><th>a</th></tr></thead>"
              "<tbody><tr><td>1</td></tr></tbody></table>")
    page = tmp_path / "page.html"
    page.write_text(f"<html><head><style>{(static / 'tables.css').read_text()}</style>"
                    f"<script>{(static / 'tables.js').read_text()}</script></head><body><article>"
                    f"<div style='overflow-x:auto'>{table}</div><div style='overflow-x:auto'>{narrow}</div>"
                    "</article></body></html>")
    found = {t["caption"]: t for t in layout.measure(page, 390, layout.browser())}
    assert found["wide"]["stacked"] and not found["wide"]["clipped"]
    assert not found["narrow"]["stacked"] and not found["narrow"]["clipped"]  # a table that fits keeps its grid
    dom = subprocess.run([layout.browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          f"--user-data-dir={tmp_path / 'profile'}", "--window-size=390,2000",
                          "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    cells = BeautifulSoup(dom, "html.parser").find("table").find_all(["td", "th"])
    labels = [c.get("data-label") for c in cells if c.parent.parent.name == "tbody"]
    assert labels == [None] + [f"column{i}" for i in range(30)] + ["verdict"]  # each cell under its column
