# `pytest --nbval-lax book/` runs the chapter notebooks; it must never collect the
# executed copies that jupyter-book writes under book/_build/.
collect_ignore = ["_build"]
