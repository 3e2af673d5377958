"""Checkers of notebook 04 (the reverse process): the posterior variance by hand, x_0 from a noise
prediction, two predictions about one big reverse step, and the weights of the variational bound.

Each function returns the expected value, computed with the package (see ``exercises/__init__.py``).
"""

from __future__ import annotations

import math

import torch

from ..reverse import predict_x0, q_posterior_mean_variance
from ..sampling import ddpm_sample
from ..schedules import NoiseSchedule, make_schedule
from ..toy1d import GaussianMixture, count_modes, make_grid, mixture_eps_model, reverse_step_on_grid
from . import exercise, mistake, prediction

TOY_BETAS = (0.1, 0.2, 0.3)
TWO_MODES = GaussianMixture([-1.0, 1.0], [0.15, 0.15])  # the notebook's two-mode data


def _toy() -> NoiseSchedule:
    return NoiseSchedule.from_betas(torch.tensor(TOY_BETAS, dtype=torch.float64))


def _toy_alpha_bar(t: int) -> float:
    return _toy().alpha_bar(t)


@exercise(
    "04-beta-tilde-toy",
    hint="Eq. 7: beta_tilde_t = (1 - alpha_bar_(t-1)) / (1 - alpha_bar_t) * beta_t, alpha_bar_t = alpha_1 ... alpha_t.",
    diagnoses=[
        mistake(
            "That is beta_3 itself, the forward step's variance. Knowing x_0 narrows the step back: multiply "
            "by (1 - alpha_bar_2) / (1 - alpha_bar_3).",
            gives=lambda: TOY_BETAS[2],
        ),
        mistake(
            "The ratio is upside down: it is (1 - alpha_bar_(t-1)) / (1 - alpha_bar_t), smaller than 1.",
            gives=lambda: (1 - _toy_alpha_bar(3)) / (1 - _toy_alpha_bar(2)) * TOY_BETAS[2],
        ),
        mistake(
            "Off by one timestep: with t = 3 the numerator is 1 - alpha_bar_2 and the denominator 1 - alpha_bar_3.",
            gives=lambda: (1 - _toy_alpha_bar(1)) / (1 - _toy_alpha_bar(2)) * TOY_BETAS[2],
        ),
        mistake(
            "Off by one timestep: the factor at the end is beta_3, the variance of the step being undone.",
            gives=lambda: (1 - _toy_alpha_bar(2)) / (1 - _toy_alpha_bar(3)) * TOY_BETAS[1],
        ),
        mistake(
            "You used alpha_t = 1 - beta_t where Eq. 7 has the products alpha_bar_t = alpha_1 ... alpha_t: "
            "(1 - alpha_2) / (1 - alpha_3) * beta_3 is just beta_2.",
            gives=lambda: TOY_BETAS[1],
        ),
    ],
    explanation="beta_tilde_3 = 0.28 / 0.496 * 0.3: about 56 % of beta_3, because knowing x_0 removes uncertainty.",
)
def beta_tilde_toy() -> float:
    """beta_tilde_3 of the toy schedule beta = (0.1, 0.2, 0.3)."""
    x = torch.zeros(1, dtype=torch.float64)
    return float(q_posterior_mean_variance(x, x, 3, _toy())[1])


def _x0_inputs() -> tuple[float, float]:
    alpha_bar = make_schedule("linear", 1000).alpha_bar(500)
    return alpha_bar, 0.5


@exercise(
    "04-x0-from-eps",
    hint="Solve Eq. 4 for x_0: x_0 = (x_t - sqrt(1 - alpha_bar_t) * eps) / sqrt(alpha_bar_t).",
    diagnoses=[
        mistake(
            "Square roots missing: Eq. 4 scales x_0 by sqrt(alpha_bar_t) and eps by sqrt(1 - alpha_bar_t).",
            gives=lambda: (0.5 - (1 - _x0_inputs()[0]) * 0.3) / _x0_inputs()[0],
        ),
        mistake(
            "Sign: x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps, so the noise is subtracted from x_t.",
            gives=lambda: (0.5 + math.sqrt(1 - _x0_inputs()[0]) * 0.3) / math.sqrt(_x0_inputs()[0]),
        ),
        mistake(
            "Removing the noise is half of it: divide by sqrt(alpha_bar_t) to undo the shrinking of x_0.",
            gives=lambda: 0.5 - math.sqrt(1 - _x0_inputs()[0]) * 0.3,
        ),
    ],
    explanation=(
        "at t = 500 only sqrt(alpha_bar) = 0.28 of x_0 is left in x_t, so an error in eps grows about 3.4-fold "
        "in x_0 (by sqrt(1 - alpha_bar) / sqrt(alpha_bar))."
    ),
)
def x0_from_eps() -> float:
    """predict_x0 for x_t = 0.5 at t = 500 of the linear schedule (T = 1000) and a predicted eps of 0.3."""
    schedule = make_schedule("linear", 1000)
    x_t, eps = torch.tensor([0.5], dtype=torch.float64), torch.tensor([0.3], dtype=torch.float64)
    return float(predict_x0(x_t, 500, eps, schedule))


@prediction(
    "04-predict-reverse-shape",
    hint="Answer with a letter, 'a', 'b' or 'c', as a string.",
    choices={
        "a": "one narrow bump, near x_1",
        "b": "two bumps, near the data's modes -1 and +1",
        "c": "one broad bump centred at 0",
    },
    explanation=(
        "with beta = 0.9, x_1 keeps only sqrt(0.1) = 0.32 of x_0, so the likelihood q(x_1 | x_0) is broad and "
        "nearly flat across the data: the product with p(x_0) still looks like the data, two bumps (the one "
        "nearer x_1 a little taller). No Gaussian fits that: a single big reverse step cannot be Gaussian."
    ),
)
def predict_reverse_shape() -> str:
    """The shape of the true q(x_0 | x_1 = 0.8) after one step with beta = 0.9 from the two-mode data."""
    grid = make_grid(-3.0, 3.0, 1201)
    posterior = reverse_step_on_grid(grid, TWO_MODES.density(grid), 0.8, 0.9)
    if count_modes(posterior) == 2:
        return "b"
    mean = float((posterior * grid).sum() / posterior.sum())
    return "a" if abs(mean - 0.8) < 0.3 else "c"


@prediction(
    "04-predict-one-step-samples",
    hint="Answer with a letter, 'a', 'b' or 'c', as a string.",
    choices={
        "a": "two clusters near -1 and +1, like the data",
        "b": "one narrow cluster near 0",
        "c": "a spread like the noise, N(0, 1)",
    },
    explanation=(
        "with T = 1 the sampler's only step has no noise (z = 0 at t = 1), so it returns the mean "
        "E[x_0 | x_1]. After one step that destroys almost everything, x_1 says almost nothing about x_0, and "
        "that mean is close to the data's mean, 0, for every x_1: all samples collapse into one cluster. "
        "Each small step of a long chain can be Gaussian; one big step cannot."
    ),
)
def predict_one_step_samples() -> str:
    """What DDPM with one step (cosine schedule, T = 1) and the exact eps makes of the two-mode data."""
    schedule = make_schedule("cosine", 1)
    samples = ddpm_sample(
        mixture_eps_model(schedule, TWO_MODES),
        schedule,
        (4000,),
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    near_modes = float(((samples.abs() - 1).abs() < 0.45).double().mean())
    if near_modes > 0.8:
        return "a"
    return "b" if float(samples.std()) < 0.2 else "c"


def _bound_weights(*, squared: bool = True) -> torch.Tensor:
    """Eq. 12's weight beta_t^2 / (2 sigma_t^2 alpha_t (1 - alpha_bar_t)) with sigma_t^2 = beta_t, shape (T,).

    ``squared=False`` is the mistake of a numerator beta_t instead of beta_t^2 (both betas cancelled).
    """
    schedule = make_schedule("linear", 1000)
    betas, alphas, alpha_bars = schedule.betas, schedule.alphas, schedule.alpha_bars
    numerator = betas**2 if squared else betas
    return numerator / (2 * betas * alphas * (1 - alpha_bars))


@exercise(
    "04-loss-weight-ratio",
    hint="Put sigma_t^2 = beta_t into Eq. 12 and cancel what you can; then divide the weight at t = 1 by the "
    "weight at t = 1000 (element [t - 1] of the schedule's tensors is timestep t).",
    rtol=1e-4,
    diagnoses=[
        mistake(
            "The ratio is upside down: the weight is largest at t = 1 (there 1 - alpha_bar_1 = beta_1).",
            gives=lambda: float(_bound_weights()[-1] / _bound_weights()[0]),
        ),
        mistake(
            "The numerator of Eq. 12 is beta_t squared; with sigma_t^2 = beta_t one beta_t cancels, not both.",
            gives=lambda: float(_bound_weights(squared=False)[0] / _bound_weights(squared=False)[-1]),
        ),
    ],
    explanation="the bound weighs the first step about 49 times more than the last; L_simple weighs them equally.",
)
def loss_weight_ratio() -> float:
    """lambda_1 / lambda_T of Eq. 12 with sigma_t^2 = beta_t, for the linear schedule with T = 1000."""
    weights = _bound_weights()
    return float(weights[0] / weights[-1])
