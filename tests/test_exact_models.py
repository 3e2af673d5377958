"""Tests of the swiss roll's exact noise predictor, diffusion_helpers.data.swiss_roll_eps_model.

The model is E[eps | x_t] for the swiss roll written as a mixture of K Gaussians along the spiral. Three
computations that share no code with it check it:

1. Against the generator itself, by Monte Carlo: E[eps | x_t] = E[(x_t - sqrt(abar) x_0) / sqrt(1 - abar) | x_t]
   estimated from 2,000,000 draws of load_dataset("swiss_roll"), each weighted by q(x_t | x_0) (self-normalised
   importance sampling; tolerance 4 of its standard errors). A swiss roll with 10% less noise fails the same check.
2. Against the mixture's density, by autograd (Tweedie's formula): eps* = -sqrt(1 - abar) grad log p_t(x_t), with
   p_t the mixture of N(sqrt(abar) m_k, (abar tau^2 + 1 - abar) I) written as a logsumexp.
3. The mixture's own samples against load_dataset's: moments up to the third, and a few waves of the coordinates.

Then: 300 components are enough (what notebook 06 uses), the model contract (mixed t, dtypes, chunks, the
samplers), and bad input.
"""

from __future__ import annotations

import math

import pytest
import torch

import diffusion_helpers.data as data
from diffusion_helpers import ddim_sample, ddpm_sample, load_dataset, make_schedule, q_sample, swiss_roll_eps_model


@pytest.fixture(scope="module")
def schedule():
    return make_schedule("cosine", 1000)


@pytest.fixture(scope="module")
def swiss_roll_draws() -> torch.Tensor:
    """2,000,000 points of the swiss roll, float64: the generator's distribution, for Monte Carlo."""
    return load_dataset("swiss_roll", "train", n=2_000_000, generator=torch.Generator().manual_seed(0)).double()


def monte_carlo_eps(x_t: torch.Tensor, alpha_bar_t: float, x0_draws: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """E[eps | x_t] by importance weighting draws of x_0 with q(x_t | x_0); its standard error; the effective size."""
    eps = (x_t - math.sqrt(alpha_bar_t) * x0_draws) / math.sqrt(1 - alpha_bar_t)  # (N, 2): the noise each x_0 needs
    weights = torch.softmax(-0.5 * eps.square().sum(1), dim=0)  # (N,): q(x_t | x_0) ∝ exp(-|eps|^2 / 2), normalised
    estimate = weights @ eps  # (2,)
    standard_error = (weights[:, None].square() * (eps - estimate).square()).sum(0).sqrt()  # (2,)
    return estimate, standard_error, 1 / weights.square().sum()


def forward_points(schedule, ts: torch.Tensor, seed: int) -> torch.Tensor:
    """x_t of held-out swiss-roll points, one per timestep in ``ts``: where a sampler meets the model."""
    x0 = load_dataset("swiss_roll", "test", n=len(ts), generator=torch.Generator().manual_seed(seed)).double()
    return q_sample(x0, ts, schedule, generator=torch.Generator().manual_seed(seed + 1))


# ------------------------------------------------------------------------------- the three independent checks


def test_eps_is_the_conditional_mean_of_the_noise_in_the_generators_data(schedule, swiss_roll_draws):
    ts = torch.tensor([2, 10, 40, 100, 250, 500, 750, 1000])  # one call with a different t per point
    x_t = forward_points(schedule, ts, seed=1)
    predicted = swiss_roll_eps_model(schedule)(x_t, ts)
    for i, t in enumerate(ts.tolist()):
        estimate, standard_error, effective_size = monte_carlo_eps(x_t[i], schedule.alpha_bar(t), swiss_roll_draws)
        assert effective_size > 200, (t, effective_size)  # enough draws near x_t for the estimate to mean something
        # tolerance: 4 standard errors, plus 5e-4 for the mixture's 3,000 components (their error is below 3e-4)
        assert ((predicted[i] - estimate).abs() < 4 * standard_error + 5e-4).all(), (t, predicted[i], estimate)


def test_the_monte_carlo_check_rejects_a_swiss_roll_with_less_noise(schedule, swiss_roll_draws, monkeypatch):
    """The check above can fail: the same predictor built for a band 10% narrower than the generator's is caught."""
    monkeypatch.setattr(data, "_SWISS_ROLL_NOISE", 0.9 * data._SWISS_ROLL_NOISE)
    ts = torch.tensor([2, 10, 40])
    x_t = forward_points(schedule, ts, seed=1)
    predicted = swiss_roll_eps_model(schedule)(x_t, ts)
    misses = 0
    for i, t in enumerate(ts.tolist()):
        estimate, standard_error, _ = monte_carlo_eps(x_t[i], schedule.alpha_bar(t), swiss_roll_draws)
        misses += int(((predicted[i] - estimate).abs() >= 4 * standard_error + 5e-4).any())
    assert misses >= 1


def test_eps_is_minus_the_scaled_score_of_the_mixture(schedule):
    """Tweedie: E[eps | x_t] = -sqrt(1 - abar_t) grad log p_t(x_t), p_t the mixture the model describes."""
    model = swiss_roll_eps_model(schedule, components=500)
    means, tau = model.means, model.noise_std  # (K, 2), float
    generator = torch.Generator().manual_seed(2)
    ts = torch.cat([torch.tensor([1, 2, 5, 1000]), torch.randint(1, 1001, (60,), generator=generator)])
    x_t = torch.cat([forward_points(schedule, ts[:32], seed=3), 3 * torch.rand(32, 2, generator=generator) - 1.5])
    alpha_bar_t = schedule.alpha_bars[ts - 1].double()[:, None, None]  # (B, 1, 1)
    v_t = alpha_bar_t * tau**2 + 1 - alpha_bar_t  # (B, 1, 1)
    x = x_t.clone().requires_grad_()
    squared = (x[:, None, :] - alpha_bar_t.sqrt() * means).square().sum(-1, keepdim=True)  # (B, K, 1)
    log_p = torch.logsumexp(-squared / (2 * v_t), dim=1) - torch.log(2 * math.pi * v_t[:, 0])  # (B, 1), up to log K
    (score,) = torch.autograd.grad(log_p.sum(), x)
    expected = -(1 - alpha_bar_t[:, 0]).sqrt() * score
    torch.testing.assert_close(model(x_t, ts), expected, rtol=1e-8, atol=1e-8)


def test_the_mixture_is_the_swiss_roll_of_load_dataset(schedule):
    model = swiss_roll_eps_model(schedule)
    means, tau = model.means, model.noise_std
    assert means.shape == (3000, 2) and means.dtype == torch.float64
    # the exact moments of the mixture: centred, standard deviation DATA_STD (RMS over the coordinates)
    assert means.mean(0).abs().max() < 1e-6
    assert abs(math.sqrt(means.square().mean() + tau**2) - data.DATA_STD) < 1e-6
    # its samples against the generator's: features up to the third moment, and waves that see the arms
    n, generator = 400_000, torch.Generator().manual_seed(4)
    component = torch.randint(0, len(means), (n,), generator=generator)
    mixture = means[component] + tau * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    generated = load_dataset("swiss_roll", "train", n=n, generator=torch.Generator().manual_seed(5)).double()

    def features(points: torch.Tensor) -> torch.Tensor:
        x, y = points.unbind(1)
        waves = [torch.cos(7 * x), torch.sin(7 * y), torch.cos(5 * (x + y)), torch.cos(10 * (x * x + y * y))]
        return torch.stack([x, y, x * x, x * y, y * y, x**3, x * x * y, x * y * y, y**3, *waves], dim=1)  # (n, 13)

    a, b = features(mixture), features(generated)
    standard_error = ((a.var(0) + b.var(0)) / n).sqrt()
    assert ((a.mean(0) - b.mean(0)).abs() < 4 * standard_error).all(), (a.mean(0) - b.mean(0)) / standard_error


# ------------------------------------------------------------------------------------------- enough components


def test_300_components_are_enough(schedule):
    """What the docstring promises and notebook 06 relies on: 300 components against 3,000."""
    coarse, fine = swiss_roll_eps_model(schedule, 300), swiss_roll_eps_model(schedule, 3000)
    ts = torch.arange(1, 1001, 2)  # (500,): every other timestep, one point each
    x_t = forward_points(schedule, ts, seed=6)
    assert (coarse(x_t, ts) - fine(x_t, ts)).abs().max() < 0.03
    same_noise = dict(steps=50, generator=torch.Generator().manual_seed(7))
    coarse_samples = ddim_sample(coarse, schedule, (1000, 2), **same_noise)
    same_noise = dict(steps=50, generator=torch.Generator().manual_seed(7))
    assert (coarse_samples - ddim_sample(fine, schedule, (1000, 2), **same_noise)).abs().max() < 0.005


# ------------------------------------------------------------------------------------------- the model contract


def test_swiss_roll_eps_model_follows_the_model_contract(schedule):
    model = swiss_roll_eps_model(schedule)  # 3,000 components: 349 points per chunk
    assert "swiss_roll_eps_model(components=3000)" in repr(model)
    ts = torch.randint(1, 1001, (1000,), generator=torch.Generator().manual_seed(8))
    x_t = forward_points(schedule, ts, seed=9)
    eps = model(x_t, ts)
    assert eps.shape == (1000, 2) and eps.dtype == torch.float64 and bool(torch.isfinite(eps).all())
    # a different t per point: each row is what that point's own call gives, whatever chunk it falls in
    for i in (0, 348, 349, 700, 999):
        torch.testing.assert_close(eps[i : i + 1], model(x_t[i : i + 1], int(ts[i])), rtol=1e-12, atol=1e-12)
    # float32 in, float32 out (computed in float64 inside)
    eps32 = model(x_t.float(), ts)
    assert eps32.dtype == torch.float32
    torch.testing.assert_close(eps32, model(x_t.float().double(), ts).float())
    # the samplers accept it (their checks of shape, device and finiteness pass)
    assert ddpm_sample(model, make_schedule("cosine", 20), (50, 2), generator=torch.Generator()).shape == (50, 2)
    assert ddim_sample(model, schedule, (50, 2), steps=5, generator=torch.Generator()).shape == (50, 2)


def test_zero_terminal_snr_gives_pure_noise_back():
    """At alpha_bar_T = 0, x_T holds no data: E[eps | x_T] = x_T."""
    schedule = make_schedule("cosine", 100, zero_terminal_snr=True)
    x_t = torch.randn(10, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    torch.testing.assert_close(swiss_roll_eps_model(schedule, 300)(x_t, 100), x_t)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"schedule": "cosine"}, TypeError, "schedule must be a NoiseSchedule"),
        ({"components": 1}, ValueError, r"components must be an int in \[2, inf\)"),
        ({"components": 300.0}, TypeError, "components must be an int"),
        ({"components": True}, TypeError, "components must be an int"),
    ],
)
def test_swiss_roll_eps_model_rejects_bad_arguments(schedule, kwargs, error, message):
    with pytest.raises(error, match=message):
        swiss_roll_eps_model(**{"schedule": schedule, **kwargs})


@pytest.mark.parametrize(
    ("x_t", "t", "error", "message"),
    [
        (torch.zeros(4, 2, dtype=torch.int64), 5, TypeError, "x_t must be a floating-point tensor"),
        ([[0.0, 0.0]], 5, TypeError, "x_t must be a torch.Tensor"),
        (torch.zeros(4, 3), 5, ValueError, r"x_t must be a batch of 2-D points, shape \(B, 2\), got \(4, 3\)"),
        (torch.zeros(4), 5, ValueError, r"shape \(B, 2\), got \(4,\)"),
        (torch.tensor([[0.0, float("nan")]]), 5, ValueError, "x_t must be finite"),
        (torch.zeros(4, 2), torch.full((4,), 5.0), TypeError, "t must be an int or an integer tensor"),
        (torch.zeros(4, 2), torch.full((3,), 5), ValueError, r"t must have shape \(B,\) = \(4,\)"),
        (torch.zeros(4, 2), torch.tensor([1, 2, 0, 3]), ValueError, r"t must be in \[1, T\] = \[1, 1000\]"),
        (torch.zeros(4, 2), 1001, ValueError, r"t must be an int in \[1, 1000\]"),
        (torch.zeros(4, 2), 2.5, TypeError, "t must be an int"),
    ],
)
def test_swiss_roll_eps_model_rejects_bad_input(schedule, x_t, t, error, message):
    with pytest.raises(error, match=message):
        swiss_roll_eps_model(schedule, components=10)(x_t, t)
