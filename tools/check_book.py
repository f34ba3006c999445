"""Check the built book (book/_build/html) as a reader would meet it; exit 1 with one line per problem.

    python tools/check_book.py [book/_build/html]

Fails on: a traceback, error or warning output in a page; "NaN" in a table; a broken internal link or
image; an image shown twice on one page; a figure shown as its text ("<Figure size 600x340 ...>"); a results
chapter whose first visible element is a code cell; a code identifier (``snake_case``) in the prose outside
code, tables, math and the references; a leftover phrase of a page's drafts (:data:`LEFTOVERS`); figures or
tables not numbered 1, 2, ... on their page; a page that does not open with its answer (:data:`ANSWER`) or, where
it reports runs, with its distance to the paper. Written by hand: it checks this book's own rules, which
no link checker knows (and linkcheck would need the network).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from bs4 import BeautifulSoup

#: pages whose code is the lesson: they may open with a code cell
METHOD_PAGES = {"hypersparse/method.html", "deephoyer/method.html"}
RESULT_FOLDERS = ("hypersparse/", "deephoyer/")
SKIP = {"genindex.html", "search.html"}
#: phrases that described the book's making, not its results: a page that still says one is stale
LEFTOVERS = ("Until the sweep", "until then", "first cpu runs used another rule", "if any)", "the performance issue",
             "four-hour budget", "No GPU is lent here", "are stored ... until")
#: how a page's answer begins, within the first words a reader meets (:data:`OPENING` characters of its text)
ANSWER, DISTANCE, OPENING = "The answer", "How far from the paper", 1500
#: pages that open otherwise: the introduction ("The answer first", then the verdict tables) and the ledger
#: (the verdict tables first), the benchmark history (a log for whoever changes the speed code)
ANSWER_EXEMPT = {"index.html", "intro.html", "claims.html", "about/benchmark_notes.html"}
#: a code name: lower-case words joined by underscores (warmup_end, test_acc_best)
IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def prose_problems(article, rel: str) -> list[str]:
    """Code names and leftover phrases in what a reader reads as prose (code, tables, math, links and the
    references set aside)."""
    prose = BeautifulSoup(str(article), "html.parser")
    for el in prose.select("code, pre, .cell_input, script, style, table, .math, mjx-container, a, "
                           "div.bibliography, dl.citation, .docutils.container"):
        el.decompose()
    text = " ".join(prose.get_text(" ").split())
    out = [f"{rel}: a code name in the prose: {name}" for name in sorted(set(IDENTIFIER.findall(text)))]
    out += [f"{rel}: a leftover phrase: {phrase!r}" for phrase in LEFTOVERS if phrase in text]
    return out


def page_problems(html: Path, root: Path) -> list[str]:
    rel = html.relative_to(root).as_posix()
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article") or soup.body or soup
    out = []
    text = article.get_text(" ")
    if "Traceback (most recent call last)" in text:
        out.append(f"{rel}: a traceback is shown")
    for cls in ("output.stderr", "output.traceback", "output.error", "system-message"):
        if article.select(f"div.{cls}"):
            out.append(f"{rel}: {cls.replace('.', ' ')} output on the page")
    for cell in article.select("table td, table th"):
        if cell.get_text(strip=True).lower() in ("nan", "nat", "none"):
            out.append(f"{rel}: '{cell.get_text(strip=True)}' in a table")
            break
    for tag, attr in (("a", "href"), ("img", "src")):
        for el in soup.find_all(tag):
            target = el.get(attr)
            if not target or target.startswith("#"):
                continue
            url = urlparse(target)
            if url.scheme or url.netloc or target.startswith("mailto:"):
                continue
            path = (html.parent / unquote(url.path)).resolve()
            if not path.exists():
                out.append(f"{rel}: broken {'image' if tag == 'img' else 'link'} {target}")
    if "<Figure size" in text:
        out.append(f"{rel}: a figure is shown as text, not as an image")
    sources = [img.get("src") for img in article.find_all("img")]
    for src in sorted({s for s in sources if sources.count(s) > 1}):
        out.append(f"{rel}: image shown {sources.count(src)} times: {src}")
    if rel.startswith(RESULT_FOLDERS) and rel not in METHOD_PAGES or rel == "claims.html":
        first = next((el for el in article.find_all(["p", "table", "img", "div"])
                      if el.name != "div" or "cell_input" in (el.get("class") or [])), None)
        if first is not None and first.name == "div":
            out.append(f"{rel}: the first visible element is a code cell")
    return out + numbering_problems(article, rel) + opening_problems(article, rel) + prose_problems(article, rel)


def numbering_problems(article, rel: str) -> list[str]:
    """Figures and tables each numbered 1, 2, ... on the page, in the order they appear."""
    out = []
    figures = [el.get_text(strip=True) for el in article.select("figure .caption-number, div.figure .caption-number")]
    tables = [el.get_text(" ", strip=True) for el in article.select("table > caption")]
    for kind, captions, pattern in (("figure", figures, r"(?:Fig\.|Figure) (\d+)"),
                                    ("table", tables, r"Table (\d+)\.")):
        numbers = [int(m.group(1)) for c in captions if (m := re.match(pattern, c))]
        if numbers != list(range(1, len(numbers) + 1)):
            out.append(f"{rel}: {kind}s numbered {numbers}, not 1 to {len(numbers)} in order")
    return out


def opening_problems(article, rel: str) -> list[str]:
    """A page opens with its answer (and, reporting runs, its distance to the paper) before anything else."""
    if rel in ANSWER_EXEMPT or not rel.startswith((*RESULT_FOLDERS, "about/")):
        return []
    opening = " ".join(article.get_text(" ").split())[:OPENING]
    out = [] if ANSWER in opening else [f"{rel}: does not open with '{ANSWER}'"]
    if rel.startswith(RESULT_FOLDERS) and DISTANCE not in opening:
        out.append(f"{rel}: does not say '{DISTANCE}' in its opening")
    return out


def main(argv=None) -> int:
    root = Path((argv or sys.argv[1:] or ["book/_build/html"])[0])
    if not (root / "index.html").exists():
        print(f"check_book: no built book at {root} (run `make book` first)")
        return 1
    pages = [p for p in sorted(root.rglob("*.html")) if "_static" not in p.parts and p.name not in SKIP
             and "_sources" not in p.parts]
    problems = [msg for p in pages for msg in page_problems(p, root)]
    for msg in problems:
        print(msg)
    print(f"check_book: {len(pages)} pages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
