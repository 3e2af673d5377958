"""Tests of diffusion_helpers.plotting_training: each figure draws exactly what it is given.

The arrows of the score field are checked against the closed-form score of Gaussian data, computed here
in float64 without the package; curves against independent moving averages; panels against their inputs.
"""

from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.quiver import Quiver

import diffusion_helpers as dh
from diffusion_helpers import plotting_training as pt

MEAN, STD = (0.5, -0.3), (0.2, 0.4)


@pytest.fixture(scope="module")
def schedule() -> dh.NoiseSchedule:
    return dh.make_schedule("linear", 100, beta_1=1e-3, beta_T=0.2)


@pytest.fixture(scope="module")
def points() -> torch.Tensor:
    return torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) * 0.5


@pytest.fixture(scope="module")
def trajectory(schedule: dh.NoiseSchedule) -> torch.Tensor:
    model = dh.gaussian_eps_model(schedule, torch.tensor(MEAN), torch.tensor(STD))
    _, trajectory = dh.ddpm_sample(
        model, schedule, (300, 2), generator=torch.Generator().manual_seed(1), return_trajectory=True
    )
    return trajectory


def _offsets(ax) -> list[np.ndarray]:
    return [np.asarray(c.get_offsets()) for c in ax.collections if not isinstance(c, Quiver)]


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


# ----------------------------------------------------------------------------------------------- samples


def test_plot_samples_draws_each_panel_over_the_reference(points: torch.Tensor) -> None:
    before = plt.get_fignums()
    panels = {"first": points, "second": points + 1}
    fig = pt.plot_samples(panels, points[:100], max_points=200, ncols=1, suptitle="s")
    assert plt.get_fignums() == before  # not registered with pyplot
    assert [ax.get_title() for ax in fig.axes] == ["first", "second"]
    for ax, samples in zip(fig.axes, panels.values()):
        reference, shown = _offsets(ax)
        assert np.allclose(reference, points[:100].numpy())
        assert np.allclose(shown, samples[:200].numpy())  # the first max_points samples, in order
        assert ax.get_xlim() == ax.get_ylim()
    lim = fig.axes[0].get_xlim()[1]
    assert lim == pytest.approx(1.25 * float(points[:100].abs().max()))


def test_plot_samples_counts_points_outside_the_frame(points: torch.Tensor) -> None:
    far = points.clone()
    far[:50] = 100.0
    far[50:75] = float("nan")  # a diverged sampler: counted, not silently dropped
    fig = pt.plot_samples({"far": far}, lim=3.0)
    assert "15% outside the frame" in _texts(fig)
    assert "outside" not in _texts(pt.plot_samples({"near": points}, lim=10.0))


def test_plot_samples_rejects_bad_input(points: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="panels is empty"):
        pt.plot_samples({})
    with pytest.raises(ValueError, match=r"panels\['a'\] must have shape \(N, 2\)"):
        pt.plot_samples({"a": torch.zeros(10, 3)})
    with pytest.raises(TypeError, match="reference must be a tensor"):
        pt.plot_samples({"a": points}, [[0.0, 0.0]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lim"):
        pt.plot_samples({"a": points}, lim=0.0)
    with pytest.raises(ValueError, match="ncols"):
        pt.plot_samples({"a": points}, ncols=0)


def test_plot_broken_vs_working_puts_each_cause_in_a_row(points: torch.Tensor) -> None:
    cases = {"data not in [-1, 1]": (points * 5, points), "too little training": (points + 2, points)}
    fig = pt.plot_broken_vs_working(cases, points, scores={"too little training": (1234.5, 1.05)})
    assert len(fig.axes) == 4
    assert [ax.get_ylabel() for ax in fig.axes[::2]] == list(cases)
    assert fig.axes[2].get_title() == "broken: 1,234× floor" and fig.axes[3].get_title() == "working: 1.1× floor"
    assert fig.axes[0].get_title() == "broken"
    assert np.allclose(_offsets(fig.axes[2])[1], (points + 2).numpy())
    with pytest.raises(ValueError, match="cases is empty"):
        pt.plot_broken_vs_working({})
    with pytest.raises(ValueError, match="pair"):
        pt.plot_broken_vs_working({"a": points})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="'b'"):
        pt.plot_broken_vs_working({"a": (points, points)}, scores={"b": (1.0, 1.0)})


# ---------------------------------------------------------------------------------------------- the field


def _gaussian_score(x: np.ndarray, alpha_bar_t: float) -> np.ndarray:
    """grad log N(x; sqrt(alpha_bar) mu, alpha_bar sigma^2 + 1 - alpha_bar), per dimension, in float64."""
    mu, sigma = np.array(MEAN), np.array(STD)
    return -(x - math.sqrt(alpha_bar_t) * mu) / (alpha_bar_t * sigma**2 + 1 - alpha_bar_t)


def test_the_score_field_is_the_closed_form_score_of_gaussian_data(schedule: dh.NoiseSchedule) -> None:
    model = dh.gaussian_eps_model(schedule, torch.tensor(MEAN), torch.tensor(STD))
    timesteps = [1, 30, 100]
    fig = pt.plot_score_field(model, schedule, timesteps, lim=1.5, grid_size=5)
    for ax, t in zip(fig.axes, timesteps):
        (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
        grid = np.asarray(quiver.get_offsets())
        assert grid.shape == (25, 2) and np.isclose(np.abs(grid).max(), 1.5)
        alpha_bar_t = float(np.prod(1 - schedule.betas.numpy()[:t]))
        expected = _gaussian_score(grid, alpha_bar_t)
        assert np.allclose(np.stack([quiver.U, quiver.V], 1), expected, rtol=1e-5, atol=1e-5)
        longest = float(np.linalg.norm(expected, axis=1).max())
        assert ax.get_title() == f"t = {t}: longest score arrow {longest:.3g}"
    # the predicted noise is the score times -sqrt(1 - alpha_bar_t): it points away from the data
    fig = pt.plot_score_field(model, schedule, [30], field="eps", lim=1.5, grid_size=5)
    quiver = next(c for c in fig.axes[0].collections if isinstance(c, Quiver))
    alpha_bar_30 = float(np.prod(1 - schedule.betas.numpy()[:30]))
    expected = -math.sqrt(1 - alpha_bar_30) * _gaussian_score(np.asarray(quiver.get_offsets()), alpha_bar_30)
    assert np.allclose(np.stack([quiver.U, quiver.V], 1), expected, rtol=1e-5, atol=1e-5)
    # directions only: unit arrows along the score, 0.8 grid spacings long
    fig = pt.plot_score_field(model, schedule, [30], directions_only=True, lim=1.5, grid_size=7)
    quiver = next(c for c in fig.axes[0].collections if isinstance(c, Quiver))
    score = _gaussian_score(np.asarray(quiver.get_offsets()), alpha_bar_30)
    expected = score / np.linalg.norm(score, axis=1, keepdims=True)
    assert np.allclose(np.stack([quiver.U, quiver.V], 1), expected, atol=1e-5)
    assert quiver.scale == pytest.approx(1 / (0.8 * 0.5)) and quiver.scale_units == "xy"
    longest = float(np.linalg.norm(score, axis=1).max())
    assert fig.axes[0].get_title() == f"t = 30: longest score arrow {longest:.3g}"


def test_the_score_field_background_is_q_sample_of_the_data(schedule: dh.NoiseSchedule, points: torch.Tensor) -> None:
    model = dh.gaussian_eps_model(schedule)
    fig = pt.plot_score_field(
        model, schedule, [10, 50], data=points, max_points=200, generator=torch.Generator().manual_seed(5)
    )
    generator = torch.Generator().manual_seed(5)
    for ax, t in zip(fig.axes, [10, 50]):
        expected = dh.q_sample(points[:200], t, schedule, generator=generator)
        assert np.allclose(_offsets(ax)[0], expected.numpy(), atol=1e-6)


def test_the_score_field_rejects_bad_input(schedule: dh.NoiseSchedule) -> None:
    model = dh.gaussian_eps_model(schedule)
    with pytest.raises(TypeError, match="model must be callable"):
        pt.plot_score_field("model", schedule, [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="schedule"):
        pt.plot_score_field(model, None, [1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"timesteps must be an int in \[1, 100\]"):
        pt.plot_score_field(model, schedule, [0])
    with pytest.raises(ValueError, match="timesteps is empty"):
        pt.plot_score_field(model, schedule, [])
    with pytest.raises(ValueError, match="field"):
        pt.plot_score_field(model, schedule, [1], field="x0")
    with pytest.raises(ValueError, match=r"model must return a tensor of x_t's shape \(289, 2\), got \(289,\)"):
        pt.plot_score_field(lambda x, t: x[:, 0], schedule, [1])
    with pytest.raises(ValueError, match=r"non-finite values .* at t = 7"):
        pt.plot_score_field(lambda x, t: x / 0, schedule, [7])
    with pytest.raises(TypeError, match="generator"):
        pt.plot_score_field(model, schedule, [1], generator=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="directions_only"):
        pt.plot_score_field(model, schedule, [1], directions_only="yes")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- trajectories


def test_frame_timesteps_are_spaced_evenly_in_log_snr() -> None:
    for schedule in (dh.make_schedule("linear", 1000), dh.make_schedule("cosine", 1000)):
        frames = pt.frame_timesteps(schedule, 8)
        assert frames[0] == 1000 and frames[-1] == 0 and frames == sorted(set(frames), reverse=True)
        assert len(frames) == 8
        log_snr = [math.log(schedule.alpha_bar(t) / (1 - schedule.alpha_bar(t))) for t in frames[1:-1]]
        assert log_snr[0] == pytest.approx(-8, abs=0.1) and log_snr[-1] == pytest.approx(8, abs=0.4)
        steps = np.diff(log_snr)
        assert np.allclose(steps, steps.mean(), rtol=0.1)  # equal steps, up to rounding t to an integer
    short = dh.make_schedule("linear", 100)  # log SNR(T) = -0.56 > -8: the range starts there
    frames = pt.frame_timesteps(short, 4)
    assert frames[0] == 100 and frames[-1] == 0 and len(frames) == 3  # the first target is T itself
    assert pt.frame_timesteps(short, 2) == [100, 0]
    assert len(pt.frame_timesteps(dh.make_schedule("linear", 5), 50)) <= 6  # shared timesteps appear once
    cosine = dh.make_schedule("cosine", 1000)
    narrow = pt.frame_timesteps(cosine, 6, log_snr_range=(-2, 7))
    log_snr = [math.log(cosine.alpha_bar(t) / (1 - cosine.alpha_bar(t))) for t in narrow[1:-1]]
    assert log_snr[0] == pytest.approx(-2, abs=0.1) and log_snr[-1] == pytest.approx(7, abs=0.4)
    with pytest.raises(ValueError, match="low < high"):
        pt.frame_timesteps(short, 4, log_snr_range=(3, -3))
    with pytest.raises(ValueError, match=r"\(low, high\)"):
        pt.frame_timesteps(short, 4, log_snr_range=(3,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        pt.frame_timesteps(short, 1)
    with pytest.raises(TypeError, match="schedule"):
        pt.frame_timesteps(None, 3)  # type: ignore[arg-type]


def test_trajectory_snapshots_show_the_requested_states(trajectory: torch.Tensor, points: torch.Tensor) -> None:
    fig = pt.plot_trajectory_snapshots(trajectory, [100, 40, 0], reference=points, paths=3, max_points=100)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["$x_{100}$ (noise)", "$x_{40}$", "$x_{0}$ (samples)"]
    for ax, t in zip(fig.axes, [100, 40, 0]):
        assert np.allclose(_offsets(ax)[1], trajectory[t, :100].double().numpy())
    lines = fig.axes[3].get_lines()
    assert len(lines) == 9  # per path: the path, its start, its end
    assert np.allclose(lines[0].get_xydata()[0], trajectory[100, 0].double().numpy())
    assert np.allclose(lines[0].get_xydata()[-1], trajectory[0, 0].double().numpy())
    assert np.allclose(lines[2].get_xydata()[0], trajectory[0, 0].double().numpy())
    with pytest.raises(ValueError, match=r"timesteps must be an int in \[0, 100\]"):
        pt.plot_trajectory_snapshots(trajectory, [101])
    with pytest.raises(ValueError, match=r"trajectory must have shape \(T \+ 1, N, 2\)"):
        pt.plot_trajectory_snapshots(trajectory[0], [0])
    with pytest.raises(ValueError, match="paths"):
        pt.plot_trajectory_snapshots(trajectory, [0], paths=301)


def test_trajectory_player_has_one_offline_jpeg_frame_per_timestep(trajectory: torch.Tensor) -> None:
    html = pt.trajectory_player(trajectory, [100, 0, 100], max_points=50, size=2.0)
    frames = re.findall(r'frames\[\d+\] = "([^"]*)"', html)
    assert len(frames) == 3
    assert frames[0] == frames[2] != frames[1]  # a frame shows its timestep's state, and only that
    assert "http" not in html and 'class="fa ' not in html and "data:image/jpeg;base64" in html
    with pytest.raises(ValueError, match="40 frames"):
        pt.trajectory_player(trajectory, list(range(41)))
    with pytest.raises(ValueError, match="timesteps"):
        pt.trajectory_player(trajectory, [-1])


# ------------------------------------------------------------------------------------------ curves


def test_plot_losses_draws_the_raw_loss_and_its_moving_average() -> None:
    losses = torch.rand(300, generator=torch.Generator().manual_seed(2)) + 0.1
    fig = pt.plot_losses({"run": losses, "other": losses * 2}, window=50)
    ax = fig.axes[0]
    raw, smooth, _, other = ax.get_lines()
    assert np.allclose(raw.get_ydata(), losses.double().numpy())
    cumulative = np.concatenate([[0.0], np.cumsum(losses.double().numpy())])
    assert np.allclose(smooth.get_xdata(), np.arange(50, 301))
    assert np.allclose(smooth.get_ydata(), (cumulative[50:] - cumulative[:-50]) / 50)
    assert smooth.get_linestyle() != other.get_linestyle()  # told apart in greyscale too
    assert ax.get_yscale() == "log"
    assert pt.plot_losses([1.0, 2.0], window=10).axes[0].get_lines()[1].get_ydata().tolist() == [1.5]
    with pytest.raises(ValueError, match="non-finite"):
        pt.plot_losses([1.0, float("nan")])
    with pytest.raises(ValueError, match="<= 0"):
        pt.plot_losses([1.0, 0.0])
    assert pt.plot_losses([1.0, 0.0], log_y=False).axes[0].get_yscale() == "linear"
    with pytest.raises(ValueError, match="empty"):
        pt.plot_losses([])


def test_plot_metric_curve_marks_the_floor_and_its_spread() -> None:
    fig = pt.plot_metric_curve({"a": ([100, 200], [5.0, 1.2]), "b": ([100, 200], [4.0, 2.0])}, floor_band=(0.8, 1.3))
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["spread of the floor itself", "noise floor: indistinguishable", "a", "b"]
    assert np.asarray(ax.get_lines()[0].get_ydata()).tolist() == [1.0, 1.0]
    assert ax.get_lines()[1].get_ydata().tolist() == [5.0, 1.2]
    with pytest.raises(ValueError, match="2 steps for 3 values"):
        pt.plot_metric_curve({"a": ([1, 2], [1.0, 2.0, 3.0])})
    with pytest.raises(ValueError, match="contain 1"):
        pt.plot_metric_curve({"a": ([1], [1.0])}, floor_band=(1.1, 1.2))
    with pytest.raises(ValueError, match="empty"):
        pt.plot_metric_curve({})


def test_plot_floor_spread_shows_each_draw_and_its_spread_around_the_mean() -> None:
    draws = {"2,000 points": [0.8, 1.0, 1.2, 1.0], "10,000 points": [0.5, 0.5]}
    fig = pt.plot_floor_spread(draws)
    ax = fig.axes[0]
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert np.allclose(dots[0].get_xdata(), [0.8, 1.0, 1.2, 1.0])
    assert np.allclose(dots[1].get_xdata(), [0.5, 0.5])
    assert ax.get_xscale() == "log"
    assert "mean 1, -20% to +20%" in _texts(fig) and "mean 0.5, +0% to +0%" in _texts(fig)
    assert [label.get_text() for label in ax.get_yticklabels()] == list(draws)
    with pytest.raises(ValueError, match="at least two"):
        pt.plot_floor_spread({"a": [1.0]})
    with pytest.raises(ValueError, match="<= 0"):
        pt.plot_floor_spread({"a": [1.0, 0.0]})
    with pytest.raises(ValueError, match="empty"):
        pt.plot_floor_spread({})


def test_the_module_is_lazily_imported_by_the_package() -> None:
    assert "plotting_training" in dh.__all__
    assert dh.plotting_training is pt
