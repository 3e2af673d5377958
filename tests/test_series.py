"""The series table is written twice (README for GitHub readers, site/series.csv for the site): keep them equal.

Both must list exactly the notebooks in notebooks/, with the same titles (the notebook's first heading)
and the same times.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README_ROW = re.compile(r"^\| (\d\d) \| \[(.+?)\]\(notebooks/(\d\d_\w+)\.ipynb\) \| .+ \| (\d+) min \|$")


def _notebook_titles() -> dict[str, str]:
    titles = {}
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        first_cell = json.loads(path.read_text())["cells"][0]
        heading = "".join(first_cell["source"]).splitlines()[0]
        titles[path.stem] = re.sub(r"^#\s*\d\d\s*·\s*", "", heading).strip()
    return titles


def test_readme_table_matches_the_notebooks_and_the_site_table() -> None:
    readme = {
        match.group(3): (match.group(2), int(match.group(4)))
        for line in (REPO / "README.md").read_text().splitlines()
        if (match := README_ROW.match(line))
    }
    lines = [line for line in (REPO / "site" / "series.csv").read_text().splitlines() if not line.startswith("#")]
    site = {row["notebook"]: int(row["minutes"]) for row in csv.DictReader(lines)}
    titles = _notebook_titles()
    assert titles, "no notebooks found"
    assert sorted(readme) == sorted(titles) == sorted(site)
    for stem, (title, minutes) in readme.items():
        assert title == titles[stem], f"README calls {stem} {title!r}, its first heading says {titles[stem]!r}"
        assert minutes == site[stem], f"{stem}: README says {minutes} min, site/series.csv says {site[stem]}"
