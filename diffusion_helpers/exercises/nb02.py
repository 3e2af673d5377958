"""Checkers of notebook 02 (the closed form): a prediction about adding noises, alpha_bar by hand, and
reading Eq. 4.

Each function returns the expected value, computed with the package (see ``exercises/__init__.py``).
"""

from __future__ import annotations

import math

import torch

from ..forward import q_mean_variance
from ..schedules import NoiseSchedule, make_schedule
from . import exercise, mistake, prediction

TOY_BETAS = (0.1, 0.2, 0.3)


def _schedule() -> NoiseSchedule:
    return make_schedule("linear", 1000)  # the notebook's schedule: Ho et al. 2020


def _toy() -> NoiseSchedule:
    return NoiseSchedule.from_betas(torch.tensor(TOY_BETAS, dtype=torch.float64))


def _first_t_below(values: torch.Tensor, level: float) -> int:
    """The first timestep t (values[t - 1] belongs to t) at which a decreasing curve falls below ``level``."""
    return int((values >= level).sum()) + 1


@prediction(
    "02-predict-merged-std",
    hint="A standard deviation: a number around 0.5 to 1.",
    rtol=0.1,
    explanation=(
        "the two terms are independent, so their variances add: 0.6 * (1 - 0.7) + (1 - 0.6) = 0.18 + 0.40 "
        "= 0.58, a standard deviation of sqrt(0.58) = 0.76. Standard deviations do not add: 0.42 + 0.63 = 1.06 "
        "would be right only if the two noises were the same draw (the last line of the table)."
    ),
    diagnoses=[
        mistake(
            "You added the standard deviations, 0.42 + 0.63. For independent noises the variances add.",
            gives=lambda: math.sqrt(0.6 * (1 - 0.7)) + math.sqrt(1 - 0.6),
        ),
        mistake("That is the variance, 0.58; the standard deviation is its square root.", gives=lambda: 1 - 0.6 * 0.7),
    ],
)
def predict_merged_std() -> float:
    """The std of sqrt(alpha_t (1 - alpha_(t-1))) eps_1 + sqrt(1 - alpha_t) eps_2, alpha_t = 0.6, alpha_(t-1) = 0.7."""
    return math.sqrt(1 - 0.6 * 0.7)


@exercise(
    "02-alpha-bar-toy",
    hint="alpha_bar_3 = alpha_1 * alpha_2 * alpha_3 with alpha_t = 1 - beta_t.",
    diagnoses=[
        mistake(
            "That is the product of the betas; alpha_bar multiplies the alphas, 1 - beta_t.",
            gives=lambda: math.prod(TOY_BETAS),
        ),
        mistake(
            "That is 1 - (beta_1 + beta_2 + beta_3): multiply the alphas instead of subtracting the betas.",
            gives=lambda: 1 - sum(TOY_BETAS),
        ),
        mistake(
            "That is the approximation exp(-sum of betas); the exact value is the product of the alphas.",
            gives=lambda: math.exp(-sum(TOY_BETAS)),
        ),
        mistake(
            "That is sqrt(alpha_bar_3), the amplitude; the question asks for alpha_bar_3 itself.",
            gives=lambda: math.sqrt(_toy().alpha_bar(3)),
        ),
        mistake(
            "Off by one timestep: that is alpha_bar_2. The product runs from s = 1 to t = 3.",
            gives=lambda: _toy().alpha_bar(2),
        ),
    ],
)
def alpha_bar_toy() -> float:
    """alpha_bar_3 of the toy schedule beta = (0.1, 0.2, 0.3)."""
    return _toy().alpha_bar(3)


@exercise(
    "02-half-amplitude-t",
    hint="Look for the first t with schedule.sqrt_alpha_bars[t - 1] < 0.5 (element [t - 1] is timestep t).",
    diagnoses=[
        mistake(
            "That is where alpha_bar_t falls below 0.5, the signal's variance; the amplitude is its square root.",
            gives=lambda: _first_t_below(_schedule().alpha_bars, 0.5),
        ),
    ],
)
def half_amplitude_t() -> int:
    """The first t with sqrt(alpha_bar_t) < 0.5 under the linear schedule, T = 1000."""
    return _first_t_below(_schedule().sqrt_alpha_bars, 0.5)


@exercise(
    "02-var-x250",
    hint="Eq. 4: the covariance of q(x_t | x_0) is (1 - alpha_bar_t) I.",
    diagnoses=[
        mistake(
            "That is the standard deviation sqrt(1 - alpha_bar_t); the variance is its square.",
            gives=lambda: math.sqrt(1 - _schedule().alpha_bar(250)),
        ),
        mistake(
            "That is alpha_bar_250, the signal's share; the noise's variance is 1 - alpha_bar_250.",
            gives=lambda: _schedule().alpha_bar(250),
        ),
        mistake(
            "That is beta_250, the variance one step adds; 250 steps have added 1 - alpha_bar_250.",
            gives=lambda: float(_schedule().betas[250 - 1]),
        ),
        mistake(
            "Off by one timestep: that is 1 - alpha_bar_249. Element [t - 1] is timestep t.",
            gives=lambda: 1 - _schedule().alpha_bar(249),
        ),
    ],
)
def var_x250() -> float:
    """The variance of each pixel of x_250 given x_0."""
    return float(q_mean_variance(torch.zeros(1, dtype=torch.float64), 250, _schedule())[1])


@exercise(
    "02-mean-x250",
    hint="Eq. 4: the mean of q(x_t | x_0) is sqrt(alpha_bar_t) x_0.",
    diagnoses=[
        mistake(
            "The mean is sqrt(alpha_bar_t) x_0, not alpha_bar_t x_0.", gives=lambda: _schedule().alpha_bar(250) * 0.8
        ),
        mistake(
            "That is the mean after one step, sqrt(alpha_250) x_0; 250 steps multiply by sqrt(alpha_bar_250).",
            gives=lambda: math.sqrt(float(_schedule().alphas[250 - 1])) * 0.8,
        ),
        mistake("The noise has mean 0 but the image is shrunk: the mean is sqrt(alpha_bar_t) x_0.", gives=lambda: 0.8),
    ],
)
def mean_x250() -> float:
    """The mean of a pixel of x_250 whose value in x_0 is 0.8."""
    return float(q_mean_variance(torch.tensor([0.8], dtype=torch.float64), 250, _schedule())[0])
