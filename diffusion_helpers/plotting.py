r"""Figures the notebooks show: image rows, pixel histograms, schedule curves, moment checks, timings.

Presentation layer: it may import the mathematics, never the other way round. Every function builds
and returns a ``matplotlib.figure.Figure`` that is not registered with pyplot, so it appears exactly once
when it is a cell's last value, leaves no global state behind, and can be saved with ``fig.savefig``.
Nothing here changes rcParams.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

from ._checks import check_bool, check_float, check_float_tensor, check_int, check_mapping, check_sequence
from .images import _as_rgb_images
from .schedules import NoiseSchedule

__all__ = [
    "SCHEDULE_QUANTITIES",
    "plot_curves",
    "plot_moment_check",
    "plot_normal_fits",
    "plot_pixel_histograms",
    "plot_schedules",
    "plot_timings",
    "show_chain",
    "show_images",
    "show_trajectory",
]

MAX_BINS = 1000  # histogram bins: more than a figure has pixels across is only a slow way to draw noise
MAX_PANELS = 200  # images or panels in one figure; a few hundred axes already take seconds to lay out

# quantity name -> (axis label, whether a log scale suits it)
SCHEDULE_QUANTITIES: dict[str, tuple[str, bool]] = {
    "betas": (r"$\beta_t$ (noise variance added at step $t$, log scale)", True),
    "alpha_bars": (r"$\bar\alpha_t$ (signal variance kept)", False),
    "sqrt_alpha_bars": (r"$\sqrt{\bar\alpha_t}$ (signal amplitude kept)", False),
    "sqrt_one_minus_alpha_bars": (r"$\sqrt{1-\bar\alpha_t}$ (noise amplitude)", False),
    "log_snr": (r"$\log \mathrm{SNR}(t) = \log \frac{\bar\alpha_t}{1-\bar\alpha_t}$", False),
    "snr": (r"$\mathrm{SNR}(t)$", True),
}

# One style per curve that differs in colour *and* dash pattern, so curves stay apart in greyscale and for
# colour-blind readers (Okabe & Ito's palette).
CURVE_STYLES: tuple[dict[str, object], ...] = (
    {"color": "#0072B2", "linestyle": "-"},
    {"color": "#D55E00", "linestyle": "--"},
    {"color": "#009E73", "linestyle": ":"},
    {"color": "#CC79A7", "linestyle": "-."},
    {"color": "#000000", "linestyle": (0, (5, 1, 1, 1, 1, 1))},
    {"color": "#E69F00", "linestyle": (0, (1, 3))},
)


def show_images(
    images: Sequence[Image.Image | torch.Tensor] | torch.Tensor,
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    suptitle: str | None = None,
    size: float = 1.7,
) -> Figure:
    """Images (PIL, or tensors in [-1, 1] clamped for display) in a grid with a title under each.

    All images are shown: ``ceil(n / ncols)`` rows.

    Args:
        images: PIL images or ``(C, H, W)`` tensors, or one ``(N, C, H, W)`` tensor.
        titles: one per image (e.g. ``"t = 250"``).
        ncols: images per row (default: all in one row).
        suptitle: a title for the whole figure: say what to look at.
        size: inches per image.

    Raises:
        TypeError: ``images`` not a sequence of images or tensors; ``titles`` not a sequence of strings.
        ValueError: no images, more than ``MAX_PANELS``, a number of titles different from the number of
            images, ``ncols < 1``, or ``size`` outside (0, 10].
    """
    size = check_float("size", size, low=0.0, high=10.0, high_inclusive=True)
    pils = _as_rgb_images("images", images)
    _check_panels("images", len(pils))
    if titles is not None and len(check_sequence("titles", titles, items="strings")) != len(pils):
        raise ValueError(f"titles has {len(titles)} entries for {len(pils)} images")
    ncols = len(pils) if ncols is None else min(check_int("ncols", ncols, minimum=1), len(pils))
    nrows = math.ceil(len(pils) / ncols)
    fig = Figure(figsize=(size * ncols, size * nrows + (0.45 if suptitle else 0.2)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(pils):
            ax.imshow(pils[i])
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def show_trajectory(
    trajectory: torch.Tensor,
    timesteps: Sequence[int],
    *,
    suptitle: str | None = None,
    ncols: int | None = None,
    titles: Sequence[str] | None = None,
) -> Figure:
    """The states ``trajectory[t]`` for the given timesteps, titled ``t = ...`` (or with ``titles``).

    Args:
        trajectory: ``(T + 1, C, H, W)``, as from :func:`diffusion_helpers.forward_trajectory`.
        timesteps: which states to show, each in ``[0, T]`` (e.g. from ``timesteps_to_show``).
        ncols: images per row; choose it so that it divides the number of states, or the last row has gaps.
        titles: one per state, in place of ``t = ...`` (say what else is known about each state).

    Raises:
        TypeError: ``trajectory`` not a floating tensor, ``timesteps`` not a sequence of ints.
        ValueError: a trajectory that is not ``(T + 1, C, H, W)``, a timestep outside ``[0, T]``, or a number
            of titles different from the number of states.
    """
    check_float_tensor("trajectory", trajectory)
    if trajectory.ndim != 4 or trajectory.shape[0] < 1:
        raise ValueError(f"trajectory must have shape (T + 1, C, H, W), got {tuple(trajectory.shape)}")
    T = trajectory.shape[0] - 1
    timesteps = check_sequence("timesteps", timesteps, items="ints")
    timesteps = [check_int("timesteps", t, minimum=0, maximum=T) for t in _as_list(timesteps)]
    if not timesteps:
        raise ValueError("timesteps is empty: give at least one timestep to show")
    titles = [f"t = {t}" for t in timesteps] if titles is None else titles
    return show_images([trajectory[t] for t in timesteps], titles, suptitle=suptitle, ncols=ncols)


def plot_pixel_histograms(states: Mapping[int, torch.Tensor], *, bins: int = 80, suptitle: str | None = None) -> Figure:
    r"""Histograms of pixel values of $x_t$ for several $t$, each against the density of $\mathcal N(0, 1)$.

    Args:
        states: timestep ``t`` -> the tensor $x_t$ (any shape; all values are pooled).
        bins: histogram bins over [-4, 4], at most ``MAX_BINS``.

    Raises:
        TypeError: ``states`` not a mapping of floating tensors, ``bins`` not an int.
        ValueError: no states, more than ``MAX_PANELS``, or ``bins`` outside [1, ``MAX_BINS``].
    """
    check_mapping("states", states, entries="timestep -> tensor")
    bins = check_int("bins", bins, minimum=1, maximum=MAX_BINS)
    if not states:
        raise ValueError("states is empty: give at least one timestep -> tensor")
    _check_panels("states", len(states))
    for t, x in states.items():
        _check_samples(f"states[{t!r}]", x)
    fig = Figure(figsize=(2.4 * len(states), 2.4), layout="constrained")
    axes = fig.subplots(1, len(states), sharey=True, squeeze=False)[0]
    for ax, (t, x) in zip(axes, states.items()):
        values = _histogram_against_normal(ax, x, 1.0, bins=bins, label=r"$\mathcal{N}(0,1)$")
        ax.set_title(f"t = {t}: mean {values.mean():+.2f}, std {values.std():.2f}", fontsize=8)
        ax.set_xlabel("pixel value")
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize=8, loc="upper left")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_schedules(
    schedules: Mapping[str, NoiseSchedule],
    quantities: Sequence[str] = ("betas", "alpha_bars", "sqrt_alpha_bars", "log_snr"),
    *,
    relative_time: bool = False,
    mark_t: int | None = None,
    suptitle: str | None = None,
) -> Figure:
    r"""Plot schedule quantities against the timestep, one panel per quantity, one curve per schedule.

    Args:
        schedules: label -> schedule.
        quantities: names from :data:`SCHEDULE_QUANTITIES` (properties of :class:`NoiseSchedule`).
        relative_time: plot against $t/T$, to compare schedules with different ``T``.
        mark_t: draw a vertical line at this timestep.

    Raises:
        TypeError: ``schedules`` not a mapping of schedules, ``quantities`` not a sequence of names,
            ``relative_time`` not a bool, ``mark_t`` not an int.
        ValueError: an unknown quantity, no schedules or quantities, ``mark_t < 0``, or ``mark_t`` together
            with ``relative_time`` (the axis is then t / T, not the timestep).
    """
    check_mapping("schedules", schedules, entries="label -> NoiseSchedule")
    quantities = check_sequence("quantities", quantities, items="quantity names")
    relative_time = check_bool("relative_time", relative_time)
    if mark_t is not None:
        mark_t = check_int("mark_t", mark_t, minimum=0)
        if relative_time:
            raise ValueError("mark_t is a timestep, but with relative_time=True the axis is t / T: give one of them")
    if not schedules:
        raise ValueError("schedules is empty: give at least one label -> NoiseSchedule")
    for label, schedule in schedules.items():
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedules[{label!r}] must be a NoiseSchedule, got {type(schedule).__name__}")
    if len(quantities) == 0:
        raise ValueError(f"quantities is empty: choose from {', '.join(SCHEDULE_QUANTITIES)}")
    _check_panels("quantities", len(quantities))
    for quantity in quantities:
        if not isinstance(quantity, str):
            raise TypeError(f"quantities must be names such as 'betas', got {type(quantity).__name__}")
        if quantity not in SCHEDULE_QUANTITIES:
            raise ValueError(f"unknown quantity {quantity!r}; choose from {', '.join(SCHEDULE_QUANTITIES)}")
    fig = Figure(figsize=(3.3 * len(quantities), 3.0), layout="constrained")
    axes = fig.subplots(1, len(quantities), squeeze=False)[0]
    for ax, quantity in zip(axes, quantities):
        label, log_scale = SCHEDULE_QUANTITIES[quantity]
        for name, schedule in schedules.items():
            t = torch.arange(1, len(schedule) + 1, dtype=torch.float64)
            style = CURVE_STYLES[list(schedules).index(name) % len(CURVE_STYLES)]
            x = (t / len(schedule) if relative_time else t).numpy()
            ax.plot(x, getattr(schedule, quantity).numpy(), label=name, lw=1.8, **style)
        if log_scale:
            ax.set_yscale("log")
        if mark_t is not None:
            ax.axvline(mark_t, color="grey", lw=0.8, ls="--")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("relative time t / T" if relative_time else "timestep t")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_moment_check(
    timesteps: Sequence[int] | torch.Tensor,
    expected: tuple[torch.Tensor, torch.Tensor],
    estimates: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    suptitle: str | None = None,
) -> Figure:
    r"""Mean and variance of $x_t$ against $t$: the exact values (Eq. 4) as a line, Monte-Carlo estimates as markers.

    Args:
        timesteps: the timesteps, shape ``(K,)``.
        expected: the exact ``(mean, variance)``, each of shape ``(K,)``; the legend calls them "exact value (Eq. 4)".
        estimates: label -> ``(mean, variance)`` estimated from samples, each of shape ``(K,)``; label them by
            how the samples were drawn (e.g. "q_sample draws"), not "closed form", which names the line.

    Raises:
        TypeError: an argument that is not numbers of the documented kind (``expected`` not a pair, ...).
        ValueError: values that are not 1-D or not of the length of ``timesteps``.
    """
    t = _values("timesteps", timesteps)
    expected = _pair("expected", expected, length=len(t))
    check_mapping("estimates", estimates, entries="label -> (mean, variance)")
    estimates = {label: _pair(f"estimates[{label!r}]", pair, length=len(t)) for label, pair in estimates.items()}
    fig = Figure(figsize=(9, 3.0), layout="constrained")
    ax_mean, ax_var = fig.subplots(1, 2)
    markers = ["o", "x", "+", "s"]
    for ax, index, title in (
        (ax_mean, 0, r"mean of $x_t$: $\sqrt{\bar\alpha_t}\,x_0$"),
        (ax_var, 1, r"variance of $x_t$: $1-\bar\alpha_t$"),
    ):
        ax.plot(t, np.asarray(expected[index], dtype=float), color="black", lw=1.5, label="exact value (Eq. 4)")
        for k, (label, values) in enumerate(estimates.items()):
            style = {"color": CURVE_STYLES[k % len(CURVE_STYLES)]["color"], "marker": markers[k % len(markers)]}
            ax.plot(t, np.asarray(values[index], dtype=float), ls="none", ms=4, label=label, alpha=0.8, **style)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("timestep t")
        ax.grid(alpha=0.3)
    ax_mean.legend(fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_timings(
    sizes: Sequence[int],
    seconds: Mapping[str, Sequence[float]],
    *,
    xlabel: str = "timestep t",
    suptitle: str | None = None,
) -> Figure:
    """Measured run times (milliseconds) against a size, one curve per method, on log-log axes.

    Args:
        sizes: the sizes measured, shape ``(K,)``.
        seconds: label -> seconds per call at each size, shape ``(K,)``.

    Raises:
        TypeError: ``sizes`` or a value of ``seconds`` not numbers, ``seconds`` not a mapping.
        ValueError: no timings, or values that are not 1-D or not of the length of ``sizes``.
    """
    sizes = _values("sizes", sizes)
    check_mapping("seconds", seconds, entries="label -> seconds per size")
    if not seconds:
        raise ValueError("seconds is empty: give at least one label -> seconds per size")
    seconds = {
        label: _values(f"seconds[{label!r}]", values, length=len(sizes), like="sizes")
        for label, values in seconds.items()
    }
    fig = Figure(figsize=(5, 3.2), layout="constrained")
    ax = fig.subplots()
    for label, values in seconds.items():
        ax.plot(sizes, np.asarray(values) * 1e3, "o-", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("time per call (ms)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def show_chain(
    states: Sequence[Image.Image | torch.Tensor],
    labels: Sequence[str],
    arrow_label: str,
    *,
    suptitle: str | None = None,
    caption: str | None = None,
    size: float = 1.4,
) -> Figure:
    r"""States of a diffusion chain in one row, left to right, with a labelled arrow between neighbours.

    Draws the pictures of the series' overview: the forward process $x_0 \to x_T$ with arrows labelled
    $q(x_t \mid x_{t-1})$ (Eq. 2), or the reverse direction with arrows labelled $p_\theta(x_{t-1} \mid x_t)$.
    The states are shown as given: to draw the reverse direction, pass them in reverse order.

    Args:
        states: PIL images or ``(C, H, W)`` tensors in [-1, 1] (clamped for display), in the order to show.
        labels: one caption under each state (e.g. ``"$x_{250}$"``).
        arrow_label: the text above every arrow (mathtext allowed).
        suptitle: a title for the whole figure.
        caption: a note under the row (say here what the picture is, e.g. that it is only an illustration).
        size: inches per image.

    Raises:
        TypeError: ``states`` not a sequence of images or tensors, ``labels`` not a sequence of strings.
        ValueError: fewer than two states or more than ``MAX_PANELS``, a number of labels different from the
            number of states, or ``size`` outside (0, 10].
    """
    size = check_float("size", size, low=0.0, high=10.0, high_inclusive=True)
    pils = _as_rgb_images("states", states)
    if len(pils) < 2:
        raise ValueError(f"a chain needs at least two states, got {len(pils)}")
    _check_panels("states", len(pils))
    if len(check_sequence("labels", labels, items="strings")) != len(pils):
        raise ValueError(f"labels has {len(labels)} entries for {len(pils)} states")
    n = len(pils)
    gap = 0.7  # width of an arrow column, relative to an image
    height = size + 0.45 + (0.3 if suptitle else 0.0) + (0.3 if caption else 0.0)
    fig = Figure(figsize=(size * (n + gap * (n - 1)), height), layout="constrained")
    axes = fig.subplots(1, 2 * n - 1, gridspec_kw={"width_ratios": [1, gap] * (n - 1) + [1]})
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i % 2 == 0:
            ax.imshow(pils[i // 2])
            ax.set_title(labels[i // 2], fontsize=10, y=-0.2)
        else:
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
            arrow = {"arrowstyle": "-|>", "lw": 1.5, "color": "black"}
            ax.annotate("", xy=(0.95, 0.5), xytext=(0.05, 0.5), arrowprops=arrow)
            ax.text(0.5, 0.6, arrow_label, ha="center", va="bottom", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    if caption:
        fig.supxlabel(caption, fontsize=8.5, style="italic")
    return fig


def plot_curves(
    curves: Mapping[str, Sequence[float] | torch.Tensor],
    *,
    timesteps: Sequence[int] | torch.Tensor | None = None,
    ylabel: str = "",
    log_y: bool = False,
    suptitle: str | None = None,
) -> Figure:
    r"""Several quantities against the timestep on one axis, one line per label.

    For comparisons that are not properties of a schedule, e.g. the correct
    $\bar\alpha_t = \prod_{s=1}^{t} \alpha_s$ next to the mistaken $\prod_{s=1}^{T} \alpha_s$.

    Args:
        curves: label -> values, each of shape ``(K,)`` (all the same length).
        timesteps: the timesteps of the values, shape ``(K,)`` (default ``1, ..., K``).
        ylabel: the label of the y axis: say what is plotted and in which units.
        log_y: use a logarithmic y axis.
        suptitle: a title for the figure: say what to look at.

    Raises:
        TypeError: ``curves`` not a mapping of numbers, ``timesteps`` not numbers, ``log_y`` not a bool.
        ValueError: no curves, or curves that are not 1-D or of different lengths (or not matching ``timesteps``).
    """
    check_mapping("curves", curves, entries="label -> values")
    log_y = check_bool("log_y", log_y)
    if not curves:
        raise ValueError("curves is empty: give at least one label -> values")
    values = {label: _values(f"curves[{label!r}]", v) for label, v in curves.items()}
    lengths = {len(v) for v in values.values()}
    if len(lengths) != 1:
        raise ValueError(f"all curves must have one length, got lengths {sorted(lengths)}")
    (length,) = lengths
    t = np.arange(1, length + 1) if timesteps is None else _values("timesteps", timesteps)
    if len(t) != length:
        raise ValueError(f"timesteps has {len(t)} entries for curves of length {length}")
    fig = Figure(figsize=(5.2, 3.2), layout="constrained")
    ax = fig.subplots()
    for k, (label, v) in enumerate(values.items()):
        ax.plot(t, v, label=label, lw=1.8, **CURVE_STYLES[k % len(CURVE_STYLES)])
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("timestep t")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_normal_fits(
    samples: Mapping[str, tuple[torch.Tensor, float]], *, bins: int = 80, suptitle: str | None = None
) -> Figure:
    r"""Histograms of zero-mean samples, each against the density of $\mathcal N(0, \sigma^2)$ it should follow.

    One panel per entry, titled with the predicted and the measured variance. Use it to check a claim
    such as "the sum of two independent zero-mean Gaussians is a Gaussian whose variance is the sum".

    Args:
        samples: label -> (samples of any shape, all values pooled; the predicted variance $\sigma^2 > 0$).
        bins: histogram bins over $[-4\sigma, 4\sigma]$, at most ``MAX_BINS``.
        suptitle: a title for the figure: say what to look at.

    Raises:
        TypeError: ``samples`` not a mapping of (floating tensor, number) pairs, ``bins`` not an int.
        ValueError: no samples or more than ``MAX_PANELS``, empty samples, a predicted variance that is not
            positive and finite, or ``bins`` outside [1, ``MAX_BINS``].
    """
    check_mapping("samples", samples, entries="label -> (samples, predicted variance)")
    bins = check_int("bins", bins, minimum=1, maximum=MAX_BINS)
    if not samples:
        raise ValueError("samples is empty: give at least one label -> (samples, predicted variance)")
    _check_panels("samples", len(samples))
    for label, pair in samples.items():
        x, variance = _pair(f"samples[{label!r}]", pair)
        _check_samples(f"samples[{label!r}][0]", x)
        check_float(f"the predicted variance of {label!r}", variance, low=0.0)
    fig = Figure(figsize=(3.0 * len(samples), 2.7), layout="constrained")
    axes = fig.subplots(1, len(samples), squeeze=False)[0]
    for ax, (label, (x, variance)) in zip(axes, samples.items()):
        values = _histogram_against_normal(
            ax, x, variance, bins=bins, label=r"$\mathcal{N}(0, \sigma^2)$ predicted", histtype="stepfilled"
        )
        ax.set_title(f"{label}\npredicted var {variance:.4f}, measured {values.var():.4f}", fontsize=9)
        ax.set_xlabel("value")
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize=7, loc="upper left")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def _histogram_against_normal(
    ax: Axes, x: torch.Tensor, variance: float, *, bins: int, label: str, histtype: str = "bar"
) -> np.ndarray:
    r"""Draw the density histogram of ``x`` over $\pm 4\sigma$ and the $\mathcal N(0, \sigma^2)$ density on it.

    Returns the pooled values (float64), for the caller's title.
    """
    values = x.detach().to("cpu", torch.float64).flatten().numpy()
    sigma = math.sqrt(variance)
    ax.hist(
        values, bins=bins, range=(-4 * sigma, 4 * sigma), density=True, histtype=histtype, color="tab:blue", alpha=0.7
    )
    grid = np.linspace(-4 * sigma, 4 * sigma, 400)
    ax.plot(
        grid,
        np.exp(-(grid**2) / (2 * variance)) / math.sqrt(2 * math.pi * variance),
        color="black",
        lw=1.2,
        label=label,
    )
    return values


def _check_panels(name: str, count: int) -> None:
    if count > MAX_PANELS:
        raise ValueError(f"{name} has {count} entries, more than MAX_PANELS={MAX_PANELS} in one figure")


def _check_samples(name: str, x: object) -> None:
    check_float_tensor(name, x)
    if x.numel() == 0:
        raise ValueError(f"{name} is empty: a histogram needs at least one value")


def _values(name: str, value: object, *, length: int | None = None, like: str = "timesteps") -> np.ndarray:
    """``value`` (numbers: a list, tuple, 1-D tensor or array) as a float64 array of shape ``(length,)``,
    where ``length`` is the number of entries of the argument named ``like``."""
    if isinstance(value, torch.Tensor):
        if value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
        value = value.detach().to("cpu", torch.float64)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as error:  # ragged lists, ...
        raise TypeError(f"{name} must be a sequence of numbers ({error})") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a sequence of numbers, got {type(value).__name__} of {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if length is not None and len(array) != length:
        raise ValueError(f"{name} has {len(array)} entries, expected {length} (one per entry of {like})")
    return array.astype(np.float64)


def _pair(name: str, value: object, *, length: int | None = None) -> tuple[Any, Any]:
    """Check a pair such as ``(mean, variance)``; with ``length``, both as float64 arrays of that length."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (a tuple of two), got {type(value).__name__}")
    first, second = value
    if length is None:
        return first, second
    return _values(f"{name}[0]", first, length=length), _values(f"{name}[1]", second, length=length)


def _as_list(values: Sequence[Any] | torch.Tensor | np.ndarray) -> list[Any]:
    return values.tolist() if isinstance(values, (torch.Tensor, np.ndarray)) else list(values)
