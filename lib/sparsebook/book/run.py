"""Run one chapter with its parameters through papermill, a bad parameter reported first and in one line.

    python -m sparsebook.book.run book/hypersparse/small_scale.ipynb out.ipynb -p profile smoke \\
        -p sparsities "[0.9, 0.98]"

The same as ``papermill NOTEBOOK OUT -p NAME VALUE ...`` with the notebook's own folder as working directory,
except for what a mistake prints: an unknown parameter name is refused before the kernel starts (papermill
warns and runs on), and a value the chapter refuses is one line (papermill prints its own traceback first,
then the cell's). Exit codes: 0 done, 2 a bad parameter, 1 any other failing cell (the output notebook holds
its traceback).
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["main", "run_chapter"]

#: the kernel's own start-up notice, which says nothing about the chapter
_NOISE = ("Kernel is running over TCP",)


def _value(text: str):
    """A ``-p`` value as papermill reads it: a Python literal where it parses, else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


@contextmanager
def _kernel_stderr():
    """Collect what the kernel and papermill write to standard error (fd 2, which the kernel inherits), so that
    the chapter's own message comes first; yields a function that returns it."""
    with tempfile.TemporaryFile(mode="w+b") as f:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            yield lambda: (f.seek(0), f.read().decode(errors="replace"))[1]
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def run_chapter(notebook, output, parameters: dict, cwd=None) -> None:
    """Execute ``notebook`` into ``output`` with ``parameters``; ``ValueError`` (one line) for an unknown name."""
    import papermill
    known = papermill.inspect_notebook(str(notebook))
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ValueError(f"{notebook}: no parameter {', '.join(unknown)}; its parameters: {', '.join(known)}")
    papermill.execute_notebook(str(notebook), str(output), parameters=parameters, progress_bar=False,
                               cwd=str(cwd or Path(notebook).resolve().parent))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sparsebook.book.run", description=__doc__.split("\n\n")[0])
    p.add_argument("notebook")
    p.add_argument("output", nargs="?", help="the executed notebook (default: NOTEBOOK's name + .out.ipynb here)")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    p.add_argument("--cwd", default=None, help="the kernel's working directory (default: the notebook's folder)")
    args = p.parse_args(argv)
    if not Path(args.notebook).is_file():
        print(f"error: {args.notebook}: no such notebook", file=sys.stderr)
        return 2
    from papermill.exceptions import PapermillExecutionError
    output = args.output or f"{Path(args.notebook).stem}.out.ipynb"
    parameters = {name: _value(value) for name, value in args.parameter}
    code, message = 0, None
    with _kernel_stderr() as captured:
        try:
            run_chapter(args.notebook, output, parameters, args.cwd)
        except ValueError as err:
            code, message = 2, f"error: {err}"
        except PapermillExecutionError as err:
            if err.ename == "ParameterError":
                code, message = 2, f"error: {err.evalue}"
            else:
                code, message = 1, (f"error: cell {err.exec_count} raised {err.ename}: {err.evalue} (the executed "
                                    f"notebook, with the cell's traceback: {output})")
        text = captured()
    if message:
        print(message, file=sys.stderr)
        return code
    rest = [line for line in text.splitlines() if line.strip() and not any(n in line for n in _NOISE)]
    if rest:
        print("\n".join(rest), file=sys.stderr)
    print(f"done: {output}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
