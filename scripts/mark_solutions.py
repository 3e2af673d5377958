"""Collapse every exercise solution cell of the given notebooks, in JupyterLab and on the site.

A solution cell is a code cell that asserts a check, ``assert dh.exercises.check("NN-name", answer)``
(the convention is described in ``diffusion_helpers/exercises/__init__.py``). This script sets its cell
metadata ``"jupyter": {"source_hidden": true, "outputs_hidden": true}`` and the tags ``hide-input`` and
``hide-output``, and leaves every other cell and the outputs untouched. ``tests/test_exercises.py`` fails
when a solution cell is not marked.

Usage: python scripts/mark_solutions.py notebooks/01_forward_process.ipynb [...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from diffusion_helpers.exercises.cells import collapse, is_collapsed, is_solution_cell


def main(paths: list[str]) -> int:
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        marked = 0
        for cell in notebook.cells:
            if is_solution_cell(cell) and not is_collapsed(cell):
                collapse(cell)
                marked += 1
        if marked:
            nbformat.write(notebook, path)
        print(f"{path}: {marked} solution cell(s) newly collapsed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
