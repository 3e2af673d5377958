"""Teaching aids for the notebooks: show the package's source, and check a student's answer.

Presentation layer. ``show_source`` is how a notebook shows the code it teaches without pasting a copy
that could drift from the package; ``check`` is how an exercise checks itself.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import torch

__all__ = ["check", "show_source"]


def show_source(obj: Any) -> Any:
    """The source code of a function or class of the package, syntax-highlighted for a notebook.

    Returns an ``IPython.display.Code`` object: a cell's last value shows it.

    Raises:
        TypeError: if ``obj`` has no Python source (a builtin, an instance).
    """
    from IPython.display import Code

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(f"obj must be a function, class or module with Python source ({error})") from None
    return Code(source, language="python")


def check(answer: Any, expected: Any, *, name: str = "answer", rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Compare an exercise's answer with the expected value; print a verdict and return whether it matches.

    ``answer`` may be ``None`` (not attempted yet: a hint is printed, nothing is raised, so the notebook
    still runs top to bottom). Numbers and tensors are compared with tolerances; anything else with ``==``.
    """
    if answer is None or answer is Ellipsis:
        print(f"{name}: not answered yet. Replace the None above with your code and run the cell again.")
        return False
    if isinstance(expected, torch.Tensor) or isinstance(answer, torch.Tensor):
        answer_t = torch.as_tensor(answer, dtype=torch.float64)
        expected_t = torch.as_tensor(expected, dtype=torch.float64)
        if answer_t.shape != expected_t.shape:
            print(f"{name}: ✗ expected shape {tuple(expected_t.shape)}, got {tuple(answer_t.shape)}")
            return False
        ok = bool(torch.allclose(answer_t, expected_t, rtol=rtol, atol=atol))
    elif isinstance(expected, (int, float)) and isinstance(answer, (int, float)):
        ok = math.isclose(answer, expected, rel_tol=rtol, abs_tol=atol)
    else:
        ok = answer == expected
    print(f"{name}: ✓ correct" if ok else f"{name}: ✗ not quite: expected {expected!r}, got {answer!r}")
    return ok
