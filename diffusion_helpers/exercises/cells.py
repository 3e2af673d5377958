"""The notebook side of the exercise convention: which cells are solutions, and how they are collapsed.

Used by ``scripts/mark_solutions.py`` (which marks the cells) and ``tests/test_exercises.py`` (which fails
when a solution cell is not marked), so the rule lives in one place.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CHECK_CALL", "SOLUTION_TAGS", "collapse", "is_collapsed", "is_solution_cell", "student_check_names"]

CHECK_CALL = re.compile(r"""(assert\s+)?dh\.exercises\.check\(\s*["']([^"']+)["']""")
"""A call of the checker in a cell; group 1 is ``assert `` in a solution cell, group 2 the exercise's name."""

SOLUTION_TAGS = ("hide-input", "hide-output")  # myst-nb: both behind one toggle on the site


def is_solution_cell(cell: dict[str, Any]) -> bool:
    """A code cell that asserts a check (``assert dh.exercises.check("NN-name", answer)``)."""
    return cell.get("cell_type") == "code" and any(m.group(1) for m in CHECK_CALL.finditer(_source(cell)))


def student_check_names(cell: dict[str, Any]) -> list[str]:
    """The exercises a student's cell checks (calls without ``assert``)."""
    if cell.get("cell_type") != "code":
        return []
    return [m.group(2) for m in CHECK_CALL.finditer(_source(cell)) if not m.group(1)]


def collapse(cell: dict[str, Any]) -> None:
    """Collapse a solution cell in JupyterLab (source and output) and on the site (tags)."""
    metadata = cell.setdefault("metadata", {})
    metadata.setdefault("jupyter", {}).update({"source_hidden": True, "outputs_hidden": True})
    tags = metadata.setdefault("tags", [])
    tags.extend(tag for tag in SOLUTION_TAGS if tag not in tags)


def is_collapsed(cell: dict[str, Any]) -> bool:
    """Whether :func:`collapse` has marked the cell."""
    metadata = cell.get("metadata", {})
    jupyter = metadata.get("jupyter", {})
    tags = metadata.get("tags", [])
    hidden = bool(jupyter.get("source_hidden") and jupyter.get("outputs_hidden"))
    return hidden and all(tag in tags for tag in SOLUTION_TAGS)


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source
