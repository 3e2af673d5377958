"""The series table: one source, written out for the README and for the site. What `make series` runs.

The table lists every ``notebooks/NN_*.ipynb`` in file-name order. Its columns come from two places only:

- the title: the notebook's first markdown heading, without its number ("# 02 · The closed form");
- what the notebook teaches and how many minutes it takes: its row in ``site/series.csv``
  (columns ``notebook,teaches,minutes``; lines starting with ``#`` are comments).

:func:`markdown_table` renders it as a Markdown table (math as ``$...$``, which both GitHub and the
site's MyST render). ``scripts/build_site.py`` writes it into the site's sources, where ``site/index.md``
includes it; this script writes it into README.md between the two marker comments, and with ``--check``
only says whether README.md is up to date (``tests/test_series.py`` runs that check).

Usage: python scripts/series.py [--check]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERIES_CSV = REPO / "site" / "series.csv"
NOTEBOOKS = REPO / "notebooks"
README = REPO / "README.md"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
BEGIN = "<!-- series table: generated from site/series.csv and the notebooks' headings by `make series` -->"
END = "<!-- end of series table -->"

_HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Row:
    """One notebook of the series, as the table shows it."""

    number: str  # "02"
    title: str  # "The closed form"
    path: str  # "notebooks/02_closed_form.ipynb", relative to the repository (and to the site's root)
    teaches: str
    minutes: int


def notebook_title(notebook: Path) -> str:
    """The first markdown heading of a notebook, without a leading "NN ·" (the table has a number column).

    Raises:
        ValueError: the notebook has no markdown heading.
    """
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        in_fence = False
        for line in ("".join(source) if isinstance(source, list) else source).splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
            heading = None if in_fence else _HEADING.match(line)
            if heading and heading.group(1):
                title = heading.group(1)
                return re.sub(rf"^{re.escape(notebook.name[:2])}\s*[·:.\-–—]\s*", "", title) or title
    raise ValueError(f"{notebook.name} has no markdown heading to take its title from")


def read_series_csv(path: Path) -> dict[str, tuple[str, int]]:
    """``site/series.csv`` as {notebook stem: (teaches, minutes)}.

    Raises:
        ValueError: a row lacks a column, repeats a notebook, has minutes that are not a whole number, or
            has a ``|`` in its text (it would split the Markdown table: write ``\\mid`` in math).
    """
    with path.open(newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if not line.lstrip().startswith("#")]
    table: dict[str, tuple[str, int]] = {}
    for number, row in enumerate(csv.DictReader(lines), start=1):
        stem, teaches, minutes = ((row.get(key) or "").strip() for key in ("notebook", "teaches", "minutes"))
        where = f"{path.name}, row {number} ({stem or 'no notebook'})"
        if not (stem and teaches and minutes):
            raise ValueError(f"{where}: every row needs notebook, teaches and minutes")
        if stem in table:
            raise ValueError(f"{where}: {stem} has two rows")
        if not minutes.isdigit():
            raise ValueError(f"{where}: minutes must be a whole number, got {minutes!r}")
        if "|" in teaches:
            raise ValueError(f"{where}: '|' would split the table; in math write \\mid or \\vert")
        table[stem] = (teaches, int(minutes))
    return table


def series_rows(notebooks: Path = NOTEBOOKS, series_csv: Path = SERIES_CSV) -> list[Row]:
    """Every ``NN_*.ipynb`` in ``notebooks``, in file-name order, with its row of ``series_csv``.

    Raises:
        ValueError: no notebook, a notebook without a row or a heading, or a row without a notebook.
    """
    found = sorted(notebooks.glob(NOTEBOOK_GLOB))
    if not found:
        raise ValueError(f"no {NOTEBOOK_GLOB} in {notebooks}")
    table = read_series_csv(series_csv)
    missing = [path.stem for path in found if path.stem not in table]
    stale = sorted(set(table) - {path.stem for path in found})
    if missing or stale:
        problems = [f"{stem}.ipynb has no row in {series_csv.name}" for stem in missing]
        problems += [
            f"{series_csv.name} has a row for {stem}, but there is no notebooks/{stem}.ipynb" for stem in stale
        ]
        raise ValueError("; ".join(problems))
    return [Row(path.name[:2], notebook_title(path), f"notebooks/{path.name}", *table[path.stem]) for path in found]


def markdown_table(rows: list[Row]) -> str:
    """The Markdown table of ``rows`` and a line with the total time."""
    lines = ["| # | Notebook | What it teaches | Time |", "|---|----------|-----------------|------|"]
    lines += [f"| {r.number} | [{r.title}]({r.path}) | {r.teaches} | {r.minutes} min |" for r in rows]
    lines += ["", f"About {sum(r.minutes for r in rows)} minutes in all."]
    return "\n".join(lines) + "\n"


def with_table(readme: str, table: str) -> str:
    """``readme`` with the text between the marker comments replaced by ``table``.

    Raises:
        ValueError: the markers are missing, repeated or out of order.
    """
    if readme.count(BEGIN) != 1 or readme.count(END) != 1 or readme.index(BEGIN) > readme.index(END):
        raise ValueError(f"README.md needs the series table between one {BEGIN!r} and one {END!r}")
    head, rest = readme.split(BEGIN)
    _, tail = rest.split(END)
    return f"{head}{BEGIN}\n{table}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that README.md is up to date")
    args = parser.parse_args(argv)
    try:
        current = README.read_text(encoding="utf-8")
        wanted = with_table(current, markdown_table(series_rows()))
    except ValueError as error:
        print(f"series.py: {error}", file=sys.stderr)
        return 1
    if wanted == current:
        return 0
    if args.check:
        print("series.py: README.md's series table is out of date: run `make series`", file=sys.stderr)
        return 1
    README.write_text(wanted, encoding="utf-8")
    print("README.md: series table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
