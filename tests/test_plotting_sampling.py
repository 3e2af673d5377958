"""Tests of diffusion_helpers.plotting_sampling: each figure draws exactly what it is given (timesteps from
spaced_timesteps, curves from their rows, points in their panels), and bad input fails clearly."""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import plotting_sampling as ps

MEAN, STD = (0.5, -0.3), (0.2, 0.4)


@pytest.fixture(scope="module")
def schedule() -> dh.NoiseSchedule:
    return dh.make_schedule("cosine", 100)


@pytest.fixture(scope="module")
def runs(schedule: dh.NoiseSchedule) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """A DDPM run (every t) and a DDIM run (10 steps) from the same noise, as (trajectory, timesteps)."""
    model = dh.gaussian_eps_model(schedule, torch.tensor(MEAN), torch.tensor(STD))
    _, ddpm = dh.ddpm_sample(
        model, schedule, (200, 2), generator=torch.Generator().manual_seed(1), return_trajectory=True
    )
    _, ddim, ddim_t = dh.ddim_sample(
        model, schedule, (200, 2), steps=10, generator=torch.Generator().manual_seed(1), return_trajectory=True
    )
    return {"DDPM": (ddpm, torch.arange(101)), "DDIM": (ddim, ddim_t)}


def test_plot_spacings_marks_the_timesteps_of_each_spacing(schedule: dh.NoiseSchedule) -> None:
    before = plt.get_fignums()
    fig = ps.plot_spacings(schedule, 5, suptitle="s")
    assert plt.get_fignums() == before  # not registered with pyplot
    top, bottom = fig.axes
    rows = [line for line in bottom.get_lines()]
    assert len(rows) == 3
    for row, spacing in zip(rows, dh.SPACINGS):
        assert row.get_xdata().tolist() == dh.spaced_timesteps(100, 5, spacing).tolist()
    starts = [line for line in top.get_lines()[1:]]
    for line, spacing in zip(starts, dh.SPACINGS):
        start = int(dh.spaced_timesteps(100, 5, spacing)[-1])
        assert line.get_xdata().tolist() == [start]
        assert np.isclose(line.get_ydata()[0], float(schedule.sqrt_alpha_bars[start - 1]))
    labels = top.get_legend_handles_labels()[1]
    assert any("leading starts at t = 81" in label for label in labels)
    assert any("trailing starts at t = 100" in label for label in labels)
    with pytest.raises(ValueError, match=r"steps must be an int in \[1, 100\]"):
        ps.plot_spacings(schedule, 101)
    with pytest.raises(ValueError, match="spacings"):
        ps.plot_spacings(schedule, 5, spacings=["even"])
    with pytest.raises(ValueError, match="spacings"):
        ps.plot_spacings(schedule, 5, spacings="trailing")
    with pytest.raises(TypeError, match="schedule"):
        ps.plot_spacings(None, 5)  # type: ignore[arg-type]


def test_plot_steps_versus_quality_draws_ratios_and_times() -> None:
    rows = [(5, 8.0, 1e-5), (50, 1.2, 1e-4), (500, 1.0, 1e-3)]
    fig = ps.plot_steps_versus_quality({"eta = 0": rows, "eta = 1": [(5, 9.0, 1e-5, 0.0)]}, floor_band=(0.8, 1.3))
    ax, timing = fig.axes
    lines = ax.get_lines()
    assert lines[1].get_xdata().tolist() == [5, 50, 500] and lines[1].get_ydata().tolist() == [8.0, 1.2, 1.0]
    assert np.allclose(timing.get_lines()[0].get_ydata(), [0.1, 1.0, 10.0])  # seconds for 10,000 samples
    assert ax.get_xscale() == ax.get_yscale() == timing.get_yscale() == "log"
    assert "10,000 samples" in timing.get_ylabel()
    assert lines[1].get_linestyle() != lines[2].get_linestyle()
    with pytest.raises(ValueError, match="empty"):
        ps.plot_steps_versus_quality({})
    with pytest.raises(ValueError, match="rows"):
        ps.plot_steps_versus_quality({"a": []})
    with pytest.raises(ValueError, match="finite and > 0"):
        ps.plot_steps_versus_quality({"a": [(5, 0.0, 1e-5)]})
    with pytest.raises(ValueError, match="contain 1"):
        ps.plot_steps_versus_quality({"a": rows}, floor_band=(1.1, 1.3))


def test_point_colours_follow_the_angle_and_the_distance() -> None:
    angles = torch.linspace(0, 2 * torch.pi, 9)[:-1]
    ring = torch.stack([angles.cos(), angles.sin()], dim=1)
    colours = ps.point_colours(torch.cat([ring, 3 * ring]))
    assert colours.shape == (16, 3) and (colours >= 0).all() and (colours <= 1).all()
    assert len({tuple(c.round(3)) for c in colours[:8]}) == 8  # each angle its own hue
    assert colours[8:].max(axis=1).mean() > colours[:8].max(axis=1).mean()  # farther out: brighter


def test_plot_matched_points_colours_every_panel_by_the_first(runs) -> None:
    (ddpm, _), (ddim, _) = runs["DDPM"], runs["DDIM"]
    fig = ps.plot_matched_points({"x_T": ddim[-1], "DDIM": ddim[0], "DDPM": ddpm[0]}, reference=ddpm[0], max_points=150)
    assert [ax.get_title() for ax in fig.axes] == ["x_T", "DDIM", "DDPM"]
    expected = ps.point_colours(ddim[-1][:150])
    for ax, points in zip(fig.axes, [ddim[-1], ddim[0], ddpm[0]]):
        drawn = ax.collections[-1]
        assert np.allclose(drawn.get_offsets(), points[:150].double().numpy())
        assert np.allclose(drawn.get_facecolors()[:, :3], expected)
    assert len(fig.axes[0].collections) == 1 and len(fig.axes[1].collections) == 2  # no reference under x_T
    with pytest.raises(ValueError, match="same N"):
        ps.plot_matched_points({"a": ddim[0], "b": ddim[0][:10]})
    with pytest.raises(ValueError, match="one per panel"):
        ps.plot_matched_points({"a": ddim[0]}, lim=[1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        ps.plot_matched_points({})


def test_plot_paths_follows_each_point_from_its_start_to_its_sample(runs) -> None:
    fig = ps.plot_paths(runs, paths=2, max_states=20)
    assert [ax.get_title() for ax in fig.axes] == ["DDPM: 100 steps", "DDIM: 10 steps"]
    for ax, (trajectory, _) in zip(fig.axes, runs.values()):
        path, start, end = ax.get_lines()[:3]
        assert np.allclose(path.get_xydata()[0], trajectory[0, 0].double().numpy())
        assert np.allclose(path.get_xydata()[-1], trajectory[-1, 0].double().numpy())
        assert np.allclose(start.get_xydata()[0], trajectory[-1, 0].double().numpy())
        assert np.allclose(end.get_xydata()[0], trajectory[0, 0].double().numpy())
        assert len(path.get_xydata()) == min(20, len(trajectory))
    with pytest.raises(ValueError, match="paths"):
        ps.plot_paths(runs, paths=201)
    with pytest.raises(ValueError, match="increasing from 0"):
        ps.plot_paths({"x": (runs["DDIM"][0], runs["DDIM"][1].flip(0))})
    with pytest.raises(ValueError, match="pair"):
        ps.plot_paths({"x": runs["DDIM"][0]})


def test_sampler_player_shows_every_panel_at_each_frames_timestep(runs) -> None:
    html = ps.sampler_player(runs, [100, 50, 0, 100], max_points=50, size=2.0)
    frames = re.findall(r'frames\[\d+\] = "([^"]*)"', html)
    assert len(frames) == 4 and frames[0] == frames[3] != frames[1]
    assert "http" not in html and "data:image/jpeg;base64" in html and "anim-slider" in html
    with pytest.raises(ValueError, match="'DDIM' has no state at t = 55"):
        ps.sampler_player(runs, [100, 55])
    with pytest.raises(ValueError, match="40"):
        ps.sampler_player(runs, [0] * 41)


def test_the_module_is_lazily_imported_by_the_package() -> None:
    assert "plotting_sampling" in dh.__all__ and "plotting_sampling" in dh._LAZY_SUBMODULES
    assert dh.plotting_sampling is ps
