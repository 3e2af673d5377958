"""Checkers of notebook 01 (the forward process): one step by hand, a prediction, what the scrubber
shows, the variance recursion, and the amplitude left at T.

Each function returns the expected value, computed with the package (see ``exercises/__init__.py``).
"""

from __future__ import annotations

import math

import torch

from ..forward import q_step
from ..images import example_image, pil_to_tensor
from ..schedules import NoiseSchedule, make_schedule
from . import exercise, mistake, prediction

T = 1000


def _schedule() -> NoiseSchedule:
    return make_schedule("linear", T)  # the notebook's schedule: Ho et al. 2020


def _x0() -> torch.Tensor:
    return pil_to_tensor(example_image())  # (3, 128, 128), the notebook's x0


def _eps_1() -> torch.Tensor:
    return torch.randn((3, 128, 128), generator=torch.Generator().manual_seed(7))  # the notebook's eps_1


def _x1_with(alpha: float, noise_scale: float) -> torch.Tensor:
    return alpha * _x0() + noise_scale * _eps_1()


def _beta(t: int) -> float:
    return float(_schedule().betas[t - 1])


def _variance_of_x0() -> float:
    return float(_x0().double().var())


def _variances(v0: float, factor: str = "alpha") -> torch.Tensor:
    """v_t = a_t v_{t-1} + beta_t for t = 1..T, with a_t = alpha_t (right) or a mistaken factor."""
    schedule = _schedule()
    values, v = [], v0
    for alpha_t, beta_t in zip(schedule.alphas.tolist(), schedule.betas.tolist()):
        v = {"alpha": alpha_t, "sqrt": math.sqrt(alpha_t), "one": 1.0}[factor] * v + beta_t
        values.append(v)
    return torch.tensor(values, dtype=torch.float64)


def _first_t(values: torch.Tensor, above: float) -> float:
    """The first timestep t (values[t - 1] belongs to t) at which an increasing curve exceeds ``above``."""
    return float(int((values <= above).sum()) + 1)


@exercise(
    "01-x1-by-hand",
    hint="x_1 = sqrt(1 - beta_1) * x0 + sqrt(beta_1) * eps_1, and beta_1 is schedule.betas[0].",
    atol=1e-6,
    diagnoses=[
        mistake(
            "Off by one timestep: you used beta_2 = schedule.betas[1]. Element [t - 1] is timestep t.",
            gives=lambda: _x1_with(math.sqrt(1 - _beta(2)), math.sqrt(_beta(2))),
        ),
        mistake(
            "The noise's standard deviation is sqrt(beta_1), not beta_1 (beta_t is its variance).",
            gives=lambda: _x1_with(math.sqrt(1 - _beta(1)), _beta(1)),
        ),
        mistake(
            "x0 must be shrunk by sqrt(alpha_1) = sqrt(1 - beta_1) as well: that keeps the variance at 1.",
            gives=lambda: _x1_with(1.0, math.sqrt(_beta(1))),
        ),
        mistake(
            "The factor in front of x0 is sqrt(alpha_1), not alpha_1.",
            gives=lambda: _x1_with(1 - _beta(1), math.sqrt(_beta(1))),
        ),
    ],
)
def x1_by_hand() -> torch.Tensor:
    """x_1 from the notebook's x0 and eps_1 (seed 7), by Eq. 2."""
    return q_step(_x0(), 1, _schedule(), noise=_eps_1())


@prediction(
    "01-predict-half-way",
    hint="A number between 0 (nothing of the image left) and 1 (all of it).",
    rtol=0.25,
    explanation=(
        "each step multiplies the image's share by sqrt(alpha_t) = sqrt(1 - beta_t), so after t steps it is "
        "the product of t such factors, about exp(-(beta_1 + ... + beta_t) / 2). The first 500 betas add up "
        "to about 2.5, so about exp(-1.26) = 0.28 is left: half the steps remove far more than half the image."
    ),
    diagnoses=[
        mistake(
            "Half the steps do not remove half the image: the shrinking compounds, like interest.",
            when=lambda guess: 0.4 <= float(guess) <= 0.6,
        ),
    ],
)
def predict_half_way() -> float:
    """The share of the image's amplitude in x_500, sqrt(alpha_bar_500)."""
    return float(_schedule().sqrt_alpha_bars[500 - 1])


@exercise(
    "01-mean-halves",
    hint="Move the slider until the mean in the histogram's title is half the image's mean (t = 0).",
    rtol=0.05,
    explanation=(
        "Every step multiplies each value by sqrt(alpha_t) and adds zero-mean noise, so the mean of x_t is "
        "the image's mean times the product of the sqrt(alpha_s): half of it is left where that product is "
        "0.5. Notebook 02 calls the product sqrt(alpha_bar_t)."
    ),
    diagnoses=[
        mistake(
            "That is where the product of the alphas (the signal's variance) halves; the mean follows "
            "the amplitude, the product of the sqrt(alpha_t), which halves later.",
            gives=lambda: _first_t(-_schedule().alpha_bars, -0.5),
        ),
    ],
)
def mean_halves() -> float:
    """The first t at which the mean of x_t is half the image's mean: sqrt(alpha_bar_t) <= 0.5."""
    return _first_t(-_schedule().sqrt_alpha_bars, -0.5)


@exercise(
    "01-std-crosses",
    hint="Move the slider until the std in the histogram's title first exceeds 0.9.",
    rtol=0.05,
    explanation="Exercise 01-var-recursion derives the curve this crossing lies on.",
    diagnoses=[
        mistake(
            "That is where the variance, not the standard deviation, exceeds 0.9 (std 0.9 is variance 0.81).",
            gives=lambda: _first_t(_variances(_variance_of_x0()), 0.9),
        ),
        mistake(
            "That is where the noise alone reaches a std of 0.9; the image's own spread adds to it.",
            gives=lambda: _first_t(1 - _schedule().alpha_bars, 0.81),
        ),
    ],
)
def std_crosses() -> float:
    """The first t at which the std of all values of x_t exceeds 0.9 (predicted from the variance recursion)."""
    return _first_t(_variances(_variance_of_x0()).sqrt(), 0.9)


@exercise(
    "01-var-recursion",
    hint="Var(a X + b Z) = a^2 Var(X) + b^2 Var(Z) for independent X, Z: so v_t = alpha_t v_(t-1) + beta_t.",
    rtol=1e-4,
    diagnoses=[
        mistake(
            "Those are standard deviations; the recursion is for variances.",
            gives=lambda: _variances(_variance_of_x0()).sqrt(),
        ),
        mistake(
            "The factor sqrt(alpha_t) multiplies x_(t-1); a variance scales with its square, alpha_t.",
            gives=lambda: _variances(_variance_of_x0(), factor="sqrt"),
        ),
        mistake(
            "You added the noise variances but never shrank the previous variance by alpha_t.",
            gives=lambda: _variances(_variance_of_x0(), factor="one"),
        ),
        mistake(
            "You started from v_0 = 0. Across the pixels, x_0 has its own variance: start from x0.var().",
            gives=lambda: _variances(0.0),
        ),
        mistake(
            "Your values are shifted by one timestep: element [t - 1] must be v_t, and v_0 is not in the list.",
            gives=lambda: torch.cat(
                [torch.tensor([_variance_of_x0()], dtype=torch.float64), _variances(_variance_of_x0())[:-1]]
            ),
        ),
    ],
)
def var_recursion() -> torch.Tensor:
    """v_t, the variance of all values of x_t, for t = 1..T: the closed form alpha_bar_t v_0 + 1 - alpha_bar_t."""
    alpha_bars = _schedule().alpha_bars
    return alpha_bars * _variance_of_x0() + (1 - alpha_bars)  # (T,)


@exercise(
    "01-sqrt-alpha-bar-T",
    hint="Multiply all T alphas (math.prod or torch.prod), then take the square root.",
    diagnoses=[
        mistake(
            "That is alpha_bar_T, the share of the variance; the amplitude is its square root.",
            gives=lambda: float(_schedule().alpha_bars[-1]),
        ),
        mistake(
            "That is sqrt(1 - alpha_bar_T), the noise's share of the amplitude.",
            gives=lambda: math.sqrt(1 - float(_schedule().alpha_bars[-1])),
        ),
        mistake(
            "Off by one timestep: that is the product up to T - 1. Include alpha_T.",
            gives=lambda: math.sqrt(float(_schedule().alpha_bars[-2])),
        ),
        mistake(
            "That is the product of the betas; the image's share shrinks by the alphas, 1 - beta_t.",
            gives=lambda: math.sqrt(math.prod(_schedule().betas.tolist())),
        ),
    ],
)
def sqrt_alpha_bar_T() -> float:
    """sqrt(alpha_bar_T) of the linear schedule, T = 1000."""
    return float(_schedule().sqrt_alpha_bars[-1])
