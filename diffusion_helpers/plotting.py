r"""Figures the notebooks show: image rows, pixel histograms, schedule curves, moment checks, timings.

Presentation layer: it may import the mathematics, never the other way round. Every function builds
and returns a ``matplotlib.figure.Figure`` that is not registered with pyplot, so it appears exactly once
when it is a cell's last value, leaves no global state behind, and can be saved with ``fig.savefig``.
Nothing here changes rcParams.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

from ._checks import check_int
from .images import tensor_to_pil
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
        ValueError: no images, or a number of titles different from the number of images.
    """
    pils = [tensor_to_pil(image) if isinstance(image, torch.Tensor) else image for image in images]
    if not pils:
        raise ValueError("images is empty: nothing to show")
    if titles is not None and len(titles) != len(pils):
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
        timesteps: which states to show, each in ``[0, T]`` (e.g. from ``spaced_timesteps``).
        ncols: images per row; choose it so that it divides the number of states, or the last row has gaps.
        titles: one per state, in place of ``t = ...`` (say what else is known about each state).

    Raises:
        ValueError: a timestep outside ``[0, T]``, or a number of titles different from the number of states.
    """
    T = trajectory.shape[0] - 1
    for t in timesteps:
        check_int("timesteps", t, minimum=0, maximum=T)
    titles = [f"t = {t}" for t in timesteps] if titles is None else titles
    return show_images([trajectory[t] for t in timesteps], titles, suptitle=suptitle, ncols=ncols)


def plot_pixel_histograms(
    states: Mapping[int, torch.Tensor], *, bins: int = 80, suptitle: str | None = None
) -> Figure:
    r"""Histograms of pixel values of $x_t$ for several $t$, each against the density of $\mathcal N(0, 1)$.

    Args:
        states: timestep ``t`` -> the tensor $x_t$ (any shape; all values are pooled).
        bins: histogram bins over [-4, 4].
    """
    if not states:
        raise ValueError("states is empty: give at least one timestep -> tensor")
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
        ValueError: an unknown quantity, or no schedules.
    """
    if not schedules:
        raise ValueError("schedules is empty: give at least one label -> NoiseSchedule")
    for quantity in quantities:
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
    """
    t = np.asarray(timesteps, dtype=float)
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
    sizes: Sequence[int], seconds: Mapping[str, Sequence[float]], *, xlabel: str = "timestep t", suptitle: str | None = None
) -> Figure:
    """Measured run times (milliseconds) against a size, one curve per method, on log-log axes."""
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
        ValueError: fewer than two states, or a number of labels different from the number of states.
    """
    pils = [tensor_to_pil(state) if isinstance(state, torch.Tensor) else state for state in states]
    if len(pils) < 2:
        raise ValueError(f"a chain needs at least two states, got {len(pils)}")
    if len(labels) != len(pils):
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
        ValueError: no curves, or curves of different lengths (or not matching ``timesteps``).
    """
    if not curves:
        raise ValueError("curves is empty: give at least one label -> values")
    values = {label: np.asarray(torch.as_tensor(v, dtype=torch.float64)) for label, v in curves.items()}
    lengths = {len(v) for v in values.values()}
    if len(lengths) != 1:
        raise ValueError(f"all curves must have one length, got lengths {sorted(lengths)}")
    (length,) = lengths
    t = np.arange(1, length + 1) if timesteps is None else np.asarray(timesteps, dtype=float)
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
        bins: histogram bins over $[-4\sigma, 4\sigma]$.
        suptitle: a title for the figure: say what to look at.

    Raises:
        ValueError: no samples, or a predicted variance that is not positive.
    """
    if not samples:
        raise ValueError("samples is empty: give at least one label -> (samples, predicted variance)")
    fig = Figure(figsize=(3.0 * len(samples), 2.7), layout="constrained")
    axes = fig.subplots(1, len(samples), squeeze=False)[0]
    for ax, (label, (x, variance)) in zip(axes, samples.items()):
        if not variance > 0:
            raise ValueError(f"the predicted variance of {label!r} must be positive, got {variance}")
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
    ax.hist(values, bins=bins, range=(-4 * sigma, 4 * sigma), density=True, histtype=histtype, color="tab:blue", alpha=0.7)
    grid = np.linspace(-4 * sigma, 4 * sigma, 400)
    ax.plot(grid, np.exp(-(grid**2) / (2 * variance)) / math.sqrt(2 * math.pi * variance), color="black", lw=1.2, label=label)
    return values
