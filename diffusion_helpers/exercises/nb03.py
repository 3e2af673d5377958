"""Checkers of notebook 03 (comparing schedules): predictions about T and resolution, the T that reaches
noise, a schedule built from a chosen alpha_bar(t), and SNR comparisons.

Each function returns the expected value, computed with the package (see ``exercises/__init__.py``).
"""

from __future__ import annotations

import math

import torch

from ..images import example_image, pil_to_tensor
from ..schedules import make_schedule, terminal_health
from . import exercise, mistake, prediction

BETA_T_CANDIDATES = tuple(round(0.01 * k, 2) for k in range(1, 51))


def _sqrt_alpha_bar_T(T: int, **params: float) -> float:
    return float(make_schedule("linear", T, **params).sqrt_alpha_bars[-1])


def _smallest_T(level: float, quantity: str = "sqrt_alpha_bars") -> int:
    """The smallest T whose linear schedule (Ho et al.'s range) has quantity[T - 1] < level."""
    low, high = 1, 4000  # the quantity falls as T grows: bisect, the answer is in (low, high]
    while high - low > 1:
        middle = (low + high) // 2
        if float(getattr(make_schedule("linear", middle), quantity)[-1]) < level:
            high = middle
        else:
            low = middle
    return high


def _estimated_T(level: float) -> int:
    # log alpha_bar_T ~ -sum beta_t = -T (beta_1 + beta_T) / 2, with alpha_bar_T = level^2
    return math.ceil(-2 * math.log(level**2) / (1e-4 + 0.02))


@prediction(
    "03-predict-T100",
    hint="A share of the amplitude, between 0 and 1.",
    rtol=0.25,
    explanation=(
        "log alpha_bar_T is about minus the sum of the betas, T (beta_1 + beta_T) / 2: about 10 for T = 1000 "
        "but only 1 for T = 100. So alpha_bar_100 is about exp(-1) = 0.37 and its square root about 0.6: the "
        "range of betas, not the number of steps, was tuned to reach noise."
    ),
    diagnoses=[
        mistake(
            "Fewer steps of the same small size do not end in noise: the betas add up to only 1, not 10.",
            when=lambda guess: float(guess) < 0.2,
        ),
    ],
)
def predict_T100() -> float:
    """sqrt(alpha_bar_T) of the linear schedule with Ho et al.'s range and T = 100."""
    return _sqrt_alpha_bar_T(100)


def _brightness_shift(size: int) -> float:
    """How far the image moves the average of x_T, in SDs of that average for pure noise (linear, T = 1000)."""
    x0 = pil_to_tensor(example_image(size)).double()
    alpha_bar_T = make_schedule("linear", 1000).alpha_bar(1000)
    return math.sqrt(alpha_bar_T) * float(x0.mean()) / math.sqrt((1 - alpha_bar_T) / x0.numel())


_RESOLUTION_CHOICES = {"a": "the same", "b": "2 times larger", "c": "4 times larger", "d": "2 times smaller"}
_RESOLUTION_FACTORS = {"a": 1.0, "b": 2.0, "c": 4.0, "d": 0.5}


@prediction(
    "03-predict-leak-resolution",
    hint="Answer with a letter, e.g. guess = 'a'.",
    choices=_RESOLUTION_CHOICES,
    explanation=(
        "each pixel keeps the same small share of the image, but the average of x_T pools P values: its noise "
        "falls like 1 / sqrt(P) while the image's share of it does not. 4 times the pixels halve the noise of "
        "the average, so the shift, in its standard deviations, doubles: it grows with the square root of the "
        "number of pixels (its square, the signal-to-noise ratio of the average, with the number of pixels)."
    ),
    diagnoses=[
        mistake(
            "Per pixel nothing changes, but the average pools 4 times as many values: its noise halves.",
            gives=lambda: "a",
        ),
        mistake(
            "4 times the pixels give 4 times the signal-to-noise ratio of the average, a variance ratio; "
            "in standard deviations the shift grows by its square root, 2.",
            gives=lambda: "c",
        ),
    ],
)
def predict_leak_resolution() -> str:
    """Which letter describes the brightness shift at 256 x 256 compared with 128 x 128."""
    ratio = _brightness_shift(256) / _brightness_shift(128)
    return min(_RESOLUTION_FACTORS, key=lambda letter: abs(math.log(_RESOLUTION_FACTORS[letter] / ratio)))


@exercise(
    "03-smallest-T",
    hint="sqrt(alpha_bar_T) falls as T grows: try a few T with dh.make_schedule('linear', T), or bisect.",
    diagnoses=[
        mistake(
            "That is the estimate from log alpha_bar_T ~ -T (beta_1 + beta_T) / 2. It drops the -beta^2/2 "
            "terms of log(1 - beta), which make alpha_bar_T a little smaller, so the exact T is a little "
            "smaller: check your T and the ones below it with make_schedule.",
            when=lambda answer: 0 < int(answer) - _smallest_T(0.01) <= 8 or int(answer) == _estimated_T(0.01),
        ),
        mistake(
            "That makes alpha_bar_T < 0.01, the variance; an amplitude below 0.01 needs alpha_bar_T < 1e-4.",
            gives=lambda: _smallest_T(0.01, "alpha_bars"),
        ),
    ],
)
def smallest_T() -> int:
    """The smallest T for which the linear schedule with beta from 1e-4 to 0.02 has sqrt(alpha_bar_T) < 0.01."""
    return _smallest_T(0.01)


@exercise(
    "03-smallest-beta-T",
    hint="Loop over the candidates and build dh.make_schedule('linear', 100, beta_T=b) for each.",
    diagnoses=[
        mistake(
            "That makes alpha_bar_T <= 1e-2, the variance; the health check wants sqrt(alpha_bar_T) <= 0.01.",
            gives=lambda: next(b for b in BETA_T_CANDIDATES if _sqrt_alpha_bar_T(100, beta_T=b) ** 2 <= 0.01),
        ),
        mistake(
            "Close, but that one is one candidate too small: its x_T keeps more than 1% of the amplitude.",
            when=lambda answer: abs(float(answer) + 0.01 - smallest_beta_T()) < 1e-9,
        ),
    ],
)
def smallest_beta_T() -> float:
    """The smallest beta_T among 0.01, ..., 0.50 that makes the linear schedule with T = 100 healthy."""
    return next(b for b in BETA_T_CANDIDATES if terminal_health(make_schedule("linear", 100, beta_T=b))["ok"])


T_TARGET = 1000
ALPHA_BAR_T_TARGET = 0.001


def _target_alpha_bars() -> torch.Tensor:
    """alpha_bar_t falling linearly from 1 at t = 0 to 0.001 at t = T, for t = 0..T: shape (T + 1,)."""
    t = torch.arange(0, T_TARGET + 1, dtype=torch.float64)
    return 1 - (1 - ALPHA_BAR_T_TARGET) * t / T_TARGET


@exercise(
    "03-betas-from-alpha-bar",
    hint="alpha_t = alpha_bar_t / alpha_bar_(t-1), so beta_t = 1 - alpha_bar_t / alpha_bar_(t-1), for t = 1..T.",
    diagnoses=[
        mistake(
            "Those are the alphas, alpha_bar_t / alpha_bar_(t-1); the betas are 1 minus them.",
            gives=lambda: _target_alpha_bars()[1:] / _target_alpha_bars()[:-1],
        ),
        mistake(
            "Those are the drops alpha_bar_(t-1) - alpha_bar_t; a schedule multiplies, so beta_t is one "
            "minus the ratio alpha_bar_t / alpha_bar_(t-1).",
            gives=lambda: _target_alpha_bars()[:-1] - _target_alpha_bars()[1:],
        ),
        mistake(
            "Off by one timestep: that is 1 - alpha_bar_(t+1) / alpha_bar_t. Element [t - 1] is beta_t, "
            "and beta_1 = 1 - alpha_bar_1 / alpha_bar_0 with alpha_bar_0 = 1.",
            gives=lambda: torch.cat(
                [1 - _target_alpha_bars()[2:] / _target_alpha_bars()[1:-1], torch.tensor([0.0], dtype=torch.float64)]
            ),
        ),
    ],
)
def betas_from_alpha_bar() -> torch.Tensor:
    """The betas (T,) whose schedule has alpha_bar_t = 1 - 0.999 t / T."""
    alpha_bars = _target_alpha_bars()
    return 1 - alpha_bars[1:] / alpha_bars[:-1]  # $\beta_t = 1 - \bar\alpha_t / \bar\alpha_{t-1}$


def _alpha_bar_500(name: str) -> float:
    return make_schedule(name, 1000).alpha_bar(500)


@exercise(
    "03-snr-ratio",
    hint="SNR(t) = alpha_bar_t / (1 - alpha_bar_t); divide the cosine schedule's by the linear one's, at t = 500.",
    rtol=1e-4,
    diagnoses=[
        mistake(
            "That is the ratio of alpha_bar_t; the SNR divides each by its noise variance 1 - alpha_bar_t.",
            gives=lambda: _alpha_bar_500("cosine") / _alpha_bar_500("linear"),
        ),
        mistake("Upside down: that is linear over cosine.", gives=lambda: 1 / snr_ratio()),
        mistake(
            "Off by one timestep: that is the ratio at t = 501 (snr[500]). Element [t - 1] is timestep t.",
            gives=lambda: float(make_schedule("cosine", 1000).snr[500] / make_schedule("linear", 1000).snr[500]),
        ),
    ],
)
def snr_ratio() -> float:
    """SNR(500) of the cosine schedule over that of the linear one, T = 1000."""
    return float(make_schedule("cosine", 1000).snr[500 - 1] / make_schedule("linear", 1000).snr[500 - 1])
