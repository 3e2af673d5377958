"""The requirement files: every package the project names is pinned, and students get no maintainer's tools.

`make lab` installs requirements.txt and `make test` requirements-dev.txt, both with constraints.txt; a package
added to a list but not to the lock would install at whatever version the index has that day.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAINTAINER_TOOLS = {"pytest", "hypothesis", "nbval", "playwright", "sphinx", "myst-nb", "ruff"}


def _name(requirement: str) -> str:
    """The normalised project name of a requirement line (PEP 503: lower case, runs of -_. as -)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\s<>=!~;\[@]", requirement.strip(), maxsplit=1)[0]).lower()


def _names(path: Path) -> set[str]:
    lines = [line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return {_name(line) for line in lines if line and not line.startswith("-")}


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[_name(name)] = version.strip()
    return pins


def test_every_requirement_is_pinned_in_the_lock() -> None:
    pins = _pins()
    named = _names(REPO / "requirements.txt") | _names(REPO / "requirements-dev.txt")
    unpinned = sorted(named - set(pins))
    assert not unpinned, f"not in constraints.txt: {', '.join(unpinned)}; run `make lock`"


def test_students_get_the_notebook_requirements_only() -> None:
    tools = sorted(_names(REPO / "requirements.txt") & MAINTAINER_TOOLS)
    assert not tools, f"requirements.txt (make lab) lists maintainer tools: {tools}; they go in requirements-dev.txt"


def test_requirement_names_are_parsed() -> None:
    assert _name("Sphinx_Book.Theme >= 1.0 ; python_version > '3.9'") == "sphinx-book-theme"
    assert _name("torch==2.14.1") == "torch"
