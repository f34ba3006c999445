"""Mutation testing of the decision and method code: ``make mutants`` (outside ``make test``; its time on this
machine's two cores is in the report).

mutmut 3 plants one small change at a time (a comparison flipped, a constant moved, an operator swapped, a
branch negated) in the modules of :data:`SCOPE` and runs the tests that execute the changed function; a mutant
that no test notices *survives*. Every survivor must be killed by a test or explained in
``tests/mutants/explained.toml`` (why no test can tell it apart: an equivalent change, a label only a reader
sees), by its name or by a pattern (``*``) that names a whole function's mutants for one shared reason. The
report, ``tests/mutants/REPORT.md``, lists the counts per module and every survivor with its explanation or
"UNEXPLAINED"; this script exits 1 while an unexplained survivor is left.

mutmut (not cosmic-ray): it imports the suite once and forks per mutant, running only the tests that reach the
mutated function, where cosmic-ray starts a fresh test process per mutant (torch's import alone is seconds). It
expects the package at the project's top level, so the run works on a staged copy (``build/mutants``: the
package, the tests, and a link to the committed results the verdict snapshot reads); the working tree is never
changed.

    python tools/mutants.py            # stage, run, write the report (exit 1 on an unexplained survivor)
    python tools/mutants.py --again    # after new tests: rerun only the last run's survivors and unreached mutants
    python tools/mutants.py --report   # rewrite the report from the last run's results only

``--again`` keeps the last run's kills (tests were only added, so a killed mutant stays killed) and runs the
current tests against the rest. A module changed since is copied anew: mutmut's own change detection forgets
the results of each function whose code changed, and a first pass reruns those; then the survivors and the
mutants no test reached run again, by name.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "mutants"
EXPLAINED = ROOT / "tests" / "mutants" / "explained.toml"
REPORT = ROOT / "tests" / "mutants" / "REPORT.md"

#: the decision and method code mutated, relative to lib/: the claims protocol's rule (paired tests, Holm, the
#: verdict, collapse, the declared rows) and its frontiers (the choices on validation, the pairing by start), the
#: pruning rules and masks, and the regularizers: 1,220 mutants, 14 minutes here (2026-12-08). Not yet in it
#: (``--only`` takes them): ``book/claims.py`` (the exploratory rows' rule, 626 mutants), ``book/ledger.py``
#: (1,276, 550 of them reached by no test of :data:`TESTS`: its verdicts are pinned by
#: tests/book/test_verdict_snapshot.py instead), ``book/headline.py``, and the trainers (``train/art.py`` 667,
#: ``train/deephoyer.py`` 368, whose invariants tests/train holds); counted by a probe on 2026-12-08.
SCOPE = ["sparsebook/book/protocol.py", "sparsebook/book/frontier.py", "sparsebook/pruning/rules.py",
         "sparsebook/pruning/mask.py", "sparsebook/regularizers/base.py", "sparsebook/regularizers/deephoyer.py",
         "sparsebook/regularizers/hypersparse.py"]
#: modules ``--only`` also takes
OPTIONAL = ["sparsebook/book/claims.py", "sparsebook/book/ledger.py", "sparsebook/book/headline.py",
            "sparsebook/train/deephoyer.py", "sparsebook/train/art.py"]
#: the tests mutmut may run (it runs, per mutant, those of them that reach the mutated function)
TESTS = ["tests/book/test_protocol.py", "tests/book/test_frontier.py", "tests/book/test_verdict_rule.py",
         "tests/book/test_verdict_snapshot.py", "tests/pruning", "tests/regularizers", "tests/train/test_invariants.py",
         "tests/train/test_art_rule.py", "tests/experiments/test_frontiers.py"]


def settings(scope: list[str]) -> str:
    """The stage's pyproject.toml: mutmut's settings for ``scope``, and pytest's."""
    lines = ["[tool.mutmut]", "source_paths = ['sparsebook']", f"only_mutate = {scope!r}",
             "also_copy = ['tests', 'results', 'conftest.py']",
             f"pytest_add_cli_args_test_selection = {TESTS!r}",
             "pytest_add_cli_args = ['-p', 'no:cacheprovider', '-q']",
             # torch is not fork-safe once a test has run in the parent: fork workers from a clean server
             "process_isolation = 'forkserver'",
             "[tool.pytest.ini_options]", "testpaths = ['tests']"]
    return "\n".join(lines) + "\n"


def stage(scope: list[str]) -> None:
    """A fresh copy of the package and the tests with mutmut's settings, and a link to the committed results."""
    if STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    shutil.copytree(ROOT / "lib" / "sparsebook", STAGE / "sparsebook",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", STAGE / "tests", ignore=shutil.ignore_patterns("__pycache__", "mutants"))
    (STAGE / "results").symlink_to(ROOT / "results")
    # the editable install puts lib/ on sys.path; the tests must import the mutated copy instead
    (STAGE / "conftest.py").write_text(
        "import os, sys\n"
        f"sys.path[:] = [os.getcwd()] + [p for p in sys.path if os.path.abspath(p) != {str(ROOT / 'lib')!r}]\n")
    (STAGE / "pyproject.toml").write_text(settings(scope))


def run(max_children: int, names: list[str] = ()) -> int:
    """mutmut's run on the stage: every mutant, or ``names`` only (rerun whatever their last result)."""
    env = {**os.environ, "PYTHONPATH": "", "CI": ""}  # the staged copy, not the editable install, is imported
    cmd = [str(Path(sys.executable).with_name("mutmut")), "run", "--max-children", str(max_children), *names]
    return subprocess.call(cmd, cwd=STAGE, env=env)


def _same(a: Path, b: Path) -> bool:
    return b.exists() and a.read_bytes() == b.read_bytes()


def restage() -> list[str] | None:
    """Bring the last run's stage up to date for ``--again``: the current tests, and the package's modules that
    changed (copied anew: mutmut then re-plants the mutants of each changed function and forgets their results).
    The modules copied; None, touching nothing, where :data:`TESTS` changed since (only a full run will do)."""
    scope = tomllib.loads((STAGE / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    if (STAGE / "pyproject.toml").read_text() != settings(scope):
        return None  # another test selection: mutmut would forget every result
    changed = []
    for source in sorted((ROOT / "lib" / "sparsebook").rglob("*.py")):
        staged = STAGE / source.relative_to(ROOT / "lib")
        if not _same(source, staged):
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, staged)  # a new mtime: mutmut compares it with its mutants' file
            changed.append(str(staged.relative_to(STAGE)))
    for tests in (STAGE / "tests", STAGE / "mutants" / "tests"):  # mutmut copies tests/ on every run
        shutil.rmtree(tests, ignore_errors=True)
    shutil.copytree(ROOT / "tests", STAGE / "tests", ignore=shutil.ignore_patterns("__pycache__", "mutants"))
    return changed


def results() -> dict[str, str]:
    """mutant name -> status ("killed", "survived", "no tests", "timeout", ...) from the last run."""
    out = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "results", "--all", "true"],
                         cwd=STAGE, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    found = {}
    for line in out.stdout.splitlines():
        m = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
        if m:
            found[m.group(1)] = m.group(2).strip()
    return found


def diff(name: str) -> str:
    out = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "show", name], cwd=STAGE,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    return "\n".join(line for line in out.stdout.splitlines() if line.startswith(("-", "+"))
                     and not line.startswith(("---", "+++")))


def report(found: dict[str, str], took: str) -> int:
    """Write the report; the number of survivors without an explanation."""
    explained = tomllib.loads(EXPLAINED.read_text()) if EXPLAINED.exists() else {}
    by_module: dict[str, dict[str, int]] = {}
    for name, status in found.items():
        module = name.split(".x_")[0].split(".xǁ")[0]
        by_module.setdefault(module, {}).setdefault(status, 0)
        by_module[module][status] += 1
    statuses = sorted({s for m in by_module.values() for s in m})
    lines = ["# Mutation testing report", "",
             "Written by `python tools/mutants.py` (`make mutants`, mutmut 3): every change mutmut planted in the",
             "decision and method code, how many the tests caught, and every survivor with the reason it",
             "survives. Do not edit by hand; explanations live in `tests/mutants/explained.toml`.", "",
             f"The run: {took}.", "",
             "| module | " + " | ".join(statuses) + " |", "|---" * (len(statuses) + 1) + "|"]
    for module, counts in sorted(by_module.items()):
        lines.append(f"| {module} | " + " | ".join(str(counts.get(s, 0)) for s in statuses) + " |")
    survivors = sorted(n for n, s in found.items() if s not in ("killed", "timeout", "segfault", "suspicious"))
    unexplained = 0
    lines += ["", f"## Survivors ({len(survivors)})", ""]
    for name in survivors:
        why = next((text for patterns, text in explained.items()  # a plain name is a pattern matching itself
                    if any(fnmatch.fnmatchcase(name, p.strip()) for p in patterns.split("|"))), None)
        unexplained += why is None
        lines += [f"### `{name}` ({found[name]})", "", "```diff", diff(name), "```", "",
                  why or "**UNEXPLAINED**", ""]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")
    return unexplained


def _version() -> str:
    from importlib.metadata import version
    return version("mutmut")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--report", action="store_true", help="only rewrite the report from the last run")
    p.add_argument("--again", action="store_true",
                   help="rerun only the last run's survivors and unreached mutants against the current tests")
    p.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    p.add_argument("--only", nargs="+", metavar="MODULE", choices=SCOPE + OPTIONAL, default=SCOPE,
                   help="mutate these modules of the scope only (default: all of it)")
    args = p.parse_args(argv)
    if shutil.which("mutmut", path=str(Path(sys.executable).parent)) is None:
        print("mutants: mutmut is not installed in this environment (pip install 'mutmut==3.8.1')")
        return 2
    took_file = STAGE / "took.txt"
    if args.again:
        if not took_file.exists():
            print(f"mutants: no finished run under {STAGE} to rerun (run without --again first)")
            return 2
        changed = restage()
        if changed is None:
            print("mutants: the tests mutmut may run (TESTS) changed since the last run; run without --again")
            return 2
        start = time.time()
        if changed:  # the mutants of the changed functions, whose results mutmut forgot
            print("mutants: changed since the last run: " + ", ".join(changed))
            run(args.max_children)
        again = sorted(n for n, status in results().items() if status in ("survived", "no tests"))
        run(args.max_children, again)
        took_file.write_text(took_file.read_text().split("; then ")[0] + f"; then its {len(again)} survivors and "
                             f"unreached mutants rerun against the tests of {time.strftime('%Y-%m-%d')} "
                             f"({(time.time() - start) / 60:.0f} minutes, --again)")
    elif not args.report:
        start = time.time()
        stage(args.only)
        run(args.max_children)
        took_file.write_text(f"{(time.time() - start) / 60:.0f} minutes on {os.cpu_count()} cores, "
                             f"{args.max_children} mutant(s) at a time, mutmut {_version()}, modules: "
                             + ", ".join(f"`{m}`" for m in args.only))
    found = results()
    if not found:
        print(f"mutants: no mutmut results under {STAGE} (run without --report first)")
        return 2
    left = report(found, took_file.read_text() if took_file.exists() else "time not recorded")
    print(f"mutants: {len(found)} mutants, report {REPORT.relative_to(ROOT)}; {left} unexplained survivor(s)")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
