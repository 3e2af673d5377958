"""DDIM (Song et al. 2021): respaced timesteps, the step against DDPM's, the sampler and the inversion.

Independent references: diffusers' spacing formulas written with numpy; Ho et al.'s reverse step
(``p_sample_step`` with sigma^2 = beta_tilde, a different formula) and ``ddpm_sample``; the exact noise predictor
of Gaussian data, whose samples must have the data's moments.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers.ddim import SPACINGS, ddim_invert, ddim_sample, ddim_step, spaced_timesteps

MU, STD = 0.5, 0.3


@pytest.fixture(scope="module")
def schedule():
    return dh.make_schedule("linear", 1000)


@pytest.fixture(scope="module")
def exact(schedule):
    return dh.gaussian_eps_model(schedule, MU, STD)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- spaced_timesteps -------------------------------------------------------------------------------------------


def diffusers_spacing(T: int, S: int, spacing: str) -> list[int]:
    """diffusers' DDIMScheduler.set_timesteps (0-based, steps_offset 0) moved to this package's 1-based t."""
    if spacing == "leading":
        zero_based = np.arange(0, S) * (T // S)
    elif spacing == "trailing":
        zero_based = np.round(np.arange(T, 0, -T / S)).astype(np.int64) - 1
    else:
        zero_based = np.linspace(0, T - 1, S).round().astype(np.int64)
    return sorted(int(t) + 1 for t in zero_based)


@pytest.mark.parametrize("spacing", ["leading", "trailing"])
@pytest.mark.parametrize(("T", "S"), [(1000, 1), (1000, 10), (1000, 50), (1000, 999), (1000, 1000), (7, 3), (100, 30)])
def test_spacing_matches_diffusers(T, S, spacing):
    assert spaced_timesteps(T, S, spacing).tolist() == diffusers_spacing(T, S, spacing)


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize(("T", "S"), [(1000, 1), (1000, 7), (1000, 333), (1000, 1000), (10, 9), (1, 1)])
def test_spacing_properties(T, S, spacing):
    tau = spaced_timesteps(T, S, spacing)
    assert tau.dtype == torch.int64 and tau.shape == (S,)
    assert bool((tau[1:] > tau[:-1]).all()), "increasing and distinct"
    assert 1 <= int(tau[0]) and int(tau[-1]) <= T
    if S == T:
        assert tau.tolist() == list(range(1, T + 1))


def test_spacing_examples():
    assert spaced_timesteps(1000, 10, "trailing").tolist() == list(range(100, 1001, 100))
    assert spaced_timesteps(1000, 10, "leading").tolist() == list(range(1, 902, 100))  # never reaches T
    assert spaced_timesteps(1000, 10, "linspace").tolist()[::9] == [1, 1000]  # both ends
    assert spaced_timesteps(1000, 1, "trailing").tolist() == [1000]


# --- one step ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("t", [2, 10, 500, 1000])
def test_step_with_eta_one_is_ddpm_with_beta_tilde(schedule, t):
    x_t, eps, z = torch.randn(3, 64, 2, generator=seeded(t), dtype=torch.float64)
    ddim = ddim_step(x_t, t, t - 1, eps, schedule, eta=1.0, noise=z)
    ddpm = dh.p_sample_step(x_t, t, eps, schedule, variance="beta_tilde", noise=z)
    torch.testing.assert_close(ddim, ddpm, rtol=1e-10, atol=1e-10)


def test_step_to_zero_returns_the_predicted_x0(schedule):
    x_t, eps = torch.randn(2, 16, 3, generator=seeded(1), dtype=torch.float64)
    torch.testing.assert_close(ddim_step(x_t, 300, 0, eps, schedule), dh.predict_x0(x_t, 300, eps, schedule))


def test_step_keeps_the_marginals_with_the_true_noise(schedule):
    """Given the true x0 and noise, x_t -> x_s (eta = 0) lands on q_sample(x0, s) with the same noise (Song Eq. 7)."""
    x0, eps = torch.randn(2, 32, 2, generator=seeded(2), dtype=torch.float64)
    x_t = dh.q_sample(x0, 700, schedule, noise=eps)
    torch.testing.assert_close(ddim_step(x_t, 700, 200, eps, schedule), dh.q_sample(x0, 200, schedule, noise=eps))
    torch.testing.assert_close(ddim_step(x0, 0, 700, eps, schedule), x_t)  # and upwards from the data


def test_clipping_keeps_x0_in_range(schedule):
    x_t = 3 * torch.randn(64, 1, 8, 8, generator=seeded(3))
    eps = torch.zeros_like(x_t)  # implies x0 = x_t / sqrt(alpha_bar_t): far outside [-1, 1]
    out = ddim_step(x_t, 10, 0, eps, schedule, clip_x0=True)
    assert float(out.abs().max()) <= 1.0
    assert float(ddim_step(x_t, 10, 0, eps, schedule).abs().max()) > 1.0


# --- the sampler ------------------------------------------------------------------------------------------------


def test_all_steps_with_eta_one_reproduce_ddpm(schedule, exact):
    ddpm = dh.ddpm_sample(exact, schedule, (4000, 2), variance="beta_tilde", generator=seeded(4))
    ddim = ddim_sample(exact, schedule, (4000, 2), steps=1000, eta=1.0, generator=seeded(4))
    torch.testing.assert_close(ddim, ddpm, rtol=0, atol=1e-4)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_exact_model_recovers_the_data_as_steps_approach_T(schedule, exact, eta):
    """With the exact noise predictor, the samples' spread approaches the data's as S -> T (monotone)."""
    n = 20_000
    errors = []
    for steps in (5, 20, 100, 1000):
        x = ddim_sample(exact, schedule, (n, 1), steps=steps, eta=eta, generator=seeded(5))
        errors.append(abs(float(x.std()) - STD))
        assert abs(float(x.mean()) - MU) < 5 * STD / n**0.5 + 0.01
    assert errors == sorted(errors, reverse=True), errors
    assert errors[-1] < 5 * STD / (2 * n) ** 0.5 + 0.005  # within Monte Carlo error of 0.3 (SE of a std ~0.0015)


def test_eta_zero_is_deterministic_and_draws_only_the_start(schedule, exact):
    g = seeded(6)
    a = ddim_sample(exact, schedule, (100, 2), steps=20, generator=g)
    after = torch.randn(1, generator=g)
    b = ddim_sample(exact, schedule, (100, 2), steps=20, generator=seeded(6))
    assert torch.equal(a, b)
    g2 = seeded(6)
    torch.randn(100, 2, generator=g2)
    assert torch.equal(after, torch.randn(1, generator=g2)), "eta = 0 draws x_T only"
    assert not torch.equal(a, ddim_sample(exact, schedule, (100, 2), steps=20, generator=seeded(7)))


def test_trajectory_holds_every_state(schedule, exact):
    x, trajectory, timesteps = ddim_sample(
        exact, schedule, (50, 2), steps=10, spacing="leading", generator=seeded(8), return_trajectory=True
    )
    assert trajectory.shape == (11, 50, 2)
    assert timesteps.tolist() == [0, *range(1, 902, 100)]
    assert torch.equal(trajectory[0], x)
    assert torch.equal(trajectory[-1], torch.randn(50, 2, generator=seeded(8)))


def test_leading_spacing_biases_few_step_samples():
    """Lin et al. 2024: leading spacing starts from N(0, I) at a timestep where x_t still holds signal.

    With the cosine schedule and 5 steps it starts at t = 801, where sqrt(alpha_bar) = 0.31: the true x_801 has mean
    0.31 * 0.5, the sampler's start has mean 0, and the samples' mean is pulled towards 0. Trailing starts at T.
    """
    cosine = dh.make_schedule("cosine", 1000)
    exact = dh.gaussian_eps_model(cosine, MU, STD)
    n = 20_000
    mean = {
        spacing: float(ddim_sample(exact, cosine, (n, 1), steps=5, spacing=spacing, generator=seeded(9)).mean())
        for spacing in ("trailing", "leading")
    }
    assert abs(mean["trailing"] - MU) < 0.01
    assert MU - mean["leading"] > 0.02


def test_clip_x0_keeps_samples_in_range(schedule):
    def wild(x_t, t):  # predicts no noise: x0_hat = x_t / sqrt(alpha_bar_t), far outside [-1, 1]
        return torch.zeros_like(x_t)

    for sample in (
        ddim_sample(wild, schedule, (32, 1, 4, 4), steps=10, eta=0.5, clip_x0=True, generator=seeded(10)),
        dh.ddpm_sample(wild, dh.make_schedule("linear", 50), (32, 1, 4, 4), clip_x0=True, generator=seeded(10)),
    ):
        assert float(sample.abs().max()) <= 1.0
    assert float(ddim_sample(wild, schedule, (32, 1, 4, 4), steps=10, generator=seeded(10)).abs().max()) > 1.0


def test_ten_thousand_samples_in_fifty_steps_are_cheap(schedule):
    """Not a timing test: the sampler adds little beyond the model's calls (50 calls for 50 steps)."""
    calls = []

    def counting(x_t, t):
        calls.append(int(t[0]))
        return torch.zeros_like(x_t)

    ddim_sample(counting, schedule, (10_000, 2), steps=50)
    assert calls == spaced_timesteps(1000, 50).flip(0).tolist()


# --- inversion --------------------------------------------------------------------------------------------------


def test_inversion_round_trip_with_the_exact_model(schedule, exact):
    x0 = MU + STD * torch.randn(200, 1, generator=seeded(11), dtype=torch.float64)
    errors = []
    for steps in (10, 100, 1000):
        noise, trajectory, timesteps = ddim_invert(exact, schedule, x0, steps=steps, return_trajectory=True)
        assert torch.equal(trajectory[0], x0) and torch.equal(trajectory[-1], noise)
        assert int(timesteps[-1]) == 1000
        back = _sample_from(exact, schedule, noise, steps)
        torch.testing.assert_close(
            ddim_sample(exact, schedule, x0.shape, steps=steps, x_T=noise, dtype=torch.float64), back
        )
        errors.append(float((back - x0).abs().max()))
    assert errors == sorted(errors, reverse=True), errors
    assert errors[-1] < 0.01


def _sample_from(model, schedule, x_T, steps):
    """Deterministic DDIM from a given x_T (ddim_sample draws its own start)."""
    timesteps = [0, *spaced_timesteps(len(schedule), steps).tolist()]
    x = x_T
    for i in range(steps, 0, -1):
        eps = model(x, torch.full((x.shape[0],), timesteps[i]))
        x = ddim_step(x, timesteps[i], timesteps[i - 1], eps, schedule)
    return x


def test_inverted_noise_looks_like_noise(schedule, exact):
    x0 = MU + STD * torch.randn(20_000, 1, generator=seeded(12))
    noise = ddim_invert(exact, schedule, x0, steps=1000)  # (100 steps leave a bias of about 0.04 in the mean)
    assert abs(float(noise.mean())) < 0.03 and abs(float(noise.std()) - 1) < 0.03


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 1001}, ValueError, "steps"),
        ({"steps": 2.5}, TypeError, "steps"),
        ({"eta": -0.1}, ValueError, "eta"),
        ({"eta": 1.5}, ValueError, "eta"),
        ({"eta": float("nan")}, ValueError, "eta"),
        ({"spacing": "uniform"}, ValueError, "spacing"),
        ({"clip_x0": "yes"}, TypeError, "clip_x0"),
        ({"generator": 3}, TypeError, "generator"),
        ({"dtype": torch.int64}, TypeError, "dtype"),
        ({"device": "gpu0"}, ValueError, "device"),
    ],
)
def test_sampler_bad_input(schedule, exact, kwargs, error, name):
    with pytest.raises(error, match=name):
        ddim_sample(exact, schedule, (4, 2), **kwargs)


def test_image_model_asked_for_2d_samples(schedule):
    conv = torch.nn.Conv2d(1, 1, 3, padding=1)

    def image_model(x_t, t):
        return conv(x_t)

    with pytest.raises(ValueError, match=r"model .*shape \(8, 2\)"):
        ddim_sample(image_model, schedule, (8, 2), steps=5)


def test_step_bad_input(schedule):
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="eta must be 0 for an upward step"):
        ddim_step(x, 10, 20, x, schedule, eta=0.5)
    with pytest.raises(ValueError, match="s must differ from t"):
        ddim_step(x, 10, 10, x, schedule)
    with pytest.raises(ValueError, match="t must be"):
        ddim_step(x, 1001, 10, x, schedule)
    with pytest.raises(ValueError, match="eps"):
        ddim_step(x, 10, 5, torch.zeros(3, 2), schedule)
    with pytest.raises(TypeError, match="schedule"):
        ddim_step(x, 10, 5, x, "linear")


def test_zero_terminal_snr_is_refused_with_a_reason():
    ztsnr = dh.make_schedule("linear", 100, zero_terminal_snr=True)
    with pytest.raises(ValueError, match="zero-terminal-SNR"):
        ddim_sample(dh.gaussian_eps_model(ztsnr), ztsnr, (4, 2), steps=10)
    # leading spacing never visits t = T, so it samples such a schedule
    assert ddim_sample(dh.gaussian_eps_model(ztsnr), ztsnr, (4, 2), steps=10, spacing="leading").isfinite().all()


def test_starting_noise_must_fit(schedule, exact):
    with pytest.raises(ValueError, match="x_T must have the sampled shape"):
        ddim_sample(exact, schedule, (4, 2), x_T=torch.zeros(4, 3))
    with pytest.raises(TypeError, match="x_T"):
        ddim_sample(exact, schedule, (4, 2), x_T=[[0.0, 0.0]] * 4)


def test_invert_bad_input(schedule, exact):
    with pytest.raises(TypeError, match="x0"):
        ddim_invert(exact, schedule, [[0.0, 1.0]])
    with pytest.raises(ValueError, match="steps"):
        ddim_invert(exact, schedule, torch.zeros(2, 2), steps=0)


def test_step_draws_its_noise_from_the_generator(schedule):
    x_t, eps = torch.randn(2, 8, 2, generator=seeded(13))
    a = ddim_step(x_t, 500, 400, eps, schedule, eta=0.5, generator=seeded(14))
    b = ddim_step(x_t, 500, 400, eps, schedule, eta=0.5, noise=torch.randn(8, 2, generator=seeded(14)))
    assert torch.equal(a, b)
    assert not torch.equal(a, ddim_step(x_t, 500, 400, eps, schedule, eta=0.5, generator=seeded(15)))


@pytest.mark.parametrize("function", [ddim_sample, ddim_invert])
def test_model_and_schedule_are_checked(schedule, exact, function):
    third = (4, 2) if function is ddim_sample else torch.zeros(4, 2)
    with pytest.raises(TypeError, match="model must be callable"):
        function("not a model", schedule, third)
    with pytest.raises(TypeError, match="schedule must be a NoiseSchedule"):
        function(exact, "linear", third)
