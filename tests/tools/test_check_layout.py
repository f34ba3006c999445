"""tools/check_layout.py measures tables in headless Chromium: a verdict table wider than the window is clipped,
a narrow one is not."""
import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_layout.py"
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
