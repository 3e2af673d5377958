"""Tests of diffusion_helpers.schedules: every schedule against an independent reference implementation.

The references below are written from the papers, in plain Python floats (``math``) or numpy float64, and
share no code with the package:

- linear (Ho et al. 2020, Sec. 4), quadratic (``sqrt(beta)`` linear), sigmoid (GeoDiff): the formulas;
- cosine: improved-diffusion's ``betas_for_alpha_bar`` loop (Nichol & Dhariwal 2021), clipped at ``max_beta``;
- zero terminal SNR: Algorithm 1 of Lin et al. 2024, in numpy;
- ``alpha_bars``: the running product of ``1 - beta`` of the reference betas.

The only numbers typed in are the golden values the issue gives (ERRATA 6 for T = 100).
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import diffusion_helpers as dh
from diffusion_helpers import (
    SCHEDULE_NAMES,
    NoiseSchedule,
    cosine_betas,
    linear_betas,
    make_schedule,
    quadratic_betas,
    rescale_zero_terminal_snr,
    sigmoid_betas,
    timesteps_to_show,
)

# ------------------------------------------------------------------------------------ reference formulas


def ref_linear(T: int, beta_1: float, beta_T: float) -> list[float]:
    # $\beta_t = \beta_1 + \frac{t-1}{T-1}(\beta_T - \beta_1)$, t = 1..T
    if T == 1:
        return [beta_1]
    return [beta_1 + (t - 1) / (T - 1) * (beta_T - beta_1) for t in range(1, T + 1)]


def ref_quadratic(T: int, beta_1: float, beta_T: float) -> list[float]:
    return [r * r for r in ref_linear(T, math.sqrt(beta_1), math.sqrt(beta_T))]


def ref_sigmoid(T: int, beta_1: float, beta_T: float) -> list[float]:
    # $\beta_t = \beta_1 + (\beta_T - \beta_1)\sigma(x_t)$ with $x_t$ evenly spaced over [-6, 6]
    xs = [-6.0] if T == 1 else [-6.0 + 12.0 * (t - 1) / (T - 1) for t in range(1, T + 1)]
    return [beta_1 + (beta_T - beta_1) / (1.0 + math.exp(-x)) for x in xs]


def betas_for_alpha_bar(num_diffusion_timesteps, alpha_bar, max_beta=0.999):
    """improved-diffusion (openai/improved-diffusion, gaussian_diffusion.py), reproduced."""
    betas = []
    for i in range(num_diffusion_timesteps):
        t1 = i / num_diffusion_timesteps
        t2 = (i + 1) / num_diffusion_timesteps
        betas.append(min(1 - alpha_bar(t2) / alpha_bar(t1), max_beta))
    return betas


def ref_cosine(T: int, s: float = 0.008, max_beta: float = 0.999) -> list[float]:
    if s == 0.008:  # improved-diffusion's own lambda, verbatim
        return betas_for_alpha_bar(T, lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2, max_beta)
    return betas_for_alpha_bar(T, lambda t: math.cos((t + s) / (1 + s) * math.pi / 2) ** 2, max_beta)


def ref_alpha_bars(betas: list[float]) -> list[float]:
    # $\bar\alpha_t = \prod_{s=1}^{t} (1 - \beta_s)$
    out, product = [], 1.0
    for beta in betas:
        product *= 1.0 - beta
        out.append(product)
    return out


def ref_enforce_zero_terminal_snr(betas: np.ndarray) -> np.ndarray:
    """Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", Algorithm 1 (numpy)."""
    alphas = 1 - betas
    alphas_bar = alphas.cumprod(0)
    alphas_bar_sqrt = np.sqrt(alphas_bar)
    alphas_bar_sqrt_0 = alphas_bar_sqrt[0].copy()
    alphas_bar_sqrt_T = alphas_bar_sqrt[-1].copy()
    alphas_bar_sqrt -= alphas_bar_sqrt_T
    alphas_bar_sqrt *= alphas_bar_sqrt_0 / (alphas_bar_sqrt_0 - alphas_bar_sqrt_T)
    alphas_bar = alphas_bar_sqrt**2
    alphas = alphas_bar[1:] / alphas_bar[:-1]
    alphas = np.concatenate([alphas_bar[0:1], alphas])
    return 1 - alphas


REFERENCES = {
    "linear": (ref_linear, linear_betas),
    "quadratic": (ref_quadratic, quadratic_betas),
    "sigmoid": (ref_sigmoid, sigmoid_betas),
}
DEFAULTS = {
    "linear": {"beta_1": 1e-4, "beta_T": 0.02},
    "quadratic": {"beta_1": 1e-4, "beta_T": 0.02},
    "sigmoid": {"beta_1": 1e-4, "beta_T": 0.02},
    "cosine": {"s": 0.008, "max_beta": 0.999},
}


def reference_betas(name: str, T: int, **params: float) -> list[float]:
    params = {**DEFAULTS[name], **params}
    if name == "cosine":
        return ref_cosine(T, **params)
    return REFERENCES[name][0](T, **params)


def assert_close(actual: torch.Tensor, expected, rtol: float, atol: float = 0.0) -> None:
    expected = torch.as_tensor(np.asarray(expected, dtype=np.float64))
    assert actual.dtype == torch.float64
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol)


def test_schedule_names_are_the_four_documented_ones():
    assert set(SCHEDULE_NAMES) == {"linear", "quadratic", "cosine", "sigmoid"}
    assert set(DEFAULTS) == set(SCHEDULE_NAMES)  # every name is tested against a reference below


# ---------------------------------------------------------------------------- betas and alpha_bars vs refs


@pytest.mark.parametrize("name", ["linear", "quadratic", "sigmoid", "cosine"])
@pytest.mark.parametrize("T", [1, 2, 10, 100, 1000])
def test_default_schedules_match_the_reference(name, T):
    schedule = make_schedule(name, T)
    betas = reference_betas(name, T)
    assert_close(schedule.betas, betas, rtol=1e-9, atol=1e-15)
    assert_close(schedule.alpha_bars, ref_alpha_bars(betas), rtol=1e-9, atol=1e-300)
    assert schedule.name == name
    assert dict(schedule.params) == DEFAULTS[name]
    assert len(schedule) == schedule.num_timesteps == T


@pytest.mark.parametrize("name", ["linear", "quadratic", "sigmoid"])
def test_beta_functions_match_the_reference_with_other_parameters(name):
    ref, fn = REFERENCES[name]
    for T, beta_1, beta_T in [(7, 0.001, 0.3), (250, 1e-5, 0.05), (3, 0.2, 0.2)]:
        assert_close(fn(T, beta_1, beta_T), ref(T, beta_1, beta_T), rtol=1e-12, atol=1e-18)
        assert_close(make_schedule(name, T, beta_1=beta_1, beta_T=beta_T).betas, ref(T, beta_1, beta_T), rtol=1e-12)


def test_linear_end_points_are_beta_1_and_beta_T():
    betas = make_schedule("linear", 1000).betas
    assert float(betas[0]) == pytest.approx(1e-4, rel=1e-12)
    assert float(betas[-1]) == pytest.approx(0.02, rel=1e-12)


def test_sigmoid_ends_sit_strictly_inside_the_range():
    betas = make_schedule("sigmoid", 1000, beta_1=1e-4, beta_T=0.02).betas
    assert 1e-4 < float(betas[0]) < 1e-4 + 0.02 * 0.01
    assert 0.02 * 0.99 < float(betas[-1]) < 0.02


def test_quadratic_is_linear_in_sqrt_beta():
    root = make_schedule("quadratic", 50, beta_1=1e-4, beta_T=0.04).betas.sqrt()
    steps = root.diff()
    torch.testing.assert_close(steps, torch.full_like(steps, (0.2 - 0.01) / 49), rtol=1e-9, atol=0)


@pytest.mark.parametrize("T", [1, 2, 50, 1000, 4000])
@pytest.mark.parametrize(("s", "max_beta"), [(0.008, 0.999), (0.0, 0.999), (0.05, 0.5), (0.008, 0.02)])
def test_cosine_matches_improved_diffusion(T, s, max_beta):
    betas = ref_cosine(T, s, max_beta)
    assert_close(cosine_betas(T, s, max_beta), betas, rtol=1e-9, atol=1e-15)
    assert_close(make_schedule("cosine", T, s=s, max_beta=max_beta).betas, betas, rtol=1e-9, atol=1e-15)


def test_cosine_alpha_bars_are_the_product_of_the_clipped_betas():
    T = 1000
    schedule = make_schedule("cosine", T)
    clipped = ref_cosine(T)
    assert clipped[-1] == 0.999  # the clip bites at the last step ...
    assert float(schedule.betas[-1]) == 0.999
    assert_close(schedule.alpha_bars, ref_alpha_bars(clipped), rtol=1e-9)

    # ... so alpha_bar_T is alpha_bar_{T-1} * 0.001, not the unclipped f(T)/f(0) (~1e-33, essentially 0)
    def f(t: float) -> float:
        return math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2

    unclipped = f(T) / f(0)
    assert unclipped < 1e-30
    assert float(schedule.alpha_bars[-1]) == pytest.approx(ref_alpha_bars(clipped)[-2] * (1 - 0.999), rel=1e-9)
    assert float(schedule.alpha_bars[-1]) > 1e6 * unclipped
    # before the clip, alpha_bar_t is f(t)/f(0) (Nichol & Dhariwal 2021, Eq. 17)
    expected = [f(t) / f(0) for t in range(1, T)]
    assert_close(schedule.alpha_bars[:-1], expected, rtol=1e-8)


def test_cosine_clip_applies_to_every_step_above_max_beta():
    betas = make_schedule("cosine", 100, max_beta=0.05).betas
    unclipped = ref_cosine(100, max_beta=1.0)
    clipped_steps = [i for i, beta in enumerate(unclipped) if beta > 0.05]
    assert len(clipped_steps) > 1
    assert all(float(betas[i]) == 0.05 for i in clipped_steps)
    assert float(betas.max()) == 0.05


# --------------------------------------------------------------------------------------- golden values


def test_golden_values_linear_T1000():
    schedule = make_schedule("linear", 1000)  # Ho et al. 2020: beta from 1e-4 to 0.02
    assert schedule.alpha_bar(500) == pytest.approx(7.8587e-2, rel=1e-4)
    assert schedule.alpha_bar(1000) == pytest.approx(4.0358e-5, rel=1e-4)
    assert float(schedule.alpha_bars[499]) == schedule.alpha_bar(500)


def test_golden_value_linear_T100_does_not_reach_noise():
    # ERRATA 6: with T = 100 and the T = 1000 range, x_100 still carries sqrt(0.364) ~ 0.60 of the image
    schedule = make_schedule("linear", 100)
    assert schedule.alpha_bar(100) == pytest.approx(0.364, abs=5e-4)
    assert math.sqrt(schedule.alpha_bar(100)) == pytest.approx(0.60, abs=5e-3)


def test_alpha_bar_is_the_product_up_to_t_not_up_to_T():
    # ERRATA 1: $\bar\alpha_t = \prod_{s=1}^{t}$; the product up to T would make every alpha_bar_t equal
    schedule = make_schedule("linear", 10, beta_1=0.1, beta_T=0.5)
    betas = ref_linear(10, 0.1, 0.5)
    for t in range(11):
        assert schedule.alpha_bar(t) == pytest.approx(math.prod(1 - b for b in betas[:t]), rel=1e-12)
    assert schedule.alpha_bar(0) == 1.0  # the empty product


# ------------------------------------------------------------------------------ derived quantities


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("zero_terminal_snr", [False, True])
def test_derived_quantities_match_their_definitions(name, zero_terminal_snr):
    schedule = make_schedule(name, 200, zero_terminal_snr=zero_terminal_snr)
    betas = schedule.betas.tolist()
    alpha_bars = ref_alpha_bars(betas)
    assert_close(schedule.alphas, [1 - b for b in betas], rtol=1e-15, atol=1e-18)
    assert_close(schedule.alpha_bars, alpha_bars, rtol=1e-12, atol=1e-300)
    assert_close(schedule.sqrt_alpha_bars, [math.sqrt(a) for a in alpha_bars], rtol=1e-12)
    assert_close(schedule.sqrt_one_minus_alpha_bars, [math.sqrt(1 - a) for a in alpha_bars], rtol=1e-12)
    snr = [a / (1 - a) for a in alpha_bars]
    assert_close(schedule.snr, snr, rtol=1e-9)
    log_snr = [math.log(x) if x > 0 else -math.inf for x in snr]
    assert_close(schedule.log_snr, log_snr, rtol=1e-9, atol=1e-12)
    assert [schedule.alpha_bar(t) for t in range(1, 201)] == pytest.approx(alpha_bars, rel=1e-12)


def test_repr_names_the_schedule_and_T():
    text = repr(make_schedule("cosine", 50, zero_terminal_snr=True))
    assert text.startswith("NoiseSchedule('cosine', T=50")
    assert "zero_terminal_snr=True" in text
    assert "alpha_bar_T=0" in text


# -------------------------------------------------------------------------------- zero terminal SNR


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("T", [2, 3, 100, 1000])
def test_zero_terminal_snr_matches_lin_et_al_algorithm_1(name, T):
    original = make_schedule(name, T)
    rescaled = rescale_zero_terminal_snr(original)
    expected = ref_enforce_zero_terminal_snr(original.betas.numpy())
    assert_close(rescaled.betas, expected, rtol=1e-9, atol=1e-15)
    # the defining properties
    assert float(rescaled.alpha_bars[-1]) == 0.0
    assert float(rescaled.betas[-1]) == 1.0
    assert float(rescaled.snr[-1]) == 0.0
    assert float(rescaled.log_snr[-1]) == -math.inf
    assert rescaled.alpha_bar(T) == 0.0
    assert float(rescaled.sqrt_alpha_bars[0]) == pytest.approx(float(original.sqrt_alpha_bars[0]), rel=1e-12)
    assert rescaled.zero_terminal_snr and not original.zero_terminal_snr
    assert rescaled.name == original.name and dict(rescaled.params) == dict(original.params)
    # and the same through make_schedule
    via_make = make_schedule(name, T, zero_terminal_snr=True)
    torch.testing.assert_close(via_make.betas, rescaled.betas, rtol=0, atol=0)


def test_zero_terminal_snr_is_an_affine_map_of_sqrt_alpha_bar():
    original = make_schedule("linear", 1000)
    rescaled = make_schedule("linear", 1000, zero_terminal_snr=True)
    old, new = original.sqrt_alpha_bars, rescaled.sqrt_alpha_bars
    scale = (old[0] - old[-1]) / old[0]
    torch.testing.assert_close(new, (old - old[-1]) / scale, rtol=1e-9, atol=1e-15)


def test_zero_terminal_snr_rescale_is_idempotent():
    rescaled = make_schedule("cosine", 30, zero_terminal_snr=True)
    again = rescale_zero_terminal_snr(rescaled)
    assert torch.equal(again.betas, rescaled.betas)


def test_the_default_linear_schedule_does_not_have_zero_terminal_snr():
    # the reason for the rescale: without it the last state still holds a little signal
    assert make_schedule("linear", 1000).alpha_bar(1000) > 0
    assert make_schedule("linear", 1000, zero_terminal_snr=True).alpha_bar(1000) == 0


# ------------------------------------------------------------------------------- NoiseSchedule object


def test_from_betas_keeps_the_given_betas_and_derives_the_rest():
    betas = [0.1, 0.2, 0.5, 0.9]
    schedule = NoiseSchedule.from_betas(betas, name="mine")
    assert schedule.name == "mine"
    assert schedule.betas.dtype == torch.float64
    assert schedule.betas.tolist() == betas
    assert schedule.alpha_bars.tolist() == pytest.approx([0.9, 0.72, 0.36, 0.036], rel=1e-12)
    assert NoiseSchedule.from_betas(np.array(betas)).betas.tolist() == betas
    assert NoiseSchedule.from_betas(torch.tensor(betas, dtype=torch.float32)).betas.dtype == torch.float64


def test_from_betas_copies_its_input():
    betas = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    schedule = NoiseSchedule.from_betas(betas)
    betas.fill_(0.5)
    assert schedule.betas.tolist() == [0.1, 0.2, 0.3]


def test_schedule_attributes_are_read_only_and_params_a_copy():
    schedule = make_schedule("linear", 10)
    for attribute in ["betas", "alpha_bars", "name", "params", "num_timesteps", "zero_terminal_snr"]:
        with pytest.raises(AttributeError):
            setattr(schedule, attribute, torch.zeros(10))
    schedule.params["beta_T"] = 0.5  # a copy: the schedule does not change
    assert schedule.params["beta_T"] == 0.02
    assert schedule.betas.tolist() == pytest.approx(ref_linear(10, 1e-4, 0.02), rel=1e-12)


@pytest.mark.parametrize("zero_terminal_snr", [False, True])
@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_schedule_survives_copy_pickle_and_a_weights_only_checkpoint(tmp_path, name, zero_terminal_snr):
    import copy
    import pickle

    schedule = make_schedule(name, 50, zero_terminal_snr=zero_terminal_snr)
    for clone in [copy.copy(schedule), copy.deepcopy(schedule), pickle.loads(pickle.dumps(schedule))]:
        assert clone == schedule and clone is not schedule
        assert torch.equal(clone.alpha_bars, schedule.alpha_bars) and clone.params == schedule.params
    path = tmp_path / "schedule.pt"
    torch.save({"schedule": schedule.state_dict()}, path)
    loaded = NoiseSchedule.from_state_dict(torch.load(path, weights_only=True)["schedule"])
    assert loaded == schedule and repr(loaded) == repr(schedule)
    assert loaded.zero_terminal_snr is zero_terminal_snr


def test_schedules_differ_when_any_part_differs():
    base = make_schedule("linear", 10)
    assert base == make_schedule("linear", 10)
    assert base != make_schedule("linear", 11)
    assert base != make_schedule("linear", 10, beta_T=0.03)
    assert base != NoiseSchedule(base.betas, name="custom", params=base.params)
    assert base != "linear"


@pytest.mark.parametrize(
    "state",
    [None, {}, {"betas": torch.ones(3)}, {"betas": [0.1], "name": "x", "params": [], "zero_terminal_snr": False}],
)
def test_from_state_dict_refuses_what_state_dict_does_not_make(state):
    with pytest.raises((TypeError, ValueError), match=r"state|betas"):
        NoiseSchedule.from_state_dict(state)


def test_parameter_table_defaults_are_allowed_and_sliders_inside_the_allowed_range():
    for name, table in dh.SCHEDULE_PARAMETERS.items():
        schedule = make_schedule(name, 100)
        assert schedule.params == {key: spec.default for key, spec in table.items()}
        for key, spec in table.items():
            assert spec.slider_low <= spec.default <= spec.slider_high
            for end in (spec.slider_low, spec.slider_high):
                if end != spec.low or spec.low_inclusive:
                    assert spec.check(key, end) == end
            assert spec.slider_low > 0 or not spec.log_slider


@pytest.mark.parametrize(
    ("function", "kwargs", "message"),
    [
        (linear_betas, {"beta_1": 2.0, "beta_T": 3.0}, "beta_1"),
        (quadratic_betas, {"beta_1": 0.1, "beta_T": 1.5}, "beta_T"),
        (sigmoid_betas, {"beta_1": 0.3, "beta_T": 0.2}, "beta_1 <= beta_T"),
        (cosine_betas, {"s": -0.1}, "s must"),
        (cosine_betas, {"max_beta": 1.0}, "max_beta"),
        (linear_betas, {"beta_1": float("nan")}, "finite"),
    ],
)
def test_public_beta_functions_validate_like_make_schedule(function, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        function(3, **kwargs)


@pytest.mark.parametrize("function", [linear_betas, quadratic_betas, cosine_betas, sigmoid_betas, make_schedule])
def test_huge_num_timesteps_is_refused_before_allocating(function):
    args = ("linear", 10**9) if function is make_schedule else (10**9,)
    with pytest.raises(ValueError, match=f"num_timesteps must be an int in \\[1, {dh.MAX_NUM_TIMESTEPS}\\]"):
        function(*args)
    with pytest.raises(ValueError, match="at most MAX_NUM_TIMESTEPS"):
        NoiseSchedule(torch.full((dh.MAX_NUM_TIMESTEPS + 1,), 0.01, dtype=torch.float64))


def test_timesteps_to_show_refuses_a_huge_request():
    with pytest.raises(ValueError, match="num_timesteps"):
        timesteps_to_show(10**9, 10**9)


@pytest.mark.parametrize("flag", ["no", 0, 1, None, np.bool_(True)])
def test_zero_terminal_snr_must_be_a_bool(flag):
    with pytest.raises(TypeError, match="zero_terminal_snr must be True or False"):
        make_schedule("linear", 10, zero_terminal_snr=flag)
    with pytest.raises(TypeError, match="zero_terminal_snr must be True or False"):
        NoiseSchedule(torch.full((3,), 0.1, dtype=torch.float64), zero_terminal_snr=flag)


def test_terminal_health_of_a_schedule_that_adds_no_noise_has_infinite_snr():
    schedule = NoiseSchedule.from_betas([1e-20] * 5)  # 1 - 1e-20 rounds to 1 in float64
    health = dh.terminal_health(schedule)
    assert health["snr_T"] == math.inf and health["sqrt_alpha_bar_T"] == 1.0 and not health["ok"]


def test_rescale_blames_the_parameter_when_alpha_bar_underflows_before_T():
    schedule = make_schedule("linear", 1000, beta_1=0.5, beta_T=0.9)  # alpha_bar_t underflows to 0 early
    assert float(schedule.alpha_bars[-2]) == 0.0
    with pytest.raises(ValueError, match="beta_T"):
        rescale_zero_terminal_snr(schedule)
    with pytest.raises(ValueError, match="beta_T"):
        make_schedule("linear", 1000, beta_1=0.5, beta_T=0.9, zero_terminal_snr=True)


PROPERTIES = ["betas", "alphas", "alpha_bars", "sqrt_alpha_bars", "sqrt_one_minus_alpha_bars", "snr", "log_snr"]


@pytest.mark.parametrize("prop", PROPERTIES)
def test_properties_return_copies(prop):
    schedule = make_schedule("cosine", 20)
    before = {name: getattr(schedule, name).clone() for name in PROPERTIES}
    alpha_bar_5 = schedule.alpha_bar(5)
    x0 = torch.ones(3, dtype=torch.float64)
    sample_before = dh.q_sample(x0, 5, schedule, noise=torch.zeros(3, dtype=torch.float64))

    value = getattr(schedule, prop)
    value.mul_(0.5).add_(0.25)  # change the returned tensor in place

    for name in PROPERTIES:
        assert torch.equal(getattr(schedule, name), before[name]), f"changing {prop} changed {name}"
    assert schedule.alpha_bar(5) == alpha_bar_5
    assert torch.equal(dh.q_sample(x0, 5, schedule, noise=torch.zeros(3, dtype=torch.float64)), sample_before)


@pytest.mark.parametrize("prop", PROPERTIES)
def test_properties_are_float64_of_length_T(prop):
    value = getattr(make_schedule("quadratic", 37), prop)
    assert value.dtype == torch.float64 and value.shape == (37,)


# --------------------------------------------------------------------------- hypothesis properties

range_params = st.tuples(st.floats(1e-8, 0.5), st.floats(0.0, 1.0)).map(
    lambda p: {"beta_1": p[0], "beta_T": p[0] + p[1] * (0.999 - p[0])}  # beta_1 <= beta_T < 1
)
cosine_params = st.fixed_dictionaries({"s": st.floats(0.0, 5.0), "max_beta": st.floats(1e-3, 0.999)})


@st.composite
def named_schedules(draw):
    name = draw(st.sampled_from(SCHEDULE_NAMES))
    params = draw(cosine_params if name == "cosine" else range_params)
    return name, draw(st.integers(1, 2000)), params


@settings(deadline=None, max_examples=150)
@given(named_schedules())
def test_every_named_schedule_has_betas_in_the_open_unit_interval(case):
    name, T, params = case
    raw = {"linear": linear_betas, "quadratic": quadratic_betas, "cosine": cosine_betas, "sigmoid": sigmoid_betas}
    betas = raw[name](T, **params)  # the raw functions, before NoiseSchedule's own check
    assert betas.shape == (T,) and betas.dtype == torch.float64
    assert bool(((betas > 0) & (betas < 1)).all()), betas
    # and they agree with the reference
    assert_close(betas, reference_betas(name, T, **params), rtol=1e-8, atol=1e-15)
    schedule = make_schedule(name, T, **params)
    assert bool(((schedule.betas > 0) & (schedule.betas < 1)).all())


# Ranges where the float64 product cannot underflow: (1 - 0.3)^1000 ~ 1e-155; beta >= 1e-6 keeps 1 - beta < 1.
@st.composite
def non_underflowing_schedules(draw):
    name = draw(st.sampled_from(SCHEDULE_NAMES))
    T = draw(st.integers(2, 1000))
    if name == "cosine":
        params = draw(st.fixed_dictionaries({"s": st.floats(0.0, 1.0), "max_beta": st.floats(0.01, 0.999)}))
    else:
        beta_1 = draw(st.floats(1e-6, 0.1))
        params = {"beta_1": beta_1, "beta_T": draw(st.floats(beta_1, 0.3))}
    return name, T, params


@settings(deadline=None, max_examples=150)
@given(non_underflowing_schedules(), st.booleans())
def test_alpha_bars_are_strictly_decreasing(case, zero_terminal_snr):
    name, T, params = case
    schedule = make_schedule(name, T, zero_terminal_snr=zero_terminal_snr, **params)
    alpha_bars = schedule.alpha_bars
    assert float(alpha_bars[0]) < 1.0
    assert bool((alpha_bars[1:] < alpha_bars[:-1]).all())
    assert float(alpha_bars[-1]) >= 0.0
    if zero_terminal_snr:
        assert float(alpha_bars[-1]) == 0.0 and float(alpha_bars[-2]) > 0.0
    else:
        assert float(alpha_bars[-1]) > 0.0
    snr = schedule.snr
    assert bool((snr[1:] < snr[:-1]).all())


@settings(deadline=None, max_examples=100)
@given(st.lists(st.floats(1e-6, 1 - 1e-6), min_size=2, max_size=300))
def test_zero_terminal_snr_of_any_schedule_matches_algorithm_1(betas):
    schedule = NoiseSchedule.from_betas(betas)
    assume(float(schedule.alpha_bars[-1]) > 1e-280)  # Algorithm 1 divides by alpha_bar_{t-1}
    assume(schedule.alpha_bar(1) - float(schedule.alpha_bars[-1]) > 1e-3)  # a well-defined rescale
    expected = ref_enforce_zero_terminal_snr(np.array(betas, dtype=np.float64))
    if not (expected[:-1] < 1).all():
        # e.g. betas [0.5, 0.999999, 1e-6]: the rescaled beta_2 is 1 - 2.5e-19, which is 1.0 in float64, so
        # alpha_bar would reach 0 before T. The package must refuse rather than return such a schedule.
        with pytest.raises(ValueError, match=r"\bbeta_\d+\b"):
            rescale_zero_terminal_snr(schedule)
        return
    rescaled = rescale_zero_terminal_snr(schedule)
    assert_close(rescaled.betas, expected, rtol=1e-7, atol=1e-12)
    assert float(rescaled.alpha_bars[-1]) == 0.0 and float(rescaled.betas[-1]) == 1.0
    assert float(rescaled.betas[0]) == pytest.approx(betas[0], rel=1e-6, abs=1e-10)


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_timesteps_to_show_properties(data):
    T = data.draw(st.integers(1, 100_000), label="T")
    count = data.draw(st.integers(2, min(T + 1, 2000)), label="count")
    steps = timesteps_to_show(T, count)
    assert len(steps) == count
    assert all(type(t) is int for t in steps)
    assert steps[0] == 0 and steps[-1] == T
    gaps = [b - a for a, b in itertools.pairwise(steps)]
    assert min(gaps) >= 1  # strictly increasing
    assert max(gaps) - min(gaps) <= 1  # evenly spread
    assert all(abs(t - i * T / (count - 1)) <= 0.5 for i, t in enumerate(steps))  # each is the nearest int


def test_timesteps_to_show_examples():
    assert timesteps_to_show(100, 11) == list(range(0, 101, 10))
    assert timesteps_to_show(5, 6) == [0, 1, 2, 3, 4, 5]
    assert timesteps_to_show(1, 2) == [0, 1]
    # ERRATA 4's situation: stepping by T // count would leave out t = T
    assert timesteps_to_show(1000, 7)[-1] == 1000 and list(range(0, 1001, 1000 // 6))[-1] != 1000


# ------------------------------------------------------------------------------------------ bad input


def names(*args: str) -> str:
    """A regex requiring every one of ``args`` as a whole word in the message."""
    return "".join(rf"(?=.*\b{re.escape(a)}\b)" for a in args)


@pytest.mark.parametrize("T", [0, -1, -1000])
def test_T_below_one_is_a_value_error(T):
    with pytest.raises(ValueError, match=names("num_timesteps")):
        make_schedule("linear", T)


@pytest.mark.parametrize("T", [100.0, 1.5, True, "100", None, torch.tensor(100)])
def test_T_not_an_int_is_a_type_error(T):
    with pytest.raises(TypeError, match=names("num_timesteps")):
        make_schedule("cosine", T)


@pytest.mark.parametrize("name", ["linear", "quadratic", "sigmoid"])
@pytest.mark.parametrize("param", ["beta_1", "beta_T"])
@pytest.mark.parametrize("value", [0.0, -0.01, 1.0, 1.5])
def test_beta_outside_the_open_unit_interval_is_a_value_error(name, param, value):
    other = {"beta_1": 1e-4, "beta_T": 0.02}
    other[param] = value
    with pytest.raises(ValueError, match=names(param)):
        # beta_1 > beta_T may be true as well; the range check must come first and name the argument
        make_schedule(name, 10, **other)


@pytest.mark.parametrize("name", ["linear", "quadratic", "sigmoid"])
def test_beta_1_above_beta_T_is_a_value_error_naming_both(name):
    with pytest.raises(ValueError, match=names("beta_1", "beta_T")):
        make_schedule(name, 10, beta_1=0.02, beta_T=0.01)
    make_schedule(name, 10, beta_1=0.02, beta_T=0.02)  # equal is fine: a constant schedule


@pytest.mark.parametrize(
    ("name", "param"),
    [
        ("linear", "beta_1"),
        ("linear", "beta_T"),
        ("quadratic", "beta_T"),
        ("sigmoid", "beta_1"),
        ("cosine", "s"),
        ("cosine", "max_beta"),
    ],
)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_parameters_are_value_errors(name, param, value):
    with pytest.raises(ValueError, match=names(param)):
        make_schedule(name, 10, **{param: value})


@pytest.mark.parametrize(("name", "param"), [("linear", "beta_1"), ("sigmoid", "beta_T"), ("cosine", "s")])
@pytest.mark.parametrize("value", ["0.1", True, None, torch.tensor(0.1)])
def test_non_number_parameters_are_type_errors(name, param, value):
    with pytest.raises(TypeError, match=names(param)):
        make_schedule(name, 10, **{param: value})


def test_cosine_parameter_ranges():
    with pytest.raises(ValueError, match=names("s")):
        make_schedule("cosine", 10, s=-0.001)
    for max_beta in [0.0, 1.0, 1.2, -0.5]:
        with pytest.raises(ValueError, match=names("max_beta")):
            make_schedule("cosine", 10, max_beta=max_beta)
    make_schedule("cosine", 10, s=0.0)  # s = 0 is allowed


@pytest.mark.parametrize("name", ["Linear", "cos", "", "scaled_linear", "squaredcos_cap_v2"])
def test_unknown_schedule_name_lists_the_valid_names(name):
    with pytest.raises(ValueError, match=names("name", *SCHEDULE_NAMES)):
        make_schedule(name, 10)


def test_schedule_name_not_a_string_is_a_type_error():
    with pytest.raises(TypeError, match=names("name", *SCHEDULE_NAMES)):
        make_schedule(linear_betas, 10)


@pytest.mark.parametrize(
    ("name", "params", "unknown"),
    [
        ("linear", {"beta_start": 1e-4}, "beta_start"),
        ("cosine", {"beta_1": 1e-4}, "beta_1"),
        ("sigmoid", {"s": 0.008}, "s"),
        ("quadratic", {"beta_end": 0.02, "T": 5}, "beta_end"),
    ],
)
def test_unknown_schedule_parameter_is_a_type_error_naming_it(name, params, unknown):
    with pytest.raises(TypeError, match=names(unknown)):
        make_schedule(name, 10, **params)


@pytest.mark.parametrize(
    ("betas", "error", "pattern"),
    [
        ([], ValueError, "betas"),
        ([[0.1, 0.2]], ValueError, "betas"),
        ([0.0, 0.5], ValueError, "beta_1"),
        ([0.5, 1.0], ValueError, "beta_2"),
        ([0.5, 0.2, -0.1], ValueError, "beta_3"),
        ([0.1, math.nan], ValueError, "betas"),
        ([0.1, math.inf], ValueError, "betas"),
        (["a", "b"], TypeError, "betas"),
        (object(), TypeError, "betas"),
        (torch.tensor([True, False]), TypeError, "betas"),
        (torch.tensor([0.1 + 0.1j]), TypeError, "betas"),
        (torch.tensor(0.1), ValueError, "betas"),
    ],
)
def test_from_betas_rejects_bad_values_naming_them(betas, error, pattern):
    with pytest.raises(error, match=names(pattern)):
        NoiseSchedule.from_betas(betas)


def test_noise_schedule_constructor_checks_betas_too():
    with pytest.raises(TypeError, match=names("betas")):
        NoiseSchedule([0.1, 0.2])  # the constructor takes a tensor; from_betas converts sequences
    with pytest.raises(ValueError, match=names("beta_T")):
        NoiseSchedule(torch.tensor([0.1, 0.5], dtype=torch.float64), zero_terminal_snr=True)


def test_rescale_with_a_single_timestep_is_a_value_error():
    with pytest.raises(ValueError, match=names("num_timesteps")):
        rescale_zero_terminal_snr(make_schedule("linear", 1))
    with pytest.raises(ValueError, match=names("num_timesteps")):
        make_schedule("cosine", 1, zero_terminal_snr=True)


def test_rescale_of_a_non_schedule_is_a_type_error():
    with pytest.raises(TypeError, match=names("schedule")):
        rescale_zero_terminal_snr(torch.tensor([0.1, 0.2]))


@pytest.mark.parametrize(("t", "error"), [(-1, ValueError), (11, ValueError), (1.0, TypeError), (True, TypeError)])
def test_alpha_bar_checks_t(t, error):
    with pytest.raises(error, match=names("t")):
        make_schedule("linear", 10).alpha_bar(t)


@pytest.mark.parametrize(
    ("T", "count", "error", "arg"),
    [
        (0, 2, ValueError, "num_timesteps"),
        (10, 1, ValueError, "count"),
        (10, 12, ValueError, "count"),
        (10.0, 3, TypeError, "num_timesteps"),
        (10, 3.0, TypeError, "count"),
        (10, True, TypeError, "count"),
    ],
)
def test_timesteps_to_show_bad_input(T, count, error, arg):
    with pytest.raises(error, match=names(arg)):
        timesteps_to_show(T, count)


def test_terminal_health_flags_the_t100_pitfall() -> None:
    # ERRATA 6: the linear range 1e-4..0.02 was chosen for T = 1000; at T = 100 about 60% of the signal remains.
    short = dh.terminal_health(dh.make_schedule("linear", 100))
    alpha_bar_100 = math.prod(1 - b for b in np.linspace(1e-4, 0.02, 100))
    assert short["sqrt_alpha_bar_T"] == pytest.approx(math.sqrt(alpha_bar_100), rel=1e-9)
    assert short["sqrt_alpha_bar_T"] == pytest.approx(0.60, abs=0.01)
    assert not short["ok"] and "60%" in short["verdict"]
    assert short["snr_T"] == pytest.approx(alpha_bar_100 / (1 - alpha_bar_100), rel=1e-9)
    assert dh.terminal_health(dh.make_schedule("linear", 1000))["ok"]
    assert dh.terminal_health(dh.make_schedule("linear", 100, zero_terminal_snr=True))["snr_T"] == 0.0
    with pytest.raises(TypeError, match="schedule"):
        dh.terminal_health(0.6)
