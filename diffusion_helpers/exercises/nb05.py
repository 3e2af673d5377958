"""Checkers of notebook 05 (training a denoiser and sampling from it): the score from the predicted noise,
the loss a perfect network still has, where x_T starts for pixel-scale data, and two predictions.

Each function returns the expected value, computed with the package (see ``exercises/__init__.py``).
"""

from __future__ import annotations

import functools
import math

import torch

from ..data import held_out_sets, load_dataset
from ..metrics import noise_floor_ratio, random_directions
from ..schedules import NoiseSchedule, make_schedule
from . import exercise, mistake, prediction

T = 1000
EPS_HAT = (0.6, -0.8)  # the network's output in exercise 05-score-from-eps
SCORE_T = 100
SIGMA = 0.5  # exercise 05-min-loss: 1-D data x_0 ~ N(0, SIGMA^2) ...
LOSS_T = 300  # ... at this timestep
PIXEL_MEAN = 127.5  # exercise 05-xT-offset: the mean of pixel data in [0, 255]


def _schedule() -> NoiseSchedule:
    return make_schedule("linear", T)  # Ho et al. 2020's schedule, the notebook's plain recipe


def _alpha_bar(t: int) -> float:
    return float(_schedule().alpha_bars[t - 1])


def _score(divisor: float, sign: float = -1.0) -> torch.Tensor:
    return sign * torch.tensor(EPS_HAT, dtype=torch.float64) / divisor


@exercise(
    "05-score-from-eps",
    hint="The score is -eps_hat / sqrt(1 - alpha_bar_t): minus the noise direction, over the noise's std.",
    rtol=1e-4,
    diagnoses=[
        mistake(
            "That points away from the data, like eps_hat itself: the score is MINUS the predicted noise, scaled.",
            gives=lambda: _score(math.sqrt(1 - _alpha_bar(SCORE_T)), sign=1.0),
        ),
        mistake(
            "Right direction, wrong length: divide by sqrt(1 - alpha_bar_t), the std of the noise in x_t.",
            gives=lambda: _score(1.0),
        ),
        mistake(
            "Divide by the noise's standard deviation sqrt(1 - alpha_bar_t), not its variance 1 - alpha_bar_t.",
            gives=lambda: _score(1 - _alpha_bar(SCORE_T)),
        ),
        mistake(
            "That divides by sqrt(alpha_bar_t), the signal's share; the score divides by the noise's.",
            gives=lambda: _score(math.sqrt(_alpha_bar(SCORE_T))),
        ),
        mistake(
            "Off by one timestep: element [t - 1] of alpha_bars is timestep t.",
            gives=lambda: _score(math.sqrt(1 - _alpha_bar(SCORE_T + 1))),
        ),
    ],
    explanation=(
        "x_t given x_0 is N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I), whose score is "
        "-(x_t - sqrt(alpha_bar_t) x_0) / (1 - alpha_bar_t) = -eps / sqrt(1 - alpha_bar_t); the network's best "
        "eps_hat is the average eps given x_t, and averaging this line gives the score of q(x_t)."
    ),
)
def score_from_eps() -> torch.Tensor:
    """The score -eps_hat / sqrt(1 - alpha_bar_t) for eps_hat = (0.6, -0.8) at t = 100 (linear, T = 1000)."""
    return _score(math.sqrt(1 - _alpha_bar(SCORE_T)))


def _min_loss(variance: float, t: int = LOSS_T) -> float:
    alpha_bar_t = _alpha_bar(t)
    return alpha_bar_t * variance / (alpha_bar_t * variance + 1 - alpha_bar_t)


@exercise(
    "05-min-loss",
    hint=(
        "The best prediction is E[eps | x_t] = sqrt(1 - alpha_bar_t) x_t / Var(x_t) with Var(x_t) = "
        "alpha_bar_t sigma^2 + 1 - alpha_bar_t; the loss left is Var(eps | x_t) = 1 - Cov(eps, x_t)^2 / Var(x_t)."
    ),
    rtol=1e-4,
    diagnoses=[
        mistake(
            "No network can reach 0: it sees x_t, not the noise that was drawn. Many (x_0, eps) pairs give "
            "the same x_t; the best it can do is their average, and the spread around it remains.",
            when=lambda answer: abs(float(answer)) < 1e-9,
        ),
        mistake(
            "1 is the loss of predicting eps_hat = 0, which ignores x_t. Knowing x_t tells the network something.",
            when=lambda answer: abs(float(answer) - 1) < 1e-9,
        ),
        mistake(
            "That is the part of Var(eps) = 1 that x_t explains, (1 - alpha_bar_t) / Var(x_t); the loss is the "
            "rest, 1 minus it.",
            gives=lambda: 1 - _min_loss(SIGMA**2),
        ),
        mistake(
            "sigma is the standard deviation: its variance sigma^2 goes into Var(x_t).", gives=lambda: _min_loss(SIGMA)
        ),
        mistake(
            "Off by one timestep: element [t - 1] of alpha_bars is timestep t.",
            gives=lambda: _min_loss(SIGMA**2, LOSS_T + 1),
        ),
    ],
    explanation=(
        "alpha_bar_t sigma^2 / (alpha_bar_t sigma^2 + 1 - alpha_bar_t): the loss never reaches 0. It is small "
        "where the noise dominates (t near T: x_t is nearly all noise, so the noise is nearly known) and large "
        "where the data does (t near 0). The training loss curve levels off above 0 for the same reason."
    ),
)
def min_loss() -> float:
    """The smallest E[(eps - eps_theta(x_t, t))^2] for 1-D data N(0, 0.5^2) at t = 300 (linear, T = 1000)."""
    return _min_loss(SIGMA**2)


@exercise(
    "05-xT-offset",
    hint="By Eq. 4 the mean of x_T is sqrt(alpha_bar_T) times the mean of x_0.",
    rtol=1e-4,
    diagnoses=[
        mistake(
            "That is alpha_bar_T times the mean; the data's amplitude is scaled by sqrt(alpha_bar_T).",
            gives=lambda: float(_schedule().alpha_bars[-1]) * PIXEL_MEAN,
        ),
        mistake(
            "The data is scaled by sqrt(alpha_bar_T) on its way to x_T; it does not arrive whole.",
            gives=lambda: PIXEL_MEAN,
        ),
        mistake(
            "The noise has mean 0; the mean of x_T comes from the data, sqrt(alpha_bar_T) * 127.5.",
            when=lambda answer: abs(float(answer)) < 1e-9,
        ),
    ],
    explanation=(
        "0.0064 of 127.5 is 0.81 standard deviations of the noise: the sampler's N(0, I) start is not what "
        "the network saw at t = T during training. Data in [-1, 1] moves the mean of x_T by at most 0.0064."
    ),
)
def xT_offset() -> float:
    """The mean of x_T for pixel data of mean 127.5 (linear, T = 1000): sqrt(alpha_bar_T) * 127.5."""
    return float(_schedule().sqrt_alpha_bars[-1]) * PIXEL_MEAN


@functools.cache
def _fresh_ratio() -> float:
    """The notebook's fresh test points (seed 2) against its five held-out sets, with its 256 directions (seed 0)."""
    fresh = load_dataset("swiss_roll", "test", n=10_000, generator=torch.Generator().manual_seed(2))
    directions = random_directions(256, 2, generator=torch.Generator().manual_seed(0))
    return noise_floor_ratio(fresh, held_out_sets("swiss_roll", count=5, n=10_000), projections=directions).ratio


@prediction(
    "05-predict-fresh-ratio",
    hint="A number: how far is real data from the data, in units of the noise floor?",
    rtol=0.25,
    diagnoses=[
        mistake(
            "Not 0: two finite samples of the same distribution never coincide. That distance is the floor itself.",
            when=lambda guess: abs(float(guess)) < 0.3,
        ),
    ],
    explanation=(
        "fresh data is another draw of the same distribution, so its distance to the held-out sets is the same "
        "kind of distance as the floor: the ratio is 1 up to the luck of the draw (0.15 either way, one standard "
        "deviation). No model can score clearly below 1; a model at 1 is indistinguishable from the data at this "
        "sample size."
    ),
)
def predict_fresh_ratio() -> float:
    """The ratio of 10,000 fresh test points: about 1."""
    return _fresh_ratio()


@prediction(
    "05-predict-T100",
    hint='A letter: "a", "b" or "c".',
    choices={
        "a": "about as good: a difference no larger than the metric's own noise",
        "b": "pure noise",
        "c": "clearly worse: the right shape, in the wrong proportions",
    },
    diagnoses=[
        mistake(
            "The network does see x_100 during training, only not the one the sampler starts from; and for data "
            "centred on the origin the two differ little (a standard deviation of 0.85 against 1).",
            chose="b",
        ),
        mistake(
            "Look at the picture: the spiral and its proportions are right. The wrong start costs about as much "
            "as the metric's own noise, because the data is centred on the origin, like the sampler's start.",
            chose="c",
        ),
    ],
    explanation=(
        "measured, the T = 100 run scores close to the recipe's (the gap is about the size of the metric's own "
        "noise). The wrong start costs a little: in training x_100 has standard deviation 0.85 per coordinate, "
        "the sampler starts at 1, and the data is centred on the origin like the start. And that schedule puts "
        "40% of its timesteps where the spiral's shape forms, more than the cosine schedule's 25%. Leftover "
        "signal hurts where the data is not centred on the start: the cell after next."
    ),
)
def predict_T100() -> str:
    """How the T = 100 run (beta 1e-4 to 0.02) compares with the recipe's T = 1000 after the same training: (a)."""
    return "a"
