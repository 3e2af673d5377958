"""Tests of diffusion_helpers.sampling: the DDPM sampler (Algorithm 2) and the exact noise predictor of Gaussian data.

The sampler is tested with no training at all. For data x_0 ~ N(mu, sigma^2), gaussian_eps_model is the
exact E[eps | x_t]; it is checked against a Monte-Carlo regression of eps on x_t. With it every reverse step
is linear-Gaussian, x_{t-1} = A_t x_t + b_t + sigma_t z, so the sampler's output distribution is known
exactly: its mean and variance follow the recursion m <- A m + b, v <- A^2 v + sigma_t^2 from (0, 1) at T.
That recursion (written here in Python floats) is the reference for the samples' moments, and it also
measures how far from N(mu, sigma^2) a 1000-step sampler is (its discretisation error, which the
variance choice beta / beta_tilde moves in opposite directions).
"""

from __future__ import annotations

import math

import pytest
import torch

from diffusion_helpers import (
    SCHEDULE_NAMES,
    ddpm_sample,
    gaussian_eps_model,
    make_schedule,
    p_sample_step,
    q_sample,
)


def exact_sampler_moments(schedule, mu: float, sigma: float, variance: str) -> tuple[float, float]:
    """Mean and standard deviation of Algorithm 2's output when driven by the exact eps of N(mu, sigma^2)."""
    betas = schedule.betas.tolist()
    alpha_bars = [1.0]
    for beta in betas:
        alpha_bars.append(alpha_bars[-1] * (1 - beta))
    m, v = 0.0, 1.0  # x_T ~ N(0, 1)
    for t in range(len(betas), 0, -1):
        beta, alpha_bar, alpha_bar_prev = betas[t - 1], alpha_bars[t], alpha_bars[t - 1]
        # eps*(x) = g (x - sqrt(alpha_bar) mu), g = sqrt(1 - alpha_bar) / (alpha_bar sigma^2 + 1 - alpha_bar)
        g = math.sqrt(1 - alpha_bar) / (alpha_bar * sigma**2 + 1 - alpha_bar)
        c = beta / math.sqrt(1 - alpha_bar)  # Eq. 11: x_{t-1} = (x - c eps) / sqrt(alpha_t) + sigma_t z
        a = (1 - c * g) / math.sqrt(1 - beta)
        b = c * g * math.sqrt(alpha_bar) * mu / math.sqrt(1 - beta)
        sigma_squared = beta if variance == "beta" else (1 - alpha_bar_prev) / (1 - alpha_bar) * beta
        m, v = a * m + b, a * a * v + (sigma_squared if t > 1 else 0.0)
    return m, math.sqrt(v)


# ------------------------------------------------------------------------------------- gaussian_eps_model


def test_gaussian_eps_model_is_the_conditional_mean_of_eps():
    """Regress eps on x_t for x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps, x_0 ~ N(mu, sigma^2).

    The regression line is E[eps | x_t] (jointly Gaussian); gaussian_eps_model is linear in x_t, so its
    value at two points gives its line. Tolerance: 5 standard errors of the OLS intercept and slope.
    """
    schedule = make_schedule("linear", 1000)
    mu, sigma, n = 0.8, 0.4, 400_000
    model = gaussian_eps_model(schedule, mu, sigma)
    generator = torch.Generator().manual_seed(0)
    for t in (1, 50, 300, 700, 1000):
        x0 = mu + sigma * torch.randn(n, generator=generator, dtype=torch.float64)
        eps = torch.randn(n, generator=generator, dtype=torch.float64)
        x_t = q_sample(x0, t, schedule, noise=eps)
        x_centred = x_t - x_t.mean()
        slope = float((x_centred * eps).sum() / (x_centred**2).sum())
        intercept = float(eps.mean() - slope * x_t.mean())
        residual = float(((eps - intercept - slope * x_t) ** 2).sum() / (n - 2))
        se_slope = math.sqrt(residual / float((x_centred**2).sum()))
        se_intercept = math.sqrt(residual * (1 / n + float(x_t.mean()) ** 2 / float((x_centred**2).sum())))
        line = model(torch.tensor([0.0, 1.0], dtype=torch.float64), torch.tensor([t, t]))
        assert abs(float(line[0]) - intercept) < 5 * se_intercept, t
        assert abs(float(line[1] - line[0]) - slope) < 5 * se_slope, t


def test_gaussian_eps_model_follows_the_model_contract():
    schedule = make_schedule("cosine", 100)
    model = gaussian_eps_model(schedule, torch.tensor([0.5, -1.0]), torch.tensor([0.2, 1.0]))
    x = torch.randn(7, 2)
    out = model(x, torch.full((7,), 40, dtype=torch.int64))
    assert out.shape == x.shape and out.dtype == torch.float32
    # per dimension: dimension 1 is N(-1, 1), whose eps* at t is sqrt(1 - alpha_bar)(x - sqrt(alpha_bar) mu)
    alpha_bar = schedule.alpha_bar(40)
    torch.testing.assert_close(out[:, 1], math.sqrt(1 - alpha_bar) * (x[:, 1] + math.sqrt(alpha_bar)))
    assert "gaussian_eps_model" in repr(model)
    # moments of different shapes broadcast: mean per dimension, one std for both
    mixed = gaussian_eps_model(schedule, torch.tensor([0.5, -1.0]), 1.0)(x, torch.full((7,), 40))
    torch.testing.assert_close(mixed[:, 1], out[:, 1])
    with pytest.raises(ValueError, match=r"mean and std of shape \(2,\) must broadcast against one sample"):
        model(torch.randn(7, 3), torch.full((7,), 40))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"std": -0.1}, ValueError, r"std must be in \[0, inf\)"),
        ({"std": torch.tensor([0.5, -1.0])}, ValueError, r"std must be >= 0"),
        ({"mean": float("nan")}, ValueError, r"mean must be a finite number"),
        ({"mean": torch.tensor([0.0, float("inf")])}, ValueError, r"mean must be finite"),
        ({"mean": "zero"}, TypeError, r"mean must be a real number"),
        ({"std": torch.tensor([True])}, TypeError, r"std must be a real number or a real tensor"),
    ],
)
def test_gaussian_eps_model_refuses_bad_moments(kwargs, error, message):
    with pytest.raises(error, match=message):
        gaussian_eps_model(make_schedule("linear", 10), **kwargs)
    with pytest.raises(TypeError, match="schedule must be a NoiseSchedule"):
        gaussian_eps_model("linear")


# ---------------------------------------------------------------------- ddpm_sample reproduces the Gaussian


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("variance", ["beta", "beta_tilde"])
def test_ddpm_sample_with_the_exact_eps_reproduces_a_2d_gaussian(name, variance):
    """Two dimensions with different (mu, sigma), n = 20,000 samples, T = 1000.

    1. The sample moments match the exact moments of the sampler's output within 5 standard errors
       (SE of a mean sigma / sqrt(n), of a standard deviation sigma / sqrt(2 (n - 1))).
    2. Those exact moments are N(mu, sigma^2) up to the sampler's discretisation error: the mean within
       0.005 and the standard deviation within 4 % (measured here: at most 0.0033 and 3.7 %, for sigma = 0.1
       with beta_tilde; beta overshoots, beta_tilde undershoots).
    """
    schedule = make_schedule(name, 1000)
    mu, sigma, n = torch.tensor([0.5, -1.0]), torch.tensor([0.3, 0.1]), 20_000
    model = gaussian_eps_model(schedule, mu, sigma)
    samples = ddpm_sample(model, schedule, (n, 2), variance=variance, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (n, 2) and samples.dtype == torch.float32
    for d in range(2):
        exact_mean, exact_std = exact_sampler_moments(schedule, float(mu[d]), float(sigma[d]), variance)
        measured_mean, measured_std = float(samples[:, d].mean()), float(samples[:, d].std())
        assert abs(measured_mean - exact_mean) < 5 * exact_std / math.sqrt(n), (d, measured_mean, exact_mean)
        assert abs(measured_std - exact_std) < 5 * exact_std / math.sqrt(2 * (n - 1)), (d, measured_std, exact_std)
        assert abs(exact_mean - float(mu[d])) < 0.005
        assert abs(exact_std / float(sigma[d]) - 1) < 0.04


@pytest.mark.parametrize("variance", ["beta", "beta_tilde"])
def test_ddpm_sample_reproduces_a_1d_gaussian_and_the_variance_choice_shows(variance):
    # N(2, 0.1^2) in 1-D, shape (n,): beta_t overshoots sigma by ~0.8 %, beta_tilde undershoots by ~3.7 %.
    schedule = make_schedule("linear", 1000)
    n = 50_000
    samples = ddpm_sample(
        gaussian_eps_model(schedule, 2.0, 0.1),
        schedule,
        (n,),
        variance=variance,
        generator=torch.Generator().manual_seed(2),
        dtype=torch.float64,
    )
    assert samples.shape == (n,) and samples.dtype == torch.float64
    exact_mean, exact_std = exact_sampler_moments(schedule, 2.0, 0.1, variance)
    assert abs(float(samples.mean()) - exact_mean) < 5 * exact_std / math.sqrt(n)
    assert abs(float(samples.std()) - exact_std) < 5 * exact_std / math.sqrt(2 * (n - 1))
    assert (exact_std > 0.1) if variance == "beta" else (exact_std < 0.1)


def test_ddpm_sample_is_a_loop_of_p_sample_step():
    """The same random numbers in the documented order (x_T, then z for t = T..2) give the same samples."""
    schedule = make_schedule("cosine", 50)
    model = gaussian_eps_model(schedule, 0.3, 0.5)
    for variance in ("beta", "beta_tilde"):
        samples, trajectory = ddpm_sample(
            model,
            schedule,
            (64, 3),
            variance=variance,
            generator=torch.Generator().manual_seed(3),
            dtype=torch.float64,
            return_trajectory=True,
        )
        generator = torch.Generator().manual_seed(3)
        x = torch.randn((64, 3), generator=generator, dtype=torch.float64)
        assert torch.equal(trajectory[50], x)
        for t in range(50, 0, -1):
            z = torch.randn((64, 3), generator=generator, dtype=torch.float64) if t > 1 else torch.zeros(64, 3)
            x = p_sample_step(x, t, model(x, torch.full((64,), t)), schedule, variance=variance, noise=z.double())
            torch.testing.assert_close(trajectory[t - 1], x, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(samples, x, rtol=1e-12, atol=1e-12)
        assert trajectory.shape == (51, 64, 3) and torch.equal(trajectory[0], samples)


def test_ddpm_sample_is_deterministic_for_a_seed():
    schedule = make_schedule("linear", 100, beta_T=0.2)
    model = gaussian_eps_model(schedule, 0.0, 0.5)
    a = ddpm_sample(model, schedule, (10, 2), generator=torch.Generator().manual_seed(5))
    b = ddpm_sample(model, schedule, (10, 2), generator=torch.Generator().manual_seed(5))
    c = ddpm_sample(model, schedule, (10, 2), generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_ddpm_sample_calls_the_model_as_the_contract_says():
    schedule = make_schedule("linear", 20, beta_T=0.3)
    calls = []

    def model(x_t, t):
        calls.append(
            (tuple(x_t.shape), t.dtype, tuple(t.shape), t.device, sorted(set(t.tolist())), torch.is_grad_enabled())
        )
        return torch.zeros_like(x_t)

    ddpm_sample(model, schedule, (5, 1, 2, 2), generator=torch.Generator().manual_seed(0))
    assert [c[4] for c in calls] == [[t] for t in range(20, 0, -1)]  # t = T, ..., 1, the same for every sample
    assert all(c[:4] == ((5, 1, 2, 2), torch.int64, (5,), torch.device("cpu")) for c in calls)
    assert not any(c[5] for c in calls)  # under torch.no_grad()


def test_ddpm_sample_runs_a_module_without_building_a_graph_and_shows_progress(capsys):
    schedule = make_schedule("linear", 10, beta_T=0.3)
    network = torch.nn.Linear(2, 2)
    samples = ddpm_sample(lambda x, t: network(x), schedule, (4, 2), progress=True)
    assert not samples.requires_grad
    assert "DDPM sampling" in capsys.readouterr().err


def test_ddpm_sample_casts_a_float64_prediction_to_the_samples_dtype():
    schedule = make_schedule("linear", 10, beta_T=0.3)
    samples = ddpm_sample(lambda x, t: torch.zeros(x.shape, dtype=torch.float64), schedule, (4, 2))
    assert samples.dtype == torch.float32


# ------------------------------------------------------------------------------------------- bad input


def _returns(value):
    return lambda x_t, t: value(x_t, t)


@pytest.mark.parametrize(
    ("model", "kwargs", "error", "message"),
    [
        ("not a model", {}, TypeError, r"model must be callable"),
        (_returns(lambda x, t: x[:, :1]), {}, ValueError, r"model must return a tensor of x_t's shape \(8, 2\), got"),
        (_returns(lambda x, t: x.tolist()), {}, ValueError, r"model must return a tensor .* got list at t = 10"),
        (_returns(lambda x, t: torch.where((t < 4).view(-1, 1), float("nan"), x)), {}, ValueError, r"NaN .* t = 3$"),
        (_returns(lambda x, t: torch.full_like(x, float("inf"))), {}, ValueError, r"non-finite .* t = 10"),
        (_returns(lambda x, t: x), {"variance": "fixed"}, ValueError, r"variance must be one of 'beta', 'beta_tilde'"),
        (_returns(lambda x, t: x), {"shape": ()}, ValueError, r"shape must have a batch dimension"),
        (_returns(lambda x, t: x), {"shape": (0, 2)}, ValueError, r"shape\[0\] must be an int in \[1, inf\)"),
        (_returns(lambda x, t: x), {"shape": (8, 2.0)}, TypeError, r"shape\[1\] must be an int"),
        (_returns(lambda x, t: x), {"shape": 8}, TypeError, r"shape must be a tuple of ints"),
        (_returns(lambda x, t: x), {"shape": "8, 2"}, TypeError, r"shape must be a tuple of ints"),
        (_returns(lambda x, t: x), {"dtype": torch.int64}, TypeError, r"dtype must be a floating torch.dtype"),
        (_returns(lambda x, t: x), {"generator": 0}, TypeError, r"generator must be a torch.Generator"),
        (_returns(lambda x, t: x), {"device": "gpu0"}, ValueError, r"device must be a torch.device or a name"),
        (_returns(lambda x, t: x), {"schedule": "linear"}, TypeError, r"schedule must be a NoiseSchedule"),
        (
            _returns(lambda x, t: x),
            {"schedule": make_schedule("linear", 10, beta_T=0.3, zero_terminal_snr=True)},
            ValueError,
            r"alpha_T = 0 \(zero terminal SNR\)",
        ),
    ],
)
def test_ddpm_sample_refuses_bad_input_with_a_message_that_names_it(model, kwargs, error, message):
    arguments = {"schedule": make_schedule("linear", 10, beta_T=0.3), "shape": (8, 2)} | kwargs
    with pytest.raises(error, match=message):
        ddpm_sample(model, arguments.pop("schedule"), arguments.pop("shape"), **arguments)
