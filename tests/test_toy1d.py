"""Tests of diffusion_helpers.toy1d: Bayes' rule on a grid, distances from Gaussian, mixture data and its exact eps.

References, independent of the code under test: torch.distributions for densities; Eq. 7 written out in
Python floats for the posterior given x_0; numpy sums on a finer grid for distances; for the mixture's
exact noise predictor, E[eps | x_t] computed by brute-force Bayes over x_0 on a grid; Monte Carlo with
stated tolerances for sampling.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from diffusion_helpers import ddpm_sample, gaussian_eps_model, make_schedule, q_sample
from diffusion_helpers.toy1d import (
    GaussianMixture,
    count_modes,
    distance_from_gaussian,
    grid_moments,
    make_grid,
    mixture_eps_model,
    normal_density,
    reverse_step_on_grid,
)

TWO_MODES = GaussianMixture([-1.0, 1.0], [0.15, 0.15])


def test_normal_density_matches_torch_distributions():
    x = torch.linspace(-4, 4, 101, dtype=torch.float64)
    f64 = torch.float64
    normal = torch.distributions.Normal(torch.tensor(0.3, dtype=f64), torch.tensor(0.7, dtype=f64).sqrt())
    expected = normal.log_prob(x).exp()
    torch.testing.assert_close(normal_density(x, 0.3, 0.7), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("t", [2, 10, 100, 500, 1000])
def test_bayes_on_a_grid_with_the_prior_given_x0_is_eq_7(t):
    schedule = make_schedule("linear", 1000)
    betas = schedule.betas.tolist()
    alpha_bar = lambda s: math.prod(1 - b for b in betas[:s])  # noqa: E731
    x0, x_t = 0.6, 0.4
    # Eq. 7 in Python floats
    beta, ab, ab_prev = betas[t - 1], alpha_bar(t), alpha_bar(t - 1)
    mean = (math.sqrt(ab_prev) * beta * x0 + math.sqrt(1 - beta) * (1 - ab_prev) * x_t) / (1 - ab)
    variance = (1 - alpha_bar(t - 1)) / (1 - alpha_bar(t)) * betas[t - 1]
    grid = make_grid(mean - 12 * math.sqrt(variance), mean + 12 * math.sqrt(variance), 4001)
    prior = normal_density(grid, math.sqrt(alpha_bar(t - 1)) * x0, 1 - alpha_bar(t - 1))
    posterior = reverse_step_on_grid(grid, prior, x_t, betas[t - 1])
    f64 = torch.float64
    normal = torch.distributions.Normal(torch.tensor(mean, dtype=f64), torch.tensor(math.sqrt(variance), dtype=f64))
    closed_form = normal.log_prob(grid).exp()
    assert float((posterior - closed_form).abs().max() / closed_form.max()) < 1e-8


def test_reverse_step_on_grid_normalises_each_row_and_vectorises_over_x_t():
    grid = make_grid(-3, 3, 601)
    prior = TWO_MODES.density(grid) * 7.0  # any positive multiple of the prior
    x_t = torch.tensor([-1.0, 0.0, 0.8, 2.0], dtype=torch.float64)
    rows = reverse_step_on_grid(grid, prior, x_t, 0.3)
    assert rows.shape == (4, 601)
    torch.testing.assert_close(rows.sum(dim=1) * 0.01, torch.ones(4, dtype=torch.float64), rtol=1e-12, atol=0)
    for i, value in enumerate(x_t.tolist()):
        torch.testing.assert_close(rows[i], reverse_step_on_grid(grid, prior, value, 0.3), rtol=1e-12, atol=1e-15)


def test_grid_moments_and_distance_from_gaussian():
    grid = make_grid(-9.5, 10.5, 4001)  # centred on the mean: the tails cut off are equal
    gaussian = normal_density(grid, 0.5, 2.0)
    mean, variance = grid_moments(grid, gaussian)
    assert math.isclose(float(mean), 0.5, abs_tol=1e-9) and math.isclose(float(variance), 2.0, rel_tol=1e-7)
    assert float(distance_from_gaussian(grid, gaussian)) < 1e-7
    # two modes: compare with 1/2 * integral |p - g| on a finer grid, in numpy
    fine = np.linspace(-8, 8, 64001)
    p = sum(0.5 * np.exp(-((fine - m) ** 2) / (2 * 0.15**2)) / math.sqrt(2 * math.pi * 0.15**2) for m in (-1, 1))
    var = 1 + 0.15**2
    g = np.exp(-(fine**2) / (2 * var)) / math.sqrt(2 * math.pi * var)
    expected = 0.5 * np.abs(p - g).sum() * (fine[1] - fine[0])
    assert math.isclose(float(distance_from_gaussian(grid, TWO_MODES.density(grid))), expected, rel_tol=1e-4)


def test_count_modes_counts_bumps_and_ignores_shoulders():
    grid = make_grid(-3, 3, 601)
    assert count_modes(normal_density(grid, 0.0, 1.0)) == 1
    assert count_modes(TWO_MODES.density(grid)) == 2
    faint = GaussianMixture([-1.0, 1.0], [0.15, 0.15], [0.99, 0.01]).density(grid)  # second bump at 1 % height
    assert count_modes(faint) == 1 and count_modes(faint, threshold=0.001) == 2


def test_mixture_moments_sampling_and_noised_marginal():
    mixture = GaussianMixture([-1.0, 2.0], [0.2, 0.5], [1.0, 3.0])
    assert mixture.weights == (0.25, 0.75)
    grid = make_grid(-6, 8, 7001)
    assert math.isclose(float(mixture.density(grid).sum() * (grid[1] - grid[0])), 1.0, rel_tol=1e-9)
    n = 400_000
    x0 = mixture.sample(n, generator=torch.Generator().manual_seed(0))
    assert abs(float(x0.mean()) - mixture.mean) < 5 * mixture.std / math.sqrt(n)
    assert abs(float(x0.std()) - mixture.std) < 5 * mixture.std / math.sqrt(2 * n) * 2  # non-normal: wider SE
    # noised(alpha_bar) is the law of q_sample(x0, t): compare moments and the fraction below 0
    schedule = make_schedule("linear", 1000)
    x_t = q_sample(x0, 300, schedule, generator=torch.Generator().manual_seed(1))
    noised = mixture.noised(schedule.alpha_bar(300))
    assert abs(float(x_t.mean()) - noised.mean) < 5 * noised.std / math.sqrt(n)
    below = float((noised.density(grid) * (grid < 0)).sum() * (grid[1] - grid[0]))
    measured = float((x_t < 0).double().mean())
    assert abs(measured - below) < 5 * math.sqrt(below * (1 - below) / n)


def test_mixture_eps_model_is_the_conditional_mean_of_eps():
    """E[eps | x_t] = (x_t - sqrt(alpha_bar) E[x_0 | x_t]) / sqrt(1 - alpha_bar); E[x_0 | x_t] by Bayes on a grid."""
    schedule = make_schedule("cosine", 200)
    model = mixture_eps_model(schedule, TWO_MODES)
    grid = make_grid(-3, 3, 6001)
    prior = TWO_MODES.density(grid)
    x_t = torch.tensor([-2.0, -0.7, 0.0, 0.3, 1.1, 2.5], dtype=torch.float64)
    for t in (1, 20, 100, 180, 200):
        alpha_bar = schedule.alpha_bar(t)
        weights = prior * normal_density(x_t.unsqueeze(1), math.sqrt(alpha_bar) * grid, 1 - alpha_bar)  # (6, N)
        x0_mean = (weights * grid).sum(dim=1) / weights.sum(dim=1)
        expected = (x_t - math.sqrt(alpha_bar) * x0_mean) / math.sqrt(1 - alpha_bar)
        torch.testing.assert_close(model(x_t, torch.full((6,), t)), expected, rtol=1e-6, atol=1e-6)  # grid error


def test_mixture_eps_model_with_one_component_is_gaussian_eps_model():
    schedule = make_schedule("linear", 100, beta_T=0.2)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([1, 7, 50, 99, 100])
    one = mixture_eps_model(schedule, GaussianMixture([0.4], [0.7]))
    torch.testing.assert_close(one(x, t), gaussian_eps_model(schedule, 0.4, 0.7)(x, t), rtol=1e-6, atol=1e-6)
    assert one(x, t).shape == x.shape and one(x, t).dtype == torch.float32


def test_ddpm_sample_with_the_exact_mixture_eps_recovers_both_modes():
    # 100 cosine steps: each mode holds half the samples (within 5 SE), each centred on its mean
    schedule = make_schedule("cosine", 100)
    n = 8000
    samples = ddpm_sample(
        mixture_eps_model(schedule, TWO_MODES),
        schedule,
        (n,),
        generator=torch.Generator().manual_seed(3),
        dtype=torch.float64,
    )
    upper = samples > 0
    assert abs(float(upper.double().mean()) - 0.5) < 5 * math.sqrt(0.25 / n)
    for side, mode in ((upper, 1.0), (~upper, -1.0)):
        assert abs(float(samples[side].mean()) - mode) < 0.02
        assert abs(float(samples[side].std()) - 0.15) < 0.02


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: make_grid(1.0, 1.0, 10), ValueError, "low must be < high"),
        (lambda: make_grid(0.0, 1.0, 2), ValueError, r"size must be an int in \[3, inf\)"),
        (
            lambda: reverse_step_on_grid(torch.tensor([0.0, 1.0, 3.0]), torch.ones(3), 0.0, 0.1),
            ValueError,
            "evenly spaced",
        ),
        (
            lambda: reverse_step_on_grid(make_grid(-1, 1, 5), torch.ones(4), 0.0, 0.1),
            ValueError,
            "prior must be a tensor of the grid's shape",
        ),
        (lambda: reverse_step_on_grid(make_grid(-1, 1, 5), -torch.ones(5), 0.0, 0.1), ValueError, "prior must be"),
        (lambda: reverse_step_on_grid(make_grid(-1, 1, 5), torch.ones(5), 0.0, 0.0), ValueError, r"beta_t must be in"),
        (lambda: reverse_step_on_grid(make_grid(-1, 1, 5), torch.ones(5), 0.0, 1.5), ValueError, r"beta_t must be in"),
        (lambda: GaussianMixture([0.0, 1.0], [0.1]), ValueError, "one entry per component"),
        (lambda: GaussianMixture([0.0], [-0.1]), ValueError, r"stds\[0\] must be in"),
        (lambda: GaussianMixture([], []), ValueError, "at least one component"),
        (lambda: TWO_MODES.sample(0), ValueError, r"n must be an int in \[1, inf\)"),
        (lambda: mixture_eps_model("cosine", TWO_MODES), TypeError, "schedule must be a NoiseSchedule"),
        (lambda: mixture_eps_model(make_schedule("cosine", 10), [0.0]), TypeError, "mixture must be a GaussianMixture"),
        (lambda: count_modes(torch.ones(2)), ValueError, "at least 3 values"),
    ],
)
def test_bad_input_is_refused_with_a_message_that_names_it(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_mathematics_does_not_import_the_presentation_layer():
    mathematics = "toy1d reverse sampling ddim guidance evaluation recipes training data metrics models mnist".split()
    presentation = ["plotting", "plotting_reverse", "plotting_training", "plotting_sampling", "plotting_images"]
    presentation += ["widgets", "exercises", "notebook"]
    code = (
        "import sys, importlib; import diffusion_helpers; "
        f"[importlib.import_module('diffusion_helpers.' + m) for m in {mathematics!r}]; "
        f"bad = [m for m in ['matplotlib', 'ipywidgets', *('diffusion_helpers.' + p for p in {presentation!r})] "
        "if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
