"""Re-execute notebooks headless, in place, each in a fresh kernel: what `make notebooks` runs.

The notebooks seed their randomness, so text outputs come out identical run to run and nbval (strict)
can compare them. Widget state is stored in the notebook, so the static site can show the widgets.
Prints the execution time of each notebook: the series is meant to run in at most 60 s in total.

Usage: python scripts/run_notebooks.py notebooks/00_setup.ipynb [...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

BUDGET_S = 60.0


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
    nbformat.write(notebook, path)
    return elapsed


def main(paths: list[str]) -> int:
    if not paths:
        print("usage: run_notebooks.py NOTEBOOK.ipynb [...]", file=sys.stderr)
        return 2
    total = 0.0
    for name in paths:
        elapsed = run(Path(name))
        total += elapsed
        print(f"{name:45s} {elapsed:6.1f} s", flush=True)
    print(f"{'total':45s} {total:6.1f} s   (budget {BUDGET_S:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
