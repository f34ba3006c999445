"""Figures numbered per page, as the tables are (``sparsebook.book.tables.table``: "Table 1" on every page).

Sphinx numbers figures across the whole book when its chapters are not numbered sections ("Fig. 18" on the
tenth page); a reader then meets "Figure 18" beside "Table 2". This extension renumbers each page's figures
from 1, in the order Sphinx found them, after Sphinx has assigned its numbers. No maintained extension does
this (sphinx-multitoc-numbering continues the numbers across parts, the opposite), hence these lines.
"""


def _renumber(app, env):
    for types in env.toc_fignumbers.values():
        for figtype, numbers in types.items():
            if figtype == "figure":
                order = sorted(numbers, key=lambda name: numbers[name])
                types[figtype] = {name: (i,) for i, name in enumerate(order, 1)}
    return []


def setup(app):
    app.connect("env-get-updated", _renumber, priority=900)  # after Sphinx's own numbering (priority 500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
