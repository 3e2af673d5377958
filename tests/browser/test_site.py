"""The static site (`make site`) in a real browser: offline, typeset, and interactive without a kernel.

Every HTML page of site/_build/html is served from 127.0.0.1 and opened in Chromium, and must:
make no request that leaves localhost (each one is aborted and listed), log no console error, throw no
page error, load every image, have MathJax typeset every piece of math (without a TeX error), and
render every saved ipywidget. A full-page screenshot of each page goes to $ARTIFACTS/site/.

On each page that holds a matplotlib ``to_jshtml()`` player, dragging its slider must show another
frame. Which pages must have one is read from the notebooks themselves, so the test cannot pass by
finding none.

SITE_HTML and SITE_NOTEBOOKS point the test at another build (default: site/_build/html, notebooks/).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SITE_HTML = Path(os.environ.get("SITE_HTML") or REPO / "site" / "_build" / "html")
SITE_NOTEBOOKS = Path(os.environ.get("SITE_NOTEBOOKS") or REPO / "notebooks")
NOT_BUILT = "<site not built>"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def site_pages() -> list[str]:
    """Every page of the built site, as paths relative to its root ('index.html', 'notebooks/...')."""
    if not (SITE_HTML / "index.html").exists():
        return [NOT_BUILT]
    pages = [
        path.relative_to(SITE_HTML).as_posix()
        for path in SITE_HTML.rglob("*.html")
        if not {"_static", "_sources", "_images"} & set(path.relative_to(SITE_HTML).parts)
    ]
    return sorted(pages)


def notebooks_with_players() -> list[str]:
    """Pages of the notebooks whose committed outputs hold a to_jshtml() player."""
    pages = []
    for notebook in sorted(SITE_NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells:
            html = [output.get("data", {}).get("text/html", "") for output in cell.get("outputs", [])]
            if any("anim-slider" in ("".join(h) if isinstance(h, list) else h) for h in html):
                pages.append(f"notebooks/{notebook.stem}.html")
                break
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    """The built site, served by Python's http.server on 127.0.0.1 (a free port), in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(SITE_HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _require_built(page_path: str) -> None:
    if page_path == NOT_BUILT:
        pytest.fail(f"no site in {SITE_HTML}: run `make site` first", pytrace=False)


def _open(page: Any, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")


# JavaScript run in the page. Each returns a list of problems (empty when all is well).
_WAIT_FOR_MATHJAX = """async () => {
  if (!document.querySelector('.math')) return [];
  const start = Date.now();
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() - start > 15000) return ['MathJax never started, but the page has math'];
    await new Promise(r => setTimeout(r, 50));
  }
  await MathJax.startup.promise;
  const problems = [];
  for (const el of document.querySelectorAll('.math')) {
    if (!el.querySelector('mjx-container')) problems.push('math not typeset: ' + el.textContent.trim().slice(0, 80));
  }
  for (const err of document.querySelectorAll('mjx-merror')) {
    problems.push('TeX error: ' + (err.getAttribute('data-mjx-error') || err.textContent).slice(0, 120));
  }
  return problems;
}"""

_WAIT_FOR_IMAGES = """async () => {
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(r => {
    img.addEventListener('load', r); img.addEventListener('error', r); setTimeout(r, 15000);
  })));
  return images.filter(img => !(img.complete && img.naturalWidth > 0))
               .map(img => 'image not loaded: ' + (img.currentSrc || img.src || '(no src)').slice(0, 120));
}"""

# The html-manager renders each saved view next to its <script type=".../widget-view+json">.
_WAIT_FOR_WIDGETS = """async (mime) => {
  const views = [...document.querySelectorAll(`script[type="${mime}"]`)];
  if (!views.length) return [];
  const rendered = () => views.filter(s => s.parentElement.querySelector('.jupyter-widgets')).length;
  const start = Date.now();
  while (rendered() < views.length && Date.now() - start < 15000) await new Promise(r => setTimeout(r, 100));
  const problems = [];
  const missing = views.length - rendered();
  if (missing) problems.push(`${missing} of ${views.length} saved widgets not rendered`);
  for (const el of document.querySelectorAll('.jupyter-widgets .widget-error, .jupyter-widgets-error-widget')) {
    problems.push('widget error: ' + el.textContent.trim().slice(0, 120));
  }
  return problems;
}"""


@pytest.mark.parametrize("page_path", site_pages())
def test_page_works_offline(page_path: str, site_url: str, new_page: Any, artifacts_dir: Path) -> None:
    _require_built(page_path)
    page, log = new_page()
    _open(page, f"{site_url}/{page_path}")
    problems = page.evaluate(_WAIT_FOR_MATHJAX)
    problems += page.evaluate(_WAIT_FOR_IMAGES)
    problems += page.evaluate(_WAIT_FOR_WIDGETS, WIDGET_VIEW)
    page.wait_for_load_state("networkidle")  # fonts and anything the widgets fetched

    shots = artifacts_dir / "site"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / (page_path.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)

    assert len(log.external_requests) == 0, f"{page_path}: requests leaving localhost:\n" + "\n".join(
        log.external_requests
    )
    problems += log.problems()
    assert not problems, f"{page_path}:\n" + "\n".join(problems)


def test_notebook_pages_have_math() -> None:
    """The notebooks' $...$ reach the pages as math elements, so the typesetting check above is not empty."""
    pages = [p for p in site_pages() if p.startswith("notebooks/")]
    _require_built(pages[0] if pages else NOT_BUILT)
    with_math = [p for p in pages if 'class="math' in (SITE_HTML / p).read_text(encoding="utf-8")]
    assert with_math, f"no notebook page of {SITE_HTML} has math for MathJax to typeset"


PLAYER_PAGES = notebooks_with_players()


@pytest.mark.parametrize("page_path", PLAYER_PAGES or ["<no player>"])
def test_jshtml_player_scrubs_without_a_kernel(
    page_path: str, site_url: str, new_page: Any, artifacts_dir: Path
) -> None:
    """Dragging a to_jshtml() slider shows another frame: the player's <img> gets another picture."""
    if not PLAYER_PAGES:
        pytest.skip(f"no notebook in {SITE_NOTEBOOKS} has a to_jshtml() player in its outputs")
    _require_built(site_pages()[0])
    page, log = new_page()
    _open(page, f"{site_url}/{page_path}")
    players = page.locator(".animation")
    assert players.count() > 0, f"{page_path}: the notebook has a to_jshtml() player, the page shows none"
    for index in range(players.count()):
        player = players.nth(index)
        slider = player.locator("input.anim-slider")
        frame = player.locator("img").first
        player.scroll_into_view_if_needed()
        # Stop it, in case it plays, and start from the first frame (the player's own buttons).
        player.locator("button[title='Pause']").click()
        player.locator("button[title='First frame']").click()
        assert slider.input_value() == "0", f"{page_path}: player {index} did not go to its first frame"
        before = frame.get_attribute("src")
        maximum = int(slider.get_attribute("max") or 0)
        assert maximum > 0, f"{page_path}: player {index} has a single frame"
        box = slider.bounding_box()
        assert box is not None, f"{page_path}: player {index} slider is not visible"
        # Drag the thumb from the left end to the right end, as a reader would.
        page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2, steps=10)
        page.mouse.up()
        page.wait_for_timeout(100)
        assert int(slider.input_value()) > 0, f"{page_path}: player {index} slider did not move"
        after = frame.get_attribute("src")
        assert after and after != before, f"{page_path}: player {index} shows the same frame after scrubbing"
        (artifacts_dir / "site").mkdir(parents=True, exist_ok=True)
        player.screenshot(path=str(artifacts_dir / "site" / f"player__{Path(page_path).stem}__{index}.png"))
    assert not log.problems(), "\n".join(log.problems())


def try_items() -> list[tuple[str, str]]:
    """(page, letter) for every "- **Try (x).**" item of the notebooks' markdown (see dh.notebook.try_this)."""
    from diffusion_helpers.notebook import TRY_ITEM

    items = []
    for notebook in sorted(SITE_NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
            if cell.get("cell_type") == "markdown":
                source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                items += [(f"notebooks/{notebook.stem}.html", letter) for letter in TRY_ITEM.findall(source)]
    return items


TRY_ITEMS = try_items()


@pytest.mark.parametrize(("page_path", "letter"), TRY_ITEMS or [("<no try item>", "")])
def test_every_try_item_can_be_done_without_a_kernel(
    page_path: str, letter: str, site_url: str, new_page: Any, artifacts_dir: Path
) -> None:
    """Each "Try (x)." of a notebook has its own player on the page, and stepping it shows each of its frames."""
    if not TRY_ITEMS:
        pytest.fail(f"no notebook in {SITE_NOTEBOOKS} has a 'Try (x).' item: the classroom prompts are gone")
    _require_built(site_pages()[0])
    page, log = new_page(viewport={"width": 1280, "height": 800})
    _open(page, f"{site_url}/{page_path}")
    figures = page.locator(f'figure.dh-try[data-try~="{letter}"]')
    assert figures.count() == 1, f"{page_path}: Try ({letter}) has {figures.count()} players, not one"
    figure = figures.first
    assert f"({letter})" in figure.locator("figcaption").inner_text()
    slider, frame = figure.locator("input.anim-slider"), figure.locator(".animation img").first
    figure.scroll_into_view_if_needed()
    figure.locator("button[title='Pause']").click()
    figure.locator("button[title='First frame']").click()
    frames, seen = int(slider.get_attribute("max") or 0) + 1, set()
    assert frames >= 2, f"{page_path}: the player of Try ({letter}) has a single frame"
    for _ in range(frames):  # the reader's way: the "next frame" button, through every setting to compare
        seen.add(frame.get_attribute("src"))
        figure.locator("button[title='Next frame']").click()
    assert len(seen) == frames, f"{page_path}: Try ({letter}) shows {len(seen)} different pictures in {frames} frames"
    (artifacts_dir / "site").mkdir(parents=True, exist_ok=True)
    figure.screenshot(path=str(artifacts_dir / "site" / f"try__{Path(page_path).stem}__{letter}.png"))
    assert not log.problems(), "\n".join(log.problems())
