"""Refresh the site's committed JavaScript and fonts in site/_static/vendor/: what `make vendor` runs.

A maintainer's tool, and the only one that needs Node.js: `make site` and `make test` use the committed
files and never run npm. It runs `npm ci` on site/package.json and site/package-lock.json (which pin every
version) in a temporary folder, then replaces site/_static/vendor/ with the files the site serves and
their licences:

- require.js, which myst-nb's widget pages load first;
- the ipywidgets embed bundle (@jupyter-widgets/html-manager's embed-amd.js), which renders the widget
  state saved in the notebooks, and the Font Awesome 5 web fonts it loads for widget icons (woff2 and
  woff only: every browser the site supports reads one of them, so the legacy eot/ttf/svg copies are left
  out).

To move to newer versions: edit site/package.json, run `npm install --package-lock-only` in site/, then
`make vendor`, `make site` and `make browser`, and commit site/package*.json with site/_static/vendor/.

Usage: python scripts/vendor_site_assets.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "site"
VENDOR = SITE / "_static" / "vendor"

# node_modules path -> path under site/_static/vendor/ (site/conf.py and widgets-setup.js refer to these)
FILES = {
    "requirejs/require.js": "requirejs/require.js",
    "@jupyter-widgets/html-manager/dist/embed-amd.js": "html-manager/embed-amd.js",
    # The bundle's third-party notices (jQuery, lodash, ...); webpack writes them once, for embed.js,
    # and embed-amd.js bundles the same libraries.
    "@jupyter-widgets/html-manager/dist/embed.js.LICENSE.txt": "html-manager/THIRD-PARTY-NOTICES.txt",
    # html-manager ships no LICENSE file; its sibling package from the same repository has the licence.
    "@jupyter-widgets/schema/LICENSE": "html-manager/LICENSE",
    "@fortawesome/fontawesome-free/LICENSE.txt": "html-manager/FONT-AWESOME-LICENSE.txt",
}
FONT_PATTERNS = ("*.woff2", "*.woff")
FONT_FOLDER = "@jupyter-widgets/html-manager/dist"

REQUIREJS_LICENSE = """\
RequireJS is released under the MIT license (its header in require.js says so):

Copyright jQuery Foundation and other contributors, https://jquery.org/

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

README = """\
# Vendored files of the static site

Committed so that `make site` and `make test` need no Node.js and no network. Do not edit them by hand:
`make vendor` (scripts/vendor_site_assets.py, which needs npm) rewrites this folder from the versions
that site/package-lock.json pins.

| folder | package | version | licence |
|--------|---------|---------|---------|
{rows}

- `requirejs/require.js`: loads the embed bundle (an AMD module) on pages with saved widgets.
- `html-manager/embed-amd.js`: renders the ipywidgets state saved in the notebooks, without a kernel;
  `THIRD-PARTY-NOTICES.txt` lists the libraries bundled into it.
- `html-manager/*.woff2`, `*.woff`: the Font Awesome 5 Free fonts the bundle loads for widget icons
  (`FONT-AWESOME-LICENSE.txt`: fonts under the SIL OFL 1.1).
"""


def _version(modules: Path, package: str) -> tuple[str, str]:
    meta = json.loads((modules / package / "package.json").read_text(encoding="utf-8"))
    return meta["version"], meta.get("license", "")


def main() -> int:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("vendor_site_assets.py: needs npm (Node.js); `make site` and `make test` do not.")
    with tempfile.TemporaryDirectory(prefix="site-npm-") as tmp:
        shutil.copy2(SITE / "package.json", tmp)
        shutil.copy2(SITE / "package-lock.json", tmp)
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        subprocess.run(command, cwd=tmp, check=True)
        modules = Path(tmp) / "node_modules"
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        for source, target in FILES.items():
            (VENDOR / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(modules / source, VENDOR / target)
        for pattern in FONT_PATTERNS:
            for font in sorted((modules / FONT_FOLDER).glob(pattern)):
                shutil.copyfile(font, VENDOR / "html-manager" / font.name)
        (VENDOR / "requirejs" / "LICENSE").write_text(REQUIREJS_LICENSE, encoding="utf-8")
        rows = []
        for folder, package in [
            ("requirejs", "requirejs"),
            ("html-manager", "@jupyter-widgets/html-manager"),
            ("html-manager (fonts)", "@fortawesome/fontawesome-free"),
        ]:
            version, licence = _version(modules, package)
            rows.append(f"| `{folder}` | {package} | {version} | {licence} |")
        (VENDOR / "README.md").write_text(README.format(rows="\n".join(rows)), encoding="utf-8")
    files = sorted(p for p in VENDOR.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    print(f"site/_static/vendor/: {len(files)} files, {size / 1e6:.1f} MB; commit them with site/package*.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
