"""Tests of diffusion_helpers.notebook and of what every notebook promises around it: the source shown is
the package's; every "Try (x)." item has a kernel-free player; the first cell says how to install the
package when it is missing; the README, pyproject.toml and notebook 00 state one minimum Python version."""

from __future__ import annotations

import inspect
import json
import os
import re
import sys
from pathlib import Path

import pytest

import diffusion_helpers as dh
from diffusion_helpers import notebook

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        cell["source"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    return cells


def test_show_source_shows_the_package_code() -> None:
    code = notebook.show_source(dh.q_sample)
    assert code.data == inspect.getsource(dh.q_sample)
    assert "def q_sample(" in code.data
    with pytest.raises(TypeError, match="obj"):
        notebook.show_source(len)


# --------------------------------------------------------------------------------- "try this" on the site

_PLAYER = '<div class="animation"><input class="anim-slider" type="range"></div>'


def test_try_this_wraps_a_player_with_its_letters_and_an_escaped_caption() -> None:
    shown = notebook.try_this("bc", "beta_T < 0.02 & T = 100", _PLAYER)
    assert shown.data.startswith('<figure class="dh-try" data-try="b c">')
    assert "Try (b), (c) without a kernel:" in shown.data and "beta_T &lt; 0.02 &amp; T = 100" in shown.data
    assert _PLAYER in shown.data
    for letters in ("", "B", "a b", 3):
        with pytest.raises(ValueError, match="letters"):
            notebook.try_this(letters, "c", _PLAYER)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="player"):
        notebook.try_this("a", "c", "<img>")


def test_try_items_are_found_in_markdown() -> None:
    text = "- **Try (a).** Lower it.\n  - **Try (b).** Indented.\n* **Try (c).** Star.\nSee **Try (d).** inline."
    assert notebook.TRY_ITEM.findall(text) == ["a", "b", "c"]


def _try_players(cells: list[dict]) -> dict[str, str]:
    """letter -> the committed HTML of the player that serves it."""
    players = {}
    for cell in cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            for match in re.finditer(r'<figure class="dh-try" data-try="([a-z ]+)">', html):
                for letter in match.group(1).split():
                    players[letter] = html
    return players


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_try_item_has_a_kernel_free_player(path: Path) -> None:
    cells = _cells(path)
    markdown = [cell["source"] for cell in cells if cell["cell_type"] == "markdown"]
    letters = [letter for source in markdown for letter in notebook.TRY_ITEM.findall(source)]
    assert len(letters) == len(set(letters)), f"{path.name}: a 'Try' letter is used twice: {letters}"
    players = _try_players(cells)
    missing = sorted(set(letters) - set(players))
    assert not missing, f"{path.name}: 'Try' items without a player (dh.notebook.try_this): {missing}"
    assert all("anim-slider" in players[letter] for letter in letters)
    assert sorted(set(players) - set(letters)) == [], f"{path.name}: a player for an item the markdown lacks"


def test_the_classroom_notebooks_have_try_items() -> None:
    """01 (the scrubber) and 03 (the explorer) have prompts, so the test above is not empty."""
    for stem in ("01_forward_process", "03_schedules"):
        cells = _cells(REPO / "notebooks" / f"{stem}.ipynb")
        assert sum(len(notebook.TRY_ITEM.findall(c["source"])) for c in cells if c["cell_type"] == "markdown") >= 4


# --------------------------------------------------------------------------------- the first cell

_INSTALL_BLOCK = re.compile(
    r"^try:\n    import diffusion_helpers as dh\nexcept ModuleNotFoundError:.*?\) from None\n", re.S
)


def _install_block(path: Path) -> str:
    first = next(cell for cell in _cells(path) if cell["cell_type"] == "code")
    match = _INSTALL_BLOCK.match(first["source"])
    assert match, f"{path.name}: the first code cell must start with the install check of notebook 00"
    return match.group(0)


def test_every_notebook_starts_with_the_same_install_check_and_no_placeholder() -> None:
    blocks = {path.name: _install_block(path) for path in NOTEBOOKS}
    assert len(set(blocks.values())) == 1, f"the first cells differ: {sorted(blocks)}"
    for path in NOTEBOOKS:
        assert "/content/diffusion-series" not in path.read_text(encoding="utf-8")


def _missing_package_message(cwd: Path) -> str:
    """Run the install check as a kernel without the package would, in ``cwd``: the message it stops with."""
    block = _install_block(NOTEBOOKS[0])
    saved, here = sys.modules.get("diffusion_helpers"), os.getcwd()
    sys.modules["diffusion_helpers"] = None  # type: ignore[assignment]  # makes the import fail
    try:
        os.chdir(cwd)
        with pytest.raises(ModuleNotFoundError) as error:
            exec(compile(block, "<first cell>", "exec"), {})
    finally:
        os.chdir(here)
        sys.modules["diffusion_helpers"] = saved  # type: ignore[assignment]
    return str(error.value)


def test_without_the_package_the_first_cell_gives_the_one_command(tmp_path: Path) -> None:
    from_notebooks = _missing_package_message(REPO / "notebooks")
    assert f"%pip install -e {REPO}\n" in from_notebooks and "restart the kernel" in from_notebooks
    (tmp_path / "series").mkdir()
    (tmp_path / "series" / "pyproject.toml").write_text("")
    (tmp_path / "series" / "diffusion_helpers").mkdir()
    assert f"%pip install -e {tmp_path / 'series'}\n" in _missing_package_message(tmp_path)  # e.g. /content/<repo>
    (tmp_path / "empty").mkdir()
    nowhere = _missing_package_message(tmp_path / "empty")
    assert "%pip install -e FOLDER-OF-THE-REPOSITORY" in nowhere and "upload or clone it first" in nowhere
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "## Running on a hosted notebook service" in readme  # the section the message points to


# --------------------------------------------------------------------------------- one Python version


def test_one_minimum_python_version_in_pyproject_readme_and_notebook_00() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    (declared,) = re.findall(r'^requires-python = ">=(\d+)\.(\d+)"$', pyproject, re.M)
    version = ".".join(declared)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert (
        re.findall(r"Python (\d+\.\d+) or newer", readme)
        == [version] * len(re.findall(r"Python \d+\.\d+ or newer", readme))
        and f"Python {version} or newer" in readme
    )
    assert not re.search(r"with Python \d+\.\d+ \(", readme), "the README names another version as the requirement"
    setup = _cells(REPO / "notebooks" / "00_setup.ipynb")
    text = "\n".join(cell["source"] for cell in setup)
    assert set(re.findall(r"Python (\d+\.\d+) or newer", text)) == {version}
    assert f'"python": ({declared[0]}, {declared[1]})' in text  # what the check cell enforces
