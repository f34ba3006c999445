"""The book's tables, figures and verdicts, computed from stored runs at build time (needs the ``book`` extra:
matplotlib, seaborn).

* :mod:`.tables`: one palette and one name per regularizer, numbered tables, mean ± sd.
* :mod:`.chapter`: what a chapter's hidden loading cell calls (parameters checked, runs loaded).
* :mod:`.claims`: the rule behind every verdict; :mod:`.ledger`: verdict tables, trade-off curves,
  the claims ledger.
* :mod:`.deephoyer`, :mod:`.hypersparse`: each paper's tables and figures.
* :mod:`.status`, :mod:`.benchmarks`: the reference pages.
"""
