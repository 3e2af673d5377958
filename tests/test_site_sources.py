"""The site's sources, without building it: the API page covers the package, the build script's checks work.

The browser tests (tests/browser/test_site.py) check the built site; these run in the unit tests and say
which file to change.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import diffusion_helpers as dh

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
import build_site  # noqa: E402  (a script, found through the sys.path entry above)

API_PAGE = REPO / "site" / "api.md"
SECTION = re.compile(r"^\.\. automodule:: (diffusion_helpers\.\w+)\s*$", re.MULTILINE)


def _sections() -> set[str]:
    return set(SECTION.findall(API_PAGE.read_text(encoding="utf-8")))


def test_every_public_module_has_a_section_on_the_api_page() -> None:
    modules = {f"diffusion_helpers.{m.name}" for m in pkgutil.iter_modules(dh.__path__) if not m.name.startswith("_")}
    missing = sorted(modules - _sections())
    assert not missing, (
        f"site/api.md has no section for {', '.join(missing)}: add `## Title` and an "
        "`{eval-rst}` block with `.. automodule:: <module>` and `:members:` (in the order imports flow)"
    )
    assert not sorted(_sections() - modules), "site/api.md documents a module that does not exist"


def test_every_name_of_the_package_is_on_the_api_page() -> None:
    """A name of ``diffusion_helpers.__all__`` is a documented module, or in its module's ``__all__``."""
    sections = _sections()
    undocumented = []
    for name in dh.__all__:
        obj = getattr(dh, name)
        module_name = obj.__name__ if isinstance(obj, type(dh)) else getattr(obj, "__module__", None)
        if module_name is None:  # a constant: find the documented module whose __all__ names it
            module_name = next(
                (m for m in sections if name in getattr(importlib.import_module(m), "__all__", ())), None
            )
        if module_name not in sections:
            undocumented.append(name)
            continue
        module = importlib.import_module(module_name)
        if module_name != getattr(obj, "__name__", None) and name not in getattr(module, "__all__", ()):
            undocumented.append(f"{name} (missing from {module_name}.__all__)")
    assert not undocumented, f"on no section of site/api.md: {', '.join(undocumented)}"


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="https://cdn.example.org/x.js"></script>',
        "<img alt='' src=//cdn.example.org/a.png>",
        '<link rel="stylesheet" href="http://cdn.example.org/a.css">',
        "@import url('https://fonts.example.org/css');",
        "body { background: url( //cdn.example.org/bg.png ) }",
    ],
)
def test_external_assets_are_found(tmp_path: Path, snippet: str) -> None:
    suffix = ".css" if snippet.startswith(("@", "body")) else ".html"
    (tmp_path / f"page{suffix}").write_text(snippet)
    assert len(build_site.external_assets(tmp_path)) == 1


def test_local_assets_links_and_css_comments_pass(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        '<script src="_static/x.js"></script><a href="https://arxiv.org/abs/2006.11239">paper</a>'
        '<link rel="canonical" href="https://example.org/">'
    )
    (tmp_path / "style.css").write_text("/* see url(https://example.org/) */ a { color: red }")
    (tmp_path / "_sources").mkdir()
    (tmp_path / "_sources" / "page.html").write_text('<script src="https://cdn.example.org/x.js"></script>')
    assert build_site.external_assets(tmp_path) == []


def test_sync_tree_removes_what_the_repository_no_longer_has(tmp_path: Path) -> None:
    source, target = tmp_path / "notebooks", tmp_path / "src"
    source.mkdir()
    (source / "00_a.ipynb").write_text("a")
    (target / "old").mkdir(parents=True)
    (target / "old" / "01_gone.ipynb").write_text("stale")
    build_site.sync_tree([source / "00_a.ipynb"], source, target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == ["00_a.ipynb"]
