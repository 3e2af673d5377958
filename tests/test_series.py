"""The series table (scripts/series.py): one source, site/series.csv plus the notebooks' headings.

The README's copy must be what the script generates, every notebook must have a row and every row a
notebook; the parsing is checked on small notebooks and tables made here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("series", REPO / "scripts" / "series.py")
assert _spec and _spec.loader
series = importlib.util.module_from_spec(_spec)
sys.modules["series"] = series  # dataclasses looks the module up while building Row
_spec.loader.exec_module(series)


def _notebook(path: Path, *markdown: str) -> Path:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": text} for text in markdown]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _csv(path: Path, *rows: str) -> Path:
    path.write_text("# a comment line\nnotebook,teaches,minutes\n" + "".join(f"{row}\n" for row in rows))
    return path


def test_readme_table_is_the_generated_one() -> None:
    """README.md holds exactly what `make series` writes (so it lists every notebook, with its heading)."""
    assert series.main(["--check"]) == 0, "README.md's series table is out of date: run `make series`"


def test_every_notebook_of_the_repository_has_a_row() -> None:
    rows = series.series_rows()
    stems = [Path(row.path).stem for row in rows]
    assert stems == sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for row in rows:
        assert row.title and not row.title.startswith(row.number), row
        assert row.minutes > 0, row


def test_title_is_the_first_heading_without_its_number(tmp_path: Path) -> None:
    notebook = _notebook(
        tmp_path / "07_x.ipynb",
        "Some text, no heading.",
        "```python\n# not a heading, inside a fence\n```\n\n## 07 · The real title ##",
        "# A later heading",
    )
    assert series.notebook_title(notebook) == "The real title"
    assert series.notebook_title(_notebook(tmp_path / "08_y.ipynb", "# 08: Colon style")) == "Colon style"
    assert series.notebook_title(_notebook(tmp_path / "09_z.ipynb", "# Unnumbered")) == "Unnumbered"


def test_notebook_without_heading_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no markdown heading"):
        series.notebook_title(_notebook(tmp_path / "00_x.ipynb", "just text"))


def test_table_lists_notebooks_in_order_with_total(tmp_path: Path) -> None:
    _notebook(tmp_path / "01_b.ipynb", "# 01 · Second")
    _notebook(tmp_path / "00_a.ipynb", "# 00 · First")
    (tmp_path / "notes.ipynb").write_text("not a notebook of the series")
    table = _csv(tmp_path / "s.csv", '01_b,"$q(x_t \\mid x_0)$, quoted, with commas",25', "00_a,Setup,10")
    rows = series.series_rows(tmp_path, table)
    assert [row.title for row in rows] == ["First", "Second"]
    text = series.markdown_table(rows)
    assert text.splitlines()[2:4] == [
        "| 00 | [First](notebooks/00_a.ipynb) | Setup | 10 min |",
        "| 01 | [Second](notebooks/01_b.ipynb) | $q(x_t \\mid x_0)$, quoted, with commas | 25 min |",
    ]
    assert text.rstrip().endswith("About 35 minutes in all.")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["00_a,Setup,10"], "01_b.ipynb has no row"),
        (["00_a,Setup,10", "01_b,Next,5", "02_c,Gone,5"], "row for 02_c, but there is no notebooks/02_c"),
        (["00_a,Setup,10", "01_b,Next,"], "needs notebook, teaches and minutes"),
        (["00_a,Setup,10", "01_b,Next,ten"], "whole number"),
        (["00_a,Setup,10", "00_a,Again,10", "01_b,Next,5"], "two rows"),
        (["00_a,Setup,10", "01_b,$p(x | y)$,5"], "would split the table"),
    ],
)
def test_bad_tables_are_refused(tmp_path: Path, rows: list[str], message: str) -> None:
    _notebook(tmp_path / "00_a.ipynb", "# 00 · First")
    _notebook(tmp_path / "01_b.ipynb", "# 01 · Second")
    with pytest.raises(ValueError, match=message):
        series.series_rows(tmp_path, _csv(tmp_path / "s.csv", *rows))


def test_readme_block_is_replaced_between_markers() -> None:
    readme = f"intro\n{series.BEGIN}\nold table\n{series.END}\nafter\n"
    assert series.with_table(readme, "new\n") == f"intro\n{series.BEGIN}\nnew\n{series.END}\nafter\n"
    with pytest.raises(ValueError, match="between one"):
        series.with_table("no markers here", "new\n")
    with pytest.raises(ValueError, match="between one"):
        series.with_table(f"{series.END}\n{series.BEGIN}\n", "new\n")
