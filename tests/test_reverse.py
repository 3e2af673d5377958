"""Tests of diffusion_helpers.reverse: the posterior (Eq. 6-7), x_0 <-> eps, the reverse mean (Eq. 11), one step.

References, independent of the package's code:
- Eq. 6-7 written out in plain Python floats, with alpha_bar recomputed from the betas (``math.prod``);
- the forward chain itself: for a fixed x_0, pairs (x_{t-1}, x_t) drawn with q_sample then q_step have,
  given x_t, a conditional mean linear in x_t and a residual variance that must be the posterior's. An
  ordinary least-squares regression of x_{t-1} on x_t measures both, with standard errors;
- Eq. 4 itself: x_t built from (x_0, eps) by q_sample must give back x_0 and eps.
"""

from __future__ import annotations

import math

import pytest
import torch

from diffusion_helpers import (
    SCHEDULE_NAMES,
    make_schedule,
    p_mean_from_eps,
    p_sample_step,
    predict_eps,
    predict_x0,
    q_posterior_mean_variance,
    q_sample,
    q_step,
)

T = 60


def schedules():
    """Every named schedule at T = 60 (defaults rescaled so x_T is noise), plus a zero-terminal-SNR one."""
    out = {name: make_schedule(name, T) for name in SCHEDULE_NAMES if name == "cosine"}
    out |= {name: make_schedule(name, T, beta_1=1e-3, beta_T=0.2) for name in SCHEDULE_NAMES if name != "cosine"}
    out["linear-zero-terminal-snr"] = make_schedule("linear", T, beta_1=1e-3, beta_T=0.2, zero_terminal_snr=True)
    return out


SCHEDULES = schedules()


def ref_alpha_bar(schedule, t: int) -> float:
    """$\\bar\\alpha_t = \\prod_{s=1}^t (1 - \\beta_s)$ from the betas alone, in Python floats; 1 for t = 0."""
    return math.prod(1.0 - b for b in schedule.betas.tolist()[:t])


def ref_posterior(schedule, t: int) -> tuple[float, float, float]:
    """Eq. 7 in Python floats: (coefficient of x_0, coefficient of x_t, beta_tilde_t)."""
    beta_t = schedule.betas.tolist()[t - 1]
    alpha_bar_t, alpha_bar_prev = ref_alpha_bar(schedule, t), ref_alpha_bar(schedule, t - 1)
    return (
        math.sqrt(alpha_bar_prev) * beta_t / (1 - alpha_bar_t),
        math.sqrt(1 - beta_t) * (1 - alpha_bar_prev) / (1 - alpha_bar_t),
        (1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t,
    )


def randn(*shape: int, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ------------------------------------------------------------------------------------ the posterior, Eq. 6-7


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_posterior_matches_eq_7_at_every_t_per_sample(name):
    schedule = SCHEDULES[name]
    t = torch.arange(1, T + 1)  # every timestep, one per sample: t = 1 included
    x0, x_t = randn(T, 3, 2, seed=1), randn(T, 3, 2, seed=2)
    mean, variance = q_posterior_mean_variance(x0, x_t, t, schedule)
    assert mean.shape == x0.shape and variance.shape == (T, 1, 1)
    for i, t_i in enumerate(t.tolist()):
        a, b, beta_tilde = ref_posterior(schedule, t_i)
        torch.testing.assert_close(mean[i], a * x0[i] + b * x_t[i], rtol=1e-12, atol=1e-12)
        assert math.isclose(float(variance[i]), beta_tilde, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("t", [1, 2, 30, T - 1, T])
def test_posterior_matches_eq_7_for_an_int_t(name, t):
    schedule = SCHEDULES[name]
    x0, x_t = randn(4, 3, seed=3), randn(4, 3, seed=4)
    mean, variance = q_posterior_mean_variance(x0, x_t, t, schedule)
    a, b, beta_tilde = ref_posterior(schedule, t)
    assert variance.shape == () and variance.dtype == torch.float64
    torch.testing.assert_close(mean, a * x0 + b * x_t, rtol=1e-12, atol=1e-12)
    assert math.isclose(float(variance), beta_tilde, rel_tol=1e-12, abs_tol=1e-15)


def test_posterior_at_t_1_is_the_point_x0():
    # alpha_bar_0 = 1: the mean is x_0 whatever x_1 is, and beta_tilde_1 = 0.
    schedule = SCHEDULES["linear"]
    x0, x1 = randn(5, 2, seed=5), randn(5, 2, seed=6)
    mean, variance = q_posterior_mean_variance(x0, x1, 1, schedule)
    torch.testing.assert_close(mean, x0, rtol=1e-12, atol=1e-12)
    assert float(variance) == 0.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_posterior_keeps_dtype_and_float32_is_accurate(dtype):
    # Coefficients come from float64: at small t, 1 - alpha_bar_t in float32 would lose three digits.
    schedule = make_schedule("linear", 1000)
    t = torch.tensor([1, 2, 3, 10, 500, 1000])
    x0, x_t = randn(6, 4, dtype=dtype, seed=7), randn(6, 4, dtype=dtype, seed=8)
    mean, variance = q_posterior_mean_variance(x0, x_t, t, schedule)
    assert mean.dtype == variance.dtype == dtype
    ref_mean, ref_variance = q_posterior_mean_variance(x0.double(), x_t.double(), t, schedule)
    torch.testing.assert_close(mean.double(), ref_mean, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(variance.double(), ref_variance, rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("t", [2, 5, 20, 45, T])
def test_posterior_matches_the_forward_chain_by_monte_carlo(t):
    """Regress x_{t-1} on x_t over pairs drawn from the chain for one fixed x_0.

    Given x_0, (x_{t-1}, x_t) is jointly Gaussian, so E[x_{t-1} | x_t] = intercept + slope * x_t exactly and
    the residual variance is Var[x_{t-1} | x_t]. Eq. 7 predicts slope = sqrt(alpha_t)(1 - alpha_bar_{t-1}) /
    (1 - alpha_bar_t), intercept = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0, variance beta_tilde_t.
    Tolerance: 5 standard errors of the OLS estimates (a sample variance of n normal residuals has standard
    error sigma^2 sqrt(2 / (n - 2))). Seeded, so the verdict does not change from run to run.
    """
    schedule = SCHEDULES["linear"]
    n, x0_value = 400_000, 0.7
    generator = torch.Generator().manual_seed(t)
    x0 = torch.full((n,), x0_value, dtype=torch.float64)
    x_prev = q_sample(x0, t - 1, schedule, generator=generator)  # x_{t-1} ~ q(x_{t-1} | x_0), Eq. 4
    x_t = q_step(x_prev, t, schedule, generator=generator)  # x_t ~ q(x_t | x_{t-1}), Eq. 2

    x_centred = x_t - x_t.mean()
    slope = float((x_centred * (x_prev - x_prev.mean())).sum() / (x_centred**2).sum())
    intercept = float(x_prev.mean() - slope * x_t.mean())
    residual_variance = float(((x_prev - intercept - slope * x_t) ** 2).sum() / (n - 2))
    se_slope = math.sqrt(residual_variance / float((x_centred**2).sum()))
    se_intercept = math.sqrt(residual_variance * (1 / n + float(x_t.mean()) ** 2 / float((x_centred**2).sum())))
    se_variance = residual_variance * math.sqrt(2 / (n - 2))

    # the package's posterior, read off as a linear function of x_t: its value at x_t = 0 and its slope
    probe = torch.tensor([0.0, 1.0], dtype=torch.float64)
    mean, variance = q_posterior_mean_variance(torch.full((2,), x0_value, dtype=torch.float64), probe, t, schedule)
    predicted_intercept, predicted_slope = float(mean[0]), float(mean[1] - mean[0])
    assert abs(slope - predicted_slope) < 5 * se_slope
    assert abs(intercept - predicted_intercept) < 5 * se_intercept
    assert abs(residual_variance - float(variance)) < 5 * se_variance


def test_posterior_at_t_1_matches_the_chain_exactly():
    # x_0 is fixed, so x_{t-1} at t = 1 is x_0 itself: no spread at all, as beta_tilde_1 = 0 says.
    schedule = SCHEDULES["linear"]
    x0 = torch.full((1000,), -0.3, dtype=torch.float64)
    x1 = q_step(x0, 1, schedule, generator=torch.Generator().manual_seed(0))
    mean, variance = q_posterior_mean_variance(x0, x1, 1, schedule)
    torch.testing.assert_close(mean, x0, rtol=1e-12, atol=1e-12)  # beta_1 / (1 - alpha_1): equal up to rounding
    assert float(variance) == 0.0


# ------------------------------------------------------------------ the parameterisations: x_0, eps and mu


@pytest.mark.parametrize("name", [n for n in SCHEDULES if n != "linear-zero-terminal-snr"])
def test_predict_x0_and_predict_eps_invert_eq_4(name):
    schedule = SCHEDULES[name]
    t = torch.arange(1, T + 1)
    x0, eps = randn(T, 2, 3, seed=9), randn(T, 2, 3, seed=10)
    x_t = q_sample(x0, t, schedule, noise=eps)  # Eq. 4
    torch.testing.assert_close(predict_x0(x_t, t, eps, schedule), x0, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(predict_eps(x_t, t, x0, schedule), eps, rtol=1e-9, atol=1e-9)
    for t_int in (1, T):
        x_t = q_sample(x0, t_int, schedule, noise=eps)
        torch.testing.assert_close(predict_x0(x_t, t_int, eps, schedule), x0, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(predict_eps(x_t, t_int, x0, schedule), eps, rtol=1e-9, atol=1e-9)


def test_predict_x0_and_predict_eps_round_trip_in_float32():
    schedule = make_schedule("cosine", 1000)
    t = torch.tensor([1, 10, 300, 700, 990])
    x_t, eps = randn(5, 3, dtype=torch.float32, seed=11), randn(5, 3, dtype=torch.float32, seed=12)
    x0 = predict_x0(x_t, t, eps, schedule)
    assert x0.dtype == torch.float32
    # eps -> x0 -> eps divides by sqrt(alpha_bar_t) and multiplies back: float32 keeps ~5 digits of it
    torch.testing.assert_close(predict_eps(x_t, t, x0, schedule), eps, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", [n for n in SCHEDULES if n != "linear-zero-terminal-snr"])
def test_p_mean_from_eps_is_the_posterior_mean_at_predict_x0(name):
    # The identity between the parameterisations: Eq. 11 is Eq. 7 with x_0 replaced by predict_x0.
    schedule = SCHEDULES[name]
    t = torch.arange(1, T + 1)
    x_t, eps = randn(T, 4, seed=13), randn(T, 4, seed=14)
    mean_from_eps = p_mean_from_eps(x_t, t, eps, schedule)
    posterior_mean, _ = q_posterior_mean_variance(predict_x0(x_t, t, eps, schedule), x_t, t, schedule)
    torch.testing.assert_close(mean_from_eps, posterior_mean, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("t", [1, 2, 37, T])
def test_p_mean_from_eps_matches_eq_11(t):
    schedule = SCHEDULES["cosine"]
    x_t, eps = randn(3, 2, seed=15), randn(3, 2, seed=16)
    beta_t = schedule.betas.tolist()[t - 1]
    expected = (x_t - beta_t / math.sqrt(1 - ref_alpha_bar(schedule, t)) * eps) / math.sqrt(1 - beta_t)
    torch.testing.assert_close(p_mean_from_eps(x_t, t, eps, schedule), expected, rtol=1e-12, atol=1e-12)


def test_zero_terminal_snr_refuses_what_is_undefined_at_T():
    schedule = SCHEDULES["linear-zero-terminal-snr"]
    x_t, eps = randn(2, 3, seed=17), randn(2, 3, seed=18)
    with pytest.raises(ValueError, match=r"alpha_bar_t is 0 at t = 60"):
        predict_x0(x_t, T, eps, schedule)
    with pytest.raises(ValueError, match=r"alpha_t is 0 at t = 60"):
        p_mean_from_eps(x_t, torch.tensor([5, T]), eps, schedule)
    predict_x0(x_t, T - 1, eps, schedule)  # one step earlier is fine
    mean, variance = q_posterior_mean_variance(eps, x_t, T, schedule)  # the posterior is defined at T
    assert torch.isfinite(mean).all() and math.isclose(float(variance), 1 - ref_alpha_bar(schedule, T - 1))


# ------------------------------------------------------------------------------- one reverse step, Alg. 2


@pytest.mark.parametrize("variance", ["beta", "beta_tilde"])
def test_p_sample_step_is_mean_plus_sigma_z(variance):
    schedule = SCHEDULES["linear"]
    t = torch.tensor([1, 2, 30, T, 1])
    x_t, eps, z = randn(5, 3, seed=19), randn(5, 3, seed=20), randn(5, 3, seed=21)
    out = p_sample_step(x_t, t, eps, schedule, variance=variance, noise=z)
    for i, t_i in enumerate(t.tolist()):
        beta_t = schedule.betas.tolist()[t_i - 1]
        sigma_squared = beta_t if variance == "beta" else ref_posterior(schedule, t_i)[2]
        sigma = 0.0 if t_i == 1 else math.sqrt(sigma_squared)  # no noise on the last step
        mean = (x_t[i] - beta_t / math.sqrt(1 - ref_alpha_bar(schedule, t_i)) * eps[i]) / math.sqrt(1 - beta_t)
        torch.testing.assert_close(out[i], mean + sigma * z[i], rtol=1e-12, atol=1e-12)


def test_p_sample_step_adds_no_noise_at_t_1_and_draws_from_the_generator():
    schedule = SCHEDULES["linear"]
    x1, eps = randn(4, 2, seed=22), randn(4, 2, seed=23)
    assert torch.equal(
        p_sample_step(x1, 1, eps, schedule, noise=randn(4, 2, seed=24)), p_mean_from_eps(x1, 1, eps, schedule)
    )
    a = p_sample_step(x1, 9, eps, schedule, generator=torch.Generator().manual_seed(3))
    b = p_sample_step(x1, 9, eps, schedule, generator=torch.Generator().manual_seed(3))
    c = p_sample_step(x1, 9, eps, schedule, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    z = torch.randn((4, 2), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(a, p_sample_step(x1, 9, eps, schedule, noise=z), rtol=0, atol=0)


def test_p_sample_step_keeps_float32():
    schedule = SCHEDULES["cosine"]
    x_t, eps = randn(4, 2, dtype=torch.float32, seed=25), randn(4, 2, dtype=torch.float32, seed=26)
    out = p_sample_step(x_t, torch.tensor([1, 2, 3, 4]), eps, schedule, variance="beta_tilde")
    assert out.dtype == torch.float32 and out.shape == x_t.shape


# ------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s, x: q_posterior_mean_variance(x, x, 0, s), ValueError, r"t must be an int in \[1, 60\], got 0"),
        (lambda s, x: q_posterior_mean_variance(x, x, T + 1, s), ValueError, r"\[1, 60\], got 61"),
        (lambda s, x: q_posterior_mean_variance(x, x, torch.tensor([1, 0, 2]), s), ValueError, r"every t .* got 0"),
        (lambda s, x: q_posterior_mean_variance(x, x, torch.tensor([1, 2]), s), ValueError, r"one timestep per sample"),
        (lambda s, x: q_posterior_mean_variance(x, x, 2.0, s), TypeError, r"t must be an int"),
        (lambda s, x: q_posterior_mean_variance(x, x, torch.tensor([1.0, 2, 3]), s), TypeError, r"integer tensor"),
        (lambda s, x: q_posterior_mean_variance(x[:2], x, 3, s), ValueError, r"x0 must have the shape"),
        (lambda s, x: q_posterior_mean_variance(x.float(), x, 3, s), TypeError, r"x0 must have the data's dtype"),
        (lambda s, x: q_posterior_mean_variance(x.long(), x, 3, s), TypeError, r"x0 must be a floating-point"),
        (lambda s, x: q_posterior_mean_variance(x, [1.0], 3, s), TypeError, r"x_t must be a torch.Tensor"),
        (lambda s, x: q_posterior_mean_variance(x, x, 3, "linear"), TypeError, r"schedule must be a NoiseSchedule"),
        (lambda s, x: predict_x0(x, 3, x[:, :1], s), ValueError, r"eps must have the shape"),
        (lambda s, x: predict_x0(x, 0, x, s), ValueError, r"t must be an int in \[1, 60\]"),
        (lambda s, x: predict_eps(x, 3, None, s), TypeError, r"x0 must be a torch.Tensor"),
        (lambda s, x: p_mean_from_eps(x, T + 1, x, s), ValueError, r"\[1, 60\]"),
        (lambda s, x: p_mean_from_eps(x, 3, x.float(), s), TypeError, r"eps must have the data's dtype"),
        (lambda s, x: p_sample_step(x, 3, x, s, variance="sigma"), ValueError, r"variance must be one of 'beta'"),
        (lambda s, x: p_sample_step(x, 3, x, s, noise=x[:1]), ValueError, r"noise must have the shape"),
        (lambda s, x: p_sample_step(x, 3, x, s, generator=0), TypeError, r"generator must be a torch.Generator"),
        (lambda s, x: p_sample_step(x, 0, x, s), ValueError, r"t must be an int in \[1, 60\]"),
    ],
)
def test_bad_input_is_refused_with_a_message_that_names_it(call, error, message):
    with pytest.raises(error, match=message):
        call(SCHEDULES["linear"], randn(3, 2, seed=27))
