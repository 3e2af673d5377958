r"""Figures for the reverse process (notebook 04): densities on a grid, the chain's pairs, 1-D samples and paths.

- :func:`plot_densities`: densities on a grid, one panel per title (Bayes' product, brute force against
  the closed form, the true reverse step against its Gaussian).
- :func:`plot_posterior_regression`: pairs $(x_t, x_{t-1})$ of the forward chain for one $x_0$, with the
  posterior mean of Eq. 7 as a line and $\pm 2\sqrt{\tilde\beta_t}$ as a band.
- :func:`plot_lines`: a few curves against any x (for example the distance from Gaussian against $\beta$).
- :func:`plot_histograms`: 1-D samples against the density they should follow, one panel per label.
- :func:`plot_paths`: 1-D sampling trajectories from $x_T$ (left) to $x_0$ (right).
- :class:`ReverseStepExplorer`: sliders over $\beta$ and $x_t$ for the true reverse step of two-mode data,
  with a kernel-free player for the static site.

Presentation layer: it may import the mathematics, never the other way round. Every function returns a
``matplotlib.figure.Figure`` that is not registered with pyplot and changes no rcParams. Curves differ in
line style as well as colour, so they stay apart in greyscale and for colour-blind readers.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.figure import Figure

from ._checks import check_float, check_int
from .toy1d import (
    GaussianMixture,
    distance_from_gaussian,
    grid_moments,
    make_grid,
    normal_density,
    reverse_step_on_grid,
)
from .widgets import _LiveFigure

__all__ = [
    "ReverseStepExplorer",
    "plot_densities",
    "plot_histograms",
    "plot_lines",
    "plot_paths",
    "plot_posterior_regression",
]

# colour and dash pattern together (Okabe & Ito's palette), dark first
STYLES: tuple[dict[str, Any], ...] = (
    {"color": "#0072B2", "linestyle": "-"},
    {"color": "#D55E00", "linestyle": "--"},
    {"color": "#009E73", "linestyle": ":"},
    {"color": "#000000", "linestyle": "-."},
    {"color": "#CC79A7", "linestyle": (0, (5, 1, 1, 1, 1, 1))},
)
SAMPLE_COLOUR = "#08306b"  # dark blue: nearly black in greyscale
MAX_PANELS = 12


def plot_densities(
    grid: torch.Tensor,
    panels: Mapping[str, Mapping[str, torch.Tensor]],
    *,
    xlabel: str = "x",
    markers: Mapping[str, float] | None = None,
    fill_first: bool = False,
    suptitle: str | None = None,
    size: tuple[float, float] = (3.6, 2.9),
) -> Figure:
    """Densities on a grid: one panel per title, one curve per label.

    Args:
        grid: the x values, shape ``(N,)``.
        panels: title -> (label -> values of shape ``(N,)``). The first curve of each panel is drawn
            thickest: make it the one the others are compared with.
        xlabel: the x axis label (e.g. ``"$x_{t-1}$"``).
        markers: label -> an x value, drawn as a vertical line in every panel (e.g. the observed $x_t$).
        fill_first: shade the area under each panel's first curve (for a data density).
        suptitle: a title for the figure: say what to look at.
        size: inches per panel (width, height).

    Raises:
        ValueError: no panels or too many, empty panels, curves that do not match the grid.
    """
    x = _array("grid", grid)
    if not panels or len(panels) > MAX_PANELS:
        raise ValueError(f"panels must hold 1 to {MAX_PANELS} titles -> curves, got {len(panels)}")
    fig = Figure(figsize=(size[0] * len(panels), size[1] + (0.4 if suptitle else 0)), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, curves) in zip(axes, panels.items()):
        if not curves:
            raise ValueError(f"panel {title!r} has no curves")
        for k, (label, values) in enumerate(curves.items()):
            y = _array(f"panels[{title!r}][{label!r}]", values, length=len(x))
            style = STYLES[k % len(STYLES)]
            ax.plot(x, y, label=label, lw=2.4 if k == 0 else 1.6, **style)
            if k == 0 and fill_first:
                ax.fill_between(x, y, color=style["color"], alpha=0.15, linewidth=0)
        for k, (label, value) in enumerate((markers or {}).items()):
            ax.axvline(float(value), color="0.35", lw=1.0, ls=(0, (2, 2)), label=label if k == 0 else None)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize=8, loc="upper left")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_posterior_regression(
    x_t: torch.Tensor,
    x_prev: torch.Tensor,
    mean_line: Callable[[torch.Tensor], torch.Tensor],
    variance: float,
    *,
    t: int,
    max_points: int = 4000,
    suptitle: str | None = None,
) -> Figure:
    r"""Pairs $(x_t, x_{t-1})$ of the forward chain, with the posterior mean and a $\pm 2$ std band.

    Args:
        x_t, x_prev: the pairs, 1-D tensors of equal length.
        mean_line: $x_t \mapsto \tilde\mu_t(x_t, x_0)$ for a 1-D tensor of $x_t$ values.
        variance: $\tilde\beta_t$.
        t: the timestep (for the labels).
        max_points: at most this many points are drawn (the first ones: the pairs are i.i.d.).
        suptitle: a title for the figure.

    Raises:
        ValueError: pairs of different lengths, a negative variance.
    """
    a, b = _array("x_t", x_t), _array("x_prev", x_prev, length=len(_array("x_t", x_t)))
    variance = check_float("variance", variance, low=0.0, low_inclusive=True)
    n = check_int("max_points", max_points, minimum=1)
    fig = Figure(figsize=(5.0, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.scatter(a[:n], b[:n], s=4, color="0.6", linewidths=0, label=f"chain: {min(n, len(a)):,} pairs")
    line_x = torch.linspace(float(np.quantile(a, 0.001)), float(np.quantile(a, 0.999)), 200, dtype=torch.float64)
    line_y = mean_line(line_x).detach().cpu().double().numpy()
    band = 2 * math.sqrt(variance)
    ax.plot(line_x, line_y, color=STYLES[0]["color"], lw=2.2, label=r"posterior mean $\tilde\mu_t(x_t, x_0)$")
    ax.fill_between(
        line_x, line_y - band, line_y + band, color=STYLES[0]["color"], alpha=0.15, label=r"$\pm 2\sqrt{\tilde\beta_t}$"
    )
    ax.set_xlabel(f"$x_{{{t}}}$")
    ax.set_ylabel(f"$x_{{{t - 1}}}$")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", markerscale=3)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_lines(
    x: Sequence[float] | torch.Tensor,
    curves: Mapping[str, Sequence[float] | torch.Tensor],
    *,
    xlabel: str,
    ylabel: str,
    log_x: bool = False,
    log_y: bool = False,
    markers: bool = True,
    suptitle: str | None = None,
) -> Figure:
    """A few curves against a common x, one line (and marker) style per label.

    Raises:
        ValueError: no curves, or curves whose length is not ``len(x)``.
    """
    x = _array("x", x)
    if not curves:
        raise ValueError("curves is empty: give at least one label -> values")
    fig = Figure(figsize=(5.4, 3.3), layout="constrained")
    ax = fig.subplots()
    for k, (label, values) in enumerate(curves.items()):
        y = _array(f"curves[{label!r}]", values, length=len(x))
        ax.plot(x, y, label=label, lw=1.8, marker="os^dv"[k % 5] if markers else None, ms=4, **STYLES[k % len(STYLES)])
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_histograms(
    samples: Mapping[str, torch.Tensor],
    density: Callable[[torch.Tensor], torch.Tensor],
    *,
    value_range: tuple[float, float],
    bins: int = 80,
    density_label: str = "target density",
    suptitle: str | None = None,
    size: tuple[float, float] = (2.9, 2.6),
) -> Figure:
    """1-D samples as density histograms, each against the density they should follow, one panel per label.

    Each panel's title gives the samples' mean and standard deviation; values outside ``value_range`` are
    counted in the title rather than silently dropped.

    Args:
        samples: label -> samples (any shape; all values pooled).
        density: the target density, called on a float64 grid over ``value_range``.
        value_range: ``(low, high)`` of the histograms.
        bins: histogram bins.
        density_label: the legend's name for the target.
        suptitle: a title for the figure.
        size: inches per panel.

    Raises:
        ValueError: no samples or too many panels, an empty sample, ``low >= high``.
    """
    if not samples or len(samples) > MAX_PANELS:
        raise ValueError(f"samples must hold 1 to {MAX_PANELS} labels -> samples, got {len(samples)}")
    low, high = (check_float("value_range[0]", value_range[0]), check_float("value_range[1]", value_range[1]))
    grid = make_grid(low, high, 400)
    target = _array("density(grid)", density(grid), length=400)
    bins = check_int("bins", bins, minimum=1, maximum=1000)
    fig = Figure(figsize=(size[0] * len(samples), size[1] + (0.4 if suptitle else 0)), layout="constrained")
    axes = fig.subplots(1, len(samples), squeeze=False, sharey=True)[0]
    for ax, (label, values) in zip(axes, samples.items()):
        v = _array(f"samples[{label!r}]", torch.as_tensor(values).flatten())
        if v.size == 0:
            raise ValueError(f"samples[{label!r}] is empty")
        outside = int(((v < low) | (v > high)).sum())
        ax.hist(v, bins=bins, range=(low, high), density=True, color=SAMPLE_COLOUR, alpha=0.55)
        ax.plot(grid, target, color="black", lw=1.4, label=density_label)
        note = f", {outside / v.size:.0%} outside" if outside else ""
        ax.set_title(f"{label}\nmean {v.mean():+.2f}, std {v.std(ddof=1):.2f}{note}", fontsize=9)
        ax.set_xlabel("value")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize=8, loc="upper left")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_paths(
    trajectory: torch.Tensor,
    *,
    count: int = 40,
    density: Callable[[torch.Tensor], torch.Tensor] | None = None,
    suptitle: str | None = None,
) -> Figure:
    r"""1-D sampling trajectories: $x_t$ against $t$, from $t = T$ on the left to $t = 0$ on the right.

    Args:
        trajectory: ``(T + 1, N)`` (element ``[t]`` is $x_t$), e.g. from ``ddpm_sample(..., return_trajectory=True)``.
        count: how many of the N paths to draw.
        density: optionally the data density, drawn sideways at $t = 0$ for comparison.
        suptitle: a title for the figure.

    Raises:
        ValueError: a trajectory that is not 2-D with at least two states.
    """
    if not isinstance(trajectory, torch.Tensor) or trajectory.ndim != 2 or trajectory.shape[0] < 2:
        raise ValueError("trajectory must be a (T + 1, N) tensor of 1-D samples, as from ddpm_sample")
    count = check_int("count", count, minimum=1)
    paths = trajectory[:, :count].detach().to("cpu", torch.float64).numpy()  # (T + 1, count)
    T = paths.shape[0] - 1
    fig = Figure(figsize=(6.2, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(np.arange(T + 1), paths, color=SAMPLE_COLOUR, lw=0.7, alpha=0.6)
    ax.set_xlim(T, 0)  # time runs backwards: noise on the left, data on the right
    ax.set_xlabel("timestep t (sampling runs from T down to 0)")
    ax.set_ylabel("$x_t$")
    ax.grid(alpha=0.3)
    if density is not None:
        lim = np.abs(paths).max() * 1.05
        y = make_grid(-lim, lim, 300)
        d = _array("density(grid)", density(y), length=300)
        ax.fill_betweenx(y.numpy(), 0, -d / d.max() * T * 0.12, color="0.6", alpha=0.5, label="data density")
        ax.set_xlim(T, -T * 0.13)
        ax.legend(fontsize=8, loc="upper left")
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


class ReverseStepExplorer(_LiveFigure):
    r"""The true reverse step of two-mode 1-D data, with sliders over $\beta$ and the observed $x_1$.

    One forward step of size $\beta$ takes the data $x_0 \sim$ ``mixture`` to $x_1$. Bayes' rule on a grid
    gives the true reverse step $q(x_0 \mid x_1) \propto q(x_1 \mid x_0)\,p(x_0)$ exactly
    (:func:`~diffusion_helpers.toy1d.reverse_step_on_grid`). The left panel shows the two factors, the right
    panel their normalised product next to the Gaussian with the same mean and variance, the best a Gaussian
    reverse step could do; the title gives their total-variation distance. Small $\beta$: the likelihood is
    narrow, the product is one Gaussian bump. Large $\beta$: the likelihood is broad, the product looks like
    the data, with two bumps.

    Args:
        mixture: the data distribution.
        beta: $\beta$ to start with, in [0.001, 0.99].
        x_t: the observed $x_1$ to start with, in [-2.5, 2.5].
        grid: the grid of $x_0$ values (default 1,201 points over [-3, 3]).
    """

    def __init__(
        self, mixture: GaussianMixture, *, beta: float = 0.02, x_t: float = 0.8, grid: torch.Tensor | None = None
    ) -> None:
        if not isinstance(mixture, GaussianMixture):
            raise TypeError(f"mixture must be a GaussianMixture, got {type(mixture).__name__}")
        beta = check_float("beta", beta, low=1e-3, high=0.99, low_inclusive=True, high_inclusive=True)
        x_t = check_float("x_t", x_t, low=-2.5, high=2.5, low_inclusive=True, high_inclusive=True)
        self.mixture = mixture
        self.grid = make_grid(-3.0, 3.0, 1201) if grid is None else grid
        self.prior = mixture.density(self.grid)  # (N,): p(x_0) on the grid
        g = self.grid.numpy()
        self.figure = Figure(figsize=(9.0, 3.4), dpi=96)
        left, right = self.figure.subplots(
            1, 2, gridspec_kw={"left": 0.07, "right": 0.98, "bottom": 0.16, "top": 0.82, "wspace": 0.22}
        )
        self._header = self.figure.text(0.5, 0.985, "", ha="center", va="top", fontsize=12)
        left.fill_between(
            g, self.prior.numpy() / float(self.prior.max()), color="0.6", alpha=0.5, label=r"data $p(x_0)$ (scaled)"
        )
        (self._likelihood,) = left.plot(
            [], [], color=STYLES[1]["color"], ls="--", lw=2, label=r"$q(x_1 \mid x_0)$ as a function of $x_0$ (scaled)"
        )
        left.set_title("what Bayes' rule multiplies", fontsize=11)
        (self._posterior,) = right.plot([], [], color=STYLES[0]["color"], lw=2.4, label=r"true $q(x_0 \mid x_1)$")
        (self._gaussian,) = right.plot(
            [], [], color=STYLES[1]["color"], ls="--", lw=1.8, label="Gaussian, same mean and variance"
        )
        for ax in (left, right):
            ax.set_xlim(g[0], g[-1])
            ax.set_xlabel("$x_0$")
            ax.grid(alpha=0.3)
        left.set_ylim(0, 1.5)  # headroom: the legends sit above the curves
        left.legend(fontsize=8, loc="upper left")
        right.legend(fontsize=8, loc="upper left")
        self._right = right
        self._marker = left.axvline(x_t, color="0.3", lw=1, ls=":")
        style = {"description_width": "70px"}
        self.sliders = {
            "beta": widgets.FloatLogSlider(
                value=beta,
                base=10,
                min=-3,
                max=math.log10(0.99),
                step=0.05,
                description="β",
                readout_format=".3f",
                style=style,
                continuous_update=True,
            ),
            "x_t": widgets.FloatSlider(
                value=x_t,
                min=-2.5,
                max=2.5,
                step=0.05,
                description="x₁",
                readout_format=".2f",
                style=style,
                continuous_update=True,
            ),
        }
        self.sliders["beta"].add_class("dh-beta")
        self.output = widgets.Output()
        self.widget = widgets.VBox([widgets.HBox(list(self.sliders.values())), self.output])
        self.widget.add_class("dh-reverse-explorer")
        for slider in self.sliders.values():
            slider.observe(lambda change: self.update(), names="value")
        self.distance = float("nan")
        self._hold = False
        self.update()

    def _animated_artists(self) -> list[Artist]:
        return [self._likelihood, self._posterior, self._gaussian, self._marker, self._header, self._right.title]

    def posterior(self, beta: float, x_t: float) -> torch.Tensor:
        r"""The true $q(x_0 \mid x_1 = x_t)$ on the grid, for one step of size ``beta``."""
        return reverse_step_on_grid(self.grid, self.prior, x_t, beta)

    def draw(self, beta: float, x_t: float) -> None:
        """Redraw for ``beta`` and ``x_t`` (no rendering)."""
        g = self.grid
        likelihood = normal_density(x_t, math.sqrt(1 - beta) * g, beta)  # q(x_1 | x_0) along the grid of x_0
        self._likelihood.set_data(g.numpy(), (likelihood / likelihood.max()).numpy())
        posterior = self.posterior(beta, x_t)
        mean, variance = grid_moments(g, posterior)
        gaussian = normal_density(g, mean, variance)
        self._posterior.set_data(g.numpy(), posterior.numpy())
        self._gaussian.set_data(g.numpy(), gaussian.numpy())
        self._right.set_ylim(0, 1.5 * float(max(posterior.max(), gaussian.max())))
        self._marker.set_xdata([x_t, x_t])
        self.distance = float(distance_from_gaussian(g, posterior))
        self._right.set_title(f"normalised product: {self.distance:.2f} from Gaussian (TV)", fontsize=11)
        self._header.set_text(f"one forward step with β = {beta:.3g}, observed x₁ = {x_t:.2f}")

    def update(self) -> None:
        """Redraw for the sliders' values and show the new picture."""
        if self._hold:
            return
        self.draw(self.sliders["beta"].value, self.sliders["x_t"].value)
        self._render()

    def set(self, *, beta: float | None = None, x_t: float | None = None) -> None:
        """Move the sliders (checked, then one redraw)."""
        if beta is not None:
            beta = check_float("beta", beta, low=1e-3, high=0.99, low_inclusive=True, high_inclusive=True)
        if x_t is not None:
            x_t = check_float("x_t", x_t, low=-2.5, high=2.5, low_inclusive=True, high_inclusive=True)
        with self._holding():
            if beta is not None:
                self.sliders["beta"].value = beta
            if x_t is not None:
                self.sliders["x_t"].value = x_t
        self.update()

    def to_jshtml(self, betas: Sequence[float], *, x_t: float | None = None, interval_ms: int = 600) -> str:
        """A kernel-free player over ``betas`` at a fixed ``x_t`` (default: the slider's), for the static site."""
        x_value = self.sliders["x_t"].value if x_t is None else x_t
        return self.to_jshtml_frames([{"beta": beta, "x_t": x_value} for beta in betas], interval_ms=interval_ms)

    def to_jshtml_frames(self, frames: Sequence[Mapping[str, float]], *, interval_ms: int = 600) -> str:
        """A kernel-free player whose frames are ``{"beta": ..., "x_t": ...}`` settings (both required), in order.

        Raises:
            ValueError: no frames or more than 30 (each is embedded in the page), a frame without ``beta`` and
                ``x_t``, or a value outside its slider's range.
        """
        if not 1 <= len(frames) <= 30:
            raise ValueError(f"frames must hold 1 to 30 settings (each embedded in the page), got {len(frames)}")
        settings = []
        for frame in frames:
            if not isinstance(frame, Mapping) or set(frame) != {"beta", "x_t"}:
                raise ValueError(f"each frame must be a mapping with the keys 'beta' and 'x_t', got {frame!r}")
            settings.append(
                (
                    check_float("beta", frame["beta"], low=1e-3, high=0.99, low_inclusive=True, high_inclusive=True),
                    check_float("x_t", frame["x_t"], low=-2.5, high=2.5, low_inclusive=True, high_inclusive=True),
                )
            )
        try:
            return self._jshtml(lambda setting: self.draw(*setting), settings, interval_ms)
        finally:
            self.update()

    @contextlib.contextmanager
    def _holding(self) -> Iterator[None]:
        """Move several sliders with one redraw (each slider's observer calls update())."""
        self._hold = True
        try:
            yield
        finally:
            self._hold = False


def _array(name: str, value: object, *, length: int | None = None) -> np.ndarray:
    """``value`` as a 1-D float64 numpy array (of ``length`` entries if given), or a clear ValueError/TypeError."""
    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu", torch.float64)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be numbers (a 1-D tensor, array or list): {error}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if length is not None and len(array) != length:
        raise ValueError(f"{name} has {len(array)} values, expected {length} (one per grid point)")
    return array
