"""Independent computations of notebook 06's exercises, read by tests/test_exercises.py (which runs the checks).

Plain Python from the papers' formulas: the cosine schedule's alpha_bar_t in closed form (Nichol & Dhariwal 2021,
Eq. 17; its clipping of beta_t at 0.999 only acts near t = T), Song et al.'s Eq. 12 and 16, and Lin et al.'s
trailing spacing written out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch


def _alpha_bar(t: int, T: int = 1000, s: float = 0.008) -> float:
    f = lambda u: math.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    return f(t) / f(0)


def _sigma(t: int, s: int, eta: float) -> float:
    # Song et al. 2021, Eq. 16, with alpha there = alpha_bar here
    return eta * math.sqrt((1 - _alpha_bar(s)) / (1 - _alpha_bar(t)) * (1 - _alpha_bar(t) / _alpha_bar(s)))


INDEPENDENT: dict[str, Callable[[], Any]] = {
    "06-sigma-eta": lambda: _sigma(500, 400, 0.5),
    "06-trailing-timesteps": lambda: torch.tensor(sorted(1000 - 100 * i for i in range(10))),
    "06-ddim-step": lambda: math.sqrt(_alpha_bar(400)) * 0.8 + math.sqrt(1 - _alpha_bar(400)) * -0.5,
    # a measurement: notebook 06 asserts that eta = 0 scores clearly better than eta = 1 at 10 steps (nbval runs it)
    "06-predict-few-steps": lambda: "a",
}


def test_the_wrong_guesses_of_the_prediction_are_told_why(capsys) -> None:
    from diffusion_helpers import exercises

    for guess, words in {"b": "x0_hat is a blur", "c": "a clear gap"}.items():
        exercises.check("06-predict-few-steps", guess)
        assert not exercises.reveal("06-predict-few-steps")
        assert words in capsys.readouterr().out
    exercises.check("06-predict-few-steps", None)
