"""Build the static course site into site/_build/html: what `make site` runs.

Two steps, each safe to repeat:

1. Sync the Sphinx source folder site/_build/src: site/index.md, site/api.md, every
   notebooks/NN_*.ipynb, imgs/ (which notebooks may reference as ../imgs/), and series.md, the series
   table that scripts/series.py makes from site/series.csv and the notebooks' headings (index.md
   includes it). Only files whose bytes changed are written, so an incremental build re-reads just
   those; a file that no longer exists in the repository is removed too, so no stale notebook is
   ever published.
2. Run Sphinx (configuration: site/conf.py) with warnings as errors (-W --keep-going), then check that
   no page loads a script, stylesheet, image or font from another host.

The notebooks are not executed: the site shows their committed outputs. The JavaScript the pages need
offline is committed in site/_static/vendor/ (refreshed by `make vendor`, the one step that needs npm).

Usage: python scripts/build_site.py [--notebooks DIR] [--series CSV] [--build-dir DIR] [--fresh]
(--fresh re-reads every page, e.g. after editing site/conf.py; the other options build a trial site
from notebooks outside the repository).
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import series

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "site"
VENDOR = SITE / "_static" / "vendor"
# The committed files site/conf.py names in nb_ipywidgets_js.
VENDORED = ("requirejs/require.js", "html-manager/embed-amd.js")
PAGES = ("index.md", "api.md")


def sync_file(source: Path, target: Path) -> None:
    """Copy source to target unless target already has the same bytes.

    A copy gets the current time as its mtime (not the source's): Sphinx re-reads a document whose
    mtime is newer than when it last read it, and a notebook rewritten while a build was reading the
    previous copy can carry an older mtime than that read.
    """
    if target.exists() and filecmp.cmp(source, target, shallow=False):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def sync_tree(sources: list[Path], source_root: Path, target_root: Path) -> None:
    """Make target_root hold exactly `sources` (paths under source_root), nothing more."""
    wanted = {path.relative_to(source_root) for path in sources}
    for relative in sorted(wanted):
        sync_file(source_root / relative, target_root / relative)
    if target_root.exists():
        for path in sorted(target_root.rglob("*"), reverse=True):
            relative = path.relative_to(target_root)
            if path.is_file() and relative not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def write_file(text: str, target: Path) -> None:
    """Write text to target unless target already holds it (see sync_file)."""
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def sync_sources(src: Path, notebooks: Path, series_csv: Path) -> list[Path]:
    """Fill src with the pages, the series table, the notebooks and imgs/; returns the notebooks.

    Raises:
        ValueError: the series table cannot be made (a notebook without a row, ...).
    """
    src.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        sync_file(SITE / page, src / page)
    write_file(series.markdown_table(series.series_rows(notebooks, series_csv)), src / "series.md")
    found = sorted(notebooks.glob(series.NOTEBOOK_GLOB))
    sync_tree(found, notebooks, src / "notebooks")
    imgs = REPO / "imgs"
    sync_tree([p for p in imgs.rglob("*") if p.is_file()] if imgs.exists() else [], imgs, src / "imgs")
    return found


# A script, stylesheet, image, media or font that a page or stylesheet would fetch from another host.
EXTERNAL_ASSET = re.compile(
    r"""<(?:script|img|iframe|source|video|audio|embed)\b[^>]*?\ssrc=["']?(?:https?:)?//"""
    r"""|<link\b(?=[^>]*\srel=["']?(?:stylesheet|preload|icon|modulepreload|prefetch))"""
    r"""[^>]*?\shref=["']?(?:https?:)?//"""
    r"""|@import\s+(?:url\()?["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//""",
    re.IGNORECASE,
)


def external_assets(html_dir: Path) -> list[str]:
    """Every place where a built page or stylesheet would load something from another host."""
    problems = []
    for path in sorted(html_dir.rglob("*")):
        if path.suffix not in {".html", ".css"} or "_sources" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        # The ipywidgets saved state is data, and CSS comments are not requests.
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL) if path.suffix == ".css" else text
        for match in EXTERNAL_ASSET.finditer(text):
            snippet = text[match.start() : match.start() + 160].replace("\n", " ")
            problems.append(f"{path.relative_to(html_dir)}: {snippet}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks", help="folder of NN_*.ipynb")
    parser.add_argument("--series", type=Path, default=series.SERIES_CSV, help="notebook,teaches,minutes table")
    parser.add_argument("--build-dir", type=Path, default=SITE / "_build", help="holds src/, doctrees/, html/")
    parser.add_argument("--fresh", action="store_true", help="rebuild every page from scratch")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    missing = [name for name in VENDORED if not (VENDOR / name).is_file()]
    if missing:
        print(
            f"build_site.py: site/_static/vendor/ lacks {', '.join(missing)} (committed; `make vendor`)",
            file=sys.stderr,
        )
        return 1
    build = args.build_dir.resolve()
    src, html, doctrees = build / "src", build / "html", build / "doctrees"
    try:
        found = sync_sources(src, args.notebooks.resolve(), args.series.resolve())
    except ValueError as error:
        print(f"build_site.py: {error}", file=sys.stderr)
        return 1
    print(f"building the site from {len(found)} notebook(s) in {args.notebooks}", flush=True)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q"]
    command += ["-c", str(SITE), "-d", str(doctrees)]
    if args.fresh:
        command.append("-E")
    result = subprocess.run([*command, str(src), str(html)], check=False, cwd=REPO)
    if result.returncode != 0:
        print(f"build_site.py: Sphinx failed (exit {result.returncode}); warnings count as errors", file=sys.stderr)
        return result.returncode
    problems = external_assets(html)
    if problems:
        print("build_site.py: pages would load from other hosts (the site must work offline):", file=sys.stderr)
        print("\n".join(f"  {line}" for line in problems), file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    print(f"site built with 0 warnings in {elapsed:.1f} s: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
