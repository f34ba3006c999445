"""The built book in a real browser: a page's math is typeset and its figures are images that load.

Needs a built book (`make book`) and headless Chromium (Debian's `chromium`; `.ci/run` installs it);
skipped, with the reason, where either is missing. `make check` runs it after the build.
"""
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

HTML = Path(__file__).resolve().parents[2] / "book" / "_build" / "html"
PAGE = HTML / "hypersparse" / "method.html"  # math and figures on one page
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not PAGE.exists(), reason=f"no built book at {HTML} (run `make book`)")
@pytest.mark.skipif(BROWSER is None, reason="no headless Chromium here (apt-get install chromium)")
def test_a_page_renders_math_and_figures_offline(tmp_path):
    dom = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path}", "--virtual-time-budget=20000",
         "--dump-dom", PAGE.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "<mjx-container" in dom, "MathJax did not typeset the page's math (is MathJax bundled?)"
    assert "cdn.jsdelivr" not in dom and "mathjax/tex-chtml.js" in dom
    images = [line.split('src="', 1)[1].split('"', 1)[0] for line in dom.split("<img")[1:] if 'src="' in line]
    figures = [src for src in images if src.endswith(".png") and "_images" in src]
    assert figures, "no figure on the page"
    for src in figures:
        with Image.open(PAGE.parent / src) as img:
            assert img.width > 100 and img.height > 100
