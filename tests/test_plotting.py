"""Tests of diffusion_helpers.plotting: every figure shows what it is given, all of it."""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import diffusion_helpers as dh
from diffusion_helpers import plotting


@pytest.fixture(scope="module")
def images() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return [torch.rand(3, 8, 8, generator=generator) * 2 - 1 for _ in range(21)]


def _image_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_images()]


def test_show_images_never_drops_an_image(images: list[torch.Tensor]) -> None:
    # ERRATA 4: 21 images in 20 columns must give two rows, with the last image in the second row.
    fig = plotting.show_images(images, [f"t = {i}" for i in range(21)], ncols=20)
    shown = _image_axes(fig)
    assert len(shown) == 21
    last = np.asarray(shown[-1].get_images()[0].get_array())
    assert np.array_equal(last, np.asarray(dh.tensor_to_pil(images[-1])))
    assert shown[-1].get_title() == "t = 20"
    assert len(fig.axes) == 40  # 2 rows x 20 columns; the unused ones are blank


def test_show_images_is_not_registered_with_pyplot(images: list[torch.Tensor]) -> None:
    before = plt.get_fignums()
    plotting.show_images(images[:3])
    assert plt.get_fignums() == before


def test_show_images_rejects_bad_input(images: list[torch.Tensor]) -> None:
    with pytest.raises(ValueError, match="titles"):
        plotting.show_images(images[:3], ["a", "b"])
    with pytest.raises(ValueError, match="images"):
        plotting.show_images([])
    with pytest.raises(ValueError, match="ncols"):
        plotting.show_images(images[:3], ncols=0)


def test_show_trajectory_shows_the_requested_states_including_the_last() -> None:
    schedule = dh.make_schedule("linear", 20)
    x0 = torch.zeros(3, 4, 4)
    trajectory = dh.forward_trajectory(x0, schedule, generator=torch.Generator().manual_seed(1))
    timesteps = dh.timesteps_to_show(20, 6)
    fig = plotting.show_trajectory(trajectory, timesteps)
    titles = [ax.get_title() for ax in _image_axes(fig)]
    assert titles == [f"t = {t}" for t in timesteps] and titles[-1] == "t = 20"
    fig = plotting.show_trajectory(trajectory, [0, 20], titles=["start", "end"])
    assert [ax.get_title() for ax in _image_axes(fig)] == ["start", "end"]
    with pytest.raises(ValueError, match="timesteps"):
        plotting.show_trajectory(trajectory, [0, 21])


def test_pixel_histograms_are_densities() -> None:
    x = torch.randn(10_000, generator=torch.Generator().manual_seed(2))
    fig = plotting.plot_pixel_histograms({0: x, 5: x})
    ax = fig.axes[0]
    heights = np.array([patch.get_height() for patch in ax.patches])
    widths = np.array([patch.get_width() for patch in ax.patches])
    inside = float(((x >= -4) & (x <= 4)).double().mean())
    assert np.sum(heights * widths) == pytest.approx(inside, rel=1e-6)
    with pytest.raises(ValueError):
        plotting.plot_pixel_histograms({})


def test_plot_schedules_draws_each_schedule_s_values() -> None:
    schedules = {"linear": dh.make_schedule("linear", 50), "cosine": dh.make_schedule("cosine", 80)}
    fig = plotting.plot_schedules(schedules, ("betas", "log_snr"))
    assert len(fig.axes) == 2
    linear_line, cosine_line = fig.axes[0].get_lines()[:2]
    assert np.allclose(linear_line.get_ydata(), dh.linear_betas(50).numpy())
    assert np.array_equal(cosine_line.get_xdata(), np.arange(1, 81))
    relative = plotting.plot_schedules(schedules, ("alpha_bars",), relative_time=True)
    assert relative.axes[0].get_lines()[1].get_xdata()[-1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="unknown quantity"):
        plotting.plot_schedules(schedules, ("alpha_bar",))
    with pytest.raises(ValueError):
        plotting.plot_schedules({})


def test_schedule_curves_differ_in_dash_pattern_as_well_as_colour() -> None:
    """Readable in greyscale and by colour-blind students: no two curves share a line style."""
    schedules = {name: dh.make_schedule(name, 50) for name in dh.SCHEDULE_NAMES}
    lines = plotting.plot_schedules(schedules, ("betas",)).axes[0].get_lines()
    dash_patterns = {str(line._unscaled_dash_pattern) for line in lines}  # (offset, on-off sequence)
    assert len(dash_patterns) == len(lines) and len({line.get_color() for line in lines}) == len(lines)
    curves = plotting.plot_curves({"a": [1.0, 2.0], "b": [2.0, 1.0]}).axes[0].get_lines()
    assert str(curves[0]._unscaled_dash_pattern) != str(curves[1]._unscaled_dash_pattern)


def test_moment_check_names_the_exact_line_apart_from_the_estimates() -> None:
    fig = plotting.plot_moment_check([1, 2], ([0.0, 0.0], [1.0, 1.0]), {"q_sample draws": ([0.0, 0.1], [1.0, 0.9])})
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["exact value (Eq. 4)", "q_sample draws"]


def test_plot_moment_check_and_timings_build_figures() -> None:
    t = [1, 2, 3]
    fig = plotting.plot_moment_check(t, (np.ones(3), np.zeros(3)), {"chain": (np.ones(3), np.zeros(3))})
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 2
    timing = plotting.plot_timings([10, 100], {"chain": [0.001, 0.01], "closed form": [0.001, 0.001]})
    assert timing.axes[0].get_yscale() == "log" and len(timing.axes[0].get_lines()) == 2


def test_show_chain_puts_an_arrow_between_every_pair_of_states(images: list[torch.Tensor]) -> None:
    fig = plotting.show_chain(images[:4], ["$x_0$", "$x_1$", "$x_2$", "$x_3$"], r"$q(x_t \mid x_{t-1})$")
    assert len(_image_axes(fig)) == 4
    arrows = [ax for ax in fig.axes if not ax.get_images()]
    assert len(arrows) == 3 and all(ax.texts[-1].get_text() == r"$q(x_t \mid x_{t-1})$" for ax in arrows)
    with pytest.raises(ValueError, match="two states"):
        plotting.show_chain(images[:1], ["a"], "q")
    with pytest.raises(ValueError, match="labels"):
        plotting.show_chain(images[:2], ["a"], "q")


def test_plot_curves_draws_the_values_against_the_timesteps() -> None:
    schedule = dh.make_schedule("linear", 30)
    fig = plotting.plot_curves({"alpha_bar": schedule.alpha_bars, "beta": schedule.betas}, log_y=True)
    first, second = fig.axes[0].get_lines()
    assert np.array_equal(first.get_xdata(), np.arange(1, 31))
    assert np.allclose(second.get_ydata(), np.linspace(1e-4, 0.02, 30))
    with pytest.raises(ValueError, match="one length"):
        plotting.plot_curves({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(ValueError, match="timesteps"):
        plotting.plot_curves({"a": [1.0, 2.0]}, timesteps=[1, 2, 3])
    with pytest.raises(ValueError):
        plotting.plot_curves({})


def test_plot_normal_fits_reports_measured_variance() -> None:
    x = 2.0 * torch.randn(50_000, generator=torch.Generator().manual_seed(4))
    fig = plotting.plot_normal_fits({"sum": (x, 4.0)})
    assert f"measured {float(np.var(x.double().numpy())):.4f}" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match=r"predicted variance of 'bad' must be in \(0, inf\)"):
        plotting.plot_normal_fits({"bad": (x, 0.0)})


def test_figure_options_titles_marks_and_log_scale(images: list[torch.Tensor]) -> None:
    schedules = {"linear": dh.make_schedule("linear", 50)}
    fig = plotting.plot_schedules(schedules, ("snr", "betas"), mark_t=25, suptitle="where the SNR falls")
    assert fig.axes[0].get_yscale() == "log" and fig.axes[1].get_yscale() == "log"  # beta_t: log, as the explorer
    assert all(25 in ax.get_lines()[-1].get_xdata() for ax in fig.axes)
    assert fig.get_suptitle() == "where the SNR falls"
    titled = [
        plotting.show_images(images[:2], suptitle="a"),
        plotting.plot_pixel_histograms({0: images[0]}, suptitle="a"),
        plotting.plot_moment_check([1], ([0.0], [1.0]), {}, suptitle="a"),
        plotting.plot_timings([1], {"x": [0.1]}, suptitle="a"),
        plotting.show_chain(images[:2], ["a", "b"], "q", suptitle="a", caption="c"),
        plotting.plot_curves({"x": [1.0]}, suptitle="a"),
        plotting.plot_normal_fits({"x": (images[0], 1.0)}, suptitle="a"),
    ]
    assert all(fig.get_suptitle() == "a" for fig in titled)
    assert titled[4].get_supxlabel() == "c"
    with pytest.raises(ValueError, match="samples is empty"):
        plotting.plot_normal_fits({})


# ------------------------------------------------------------------------- bad input: clear errors (issue 10)

_X = torch.zeros(3, 4, 4)
_SCHEDULE = dh.make_schedule("linear", 10)

BAD_INPUT = [
    # (function, args, kwargs, error, pattern the message must match)
    ("show_images", (_X,), {}, ValueError, r"\bimages\b.*\(N, C, H, W\)"),  # one image, not a sequence of them
    ("show_images", (None,), {}, TypeError, r"\bimages\b"),
    ("show_images", ("picture.png",), {}, TypeError, r"\bimages\b"),
    ("show_images", ([_X, 5],), {}, TypeError, r"images\[1\]"),
    ("show_images", ([_X, _X], "ab"), {}, TypeError, r"\btitles\b"),
    ("show_images", ([_X, _X], 5), {}, TypeError, r"\btitles\b"),
    ("show_images", ([_X],), {"size": 0}, ValueError, r"\bsize\b"),
    ("show_images", ([_X],), {"size": 10**9}, ValueError, r"\bsize\b"),
    ("show_images", ([_X],), {"size": "big"}, TypeError, r"\bsize\b"),
    ("show_images", ([_X] * 201,), {}, ValueError, r"MAX_PANELS=200"),
    ("show_trajectory", ([_X, _X], [0]), {}, TypeError, r"\btrajectory\b"),
    ("show_trajectory", (torch.zeros(3, 4, 4), [0]), {}, ValueError, r"\btrajectory\b"),
    ("show_trajectory", (torch.zeros(2, 3, 4, 4), 1), {}, TypeError, r"\btimesteps\b"),
    ("show_trajectory", (torch.zeros(2, 3, 4, 4), []), {}, ValueError, r"\btimesteps\b"),
    ("show_trajectory", (torch.zeros(2, 3, 4, 4), [0.5]), {}, TypeError, r"\btimesteps\b"),
    ("plot_pixel_histograms", ([_X],), {}, TypeError, r"\bstates\b.*mapping"),
    ("plot_pixel_histograms", (_X,), {}, TypeError, r"\bstates\b"),
    ("plot_pixel_histograms", ({0: [0.0, 1.0]},), {}, TypeError, r"states\[0\]"),
    ("plot_pixel_histograms", ({0: torch.zeros(0)},), {}, ValueError, r"states\[0\] is empty"),
    ("plot_pixel_histograms", ({0: _X},), {"bins": 10**9}, ValueError, r"\bbins\b.*\[1, 1000\]"),
    ("plot_pixel_histograms", ({0: _X},), {"bins": 0}, ValueError, r"\bbins\b"),
    ("plot_pixel_histograms", ({0: _X},), {"bins": 80.0}, TypeError, r"\bbins\b"),
    ("plot_schedules", ([_SCHEDULE],), {}, TypeError, r"\bschedules\b.*mapping"),
    ("plot_schedules", ({"a": _SCHEDULE.betas},), {}, TypeError, r"schedules\['a'\]"),
    ("plot_schedules", ({"a": _SCHEDULE}, "betas"), {}, TypeError, r"\bquantities\b"),
    ("plot_schedules", ({"a": _SCHEDULE}, ()), {}, ValueError, r"\bquantities\b"),
    ("plot_schedules", ({"a": _SCHEDULE}, (["betas"],)), {}, TypeError, r"\bquantities\b"),
    ("plot_schedules", ({"a": _SCHEDULE},), {"relative_time": "yes"}, TypeError, r"\brelative_time\b"),
    ("plot_schedules", ({"a": _SCHEDULE},), {"mark_t": 2.5}, TypeError, r"\bmark_t\b"),
    ("plot_schedules", ({"a": _SCHEDULE},), {"mark_t": 5, "relative_time": True}, ValueError, r"\bmark_t\b"),
    ("plot_moment_check", ([1, 2], 1.0, {}), {}, TypeError, r"\bexpected\b.*pair"),
    ("plot_moment_check", ([1, 2], [1.0, 2.0], {}), {}, ValueError, r"expected\[0\] must be one-dimensional"),
    ("plot_moment_check", ([1, 2], ([1.0], [1.0]), {}), {}, ValueError, r"expected\[0\] has 1 entries"),
    ("plot_moment_check", ([1], ([1.0], [1.0]), [([1.0], [1.0])]), {}, TypeError, r"\bestimates\b"),
    ("plot_moment_check", ("abc", ([1.0], [1.0]), {}), {}, TypeError, r"\btimesteps\b"),
    ("plot_moment_check", ([[1]], ([1.0], [1.0]), {}), {}, ValueError, r"\btimesteps\b.*one-dimensional"),
    ("plot_timings", ([1, 2], [0.1, 0.2]), {}, TypeError, r"\bseconds\b.*mapping"),
    ("plot_timings", ([1, 2], {}), {}, ValueError, r"\bseconds\b"),
    ("plot_timings", ([1, 2], {"a": [0.1]}), {}, ValueError, r"seconds\['a'\].*entry of sizes"),
    ("plot_timings", (None, {"a": [0.1]}), {}, TypeError, r"\bsizes\b"),
    ("show_chain", ([_X, _X], None, "q"), {}, TypeError, r"\blabels\b"),
    ("show_chain", ([_X, _X], "ab", "q"), {}, TypeError, r"\blabels\b"),
    ("show_chain", (_X, ["a", "b"], "q"), {}, ValueError, r"\bstates\b.*\(N, C, H, W\)"),
    ("show_chain", ([_X, "x1.png"], ["a", "b"], "q"), {}, TypeError, r"states\[1\]"),
    ("show_chain", ([_X, _X], ["a", "b"], "q"), {"size": -1}, ValueError, r"\bsize\b"),
    ("plot_curves", ([1.0, 2.0],), {}, TypeError, r"\bcurves\b.*mapping"),
    ("plot_curves", ({"a": "abc"},), {}, TypeError, r"curves\['a'\]"),
    ("plot_curves", ({"a": [1.0, None]},), {}, TypeError, r"curves\['a'\]"),
    ("plot_curves", ({"a": torch.zeros(2, dtype=torch.complex64)},), {}, TypeError, r"curves\['a'\]"),
    ("plot_curves", ({"a": [[1.0, 2.0]]},), {}, ValueError, r"curves\['a'\].*one-dimensional"),
    ("plot_curves", ({"a": [1.0]},), {"log_y": 1}, TypeError, r"\blog_y\b"),
    ("plot_curves", ({"a": [1.0]},), {"timesteps": {"t": 1}}, TypeError, r"\btimesteps\b"),
    ("plot_normal_fits", ([(_X, 1.0)],), {}, TypeError, r"\bsamples\b.*mapping"),
    ("plot_normal_fits", ({"a": _X},), {}, TypeError, r"samples\['a'\].*pair"),
    ("plot_normal_fits", ({"a": (_X,)},), {}, TypeError, r"samples\['a'\].*pair"),
    ("plot_normal_fits", ({"a": ([0.0], 1.0)},), {}, TypeError, r"samples\['a'\]\[0\]"),
    ("plot_normal_fits", ({"a": (_X, float("inf"))},), {}, ValueError, r"predicted variance of 'a'"),
    ("plot_normal_fits", ({"a": (_X, float("nan"))},), {}, ValueError, r"predicted variance of 'a'"),
    ("plot_normal_fits", ({"a": (_X, "1")},), {}, TypeError, r"predicted variance of 'a'"),
    ("plot_normal_fits", ({"a": (_X, 1.0)},), {"bins": 10**9}, ValueError, r"\bbins\b.*\[1, 1000\]"),
]


@pytest.mark.parametrize(("function", "args", "kwargs", "error", "pattern"), BAD_INPUT)
def test_bad_input_is_a_clear_error_naming_the_argument(function, args, kwargs, error, pattern) -> None:
    before = plt.get_fignums()
    start = time.process_time()
    with pytest.raises(error, match=pattern):
        getattr(plotting, function)(*args, **kwargs)
    assert time.process_time() - start < 2.0  # refused up front, not after building (or allocating) a figure
    assert plt.get_fignums() == before


def test_limits_are_inclusive() -> None:
    assert plotting.plot_pixel_histograms({0: _X}, bins=plotting.MAX_BINS) is not None
    assert len(plotting.plot_normal_fits({"a": (_X, 1.0)}, bins=1).axes[0].patches) == 1
    assert plotting.show_images([_X], size=10) is not None
    assert plotting.show_trajectory(torch.zeros(1, 3, 2, 2), torch.tensor([0])) is not None  # T = 0; tensor of t
