"""Checkers of notebook 06 (faster sampling with DDIM): the noise level sigma(eta) of a jump, the trailing
timesteps of a ten-step sampler, one DDIM step by hand, and a prediction about eta at few steps.

Each function returns the expected value, computed with the package (see ``exercises/__init__.py``).
"""

from __future__ import annotations

import math

import torch

from ..ddim import spaced_timesteps
from ..schedules import make_schedule
from . import exercise, mistake, prediction

T = 1000
SIGMA_T, SIGMA_S, SIGMA_ETA = 500, 400, 0.5  # exercise 06-sigma-eta: a jump from t = 500 to s = 400, eta = 0.5
SPACED_STEPS = 10  # exercise 06-trailing-timesteps
STEP_T, STEP_S = 500, 400  # exercise 06-ddim-step: from t = 500 to s = 400 ...
X0_HAT, EPS_HAT = 0.8, -0.5  # ... with these predictions, eta = 0


def _alpha_bar(t: int) -> float:
    """alpha_bar_t of the notebook's schedule (cosine, T = 1000), with alpha_bar_0 = 1."""
    return 1.0 if t == 0 else float(make_schedule("cosine", T).alpha_bars[t - 1])


def _sigma(t: int, s: int, eta: float) -> float:
    a_t, a_s = _alpha_bar(t), _alpha_bar(s)
    return eta * math.sqrt((1 - a_s) / (1 - a_t)) * math.sqrt(1 - a_t / a_s)


@exercise(
    "06-sigma-eta",
    hint=(
        "Eq. 16 of Song et al.: sigma = eta * sqrt((1 - alpha_bar_s) / (1 - alpha_bar_t)) * "
        "sqrt(1 - alpha_bar_t / alpha_bar_s), with s = 400 the timestep stepped to."
    ),
    rtol=1e-4,
    diagnoses=[
        mistake("That is sigma for eta = 1: multiply by eta = 0.5.", gives=lambda: _sigma(SIGMA_T, SIGMA_S, 1.0)),
        mistake(
            "That is sigma^2, a variance; the question asks for sigma, a standard deviation.",
            gives=lambda: _sigma(SIGMA_T, SIGMA_S, SIGMA_ETA) ** 2,
        ),
        mistake(
            "That is the noise of one step to t - 1 = 499; this jump goes to s = 400.",
            gives=lambda: _sigma(SIGMA_T, SIGMA_T - 1, SIGMA_ETA),
        ),
        mistake(
            "Off by one timestep: element [t - 1] of alpha_bars is timestep t.",
            gives=lambda: (
                SIGMA_ETA
                * math.sqrt((1 - _alpha_bar(SIGMA_S + 1)) / (1 - _alpha_bar(SIGMA_T + 1)))
                * math.sqrt(1 - _alpha_bar(SIGMA_T + 1) / _alpha_bar(SIGMA_S + 1))
            ),
        ),
        mistake(
            "A factor is missing: sigma has two square roots, sqrt((1 - alpha_bar_s) / (1 - alpha_bar_t)) and "
            "sqrt(1 - alpha_bar_t / alpha_bar_s).",
            gives=lambda: SIGMA_ETA * math.sqrt(1 - _alpha_bar(SIGMA_T) / _alpha_bar(SIGMA_S)),
        ),
    ],
    explanation=(
        "with eta = 1 this is the standard deviation of DDPM's posterior q(x_s | x_t, x_0) for the jump from t to s "
        "(beta_tilde for s = t - 1); eta = 0.5 keeps half of it, and eta = 0 none: the deterministic sampler."
    ),
)
def sigma_eta() -> float:
    """sigma(eta) of Song et al. Eq. 16 for the jump 500 -> 400 with eta = 0.5 (cosine, T = 1000)."""
    return _sigma(SIGMA_T, SIGMA_S, SIGMA_ETA)


def _trailing(offset: int = 0) -> torch.Tensor:
    return torch.tensor([T - (SPACED_STEPS - i) * (T // SPACED_STEPS) + offset for i in range(1, SPACED_STEPS + 1)])


@exercise(
    "06-trailing-timesteps",
    hint="Trailing spacing counts down from T in steps of k = T / S: T, T - k, ...; write them in increasing order.",
    diagnoses=[
        mistake(
            "Those are the leading timesteps, counted up from 1: they never reach T. Trailing counts down from T.",
            gives=lambda: spaced_timesteps(T, SPACED_STEPS, "leading"),
        ),
        mistake(
            "Those are 0-based timesteps (999, 899, ...), as in code that counts t from 0; this package's t runs "
            "from 1 to T, and trailing starts at T = 1000.",
            gives=lambda: _trailing(offset=-1),
        ),
        mistake("The right timesteps, in decreasing order: give them increasing.", gives=lambda: _trailing().flip(0)),
        mistake(
            "Those are evenly spaced from 1 to T (linspace); trailing counts down from T in equal steps.",
            gives=lambda: spaced_timesteps(T, SPACED_STEPS, "linspace"),
        ),
    ],
    explanation=(
        "trailing starts at t = T, where training put pure noise, and its smallest timestep is k = T / S: the "
        "last step jumps from t = 100 straight to the data. Leading is the reverse: it ends at t = 1 but starts at "
        "t = 901, where x_t still holds some signal."
    ),
)
def trailing_timesteps() -> torch.Tensor:
    """The trailing timesteps of a 10-step sampler with T = 1000, increasing."""
    return spaced_timesteps(T, SPACED_STEPS, "trailing")


def _step(s: int, x0_coefficient: float | None = None) -> float:
    a_s = _alpha_bar(s)
    return (math.sqrt(a_s) if x0_coefficient is None else x0_coefficient) * X0_HAT + math.sqrt(1 - a_s) * EPS_HAT


@exercise(
    "06-ddim-step",
    hint="Eq. 12 with eta = 0: x_s = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s) eps_hat, at s = 400.",
    rtol=1e-4,
    diagnoses=[
        mistake("That uses alpha_bar_t, at t = 500: the step goes TO s = 400.", gives=lambda: _step(STEP_T)),
        mistake(
            "The coefficients are square roots: sqrt(alpha_bar_s) and sqrt(1 - alpha_bar_s).",
            gives=lambda: _alpha_bar(STEP_S) * X0_HAT + (1 - _alpha_bar(STEP_S)) * EPS_HAT,
        ),
        mistake("Off by one timestep: element [t - 1] of alpha_bars is timestep t.", gives=lambda: _step(STEP_S + 1)),
        mistake(
            "The noise enters with a plus sign, as in Eq. 4: x_s = sqrt(alpha_bar_s) x0_hat "
            "+ sqrt(1 - alpha_bar_s) eps_hat.",
            gives=lambda: math.sqrt(_alpha_bar(STEP_S)) * X0_HAT - math.sqrt(1 - _alpha_bar(STEP_S)) * EPS_HAT,
        ),
    ],
    explanation=(
        "the step puts the network's guess of x_0 back at the noise level of s, with the network's own noise: "
        "Eq. 4 with x_0 and eps replaced by their predictions. No new randomness enters when eta = 0."
    ),
)
def ddim_step_by_hand() -> float:
    """x_400 from x0_hat = 0.8 and eps_hat = -0.5 with eta = 0 (cosine, T = 1000)."""
    return _step(STEP_S)


@prediction(
    "06-predict-few-steps",
    hint='A letter: "a", "b" or "c".',
    choices={
        "a": "eta = 0 (deterministic) is clearly better",
        "b": "eta = 1 (DDPM-like) is clearly better",
        "c": "about the same",
    },
    diagnoses=[
        mistake(
            "With 10 steps each jump is large, and eta = 1 adds the noise of a posterior that assumes x_0 is known: "
            "the network's x0_hat is a blur at large t, so the fresh noise is not undone in the steps that remain.",
            chose="b",
        ),
        mistake(
            "Measured, eta = 0 scores about two thirds of eta = 1's ratio at 10 steps (about 5 against 8) and half "
            "at 20: a clear gap, far beyond the metric's noise.",
            chose="c",
        ),
    ],
    explanation=(
        "with few steps the deterministic sampler is clearly better: it follows a smooth path that large steps can "
        "track, while eta = 1 injects noise that too few later steps remove. With 100 steps and more both reach "
        "the noise floor on this model."
    ),
)
def predict_few_steps() -> str:
    """At 10 steps on the notebook's model, eta = 0 scores clearly better than eta = 1: (a)."""
    return "a"
