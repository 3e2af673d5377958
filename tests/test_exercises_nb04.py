"""Independent computations of notebook 04's exercises, read by tests/test_exercises.py (which runs the checks).

Plain Python and numpy from the paper's formulas: no function of the package is used here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


def _linear_betas(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> list[float]:
    return [beta_1 + (t - 1) / (T - 1) * (beta_T - beta_1) for t in range(1, T + 1)]


def _alpha_bar(t: int, betas: list[float]) -> float:
    return math.prod(1 - b for b in betas[:t])


def _bound_weight(t: int, betas: list[float]) -> float:
    """Eq. 12's weight beta_t^2 / (2 sigma_t^2 alpha_t (1 - alpha_bar_t)) with sigma_t^2 = beta_t."""
    beta = betas[t - 1]
    return beta**2 / (2 * beta * (1 - beta) * (1 - _alpha_bar(t, betas)))


def _two_mode_posterior(x1: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """q(x_0 | x_1) (unnormalised) on a grid, for data 1/2 N(-1, 0.15^2) + 1/2 N(1, 0.15^2) and one step beta."""
    x0 = np.linspace(-3, 3, 2001)
    prior = np.exp(-((x0 - 1) ** 2) / (2 * 0.15**2)) + np.exp(-((x0 + 1) ** 2) / (2 * 0.15**2))
    return x0, prior * np.exp(-((x1 - math.sqrt(1 - beta) * x0) ** 2) / (2 * beta))


def _reverse_shape() -> str:
    _, density = _two_mode_posterior(0.8, 0.9)
    peaks = (density[1:-1] > density[:-2]) & (density[1:-1] > density[2:]) & (density[1:-1] > 0.05 * density.max())
    return {1: "a", 2: "b"}.get(int(peaks.sum()), "?")


def _one_step_samples() -> str:
    """With T = 1 the sample is E[x_0 | x_1] for x_1 ~ N(0, 1): do the means for |x_1| <= 3 stay near 0?"""
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731  (cosine schedule, T = 1)
    beta = min(1 - f(1) / f(0), 0.999)
    means = []
    for x1 in (-3.0, -1.0, 1.0, 3.0):
        x0, weights = _two_mode_posterior(x1, beta)
        means.append(float((x0 * weights).sum() / weights.sum()))
    return "b" if max(abs(m) for m in means) < 0.2 else "?"


INDEPENDENT: dict[str, Callable[[], Any]] = {
    "04-beta-tilde-toy": lambda: (1 - 0.9 * 0.8) / (1 - 0.9 * 0.8 * 0.7) * 0.3,
    "04-x0-from-eps": lambda: (
        (0.5 - math.sqrt(1 - _alpha_bar(500, _linear_betas())) * 0.3) / math.sqrt(_alpha_bar(500, _linear_betas()))
    ),
    "04-predict-reverse-shape": _reverse_shape,
    "04-predict-one-step-samples": _one_step_samples,
    "04-loss-weight-ratio": lambda: _bound_weight(1, _linear_betas()) / _bound_weight(1000, _linear_betas()),
}
