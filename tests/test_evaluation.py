"""Tests of diffusion_helpers.evaluation: the steps-versus-quality curve falls the way the theory says, with
exact noise predictors (Gaussian data, and two-mode mixture data) in place of a network, and bad input fails
clearly."""

from __future__ import annotations

import itertools

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import toy1d
from diffusion_helpers.evaluation import NoiseFloorScorer, QualityPoint, steps_versus_quality

N = 2000
MEAN, STD = torch.tensor([0.3, -0.2]), torch.tensor([0.4, 0.1])


@pytest.fixture(scope="module")
def schedule() -> dh.NoiseSchedule:
    return dh.make_schedule("cosine", 200)


@pytest.fixture(scope="module")
def gaussian_held_out() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(10)
    return [MEAN + STD * torch.randn(N, 2, generator=generator) for _ in range(5)]


def _falls_within_noise(ratios: list[float], *, floor_noise: float = 0.5) -> bool:
    """Each ratio is at most the previous one, up to the metric's noise near the floor."""
    return all(later <= max(earlier * 1.1, 1.0 + floor_noise) for earlier, later in itertools.pairwise(ratios))


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_gaussian_data_the_error_shrinks_with_the_steps(schedule, gaussian_held_out, eta: float) -> None:
    exact = dh.gaussian_eps_model(schedule, MEAN, STD)
    points = steps_versus_quality(exact, schedule, gaussian_held_out, [1, 2, 5, 20, 200], eta=eta, seed=1)
    ratios = [p.ratio for p in points]
    assert [p.steps for p in points] == [1, 2, 5, 20, 200]
    assert _falls_within_noise(ratios), ratios
    assert ratios[0] > 3 * ratios[-1]  # one step returns about E[x_0 | x_T]: a collapsed cloud
    assert ratios[-1] < 1.5  # all 200 steps with the exact model: at the floor
    assert all(p.seconds_per_sample > 0 and p.cpu_seconds_per_sample >= 0 for p in points)


def test_two_mode_data_the_error_shrinks_with_the_steps(schedule) -> None:
    two_modes = toy1d.GaussianMixture(means=[-1.0, 1.0], stds=[0.15, 0.15])
    eps_1d = toy1d.mixture_eps_model(schedule, two_modes)

    def exact(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # (B, 1) points, as the metric needs
        return eps_1d(x_t[:, 0], t)[:, None].to(x_t.dtype)

    held_out = [two_modes.sample(N, generator=torch.Generator().manual_seed(20 + k)).float()[:, None] for k in range(5)]
    points = steps_versus_quality(exact, schedule, held_out, [1, 3, 10, 50, 200], eta=0.0, seed=2)
    ratios = [p.ratio for p in points]
    assert _falls_within_noise(ratios), ratios
    assert ratios[0] > 5 and ratios[-1] < 1.5


def test_one_seed_gives_one_curve_and_the_same_start_for_every_step_count(schedule, gaussian_held_out) -> None:
    exact = dh.gaussian_eps_model(schedule, MEAN, STD)
    first = steps_versus_quality(exact, schedule, gaussian_held_out, [3, 10], seed=4)
    again = steps_versus_quality(exact, schedule, gaussian_held_out, [10, 3], seed=4)
    assert [p.ratio for p in first] == [p.ratio for p in reversed(again)]
    directions = dh.metrics.random_directions(64, 2, generator=torch.Generator().manual_seed(0))
    (point,) = steps_versus_quality(exact, schedule, gaussian_held_out, [10], seed=4, projections=directions)
    samples = dh.ddim_sample(exact, schedule, (N, 2), steps=10, generator=torch.Generator().manual_seed(4))
    assert point.ratio == dh.noise_floor_ratio(samples, gaussian_held_out, projections=directions).ratio
    assert isinstance(point, QualityPoint) and point.steps == 10


def test_bad_input_is_a_clear_error(schedule, gaussian_held_out) -> None:
    exact = dh.gaussian_eps_model(schedule, MEAN, STD)
    with pytest.raises(ValueError, match="steps_list is empty"):
        steps_versus_quality(exact, schedule, gaussian_held_out, [])
    with pytest.raises(ValueError, match=r"steps_list must be an int in \[1, 200\]"):
        steps_versus_quality(exact, schedule, gaussian_held_out, [0])
    with pytest.raises(ValueError, match=r"steps_list must be an int in \[1, 200\]"):
        steps_versus_quality(exact, schedule, gaussian_held_out, [201])
    with pytest.raises(TypeError, match="steps_list"):
        steps_versus_quality(exact, schedule, gaussian_held_out, 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="eta"):
        steps_versus_quality(exact, schedule, gaussian_held_out, [5], eta=-0.1)
    with pytest.raises(ValueError, match="spacing"):
        steps_versus_quality(exact, schedule, gaussian_held_out, [5], spacing="even")
    with pytest.raises(ValueError, match="at least 2"):
        steps_versus_quality(exact, schedule, gaussian_held_out[:1], [5])
    with pytest.raises(ValueError, match="held_out"):
        steps_versus_quality(exact, schedule, [gaussian_held_out[0], gaussian_held_out[1][:10]], [5])
    with pytest.raises(TypeError, match="schedule"):
        steps_versus_quality(exact, None, gaussian_held_out, [5])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model"):
        steps_versus_quality("model", schedule, gaussian_held_out, [5])  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [2, 5])
def test_the_scorer_gives_noise_floor_ratio_number_for_number(gaussian_held_out, count: int) -> None:
    directions = dh.metrics.random_directions(32, 2, generator=torch.Generator().manual_seed(1))
    score = NoiseFloorScorer(gaussian_held_out[:count], projections=directions)
    for seed in range(3):
        samples = MEAN + STD * 1.2 * torch.randn(N, 2, generator=torch.Generator().manual_seed(seed))
        assert score(samples) == dh.noise_floor_ratio(samples, gaussian_held_out[:count], projections=directions)
    drawn = NoiseFloorScorer(gaussian_held_out, projections=16, generator=torch.Generator().manual_seed(2))
    same = dh.noise_floor_ratio(samples, gaussian_held_out, projections=16, generator=torch.Generator().manual_seed(2))
    assert drawn(samples) == same


def test_the_scorer_rejects_what_noise_floor_ratio_rejects(gaussian_held_out) -> None:
    score = NoiseFloorScorer(gaussian_held_out, projections=8)
    with pytest.raises(ValueError, match=r"shape \(2000, 2\)"):
        score(gaussian_held_out[0][:10])
    with pytest.raises(ValueError, match="finite"):
        score(torch.full((N, 2), float("nan")))
    with pytest.raises(ValueError, match="at least 2"):
        NoiseFloorScorer(gaussian_held_out[:1])
    with pytest.raises(TypeError, match="list"):
        NoiseFloorScorer(gaussian_held_out[0])
    with pytest.raises(ValueError, match="held_out"):
        NoiseFloorScorer([gaussian_held_out[0], gaussian_held_out[1][:10]])
    with pytest.raises(ValueError, match="identical"):
        NoiseFloorScorer([gaussian_held_out[0], gaussian_held_out[0]])
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        NoiseFloorScorer(gaussian_held_out, p=3)
