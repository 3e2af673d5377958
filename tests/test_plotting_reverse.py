"""Tests of diffusion_helpers.plotting_reverse: the figures of notebook 04 and the reverse-step explorer.

The figures draw what they are given (checked against the data of their lines), refuse malformed input,
and the explorer's picture is Bayes' rule on a grid (toy1d.reverse_step_on_grid) for its sliders' values.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from diffusion_helpers import make_schedule
from diffusion_helpers import plotting_reverse as pr
from diffusion_helpers.toy1d import GaussianMixture, distance_from_gaussian, make_grid, reverse_step_on_grid

TWO_MODES = GaussianMixture([-1.0, 1.0], [0.15, 0.15])


def test_plot_densities_draws_each_curve_in_each_panel():
    grid = make_grid(-3, 3, 101)
    a, b = TWO_MODES.density(grid), torch.ones(101)
    fig = pr.plot_densities(
        grid, {"one": {"data": a, "flat": b}, "two": {"data": a}}, markers={"x": 0.5}, fill_first=True, suptitle="s"
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    lines = [line for line in fig.axes[0].lines if line.get_label() in ("data", "flat")]
    np.testing.assert_allclose(lines[0].get_ydata(), a.numpy())
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["data", "flat", "x"]


@pytest.mark.parametrize(
    ("panels", "message"),
    [
        ({}, "panels must hold 1 to"),
        ({"empty": {}}, "panel 'empty' has no curves"),
        ({"p": {"c": torch.ones(5)}}, r"has 5 values, expected 101"),
        ({"p": {"c": torch.ones(101, 2)}}, "one-dimensional"),
    ],
)
def test_plot_densities_refuses_bad_panels(panels, message):
    with pytest.raises(ValueError, match=message):
        pr.plot_densities(make_grid(-3, 3, 101), panels)


def test_plot_posterior_regression_draws_the_line_and_band():
    x = torch.linspace(-1, 1, 50, dtype=torch.float64)
    fig = pr.plot_posterior_regression(x, 0.5 * x, lambda v: 0.5 * v + 0.1, 0.04, t=3, max_points=20)
    ax = fig.axes[0]
    line = ax.lines[0]
    np.testing.assert_allclose(line.get_ydata(), 0.5 * np.asarray(line.get_xdata()) + 0.1)
    assert ax.collections[0].get_offsets().shape == (20, 2)  # at most max_points points
    with pytest.raises(ValueError, match="x_prev has 3 values, expected 50"):
        pr.plot_posterior_regression(x, x[:3], lambda v: v, 0.1, t=3)
    with pytest.raises(ValueError, match="variance must be in"):
        pr.plot_posterior_regression(x, x, lambda v: v, -0.1, t=3)


def test_plot_lines_histograms_and_paths():
    fig = pr.plot_lines(
        [1, 10, 100], {"a": [1, 2, 3], "b": torch.tensor([3.0, 2, 1])}, xlabel="x", ylabel="y", log_x=True, log_y=True
    )
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes[0].lines) == 2
    with pytest.raises(ValueError, match="curves is empty"):
        pr.plot_lines([1, 2], {}, xlabel="x", ylabel="y")

    samples = {"far": torch.tensor([0.0, 0.5, 9.0, -9.0]), "near": torch.zeros(10)}
    fig = pr.plot_histograms(samples, TWO_MODES.density, value_range=(-2, 2), bins=10)
    assert len(fig.axes) == 2 and "50% outside" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="samples must hold 1 to"):
        pr.plot_histograms({}, TWO_MODES.density, value_range=(-2, 2))
    with pytest.raises(ValueError, match="is empty"):
        pr.plot_histograms({"none": torch.zeros(0)}, TWO_MODES.density, value_range=(-2, 2))

    trajectory = torch.randn(11, 30, generator=torch.Generator().manual_seed(0))
    fig = pr.plot_paths(trajectory, count=5, density=TWO_MODES.density)
    assert len(fig.axes[0].lines) == 5 and fig.axes[0].get_xlim()[0] == 10
    with pytest.raises(ValueError, match=r"trajectory must be a \(T \+ 1, N\) tensor"):
        pr.plot_paths(torch.zeros(11, 3, 2))


def test_the_explorer_shows_bayes_rule_for_its_sliders():
    explorer = pr.ReverseStepExplorer(TWO_MODES, beta=0.02, x_t=0.8)
    expected = reverse_step_on_grid(explorer.grid, TWO_MODES.density(explorer.grid), 0.8, 0.02)
    np.testing.assert_allclose(explorer._posterior.get_ydata(), expected.numpy())
    assert explorer.distance < 1e-3  # a small step: Gaussian
    assert "image/png" in explorer.output.outputs[0]["data"]

    explorer.sliders["beta"].value = 0.9  # a slider move redraws
    beta = explorer.sliders["beta"].value  # the slider's nearest step to 0.9
    expected = reverse_step_on_grid(explorer.grid, TWO_MODES.density(explorer.grid), 0.8, beta)
    np.testing.assert_allclose(explorer._posterior.get_ydata(), expected.numpy())
    assert explorer.distance == pytest.approx(float(distance_from_gaussian(explorer.grid, expected)))
    assert explorer.distance > 0.5

    explorer.set(beta=0.01, x_t=-1.0)
    assert explorer.sliders["x_t"].value == -1.0 and explorer.distance < 1e-3
    with pytest.raises(ValueError, match=r"beta must be in \[0.001, 0.99\]"):
        explorer.set(beta=0.995)
    with pytest.raises(ValueError, match=r"x_t must be in \[-2.5, 2.5\]"):
        explorer.set(x_t=3.0)
    with pytest.raises(TypeError, match="mixture must be a GaussianMixture"):
        pr.ReverseStepExplorer(make_schedule("linear", 10))


def test_the_explorer_player_works_offline_and_restores_the_figure():
    explorer = pr.ReverseStepExplorer(TWO_MODES, beta=0.05, x_t=0.8)
    before = explorer.distance
    html = explorer.to_jshtml([0.01, 0.5, 0.9], x_t=0.8, interval_ms=100)
    assert len(re.findall(r"data:image/jpeg;base64", html)) == 3  # one embedded frame per beta
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing fetched from the internet
    assert explorer.distance == pytest.approx(before)
    html = explorer.to_jshtml_frames([{"beta": 0.3, "x_t": x} for x in (-2.0, 0.0, 2.0)])
    assert len(re.findall(r"data:image/jpeg;base64", html)) == 3
    with pytest.raises(ValueError, match="frames must hold 1 to 30 settings"):
        explorer.to_jshtml([])
    with pytest.raises(ValueError, match=r"beta must be in"):
        explorer.to_jshtml([0.5, 2.0])
    with pytest.raises(ValueError, match=r"x_t must be in"):
        explorer.to_jshtml([0.5], x_t=-3.0)
    with pytest.raises(ValueError, match="keys 'beta' and 'x_t'"):
        explorer.to_jshtml_frames([{"beta": 0.5}])
