"""Tests of diffusion_helpers.forward: q_step (Eq. 2), q_sample (Eq. 4), q_mean_variance, forward_trajectory.

Every formula is checked against an explicit float64 reference written here from the paper, with the
schedule's coefficients recomputed from its betas in plain Python (``math``), not read from the package's
tables. A Monte-Carlo test checks the point of Eq. 4: running the Markov chain of Eq. 2 for t steps and
jumping there in closed form give the same distribution, N(sqrt(alpha_bar_t) x0, (1 - alpha_bar_t) I).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import diffusion_helpers as dh
from diffusion_helpers import forward_trajectory, make_schedule, q_mean_variance, q_sample, q_step

T = 50


@pytest.fixture(scope="module")
def schedule():
    return make_schedule("linear", T, beta_1=0.002, beta_T=0.4)


def ref_alpha_bar(schedule, t: int) -> float:
    """$\\bar\\alpha_t = \\prod_{s=1}^t (1 - \\beta_s)$ in Python floats, from the betas alone; 1 for t = 0."""
    return math.prod(1.0 - b for b in schedule.betas.tolist()[:t])


def ref_q_sample(x0: torch.Tensor, t: int, schedule, noise: torch.Tensor) -> torch.Tensor:
    # $x_t = \sqrt{\bar\alpha_t} x_0 + \sqrt{1 - \bar\alpha_t} \varepsilon$ (Eq. 4), in float64
    alpha_bar_t = ref_alpha_bar(schedule, t)
    return math.sqrt(alpha_bar_t) * x0.double() + math.sqrt(1.0 - alpha_bar_t) * noise.double()


def ref_q_step(x_prev: torch.Tensor, t: int, schedule, noise: torch.Tensor) -> torch.Tensor:
    # $x_t = \sqrt{1 - \beta_t} x_{t-1} + \sqrt{\beta_t} \varepsilon$ (Eq. 2), in float64
    beta_t = schedule.betas.tolist()[t - 1]
    return math.sqrt(1.0 - beta_t) * x_prev.double() + math.sqrt(beta_t) * noise.double()


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=seeded(seed), dtype=dtype)


TOL = {torch.float64: {"rtol": 1e-12, "atol": 1e-12}, torch.float32: {"rtol": 1e-5, "atol": 1e-6}}


# -------------------------------------------------------------------------------------------- q_sample


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("t", [0, 1, 2, 25, T - 1, T])
def test_q_sample_int_t_matches_eq_4(schedule, dtype, t):
    x0 = randn(4, 3, 5, 5, dtype=dtype, seed=1)
    noise = randn(4, 3, 5, 5, dtype=dtype, seed=2)
    out = q_sample(x0, t, schedule, noise=noise)
    assert out.dtype == dtype and out.shape == x0.shape
    torch.testing.assert_close(out.double(), ref_q_sample(x0, t, schedule, noise), **TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_q_sample_per_sample_t_matches_eq_4(schedule, dtype):
    t = torch.tensor([0, 1, 0, T, 17, 2, T - 1, 0])  # t = 0 entries mixed in
    x0 = randn(8, 3, 4, 4, dtype=dtype, seed=3)
    noise = randn(8, 3, 4, 4, dtype=dtype, seed=4)
    out = q_sample(x0, t, schedule, noise=noise)
    assert out.dtype == dtype and out.shape == x0.shape
    for i, t_i in enumerate(t.tolist()):
        torch.testing.assert_close(out[i].double(), ref_q_sample(x0[i], t_i, schedule, noise[i]), **TOL[dtype])
        if t_i == 0:
            assert torch.equal(out[i], x0[i]), "t = 0 must give the data back exactly"


@pytest.mark.parametrize("t_dtype", [torch.int64, torch.int32, torch.int16, torch.uint8])
def test_q_sample_accepts_every_integer_dtype_for_t(schedule, t_dtype):
    x0, noise = randn(3, 2, seed=5), randn(3, 2, seed=6)
    t = torch.tensor([3, 0, T], dtype=t_dtype)
    expected = torch.stack([ref_q_sample(x0[i], v, schedule, noise[i]) for i, v in enumerate([3, 0, T])])
    torch.testing.assert_close(q_sample(x0, t, schedule, noise=noise), expected, **TOL[torch.float64])


def test_q_sample_zero_dim_tensor_t_is_an_int_t(schedule):
    x0, noise = randn(3, 2, seed=5), randn(3, 2, seed=6)
    assert torch.equal(q_sample(x0, torch.tensor(7), schedule, noise=noise), q_sample(x0, 7, schedule, noise=noise))


def test_q_sample_at_t_zero_returns_a_copy_and_draws_no_noise(schedule):
    x0 = randn(2, 3)
    generator = seeded(9)
    out = q_sample(x0, 0, schedule, generator=generator)
    assert torch.equal(out, x0)
    out.add_(1.0)
    assert not torch.equal(out, x0), "q_sample(x0, 0) must not return x0 itself"
    assert torch.equal(generator.get_state(), seeded(9).get_state())


def test_q_sample_at_T_of_a_zero_terminal_snr_schedule_is_the_noise():
    schedule = make_schedule("linear", 1000, zero_terminal_snr=True)
    x0, noise = randn(4, 4, seed=1), randn(4, 4, seed=2)
    torch.testing.assert_close(q_sample(x0, 1000, schedule, noise=noise), noise, rtol=0, atol=0)


def test_q_sample_with_a_generator_draws_standard_normal_noise(schedule):
    x0 = randn(5, 7, seed=1)
    t = 20
    out = q_sample(x0, t, schedule, generator=seeded(42))
    noise = torch.randn(x0.shape, generator=seeded(42), dtype=x0.dtype)  # what the generator yields first
    torch.testing.assert_close(out, ref_q_sample(x0, t, schedule, noise), **TOL[torch.float64])


def test_q_sample_is_differentiable_in_x0(schedule):
    # d x_t / d x0 = sqrt(alpha_bar_t): gradients flow, as with the plain formula
    x0 = randn(3, 2).requires_grad_(True)
    t = torch.tensor([0, 10, T])
    q_sample(x0, t, schedule, noise=randn(3, 2, seed=1)).sum().backward()
    expected = torch.tensor([math.sqrt(ref_alpha_bar(schedule, v)) for v in [0, 10, T]], dtype=torch.float64)
    torch.testing.assert_close(x0.grad, expected[:, None].expand(3, 2), rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------------------------- q_step


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("t", [1, 2, 30, T])
def test_q_step_int_t_matches_eq_2(schedule, dtype, t):
    x_prev, noise = randn(4, 3, 2, dtype=dtype, seed=1), randn(4, 3, 2, dtype=dtype, seed=2)
    out = q_step(x_prev, t, schedule, noise=noise)
    assert out.dtype == dtype and out.shape == x_prev.shape
    torch.testing.assert_close(out.double(), ref_q_step(x_prev, t, schedule, noise), **TOL[dtype])


def test_q_step_per_sample_t_matches_eq_2(schedule):
    t = torch.tensor([1, T, 7, 1])
    x_prev, noise = randn(4, 3, 2, seed=1), randn(4, 3, 2, seed=2)
    out = q_step(x_prev, t, schedule, noise=noise)
    for i, t_i in enumerate(t.tolist()):
        torch.testing.assert_close(out[i], ref_q_step(x_prev[i], t_i, schedule, noise[i]), **TOL[torch.float64])


def test_q_step_from_x0_is_q_sample_at_t_1(schedule):
    x0, noise = randn(6, seed=1), randn(6, seed=2)
    torch.testing.assert_close(q_step(x0, 1, schedule, noise=noise), q_sample(x0, 1, schedule, noise=noise))


# ---------------------------------------------------------------------------------- forward_trajectory


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_trajectory_equals_T_manual_q_steps_with_the_same_generator(schedule, dtype):
    x0 = randn(2, 3, 4, dtype=dtype, seed=1)
    trajectory = forward_trajectory(x0, schedule, generator=seeded(7))
    assert trajectory.shape == (T + 1, *x0.shape) and trajectory.dtype == dtype
    assert torch.equal(trajectory[0], x0)
    generator, x = seeded(7), x0
    for t in range(1, T + 1):
        x = q_step(x, t, schedule, generator=generator)
        torch.testing.assert_close(trajectory[t], x, rtol=0, atol=0)


def test_trajectory_with_explicit_noise_equals_the_generator_version_and_the_reference(schedule):
    x0 = randn(3, 5, seed=1)
    generator = seeded(11)
    noise = torch.stack([torch.randn(x0.shape, generator=generator, dtype=x0.dtype) for _ in range(T)])
    explicit = forward_trajectory(x0, schedule, noise=noise)
    assert torch.equal(explicit, forward_trajectory(x0, schedule, generator=seeded(11)))
    reference = [x0]
    for t in range(1, T + 1):  # step t uses noise[t - 1]
        reference.append(ref_q_step(reference[-1], t, schedule, noise[t - 1]))
    torch.testing.assert_close(explicit, torch.stack(reference), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(), (7,), (2, 3), (2, 3, 4, 5)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_trajectory_shape_dtype_and_first_state(schedule, shape, dtype):
    x0 = torch.randn(shape, generator=seeded(1), dtype=dtype)
    trajectory = forward_trajectory(x0, schedule, generator=seeded(2))
    assert trajectory.shape == (T + 1, *shape)
    assert trajectory.dtype == dtype and trajectory.device == x0.device
    assert torch.equal(trajectory[0], x0)
    assert not torch.equal(trajectory[1], x0)  # noise was added


def test_trajectory_does_not_change_x0_or_the_noise(schedule):
    x0, noise = randn(4, seed=1), randn(T, 4, seed=2)
    x0_copy, noise_copy = x0.clone(), noise.clone()
    forward_trajectory(x0, schedule, noise=noise)
    assert torch.equal(x0, x0_copy) and torch.equal(noise, noise_copy)


def test_trajectory_is_differentiable_in_x0(schedule):
    x0 = randn(3).requires_grad_(True)
    forward_trajectory(x0, schedule, generator=seeded(0))[T].sum().backward()
    # d x_T / d x0 = prod sqrt(alpha_t) = sqrt(alpha_bar_T)
    torch.testing.assert_close(x0.grad, torch.full((3,), math.sqrt(ref_alpha_bar(schedule, T)), dtype=torch.float64))


# ---------------------------------------------------------------------------------------- device (meta)


def test_every_function_keeps_the_device():
    # No GPU here: the meta device (shapes without data) shows that nothing silently moves to the CPU.
    schedule = make_schedule("cosine", 10)
    x0 = torch.empty(4, 3, device="meta")
    for out in [
        q_sample(x0, 5, schedule),
        q_sample(x0, torch.tensor([0, 1, 2, 10]), schedule),
        q_step(x0, 3, schedule),
        q_step(x0, torch.tensor([1, 2, 3, 10]), schedule, noise=torch.empty(4, 3, device="meta")),
        *q_mean_variance(x0, torch.tensor([0, 1, 2, 10]), schedule),
        *q_mean_variance(x0, 3, schedule),
    ]:
        assert out.device.type == "meta"
    trajectory = forward_trajectory(x0, schedule)
    assert trajectory.device.type == "meta" and trajectory.shape == (11, 4, 3)


# ------------------------------------------------------------------------------------ q_mean_variance


def test_q_mean_variance_matches_eq_4(schedule):
    x0 = randn(3, 2, 2, seed=1)
    for t in [0, 1, 25, T]:
        mean, variance = q_mean_variance(x0, t, schedule)
        alpha_bar_t = ref_alpha_bar(schedule, t)
        torch.testing.assert_close(mean, math.sqrt(alpha_bar_t) * x0, rtol=1e-12, atol=0)
        assert variance.shape == () and variance.dtype == x0.dtype
        assert float(variance) == pytest.approx(1.0 - alpha_bar_t, rel=1e-12, abs=1e-15)
    t = torch.tensor([0, 25, T])
    mean, variance = q_mean_variance(x0, t, schedule)
    assert variance.shape == (3, 1, 1)
    expected = torch.tensor([1.0 - ref_alpha_bar(schedule, v) for v in t.tolist()], dtype=torch.float64)
    torch.testing.assert_close(variance.flatten(), expected, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------------------ Monte Carlo: Eq. 2 vs Eq. 4


def test_markov_chain_and_closed_form_have_the_same_mean_and_variance_at_every_t():
    """N replicas of one x0: the chain x_0 -> x_1 -> ... (Eq. 2) and the closed form (Eq. 4) at each t.

    For a sample of N independent draws of N(mu, v): the sample mean has standard error sqrt(v / N), the
    sample variance sqrt(2 / (N - 1)) v. Every comparison is allowed 6 standard errors (a false alarm has
    probability ~1e-9 per comparison, and the seeds are fixed anyway); a wrong coefficient (beta for
    sqrt(beta), alpha_bar_{t+1} for alpha_bar_t, a product to T instead of t) moves them by far more.
    """
    n, d, T_mc, sigmas = 20_000, 4, 50, 6.0
    schedule = make_schedule("cosine", T_mc)  # reaches noise
    assert schedule.alpha_bar(T_mc) < 1e-3
    x0 = torch.linspace(-1.0, 1.0, d, dtype=torch.float64).expand(n, d).contiguous()  # (N, D): N replicas
    chain = forward_trajectory(x0, schedule, generator=seeded(2024))  # (T + 1, N, D)
    closed_generator = seeded(7)  # fresh, independent noise for every t
    closed = torch.stack([q_sample(x0, t, schedule, generator=closed_generator) for t in range(T_mc + 1)])
    assert torch.equal(chain[0], x0) and torch.equal(closed[0], x0)

    alpha_bars = torch.tensor([ref_alpha_bar(schedule, t) for t in range(1, T_mc + 1)], dtype=torch.float64)
    mu = alpha_bars.sqrt()[:, None] * x0[0]  # (T, D): sqrt(alpha_bar_t) x0
    v = (1.0 - alpha_bars)[:, None]  # (T, 1): 1 - alpha_bar_t
    se_mean, se_var = (v / n).sqrt(), math.sqrt(2.0 / (n - 1)) * v  # (T, 1)
    moments = {}
    for name, samples in [("chain", chain[1:]), ("closed form", closed[1:])]:  # (T, N, D)
        mean, var = samples.mean(dim=1), samples.var(dim=1)  # (T, D)
        z_mean, z_var = (mean - mu) / se_mean, (var - v) / se_var
        assert float(z_mean.abs().max()) < sigmas, (name, "mean", z_mean.abs().max(dim=1))
        assert float(z_var.abs().max()) < sigmas, (name, "variance", z_var.abs().max(dim=1))
        moments[name] = mean, var
    # and with each other: the difference of two independent estimates has sqrt(2) times the error
    (m_chain, v_chain), (m_closed, v_closed) = moments["chain"], moments["closed form"]
    assert float(((m_chain - m_closed) / (math.sqrt(2.0) * se_mean)).abs().max()) < sigmas
    assert float(((v_chain - v_closed) / (math.sqrt(2.0) * se_var)).abs().max()) < sigmas
    # the chain's last state is Gaussian, not only of the right moments: excess kurtosis 0 (SE sqrt(24 / n))
    centred = chain[T_mc] - mu[-1]
    kurtosis = float((centred**4).mean() / centred.pow(2).mean() ** 2)
    assert abs(kurtosis - 3.0) < sigmas * math.sqrt(24.0 / centred.numel())


def test_markov_chain_keeps_the_correlation_of_eq_4():
    """Cov(x_s, x_t | x0) = sqrt(alpha_bar_t / alpha_bar_s) (1 - alpha_bar_s) for s <= t: the chain is one path."""
    n = 20_000
    schedule = make_schedule("linear", 40, beta_1=0.005, beta_T=0.2)
    x0 = torch.zeros(n, 1, dtype=torch.float64)
    chain = forward_trajectory(x0, schedule, generator=seeded(3))[:, :, 0]  # (T + 1, N)
    for s, t in [(5, 10), (10, 40), (20, 21)]:
        a_s, a_t = ref_alpha_bar(schedule, s), ref_alpha_bar(schedule, t)
        expected = math.sqrt(a_t / a_s) * (1 - a_s)
        sample = float((chain[s] * chain[t]).mean())
        # standard error of the mean of a product of two jointly normal zero-mean variables
        se = math.sqrt(((1 - a_s) * (1 - a_t) + expected**2) / n)
        assert abs(sample - expected) < 6 * se, (s, t, sample, expected)


# ----------------------------------------------------------------------------------- hypothesis properties


@st.composite
def batches(draw):
    """(T, x0 shape with a batch dim, per-sample t, seed)."""
    T_ = draw(st.integers(1, 60))
    shape = (draw(st.integers(1, 5)), *draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    t = draw(st.lists(st.integers(0, T_), min_size=shape[0], max_size=shape[0]))
    return T_, shape, t, draw(st.integers(0, 2**31 - 1))


@settings(deadline=None, max_examples=60)
@given(batches(), st.sampled_from([torch.float32, torch.float64]))
def test_per_sample_t_broadcasts_like_one_int_t_per_sample(case, dtype):
    T_, shape, t, seed = case
    schedule = make_schedule("cosine", T_)
    x0 = torch.randn(shape, generator=seeded(seed), dtype=dtype)
    noise = torch.randn(shape, generator=seeded(seed + 1), dtype=dtype)
    out = q_sample(x0, torch.tensor(t), schedule, noise=noise)
    assert out.shape == x0.shape and out.dtype == dtype
    tol = TOL[dtype]
    for i, t_i in enumerate(t):
        torch.testing.assert_close(out[i], q_sample(x0[i], t_i, schedule, noise=noise[i]), **tol)
        torch.testing.assert_close(out[i].double(), ref_q_sample(x0[i], t_i, schedule, noise[i]), **tol)
    steps = [max(v, 1) for v in t]
    stepped = q_step(x0, torch.tensor(steps), schedule, noise=noise)
    for i, t_i in enumerate(steps):
        torch.testing.assert_close(stepped[i].double(), ref_q_step(x0[i], t_i, schedule, noise[i]), **tol)


@settings(deadline=None, max_examples=40)
@given(batches())
def test_generator_makes_everything_deterministic(case):
    T_, shape, t, seed = case
    schedule = make_schedule("linear", T_, beta_1=1e-3, beta_T=0.1)
    x0 = torch.randn(shape, generator=seeded(seed))
    t_tensor = torch.tensor(t)
    steps = torch.tensor([max(v, 1) for v in t])
    global_state = torch.get_rng_state()
    for fn, adds_noise in [
        (lambda g: q_sample(x0, t_tensor, schedule, generator=g), any(t)),  # t = 0 everywhere gives x0 back
        (lambda g: q_sample(x0, T_, schedule, generator=g), True),
        (lambda g: q_step(x0, steps, schedule, generator=g), True),
        (lambda g: forward_trajectory(x0, schedule, generator=g), True),
    ]:
        first, again, other = fn(seeded(seed)), fn(seeded(seed)), fn(seeded(seed + 1))
        assert torch.equal(first, again)
        assert torch.equal(first, other) != adds_noise  # another seed, other noise
    assert torch.equal(global_state, torch.get_rng_state()), "a generator was given: the global RNG must not move"


@settings(deadline=None, max_examples=60)
@given(batches(), st.booleans())
def test_q_mean_variance_is_consistent_with_q_sample(case, tensor_t):
    T_, shape, t, seed = case
    schedule = make_schedule("quadratic", T_, beta_1=1e-3, beta_T=0.2)
    x0 = torch.randn(shape, generator=seeded(seed), dtype=torch.float64)
    eps = torch.randn(shape, generator=seeded(seed + 1), dtype=torch.float64)
    t_arg = torch.tensor(t) if tensor_t else t[0]
    mean, variance = q_mean_variance(x0, t_arg, schedule)
    assert mean.shape == x0.shape
    assert variance.shape == ((shape[0],) + (1,) * (len(shape) - 1) if tensor_t else ())
    # with zero noise the sample is the mean; the noise enters scaled by the standard deviation
    torch.testing.assert_close(q_sample(x0, t_arg, schedule, noise=torch.zeros_like(x0)), mean, rtol=1e-12, atol=1e-12)
    sample = q_sample(x0, t_arg, schedule, noise=eps)
    torch.testing.assert_close(sample, mean + variance.sqrt() * eps, rtol=1e-12, atol=1e-12)
    assert bool((variance >= 0).all() and (variance < 1).all())


# ------------------------------------------------------------------------------------------- bad input


def names(arg: str) -> str:
    return rf"\b{re.escape(arg)}\b"


@pytest.mark.parametrize("fn", [q_sample, q_mean_variance])
@pytest.mark.parametrize("t", [-1, T + 1, 10**9])
def test_int_t_outside_0_T_is_a_value_error(schedule, fn, t):
    with pytest.raises(ValueError, match=names("t")):
        fn(randn(2, 3), t, schedule)


@pytest.mark.parametrize("t", [0, -1, T + 1])
def test_q_step_t_outside_1_T_is_a_value_error(schedule, t):
    with pytest.raises(ValueError, match=names("t")):
        q_step(randn(2, 3), t, schedule)
    with pytest.raises(ValueError, match=names("t")):
        q_step(randn(2, 3), torch.tensor([1, t]), schedule)


@pytest.mark.parametrize("fn", [q_sample, q_mean_variance])
@pytest.mark.parametrize("t", [[0, T + 1], [-1, 3], [T + 5, -2]])
def test_tensor_t_outside_0_T_is_a_value_error(schedule, fn, t):
    with pytest.raises(ValueError, match=names("t")):
        fn(randn(2, 3), torch.tensor(t), schedule)


@pytest.mark.parametrize("fn", [q_sample, q_step, q_mean_variance])
@pytest.mark.parametrize(
    "t",
    [
        1.0,
        2.5,
        True,
        "3",
        None,
        torch.tensor([1.0, 2.0]),
        torch.tensor([True, False]),
        torch.tensor(2.0),
        torch.tensor([1 + 0j, 2 + 0j]),
    ],
)
def test_t_of_a_non_integer_type_is_a_type_error(schedule, fn, t):
    with pytest.raises(TypeError, match=names("t")):
        fn(randn(2, 3), t, schedule)


@pytest.mark.parametrize("fn", [q_sample, q_step, q_mean_variance])
@pytest.mark.parametrize(
    "t", [torch.tensor([1, 2, 3]), torch.tensor([1]), torch.tensor([[1, 2]]), torch.tensor([], dtype=torch.long)]
)
def test_tensor_t_of_the_wrong_length_or_rank_is_a_value_error(schedule, fn, t):
    with pytest.raises(ValueError, match=names("t")):
        fn(randn(2, 3), t, schedule)


def test_tensor_t_with_a_scalar_x0_is_a_value_error(schedule):
    with pytest.raises(ValueError, match=names("t")):
        q_sample(torch.tensor(0.5), torch.tensor([1]), schedule)


@pytest.mark.parametrize("fn", [q_sample, q_step])
def test_noise_of_the_wrong_shape_dtype_type_or_device(schedule, fn):
    x0 = randn(2, 3)
    with pytest.raises(ValueError, match=names("noise")):
        fn(x0, 1, schedule, noise=randn(3, 2))
    with pytest.raises(ValueError, match=names("noise")):
        fn(x0, 1, schedule, noise=randn(2, 3, 1))
    with pytest.raises(TypeError, match=names("noise")):
        fn(x0, 1, schedule, noise=randn(2, 3, dtype=torch.float32))
    with pytest.raises(TypeError, match=names("noise")):
        fn(x0, 1, schedule, noise=torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match=names("noise")):
        fn(x0, 1, schedule, noise=np.zeros((2, 3)))
    with pytest.raises(ValueError, match=names("noise")):
        fn(x0, 1, schedule, noise=torch.empty(2, 3, dtype=torch.float64, device="meta"))


def test_trajectory_noise_of_the_wrong_shape_or_dtype(schedule):
    x0 = randn(2, 3)
    with pytest.raises(ValueError, match=names("noise")):
        forward_trajectory(x0, schedule, noise=randn(2, 3))  # one step's noise, not T steps'
    with pytest.raises(ValueError, match=names("noise")):
        forward_trajectory(x0, schedule, noise=randn(T + 1, 2, 3))
    with pytest.raises(TypeError, match=names("noise")):
        forward_trajectory(x0, schedule, noise=randn(T, 2, 3, dtype=torch.float32))
    with pytest.raises(TypeError, match=names("noise")):
        forward_trajectory(x0, schedule, noise=[[0.0] * 3] * 2)


@pytest.mark.parametrize("x0", [[0.1, 0.2], np.zeros(3), 0.5, None, "x"])
def test_non_tensor_data_is_a_type_error_naming_it(schedule, x0):
    for fn, arg in [(q_sample, "x0"), (q_mean_variance, "x0"), (q_step, "x_prev")]:
        with pytest.raises(TypeError, match=names(arg)):
            fn(x0, 1, schedule)
    with pytest.raises(TypeError, match=names("x0")):
        forward_trajectory(x0, schedule)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_integer_data_is_a_type_error_naming_it(schedule, dtype):
    x0 = torch.zeros(2, 3, dtype=dtype)
    for fn, arg in [(q_sample, "x0"), (q_mean_variance, "x0"), (q_step, "x_prev")]:
        with pytest.raises(TypeError, match=names(arg)):
            fn(x0, 1, schedule)
    with pytest.raises(TypeError, match=names("x0")):
        forward_trajectory(x0, schedule)


@pytest.mark.parametrize("bad", [None, "linear", torch.linspace(1e-4, 0.02, 10, dtype=torch.float64)])
def test_schedule_that_is_not_a_noise_schedule_is_a_type_error(bad):
    x0 = randn(2, 3)
    for call in [
        lambda: q_sample(x0, 1, bad),
        lambda: q_step(x0, 1, bad),
        lambda: q_mean_variance(x0, 1, bad),
        lambda: forward_trajectory(x0, bad),
    ]:
        with pytest.raises(TypeError, match=names("schedule")):
            call()


@pytest.mark.parametrize("generator", [0, "seed", np.random.default_rng(0)])
def test_generator_of_the_wrong_type_is_a_type_error(schedule, generator):
    x0 = randn(2, 3)
    for call in [
        lambda: q_sample(x0, 1, schedule, generator=generator),
        lambda: q_step(x0, 1, schedule, generator=generator),
        lambda: forward_trajectory(x0, schedule, generator=generator),
        # checked even where no noise is drawn: a typo must not wait for the day it matters
        lambda: q_sample(x0, 0, schedule, generator=generator),
        lambda: q_sample(x0, 1, schedule, noise=randn(2, 3), generator=generator),
        lambda: q_step(x0, 1, schedule, noise=randn(2, 3), generator=generator),
        lambda: forward_trajectory(x0, schedule, noise=randn(T, 2, 3), generator=generator),
    ]:
        with pytest.raises(TypeError, match=names("generator")):
            call()


def test_a_trajectory_too_large_to_hold_is_refused_before_allocating(schedule):
    x0 = torch.zeros(1).expand(dh.MAX_TRAJECTORY_VALUES // T + 1)  # a view: no memory behind it
    with pytest.raises(ValueError, match="MAX_TRAJECTORY_VALUES"):
        forward_trajectory(x0, schedule)


@pytest.mark.parametrize(
    ("function", "equation"),
    [
        (q_sample, "(sqrt_alpha_bar_t * x0).addcmul_(sqrt_one_minus_alpha_bar_t, noise)"),
        (q_step, "(sqrt_alpha_t * x_prev).addcmul_(sqrt_beta_t, noise)"),
    ],
)
def test_the_shown_function_ends_with_its_equation(function, equation):
    """Notebooks show these functions' source: the last line must be the paper's equation, not a helper."""
    import inspect

    lines = inspect.getsource(function).strip().splitlines()
    assert lines[-1].strip() == f"return {equation}"
    assert "$x_t = " in lines[-2]  # the LaTeX comment above it
