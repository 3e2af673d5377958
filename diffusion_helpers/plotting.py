r"""Figures the notebooks show: image rows, pixel histograms, schedule curves, moment checks, timings.

Presentation layer: it may import the mathematics, never the other way round. Every function builds
and returns a ``matplotlib.figure.Figure`` that is not registered with pyplot, so it appears exactly once
when it is a cell's last value, leaves no global state behind, and can be saved with ``fig.savefig``.
Nothing here changes rcParams.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from PIL import Image

from ._checks import check_int
from .images import tensor_to_pil
from .schedules import NoiseSchedule

__all__ = [
    "SCHEDULE_QUANTITIES",
    "plot_moment_check",
    "plot_pixel_histograms",
    "plot_schedules",
    "plot_timings",
    "show_images",
    "show_trajectory",
]

# quantity name -> (axis label, whether a log scale suits it)
SCHEDULE_QUANTITIES: dict[str, tuple[str, bool]] = {
    "betas": (r"$\beta_t$ (noise variance added at step $t$)", False),
    "alpha_bars": (r"$\bar\alpha_t$ (signal variance kept)", False),
    "sqrt_alpha_bars": (r"$\sqrt{\bar\alpha_t}$ (signal amplitude kept)", False),
    "sqrt_one_minus_alpha_bars": (r"$\sqrt{1-\bar\alpha_t}$ (noise amplitude)", False),
    "log_snr": (r"$\log \mathrm{SNR}(t) = \log \frac{\bar\alpha_t}{1-\bar\alpha_t}$", False),
    "snr": (r"$\mathrm{SNR}(t)$", True),
}


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
    trajectory: torch.Tensor, timesteps: Sequence[int], *, suptitle: str | None = None, ncols: int | None = None
) -> Figure:
    """The states ``trajectory[t]`` for the given timesteps, titled ``t = ...``.

    Args:
        trajectory: ``(T + 1, C, H, W)``, as from :func:`diffusion_helpers.forward_trajectory`.
        timesteps: which states to show, each in ``[0, T]`` (e.g. from ``spaced_timesteps``).

    Raises:
        ValueError: a timestep outside ``[0, T]``.
    """
    T = trajectory.shape[0] - 1
    for t in timesteps:
        check_int("timesteps", t, minimum=0, maximum=T)
    return show_images(
        [trajectory[t] for t in timesteps], [f"t = {t}" for t in timesteps], suptitle=suptitle, ncols=ncols
    )


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
    grid = np.linspace(-4, 4, 400)
    normal_pdf = np.exp(-(grid**2) / 2) / math.sqrt(2 * math.pi)
    for ax, (t, x) in zip(axes, states.items()):
        values = x.detach().to("cpu", torch.float64).flatten().numpy()
        ax.hist(values, bins=bins, range=(-4, 4), density=True, color="tab:blue", alpha=0.7)
        ax.plot(grid, normal_pdf, color="black", lw=1.2, label=r"$\mathcal{N}(0,1)$")
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
            ax.plot((t / len(schedule) if relative_time else t).numpy(), getattr(schedule, quantity).numpy(), label=name)
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
    r"""Mean and variance of $x_t$ against $t$: the closed form as a line, Monte-Carlo estimates as markers.

    Args:
        timesteps: the timesteps, shape ``(K,)``.
        expected: ``(mean, variance)`` from the closed form, each of shape ``(K,)``.
        estimates: label -> ``(mean, variance)`` estimated from samples, each of shape ``(K,)``.
    """
    t = np.asarray(timesteps, dtype=float)
    fig = Figure(figsize=(9, 3.0), layout="constrained")
    ax_mean, ax_var = fig.subplots(1, 2)
    markers = ["o", "x", "+", "s"]
    for ax, index, title in (
        (ax_mean, 0, r"mean of $x_t$: $\sqrt{\bar\alpha_t}\,x_0$"),
        (ax_var, 1, r"variance of $x_t$: $1-\bar\alpha_t$"),
    ):
        ax.plot(t, np.asarray(expected[index], dtype=float), color="black", lw=1.5, label="closed form (Eq. 4)")
        for k, (label, values) in enumerate(estimates.items()):
            ax.plot(t, np.asarray(values[index], dtype=float), markers[k % len(markers)], ms=3.5, label=label, alpha=0.8)
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
