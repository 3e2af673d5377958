"""Re-execute notebooks headless, in place, each in a fresh kernel: what `make notebooks` runs.

The notebooks seed their randomness, so text outputs come out identical run to run and nbval (strict)
can compare them. Widget state is stored in the notebook, so the static site can show the widgets.
Prints the execution time of each notebook beside its budget from the issues (Part I, 00-03, in 60 s together;
05 and 06 in 90 s each, 07, which trains on images, in 4 min; the whole series in 9 min). A budget is a target
for a quiet machine, not a test: the line says "over" and the script still succeeds.

Usage: python scripts/run_notebooks.py notebooks/00_setup.ipynb [...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

SERIES_BUDGET_S = 9 * 60.0
NOTEBOOK_BUDGETS_S = {"05": 90.0, "06": 90.0, "07": 240.0}  # by number; Part I's 60 s is for 00-03 together


def run(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    merge_streams(notebook)
    nbformat.write(notebook, path)
    return elapsed


def merge_streams(notebook: nbformat.NotebookNode) -> None:
    """Join consecutive stdout (or stderr) chunks of a cell into one output, as a reader's Jupyter shows them.

    How a cell's prints are split into chunks depends on timing (a slow loop flushes each line apart), so without
    this a re-run on a busy machine rewrites unchanged outputs. nbval joins them too before it compares.
    """
    for cell in notebook.cells:
        merged: list = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (
                output.output_type == "stream"
                and previous is not None
                and previous.output_type == "stream"
                and (previous.name == output.name)
            ):
                previous.text += output.text
            else:
                merged.append(output)
        if "outputs" in cell:
            cell.outputs = merged


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: run_notebooks.py NOTEBOOK.ipynb [...]", file=sys.stderr)
        return 2
    total = 0.0
    for name in paths:
        elapsed = run(Path(name))
        total += elapsed
        budget = NOTEBOOK_BUDGETS_S.get(Path(name).name[:2])
        verdict = "" if budget is None else f"   (budget {budget:.0f} s{', over' if elapsed > budget else ''})"
        print(f"{name:45s} {elapsed:6.1f} s{verdict}", flush=True)
    over = ", over" if total > SERIES_BUDGET_S else ""
    print(f"{'total':45s} {total:6.1f} s   (whole series: budget {SERIES_BUDGET_S:.0f} s{over})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
