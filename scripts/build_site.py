"""Build the static course site into site/_build/html: what `make site` runs.

Three steps, each safe to repeat:

1. Vendor the JavaScript and fonts the pages need offline. `npm ci` installs what
   site/package-lock.json pins (@jupyter-widgets/html-manager, requirejs, font-awesome 4) into a
   temporary folder, and the files the site serves are copied to site/_static/vendor/ (git-ignored).
   A hash of the lock file is kept there, so this runs again only when the lock file changes.
   MathJax needs no step: the Python package sphinx-mathjax-offline ships it.
2. Sync the Sphinx source folder site/_build/src: site/index.md, site/api.md, site/series.csv, every
   notebooks/NN_*.ipynb and imgs/ (which notebooks may reference as ../imgs/). Only files whose bytes
   changed are copied, so an incremental build re-reads just those; a file that no longer exists in the
   repository is removed from it too, so no stale notebook is ever published.
3. Run Sphinx (configuration: site/conf.py) with warnings as errors (-W --keep-going), then check that
   no page loads a script, stylesheet, image or font from another host.

The notebooks are not executed: the site shows their committed outputs.

Usage: python scripts/build_site.py [--notebooks DIR] [--series CSV] [--build-dir DIR] [--fresh]
(--fresh re-reads every page, e.g. after editing the code in site/conf.py; the other options build a
trial site from notebooks outside the repository).
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "site"
VENDOR = SITE / "_static" / "vendor"
LOCK = SITE / "package-lock.json"
STAMP = VENDOR / ".package-lock.sha256"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
PAGES = ("index.md", "api.md")

# node_modules path -> path under site/_static/vendor/ (site/conf.py refers to these)
VENDOR_FILES = {
    "requirejs/require.js": "requirejs/require.js",
    "requirejs/package.json": "requirejs/package.json",
    "@jupyter-widgets/html-manager/dist/embed-amd.js": "html-manager/embed-amd.js",
    "@jupyter-widgets/html-manager/package.json": "html-manager/package.json",
    "font-awesome/css/font-awesome.min.css": "font-awesome/css/font-awesome.min.css",
    "font-awesome/package.json": "font-awesome/package.json",
}
# node_modules folder -> (file patterns, folder under site/_static/vendor/). The embed bundle loads its
# icon fonts (Font Awesome 5) from the folder it is served from; font-awesome.min.css from ../fonts/.
VENDOR_GLOBS = {
    "@jupyter-widgets/html-manager/dist": (
        ("*.woff2", "*.woff", "*.ttf", "*.eot", "*.svg", "*.LICENSE.txt"),
        "html-manager",
    ),
    "font-awesome/fonts": (("fontawesome-webfont.*",), "font-awesome/fonts"),
}


def vendor() -> None:
    """Fill site/_static/vendor/ from npm, pinned by site/package-lock.json (skipped when up to date)."""
    digest = hashlib.sha256(LOCK.read_bytes() + (SITE / "package.json").read_bytes()).hexdigest()
    wanted = [VENDOR / target for target in VENDOR_FILES.values()]
    if STAMP.exists() and STAMP.read_text().strip() == digest and all(path.exists() for path in wanted):
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "build_site.py: npm is needed once, to fetch the JavaScript that site/package-lock.json pins "
            "into site/_static/vendor/ (install Node.js, or copy that folder from a machine that has it)."
        )
    print("vendoring JavaScript from npm (site/package-lock.json) into site/_static/vendor/", flush=True)
    with tempfile.TemporaryDirectory(prefix="site-npm-") as tmp:
        shutil.copy2(SITE / "package.json", tmp)
        shutil.copy2(LOCK, tmp)
        subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
            cwd=tmp,
            check=True,
        )
        modules = Path(tmp) / "node_modules"
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        for source, target in VENDOR_FILES.items():
            (VENDOR / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(modules / source, VENDOR / target)
        for folder, (patterns, target) in VENDOR_GLOBS.items():
            (VENDOR / target).mkdir(parents=True, exist_ok=True)
            for pattern in patterns:
                for path in (modules / folder).glob(pattern):
                    shutil.copy2(path, VENDOR / target / path.name)
    STAMP.write_text(digest + "\n")


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


def sync_sources(src: Path, notebooks: Path, series: Path) -> list[Path]:
    src.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        sync_file(SITE / page, src / page)
    sync_file(series, src / "series.csv")
    found = sorted(notebooks.glob(NOTEBOOK_GLOB))
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
    parser.add_argument("--series", type=Path, default=SITE / "series.csv", help="notebook,teaches,minutes table")
    parser.add_argument("--build-dir", type=Path, default=SITE / "_build", help="holds src/, doctrees/, html/")
    parser.add_argument("--fresh", action="store_true", help="rebuild every page from scratch")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    vendor()
    build = args.build_dir.resolve()
    src, html, doctrees = build / "src", build / "html", build / "doctrees"
    found = sync_sources(src, args.notebooks.resolve(), args.series.resolve())
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
