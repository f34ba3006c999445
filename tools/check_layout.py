"""Check the built book's tables in headless Chromium at a desktop and a phone width: a table whose right edge
passes the edge of what shows it (its scrolling box, or the window) is clipped; the reader must scroll to see
its last columns.

    python tools/check_layout.py [book/_build/html]

Fails (exit 1) where any table is clipped: a table too wide for the page must show as one card per row
(``book/_static/tables.js`` stacks it), never hide its last columns past the edge. The count of stacked tables
is printed. Each page is copied beside itself with a script that measures its
tables after load and writes what it found into the page, which Chromium's ``--dump-dom`` returns; the copy is
removed. Written by hand: layout needs a browser, and a driver (Selenium, Playwright) would download its own.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bs4 import BeautifulSoup

WIDTHS = (1280, 390)
SKIP = {"genindex.html", "search.html"}
MEASURE = """<script>
window.addEventListener('load', function () { setTimeout(function () {  // after the book's own load handlers
  var out = [];
  document.querySelectorAll('article table').forEach(function (t) {
    var box = t.parentElement;
    while (box && box !== document.body && getComputedStyle(box).overflowX === 'visible') { box = box.parentElement; }
    var edge = Math.min(box ? box.getBoundingClientRect().right : window.innerWidth, window.innerWidth);
    var heads = Array.from(t.querySelectorAll('th')).map(function (h) { return h.textContent.trim(); });
    var cap = t.querySelector('caption');
    out.push({caption: cap ? cap.textContent.trim().slice(0, 70) : '(no caption)',
              clipped: t.getBoundingClientRect().right > edge + 1, verdict: heads.indexOf('verdict') >= 0,
              stacked: t.classList.contains('stacked')});
  });
  var pre = document.createElement('pre'); pre.id = 'layout-report'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 50); });
</script>"""


def browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def measure(page: Path, width: int, chrome: str) -> list[dict]:
    """The page's tables at ``width``: caption, whether clipped, whether it has a verdict column, whether it
    shows as cards."""
    copy = page.with_name(f"{page.stem}.__layout__.html")
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile:
            dom = subprocess.run([chrome, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                  f"--user-data-dir={profile}", f"--window-size={width},3000",
                                  "--virtual-time-budget=5000", "--dump-dom", copy.as_uri()],
                                 capture_output=True, text=True, timeout=120).stdout
    finally:
        copy.unlink(missing_ok=True)
    report = BeautifulSoup(dom, "html.parser").find("pre", id="layout-report")
    return json.loads(report.get_text()) if report else []


def main(argv=None) -> int:
    root = Path((argv or sys.argv[1:] or ["book/_build/html"])[0]).resolve()
    chrome = browser()
    if chrome is None or not (root / "index.html").exists():
        print(f"check_layout: {'no headless Chromium' if chrome is None else f'no built book at {root}'}")
        return 1
    pages = [p for p in sorted(root.rglob("*.html")) if "_static" not in p.parts and "_sources" not in p.parts
             and p.name not in SKIP]
    problems, stacked = [], {width: 0 for width in WIDTHS}
    for page in pages:
        for width in WIDTHS:
            for t in measure(page, width, chrome):
                stacked[width] += t["stacked"]
                if t["clipped"]:
                    kind = "verdict table" if t["verdict"] else "table"
                    problems.append(f"{page.relative_to(root)} at {width} px: {kind} clipped: {t['caption']}")
    for line in problems:
        print(line)
    print(f"check_layout: {len(pages)} pages at {', '.join(map(str, WIDTHS))} px, {len(problems)} tables clipped; "
          "shown as cards: " + ", ".join(f"{n} at {w} px" for w, n in stacked.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
