"""The classroom check of notebook 03: run it in JupyterLab, in Chromium, and move the β_T slider.

What a student does, done by Playwright: open notebooks/03_*.ipynb in JupyterLab, clear it, Run All Cells,
then focus the schedule explorer's β_T slider and press ArrowRight. The explorer must show a new figure
within ``CLASSROOM_MAX_FIGURE_S`` seconds (default 1.0) of the key press; the time is measured in the page,
from the keydown event to the moment the new PNG is decoded (``img.decode()``), and printed.

The explorer is found by the CSS classes ``diffusion_helpers.widgets.ScheduleExplorer`` gives it:
``dh-explorer`` on its container and ``dh-beta-T`` on the β_T slider (else the first slider labelled β).

JupyterLab runs on a temporary copy of notebooks/ (the committed notebooks are never touched) and is
stopped, with its kernels, even when the test fails. Screenshots go to $ARTIFACTS/classroom/.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .jupyter_server import JupyterLab

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO / "notebooks"
NOTEBOOK_GLOB = "03_*.ipynb"
MAX_FIGURE_S = float(os.environ.get("CLASSROOM_MAX_FIGURE_S", "1.0"))
LAB_START_TIMEOUT_S = 120  # a cold start on a 2-core CI machine
RUN_ALL_TIMEOUT_S = 240  # the notebook takes ~20 s; its first kernel imports torch
VIEWPORT = {"width": 1400, "height": 1000}

STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'  # errors render here too
FIGURE = ".widget-output img"  # the figure in the explorer's Output widget

# True when Run All has finished: the kernel is idle, no cell is queued or running, and every code cell
# that has code shows an execution count (or a cell failed, which stops Run All).
RUN_ALL_DONE_JS = """([codeCells, stderrSelector]) => {
    const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
        .map((prompt) => prompt.textContent.trim());
    const failed = [...document.querySelectorAll(stderrSelector)].some((o) => o.textContent.includes('Traceback'));
    const counted = prompts.filter((prompt) => /\\[\\d+\\]/.test(prompt)).length;
    return indicator !== null && indicator.dataset.status === 'idle' && !prompts.some((p) => p.includes('*'))
        && (counted >= codeCells || failed);
}"""

# Installed on the explorer before the key press: notes when ArrowRight goes down and when the figure's
# src changes, then when the new picture is decoded (ready to paint). Times are the page's performance.now().
WATCH_FIGURE_JS = """(root, figureSelector) => {
    const state = {before: root.querySelector(figureSelector)?.src ?? null, pressedAt: null, changedAt: null,
                   shownAt: null};
    window.__classroom = state;
    window.addEventListener('keydown', (event) => {
        if (event.key === 'ArrowRight' && state.pressedAt === null) state.pressedAt = performance.now();
    }, {capture: true});
    const observer = new MutationObserver(() => {
        const figure = root.querySelector(figureSelector);
        if (!figure || !figure.src) return;
        if (state.pressedAt === null) { state.before = figure.src; return; }  // a redraw before the press
        if (figure.src === state.before) return;
        state.changedAt = performance.now();
        observer.disconnect();
        figure.decode().catch(() => {}).then(() => { state.shownAt = performance.now(); });
    });
    observer.observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
    return state.before;
}"""


def notebook_03() -> Path:
    """notebooks/03_*.ipynb; fails the test when it is missing (the series must have it)."""
    found = sorted(NOTEBOOKS_DIR.glob(NOTEBOOK_GLOB))
    if len(found) != 1:
        pytest.fail(
            f"expected exactly one {NOTEBOOKS_DIR / NOTEBOOK_GLOB} (the notebook with the "
            f"schedule explorer), found {[path.name for path in found] or 'none'}",
            pytrace=False,
        )
    return found[0]


def code_cells_with_code(notebook: Path) -> int:
    """How many code cells Run All executes (JupyterLab skips empty ones: they keep no execution count)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum(1 for cell in cells if cell["cell_type"] == "code" and "".join(cell["source"]).strip())


def expand_collapsed_cells(notebook: Path) -> None:
    """Show the collapsed solution cells: JupyterLab draws no execution count for a hidden input, and
    Run All is judged finished by the counts (this copy only; the committed notebooks stay collapsed)."""
    content = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in content["cells"]:
        cell.get("metadata", {}).pop("jupyter", None)
    notebook.write_text(json.dumps(content), encoding="utf-8")


@pytest.fixture(scope="module")
def classroom_dir(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "classroom"
    shutil.rmtree(path, ignore_errors=True)  # only this run's pictures
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, classroom_dir: Path) -> Iterator[JupyterLab]:
    """JupyterLab on a temporary copy of notebooks/, stopped (kernels included) however the test ends."""
    notebook_03()
    work = tmp_path_factory.mktemp("classroom")
    root = work / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for notebook in root.glob("*.ipynb"):
        expand_collapsed_cells(notebook)
    server = JupyterLab(root, work / "server")
    try:
        started = time.monotonic()
        server.start(timeout=LAB_START_TIMEOUT_S)
        print(f"JupyterLab answered after {time.monotonic() - started:.1f} s on {server.url}")
        yield server
    finally:
        server.stop()
        if server.log_path.exists():
            shutil.copy(server.log_path, classroom_dir / "jupyter-server.log")


def run_all_cells(page: Any, code_cells: int) -> float:
    """Edit → Clear Outputs of All Cells, then Run → Run All Cells; wait until done; return the seconds taken."""
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_role("menuitem", name="Clear Outputs of All Cells").click()
    # The committed notebook carries execution counts: wait until they are gone, so that counts seen
    # below are this run's.
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
        ".some((prompt) => /\\d/.test(prompt.textContent))",
        timeout=30_000,
    )
    started = time.monotonic()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(
        RUN_ALL_DONE_JS, arg=[code_cells, STDERR_OUTPUT], polling=250, timeout=RUN_ALL_TIMEOUT_S * 1000
    )
    return time.monotonic() - started


def tracebacks(page: Any) -> list[str]:
    return [text for text in page.locator(STDERR_OUTPUT).all_inner_texts() if "Traceback" in text]


def beta_slider(explorer: Any) -> Any:
    """The β_T slider: the one with class ``dh-beta-T``, else the first slider whose label has a β."""
    tagged = explorer.locator(".dh-beta-T")
    if tagged.count():
        return tagged.first
    return explorer.locator(".widget-slider").filter(has=explorer.page.locator(".widget-label", has_text="β")).first


def screenshot_whole_notebook(page: Any, path: Path) -> None:
    """JupyterLab scrolls the notebook inside the page: make the window as tall as the notebook, then shoot."""
    height = page.evaluate(
        """() => {
            const scroller = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
            if (!scroller) return 0;
            scroller.scrollTop = 0;
            return scroller.scrollHeight;
        }"""
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(VIEWPORT["height"], height + 200), 15000)})
    page.wait_for_timeout(1000)  # JupyterLab relayouts on resize
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def open_notebook(page: Any, lab: JupyterLab, notebook: str) -> None:
    """Open ``notebook`` in JupyterLab and wait until its kernel has started and is idle."""
    page.goto(lab.lab_url(notebook), timeout=60_000)
    page.locator(".jp-NotebookPanel").first.wait_for(timeout=60_000)
    lab.wait_for_idle_kernel(notebook, timeout=90, sleep=lambda seconds: page.wait_for_timeout(1000 * seconds))
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=30_000)


def press_and_time(page: Any, explorer: Any, handle: Any) -> dict[str, float]:
    """Press ArrowRight on the focused slider handle; seconds from keydown to the new figure's src and to its
    decoded picture, as the page measures them, and to the moment this test sees it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # imported late, as in conftest.py

    figure_before = explorer.evaluate(WATCH_FIGURE_JS, FIGURE)
    assert figure_before and figure_before.startswith("data:image/png"), "the explorer shows no PNG figure"
    handle.focus()
    pressed = time.monotonic()
    page.keyboard.press("ArrowRight")
    try:
        page.wait_for_function("() => window.__classroom.shownAt !== null", polling=20, timeout=15_000)
    except PlaywrightTimeoutError:
        pytest.fail("no new figure in the explorer within 15 s of ArrowRight on β_T", pytrace=False)
    seen_s = time.monotonic() - pressed
    state = page.evaluate("() => window.__classroom")
    return {
        "key_to_new_src_s": (state["changedAt"] - state["pressedAt"]) / 1000,
        "key_to_figure_shown_s": (state["shownAt"] - state["pressedAt"]) / 1000,
        "key_to_figure_seen_by_test_s": seen_s,
    }


def test_schedule_explorer_redraws_within_a_second(
    browser: Any, lab: JupyterLab, new_page: Any, classroom_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `browser` comes first so that a missing Chromium skips (or fails) before JupyterLab is started.
    notebook = lab.root_dir / notebook_03().name
    page, log = new_page(viewport=VIEWPORT)
    page.set_default_timeout(30_000)
    try:
        open_notebook(page, lab, notebook.name)
        kernels = [kernel.cmdline()[0] for kernel in lab.kernel_processes()]
        assert kernels == [sys.executable], (
            f"the notebook's kernel runs {kernels}, not the interpreter of the tests ({sys.executable}): "
            "the venv's python3 kernel spec"
        )

        run_all_s = run_all_cells(page, code_cells_with_code(notebook))
        errors = tracebacks(page)
        assert not errors, f"Run All Cells raised in {notebook.name}:\n" + "\n\n".join(errors)[:4000]

        explorer = page.locator(".dh-explorer").first
        explorer.wait_for(timeout=30_000)
        explorer.scroll_into_view_if_needed()
        slider = beta_slider(explorer)
        handle = slider.locator(".noUi-handle, [role=slider]").first
        readout = slider.locator(".widget-readout")
        explorer.locator(FIGURE).first.wait_for(timeout=30_000)
        assert handle.is_visible(), "the explorer's β_T slider is hidden (a cosine schedule shows no β_T)"
        value_before = readout.inner_text()
        explorer.screenshot(path=str(classroom_dir / "explorer-before.png"))

        timing = press_and_time(page, explorer, handle)

        explorer.screenshot(path=str(classroom_dir / "explorer-after.png"))
        value_after = readout.inner_text()
        screenshot_whole_notebook(page, classroom_dir / "notebook.png")
        figure_s = timing["key_to_figure_shown_s"]
        report = {
            "notebook": notebook.name,
            "run_all_s": round(run_all_s, 2),
            "beta_T_before": value_before,
            "beta_T_after": value_after,
            **{key: round(value, 4) for key, value in timing.items()},
            "threshold_s": MAX_FIGURE_S,
            "page_problems": log.problems(),
        }
        (classroom_dir / "timing.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        with capsys.disabled():
            print(
                f"\n[classroom] {notebook.name}: Run All {run_all_s:.1f} s; β_T {value_before} → {value_after}; "
                f"key press → new figure {1000 * figure_s:.0f} ms (limit {1000 * MAX_FIGURE_S:.0f} ms); "
                f"screenshots in {classroom_dir}"
            )

        assert value_after != value_before, f"ArrowRight on the β_T slider did not move it (still {value_before})"
        assert figure_s < MAX_FIGURE_S, (
            f"the explorer took {figure_s:.3f} s from the key press to a new figure (limit {MAX_FIGURE_S} s)"
        )
        errors = tracebacks(page)
        assert not errors, "moving β_T raised:\n" + "\n\n".join(errors)[:4000]
        # Offline classrooms exist: anything the notebook pulls from the internet shows broken there.
        # (matplotlib's to_jshtml player, for one, links Font Awesome from a CDN for its buttons.)
        assert not log.external_requests, (
            f"{notebook.name} in JupyterLab requested {log.external_requests} from the internet (aborted)"
        )
    except BaseException:
        with contextlib.suppress(Exception):  # a crashed page must not hide the real failure
            page.screenshot(path=str(classroom_dir / "failure.png"))
        raise
