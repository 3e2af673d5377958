"""Sphinx configuration of the course site: what `make site` (scripts/build_site.py) builds.

The site shows the committed notebooks as they are (their stored outputs; nothing is executed), the
series table on the landing page, and the API reference of ``diffusion_helpers``. It must work with no
network at all, when it is built and when it is read: MathJax comes from sphinx-mathjax-offline, and
require.js and the ipywidgets embed bundle from site/_static/vendor/ (build_site.py fills it from npm,
pinned by site/package-lock.json).

Sphinx reads its documents from a build source folder that build_site.py keeps in sync
(site/_build/src: index.md, api.md, series.csv, notebooks/NN_*.ipynb, imgs/); this file stays in
site/, so paths such as ``html_static_path`` are relative to site/.

Two directives are defined here, both used from the pages in site/:

- ``series-table`` (index.md): one row per notebook: its title (the notebook's first markdown heading),
  what it teaches and how long it takes (both from site/series.csv).
- ``api-members`` (api.md): documents the names of ``diffusion_helpers.__all__`` that one module
  defines, as ``diffusion_helpers.<name>``; a lazily imported presentation module (``plotting``,
  ``widgets``, ``notebook``) is documented by its own ``__all__``, if it can be imported. When the
  build ends, every name of ``__all__`` must be documented somewhere, or the build warns (and so fails).

Docstrings write math as the notebooks do, ``$\\bar\\alpha_t$``; ``process_docstring`` turns it into
reST math before autodoc renders it (see "$...$ math in docstrings" below).
"""

from __future__ import annotations

import csv
import importlib
import inspect
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

SITE = Path(__file__).resolve().parent
REPO = SITE.parent
# Document the checkout's package, whatever else is installed.
sys.path.insert(0, str(REPO))

import diffusion_helpers

logger = logging.getLogger(__name__)

# -- Project -----------------------------------------------------------------------------------------

project = "Denoising diffusion from first principles"
author = "the course authors"
copyright = "the course authors, MIT License"
release = version = diffusion_helpers.__version__

# -- General -----------------------------------------------------------------------------------------

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    # Serves MathJax 3 from _static/mathjax/ (sets mathjax_path) instead of a CDN.
    "sphinx-mathjax-offline",
]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# -- MyST and notebooks ------------------------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath"]
# `\text{max\_beta}` in docstrings needs MathJax's textmacros (served locally, like all of MathJax).
mathjax3_config = {"loader": {"load": ["[tex]/textmacros"]}, "tex": {"packages": {"[+]": ["textmacros"]}}}
# Anchors for headings, so that a link such as `02_closed_form.ipynb#summary` resolves.
myst_heading_anchors = 3
# The site shows the committed, nbval-checked outputs; it never runs a kernel.
nb_execution_mode = "off"
nb_merge_streams = True
# ipywidgets: the saved widget state is rendered by @jupyter-widgets/html-manager. Its scripts are
# served from _static/ (myst-nb's default takes them from two CDNs); widgets-setup.js tells the bundle
# where its fonts are and lets it typeset labels with MathJax 3. A widget whose JavaScript is not in the
# bundle (any third-party widget) would be looked up under `data-jupyter-widgets-cdn`: that points to a
# local folder too, so even then no page reaches outside the site.
nb_ipywidgets_js = {
    "vendor/requirejs/require.js": {},
    "widgets-setup.js": {},
    "vendor/html-manager/embed-amd.js": {
        "data-jupyter-widgets-cdn": "../_static/vendor/npm/",
    },
}

# -- API reference (autodoc + napoleon) ---------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# `Attributes:` as :ivar: fields: the same names are also properties, documented by autodoc; as
# `.. attribute::` entries they would be described twice.
napoleon_use_ivar = True

# -- HTML --------------------------------------------------------------------------------------------

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["site.css"]
# Light by default: the notebooks' figures and players have white backgrounds (readers can switch).
html_context = {"default_mode": "light"}
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": True,
    # Nothing that points to or loads from another host: no repository, launch or issue buttons.
    "use_repository_button": False,
    "use_issues_button": False,
    "use_source_button": False,
    "use_edit_page_button": False,
    "launch_buttons": {},
    "navigation_with_keys": False,
}


# -- CDN links inside notebook outputs -------------------------------------------------------------

# matplotlib's FuncAnimation.to_jshtml() players link Font Awesome 4 from a CDN for their buttons; the
# committed outputs keep that link. On the site it points to the copy in _static/vendor/ instead.
LOCAL_COPIES = [
    (
        re.compile(r"""(?:https?:)?//[^"'\s>]*/font-awesome/4\.\d+\.\d+/css/font-awesome(?:\.min)?\.css"""),
        "_static/vendor/font-awesome/css/font-awesome.min.css",
    ),
]


def use_local_copies(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    body = context.get("body")
    if not body:
        return
    for pattern, local in LOCAL_COPIES:
        body = pattern.sub(context["pathto"](local, 1), body)
    context["body"] = body


# -- $...$ math in docstrings ------------------------------------------------------------------------

# The package's docstrings write math the way the notebooks do, $\bar\alpha_t$; reST needs :math:`...`.
# Literals (``...``) and roles (:func:`...`) are left alone; `\$` is a literal dollar.
_PROTECTED = re.compile(r"``.+?``|:[\w:+-]+:`[^`]*`|`[^`]*`", re.DOTALL)
_DISPLAY = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", re.DOTALL)
# Inline math as pandoc reads it: no space just inside the dollars, no blank line within.
_INLINE = re.compile(r"(?<![\\$])\$(?![\s$])((?:[^$\n]|\n(?!\s*\n))+?)(?<![\s\\$])\$(?!\$)")
# reST inline markup must start after whitespace or one of these, and end before whitespace or one of these.
_BEFORE_OK = set(" \t\n-:/'\"<([{")
_AFTER_OK = set(" \t\n-.,:;!?\\/'\")]}>")


def _math_role(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    body = re.sub(r"\s*\n\s*", " ", match.group(1).strip())
    before = "" if start == 0 or text[start - 1] in _BEFORE_OK else "\\ "
    after = "" if end == len(text) or text[end] in _AFTER_OK else "\\ "
    return f"{before}:math:`{body}`{after}"


def _convert_segment(segment: str) -> str:
    segment = _DISPLAY.sub(_math_role, segment)
    segment = _INLINE.sub(_math_role, segment)
    return segment.replace(r"\$", "$")


def dollars_to_math(text: str) -> str:
    """Rewrite $...$ and $$...$$ in reST text as :math: roles, leaving literals and roles untouched."""
    out, pos = [], 0
    for protected in _PROTECTED.finditer(text):
        out.append(_convert_segment(text[pos : protected.start()]))
        out.append(protected.group(0))
        pos = protected.end()
    out.append(_convert_segment(text[pos:]))
    return "".join(out)


def _display_blocks(lines: list[str]) -> list[str]:
    """A `$$` alone on a line opens or closes a display equation: make it a `.. math::` directive."""
    out: list[str] = []
    indent: str | None = None
    for line in lines:
        stripped = line.strip()
        if stripped == "$$":
            if indent is None:
                indent = line[: len(line) - len(line.lstrip())]
                out += [f"{indent}.. math::", ""]
            else:
                out.append("")
                indent = None
            continue
        out.append(f"{indent}   {stripped}" if indent is not None else line)
    return out


def _inherited_doc(obj: Any, lines: list[str]) -> bool:
    own = inspect.getdoc(type(obj))
    return bool(own) and "\n".join(lines).strip() == inspect.cleandoc(own).strip()


_COLUMN_ROW = re.compile(r"^(\s+)([A-Za-z_]\w*)\s{2,}(\S.*)$")


def _column_lists(lines: list[str], module: str) -> list[str]:
    """A plain-text table in a module docstring (indented `name  description` rows) as a bullet list.

    The package docstring lists its modules that way; reST would run the rows into one paragraph.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        rows = []
        while i + len(rows) < len(lines) and (row := _COLUMN_ROW.match(lines[i + len(rows)])):
            if rows and row.group(1) != rows[0].group(1):
                break
            rows.append(row)
        if len(rows) >= 2:
            out += [f"{r.group(1)}- :mod:`{r.group(2)} <{module}.{r.group(2)}>`: {r.group(3)}" for r in rows]
            i += len(rows)
        else:
            out.append(lines[i])
            i += 1
    return out


def _restore_leading_equation(lines: list[str]) -> list[str]:
    """Undo napoleon reading a property's leading equation (`$x$: what it is`) as its type."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(":type: $"):
            equation = lines[index].removeprefix(":type: ")
            body = [line for j, line in enumerate(lines) if j != index]
            while body and not body[-1].strip():
                body.pop()
            if body:
                body[0] = f"{equation}: {body[0]}"
            return body
    return lines


def process_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    if what in ("data", "attribute") and _inherited_doc(obj, lines):
        # A constant without a `#:` comment would otherwise show the docstring of its type (dict, tuple).
        lines[:] = []
        return
    text = lines
    if what in ("property", "attribute", "data"):
        text = _restore_leading_equation(text)
    if what == "module":
        text = _column_lists(text, name)
    lines[:] = dollars_to_math("\n".join(_display_blocks(text))).split("\n")


# -- series-table: the landing page's table of the notebooks ----------------------------------------

SERIES_TABLE = "series.csv"  # build_site.py copies site/series.csv into the source folder
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


def first_heading(notebook: Path) -> str | None:
    """The text of the first markdown heading (`# ...`, any level) of a notebook, or None."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        in_fence = False
        for line in source.splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
            heading = None if in_fence else re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
            if heading and heading.group(1):
                return heading.group(1)
    return None


def read_series_table(path: Path) -> dict[str, dict[str, str]]:
    """series.csv: notebook (file name without .ipynb), teaches, minutes; lines starting with # are comments."""
    with path.open(newline="", encoding="utf-8") as handle:
        lines = [line for line in handle if not line.lstrip().startswith("#")]
        rows = [row for row in csv.DictReader(lines) if (row.get("notebook") or "").strip()]
    return {row["notebook"].strip(): {k: (v or "").strip() for k, v in row.items()} for row in rows}


def _cell(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


class SeriesTable(SphinxDirective):
    """The table of every notebooks/NN_*.ipynb in the source folder, in file-name order."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        srcdir = Path(self.env.srcdir)
        notebooks = sorted((srcdir / "notebooks").glob(NOTEBOOK_GLOB))
        self.env.note_dependency(str(srcdir / SERIES_TABLE))
        table = read_series_table(srcdir / SERIES_TABLE)
        location = (self.env.docname, self.lineno)
        lines = ["| # | Notebook | What it teaches | Time |", "|---|---|---|---|"]
        total = 0
        for notebook in notebooks:
            self.env.note_dependency(str(notebook))
            title = first_heading(notebook)
            if title is None:
                logger.warning(
                    "notebooks/%s has no markdown heading to title it with", notebook.name, location=location
                )
                title = notebook.stem
            # "00 · Setup": the number has its own column.
            title = re.sub(rf"^{re.escape(notebook.stem[:2])}\s*[·:.\-–—]\s*", "", title) or title
            row = table.get(notebook.stem)
            if row is None:
                logger.warning(
                    "notebooks/%s has no row in site/series.csv (columns: notebook,teaches,minutes)",
                    notebook.name,
                    location=location,
                )
                row = {"teaches": "", "minutes": ""}
            minutes = row.get("minutes", "")
            if minutes.isdigit():
                total += int(minutes)
                minutes = f"{minutes} min"
            lines.append(
                f"| {notebook.stem[:2]} | [{_cell(title)}](notebooks/{notebook.name}) "
                f"| {_cell(row.get('teaches', ''))} | {_cell(minutes)} |"
            )
        known = {notebook.stem for notebook in notebooks}
        for stale in sorted(set(table) - known):
            logger.warning(
                "site/series.csv has a row for %s, but notebooks/ has no %s.ipynb", stale, stale, location=location
            )
        if not notebooks:
            logger.warning("no notebooks/%s found in %s", NOTEBOOK_GLOB, srcdir, location=location)
        container = nodes.container(classes=["series-table"])
        self.state.nested_parse(StringList(lines, source=self.env.docname), 0, container)
        result: list[nodes.Node] = [container]
        if total:
            result.append(nodes.paragraph(text=f"About {total} minutes in all.", classes=["series-total"]))
        return result


# -- api-members: the API reference, one section per module -----------------------------------------

PACKAGE = "diffusion_helpers"


def _try_import(module_name: str) -> tuple[ModuleType | None, str]:
    try:
        return importlib.import_module(module_name), ""
    except ImportError as error:  # a presentation module that is not written yet, or lacks a dependency
        return None, f"{type(error).__name__}: {error}"


def _autodoc_line(qualified: str, obj: Any) -> str:
    if isinstance(obj, type):
        return f".. autoclass:: {qualified}\n   :members:\n"
    if callable(obj):
        return f".. autofunction:: {qualified}\n"
    # Show a constant's value when it fits on a line (SCHEDULE_NAMES), not when it is a long table.
    value = "" if len(repr(obj)) <= 100 else "   :no-value:\n"
    return f".. autodata:: {qualified}\n{value}"


class ApiMembers(SphinxDirective):
    """Document one module of the package: its docstring, then the public names it defines.

    For a module the package imports eagerly: the names of ``diffusion_helpers.__all__`` that are in
    the module's own ``__all__``, as ``diffusion_helpers.<name>`` (the way students import them).
    For a module that is itself in ``__all__`` (imported on first use): that module's own ``__all__``,
    as ``diffusion_helpers.<module>.<name>``; if it cannot be imported, a note says so.
    """

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module_name = self.arguments[0]
        short = module_name.removeprefix(f"{PACKAGE}.")
        package = importlib.import_module(PACKAGE)
        module, error = _try_import(module_name)
        if module is None:
            text = f"```{{note}}\n`{module_name}` could not be imported in this build ({error}).\n```\n"
            return self._parse_markdown(text)
        self.env.note_dependency(module.__file__)

        rst = [f".. automodule:: {module_name}\n   :no-members:\n"]
        own = list(getattr(module, "__all__", []))
        if short in package.__all__:  # a lazily imported submodule: its own public names
            names, prefix = own, module_name
        else:
            names, prefix = [n for n in package.__all__ if n in own], PACKAGE
            rst.append(f".. currentmodule:: {PACKAGE}\n")
        for name in names:
            rst.append(_autodoc_line(f"{prefix}.{name}", getattr(module, name)))
        return self._parse_markdown("```{eval-rst}\n" + "\n".join(rst) + "```\n")

    def _parse_markdown(self, text: str) -> list[nodes.Node]:
        container = nodes.container()
        self.state.nested_parse(StringList(text.splitlines(), source=self.env.docname), 0, container)
        return container.children


def check_api_complete(app: Sphinx, env: Any) -> None:
    """Every name of diffusion_helpers.__all__ must appear on the API page.

    A lazily imported submodule that cannot be imported yet is excused: the page says it is missing.
    """
    py = env.domaindata.get("py", {})
    documented = set(py.get("objects", {})) | set(py.get("modules", {}))
    package = importlib.import_module(PACKAGE)
    missing = [
        name
        for name in package.__all__
        if f"{PACKAGE}.{name}" not in documented
        and not (name in getattr(package, "_LAZY_SUBMODULES", ()) and _try_import(f"{PACKAGE}.{name}")[0] is None)
    ]
    if missing:
        logger.warning(
            "diffusion_helpers.__all__ names on no section of the API page: %s. Give each module a section "
            "in site/api.md (`{api-members} diffusion_helpers.<module>`).",
            ", ".join(missing),
        )


def always_reread(app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """The landing page lists the notebooks and the API page lists __all__: read both on every build."""
    return [doc for doc in ("index", "api") if doc in env.found_docs]


def setup(app: Sphinx) -> dict[str, Any]:
    # After napoleon, which turns Args:/Returns: into fields first.
    app.connect("autodoc-process-docstring", process_docstring, priority=600)
    app.connect("html-page-context", use_local_copies)
    app.add_directive("series-table", SeriesTable)
    app.add_directive("api-members", ApiMembers)
    app.connect("env-get-outdated", always_reread)
    app.connect("env-check-consistency", check_api_complete)
    return {"parallel_read_safe": True}
