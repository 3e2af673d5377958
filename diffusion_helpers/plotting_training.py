r"""Figures for training a denoiser on 2-D data and sampling from it (notebook 05).

- :func:`plot_samples`: samples as points over held-out data, one panel per label.
- :func:`plot_score_field`: what the network learned, as arrows over the plane at several $t$. The network
  predicts the noise $\hat\varepsilon = \varepsilon_\theta(x_t, t)$, which points *away* from the data;
  the score of the noised distribution is $\nabla_{x_t}\log q(x_t) \approx -\hat\varepsilon/\sqrt{1-\bar\alpha_t}$,
  which points towards it (the best $\hat\varepsilon$ is $\mathbb E[\varepsilon \mid x_t]$, and Tweedie's formula
  gives $\nabla\log q(x_t) = -\mathbb E[\varepsilon \mid x_t]/\sqrt{1-\bar\alpha_t}$; Vincent 2011, Song et al. 2021).
- :func:`plot_trajectory_snapshots` and :func:`trajectory_player`: sampled points travelling from noise
  ($t = T$) to data ($t = 0$), as a row of panels and as a kernel-free player for the static site.
  :func:`frame_timesteps` chooses the frames where the picture changes.
- :func:`plot_losses`, :func:`plot_metric_curve`, :func:`plot_floor_spread`: the training loss, the
  quality metric during training, and how much the metric's noise floor varies with the sample size.
- :func:`plot_broken_vs_working`: a broken run beside a working one, one row per cause (debugging).

Presentation layer: it may import the mathematics, never the other way round. Like
:mod:`diffusion_helpers.plotting`, every function returns a ``matplotlib.figure.Figure`` that is not
registered with pyplot and changes no rcParams. The figures are meant for a projector and a greyscale
print: samples are dark points over light-grey data, curves differ by line style as well as colour.

Timestep convention: ``t`` in ``1, ..., T``; element ``[t]`` of a trajectory is $x_t$ (``[0]`` the samples).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator

from ._checks import check_bool, check_float, check_generator, check_int
from .forward import q_sample
from .schedules import NoiseSchedule

__all__ = [
    "FRAME_LOG_SNR_RANGE",
    "frame_timesteps",
    "plot_broken_vs_working",
    "plot_floor_spread",
    "plot_losses",
    "plot_metric_curve",
    "plot_samples",
    "plot_score_field",
    "plot_trajectory_snapshots",
    "trajectory_player",
]

SAMPLE_COLOUR = "#08306b"  # dark blue: nearly black in greyscale
DATA_COLOUR = "0.72"  # light grey
LINE_STYLES = ("-", "--", ":", "-.")
_COLOURS = ("#08306b", "#d95f02", "#1b9e77", "#7570b3")  # dark first; distinct for colour-blind readers


# --------------------------------------------------------------------------------------------- samples


def plot_samples(
    panels: Mapping[str, torch.Tensor],
    reference: torch.Tensor | None = None,
    *,
    ncols: int | None = None,
    lim: float | None = None,
    max_points: int = 3000,
    suptitle: str | None = None,
    size: float = 3.0,
) -> Figure:
    """2-D samples as dark points over held-out data in light grey, one panel per label.

    Every panel has the same square frame, so panels compare at a glance; points outside it are counted
    in the panel (a sampler that diverges shows "40% outside the frame" rather than an empty panel).

    Args:
        panels: label -> samples of shape ``(N, 2)`` (e.g. ``{"swiss roll, 3,000 steps": samples}``).
        reference: held-out data ``(M, 2)`` drawn under every panel, or None.
        ncols: panels per row (default: all in one row).
        lim: the frame is ``[-lim, lim]^2`` (default: 1.25 times the largest coordinate of ``reference``,
            or of the first panel without a reference).
        max_points: at most this many points of each set are drawn (the first ones: samples are i.i.d.).
        suptitle: a title for the figure: say what to look at.
        size: inches per panel.

    Raises:
        ValueError: no panels, or samples that are not ``(N, 2)``.
    """
    if not panels:
        raise ValueError("panels is empty: give at least one label -> samples of shape (N, 2)")
    points = {label: _points(f"panels[{label!r}]", x) for label, x in panels.items()}
    ref = None if reference is None else _points("reference", reference)
    lim = _frame(lim, ref if ref is not None else next(iter(points.values())))
    max_points = check_int("max_points", max_points, minimum=1)
    ncols = len(points) if ncols is None else min(check_int("ncols", ncols, minimum=1), len(points))
    nrows = math.ceil(len(points) / ncols)
    fig = Figure(figsize=(size * ncols, size * nrows + (0.5 if suptitle else 0.2)), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= len(points):
            ax.set_axis_off()
            continue
        label, x = list(points.items())[i]
        _scatter_panel(ax, x, ref, lim, max_points)
        ax.set_title(label, fontsize=11)
    if ref is not None:
        axes.flat[0].legend(fontsize=10, loc="upper left", markerscale=3, framealpha=0.9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


def plot_broken_vs_working(
    cases: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    reference: torch.Tensor | None = None,
    *,
    scores: Mapping[str, tuple[float, float]] | None = None,
    column_titles: tuple[str, str] = ("broken", "working"),
    lim: float | None = None,
    max_points: int = 2000,
    suptitle: str | None = None,
    size: float = 2.6,
) -> Figure:
    """One row per cause of failure: the broken run's samples on the left, the working run's on the right.

    Args:
        cases: cause -> ``(broken samples, working samples)``, each ``(N, 2)``.
        reference: held-out data ``(M, 2)`` drawn under every panel.
        scores: cause -> ``(broken, working)`` metric values, shown in the panel titles.
        column_titles: the two columns' headings.
        lim, max_points, suptitle, size: as in :func:`plot_samples`.

    Raises:
        ValueError: no cases, a case that is not a pair of ``(N, 2)`` tensors, or scores for unknown causes.
    """
    if not cases:
        raise ValueError("cases is empty: give at least one cause -> (broken samples, working samples)")
    for cause, pair in cases.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"cases[{cause!r}] must be a pair (broken samples, working samples)")
    rows = {
        cause: (_points(f"cases[{cause!r}][0]", broken), _points(f"cases[{cause!r}][1]", working))
        for cause, (broken, working) in cases.items()
    }
    scores = dict(scores or {})
    unknown = sorted(set(scores) - set(rows))
    if unknown:
        raise ValueError(f"scores names causes that are not in cases: {', '.join(map(repr, unknown))}")
    ref = None if reference is None else _points("reference", reference)
    lim = _frame(lim, ref if ref is not None else next(iter(rows.values()))[1])
    max_points = check_int("max_points", max_points, minimum=1)
    fig = Figure(figsize=(2 * size + 0.6, size * len(rows) + (0.5 if suptitle else 0.2)), layout="constrained")
    axes = fig.subplots(len(rows), 2, squeeze=False)
    for (cause, pair), row in zip(rows.items(), axes):
        for column, (ax, x) in enumerate(zip(row, pair)):
            _scatter_panel(ax, x, ref, lim, max_points)
            title = column_titles[column]
            if cause in scores:
                value = scores[cause][column]
                title += f": {value:.1f}× floor" if value < 10 else f": {value:,.0f}× floor"
            ax.set_title(title, fontsize=11, fontweight="bold" if column == 0 else "normal")
        row[0].set_ylabel(cause, fontsize=11)
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


# ------------------------------------------------------------------------------------------ the field


def plot_score_field(
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    schedule: NoiseSchedule,
    timesteps: Sequence[int],
    *,
    data: torch.Tensor | None = None,
    field: str = "score",
    directions_only: bool = False,
    lim: float = 2.0,
    grid_size: int = 17,
    max_points: int = 2000,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    suptitle: str | None = None,
    size: float = 3.0,
) -> Figure:
    r"""The network's field over the plane at several $t$: arrows on a grid, over the noised data $q(x_t)$.

    With ``field="score"`` the arrows are $-\varepsilon_\theta(x_t, t)/\sqrt{1-\bar\alpha_t}$, the score
    $\nabla\log q(x_t)$ the network implies; they point towards where $x_t$ is likely. With ``field="eps"``
    they are the predicted noise $\varepsilon_\theta(x_t, t)$ itself, which points the opposite way. The
    score grows like $1/\sqrt{1-\bar\alpha_t}$ as $t \to 0$, so each panel scales its arrows to fit and
    states the largest length in its title. Far from the data the arrows are longest and crowd out the rest;
    ``directions_only=True`` draws every arrow with the same length, which shows where each one points.

    Args:
        model: any callable ``model(x_t, t) -> eps`` (the sampler's model contract): ``x_t`` of shape
            ``(G * G, 2)``, ``t`` a 1-D int64 tensor of timesteps in ``[1, T]``.
        schedule: the schedule the model was trained with.
        timesteps: one panel per timestep, each in ``[1, T]``.
        data: clean data ``(N, 2)``; if given, each panel shows $x_t$ drawn from it with ``q_sample``.
        field: ``"score"`` or ``"eps"``.
        directions_only: draw unit arrows (the direction of the field), all of one length.
        lim: the grid and frame cover ``[-lim, lim]^2``.
        grid_size: arrows per side.
        max_points: at most this many points of ``data`` are noised and drawn.
        generator: for the noise of ``q_sample`` (the arrows need no randomness).
        device: where the model runs.
        suptitle, size: a title for the figure; inches per panel.

    Raises:
        TypeError: ``model`` not callable, ``schedule`` not a NoiseSchedule.
        ValueError: no timesteps or one outside ``[1, T]``, an unknown ``field``, and a model output that is
            not a finite tensor of the grid's shape.
    """
    if not callable(model):
        raise TypeError(f"model must be callable as model(x_t, t) -> eps, got {type(model).__name__}")
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    T = len(schedule)
    if len(timesteps) == 0:
        raise ValueError("timesteps is empty: give at least one timestep in [1, T]")
    timesteps = [check_int("timesteps", t, minimum=1, maximum=T) for t in timesteps]
    if field not in ("score", "eps"):
        raise ValueError(f"field must be 'score' or 'eps', got {field!r}")
    check_bool("directions_only", directions_only)
    lim = check_float("lim", lim, low=0.0)
    grid_size = check_int("grid_size", grid_size, minimum=2, maximum=100)
    max_points = check_int("max_points", max_points, minimum=1)
    check_generator(generator)
    clean = None if data is None else torch.as_tensor(_points("data", data)[:max_points], dtype=torch.float32)
    axis = torch.linspace(-lim, lim, grid_size)
    grid = torch.cartesian_prod(axis, axis)  # (G * G, 2): every (x, y) pair of the grid

    fig = Figure(figsize=(size * len(timesteps), size + (0.55 if suptitle else 0.3)), layout="constrained")
    axes = fig.subplots(1, len(timesteps), squeeze=False)[0]
    for ax, t in zip(axes, timesteps):
        if clean is not None:
            x_t = q_sample(clean, t, schedule, generator=generator).numpy()  # (N, 2), Eq. 4
            ax.scatter(x_t[:, 0], x_t[:, 1], s=3, color=DATA_COLOUR, linewidths=0, rasterized=True)
        eps = _predict(model, grid, t, device)  # (G * G, 2)
        arrows = -eps / math.sqrt(1 - schedule.alpha_bar(t)) if field == "score" else eps
        lengths = arrows.norm(dim=1, keepdim=True)  # (G * G, 1)
        length = float(lengths.max())
        scale = {}
        if directions_only:  # unit vectors, each drawn 0.8 grid spacings long
            arrows = arrows / lengths.clamp_min(1e-12)
            scale = {"scale": 1 / (0.8 * 2 * lim / (grid_size - 1)), "scale_units": "xy"}
        ax.quiver(
            grid[:, 0].numpy(),
            grid[:, 1].numpy(),
            arrows[:, 0].numpy(),
            arrows[:, 1].numpy(),
            color="black",
            angles="xy",
            pivot="tail",
            width=0.006,
            **scale,
        )
        name = "score" if field == "score" else r"$\hat\varepsilon$"
        ax.set_title(f"t = {t}: longest {name} arrow {length:.3g}", fontsize=11)
        _square(ax, lim)
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


# ------------------------------------------------------------------------------------- trajectories


FRAME_LOG_SNR_RANGE = (-8.0, 8.0)
"""The log-SNR range :func:`frame_timesteps` spreads frames over: below -8, $x_t$ holds less than 0.02 of the
data's amplitude (it looks like pure noise); above 8, less than 0.02 of noise (it looks like the data)."""


def frame_timesteps(
    schedule: NoiseSchedule, count: int, *, log_snr_range: tuple[float, float] = FRAME_LOG_SNR_RANGE
) -> list[int]:
    r"""``count`` timesteps from ``T`` down to ``0`` for showing a trajectory: ``T``, ``0``, and between them
    timesteps evenly spaced in $\log\mathrm{SNR}(t)$ over ``log_snr_range``.

    Evenly spaced $t$ would waste frames: with the linear schedule $x_t$ is nearly pure noise for the whole
    second half, and the data's fine detail appears only in the last few dozen steps. Spacing by
    $\log\mathrm{SNR}(t) = \log\frac{\bar\alpha_t}{1-\bar\alpha_t}$ gives the noisy start and the sharp end the
    same number of frames; limiting it to $[-8, 8]$ skips the stretches that look like pure noise or like the
    samples (the cosine schedule's last step alone goes from about $-7$ to $-14$). Narrow the range to where
    a given data set changes most. Timesteps that two targets share appear once, so fewer than ``count`` may
    come back.

    Raises:
        TypeError: ``schedule`` not a NoiseSchedule.
        ValueError: ``count`` < 2, or a ``log_snr_range`` that is not ``(low, high)`` with ``low < high``.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    count = check_int("count", count, minimum=2)
    if not isinstance(log_snr_range, (tuple, list)) or len(log_snr_range) != 2:
        raise ValueError(f"log_snr_range must be (low, high), got {log_snr_range!r}")
    low, high = (check_float("log_snr_range", value) for value in log_snr_range)
    if not low < high:
        raise ValueError(f"log_snr_range must be (low, high) with low < high, got ({low:g}, {high:g})")
    T = len(schedule)
    log_snr = schedule.log_snr  # (T,): [t - 1] is log SNR(t), decreasing in t
    low, high = max(float(log_snr[-1]), low), min(float(log_snr[0]), high)
    targets = torch.linspace(low, high, count - 2, dtype=torch.float64) if count > 2 else torch.empty(0)
    chosen = {int(torch.argmin((log_snr - target).abs())) + 1 for target in targets} | {0, T}
    return sorted(chosen, reverse=True)


def plot_trajectory_snapshots(
    trajectory: torch.Tensor,
    timesteps: Sequence[int],
    *,
    reference: torch.Tensor | None = None,
    paths: int = 0,
    lim: float | None = None,
    max_points: int = 1500,
    suptitle: str | None = None,
    size: float = 2.5,
) -> Figure:
    r"""Sampled points at several steps of the reverse process, and optionally a few whole paths.

    Args:
        trajectory: ``(T + 1, N, 2)`` from ``ddpm_sample(..., return_trajectory=True)``; ``[t]`` is $x_t$.
        timesteps: the states to show, in the order to show them (e.g. from :func:`frame_timesteps`).
        reference: held-out data ``(M, 2)``, drawn in light grey under the panels.
        paths: if > 0, one more panel with the paths of this many points from $x_T$ (open circle) to $x_0$
            (filled circle), drawn through about 100 of the states.
        lim: the frame is ``[-lim, lim]^2`` (default from $x_T$, which is the widest state).
        max_points, suptitle, size: as in :func:`plot_samples`.

    Raises:
        ValueError: a trajectory that is not ``(T + 1, N, 2)``, or a timestep outside ``[0, T]``.
    """
    trajectory = _trajectory(trajectory)
    T = trajectory.shape[0] - 1
    if len(timesteps) == 0:
        raise ValueError("timesteps is empty: give at least one timestep in [0, T]")
    timesteps = [check_int("timesteps", t, minimum=0, maximum=T) for t in timesteps]
    paths = check_int("paths", paths, minimum=0, maximum=trajectory.shape[1])
    max_points = check_int("max_points", max_points, minimum=1)
    ref = None if reference is None else _points("reference", reference)
    lim = _frame(lim, trajectory[T], quantile=0.995)
    panels = len(timesteps) + (1 if paths else 0)
    fig = Figure(figsize=(size * panels, size + (0.55 if suptitle else 0.3)), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for ax, t in zip(axes, timesteps):
        _scatter_panel(ax, trajectory[t], ref, lim, max_points)
        ax.set_title(f"$x_{{{t}}}$" + (" (noise)" if t == T else " (samples)" if t == 0 else ""), fontsize=11)
    if paths:
        ax = axes[-1]
        if ref is not None:
            ax.scatter(ref[:max_points, 0], ref[:max_points, 1], s=3, color=DATA_COLOUR, linewidths=0, rasterized=True)
        # a path through every state is a jagged scribble: draw about 100 of them, from x_T down to x_0
        states = sorted(set(range(T, -1, -max(1, T // 100))) | {0}, reverse=True)
        for i in range(paths):
            path = trajectory[states, i]  # (about 100, 2)
            ax.plot(path[:, 0], path[:, 1], color=_COLOURS[i % len(_COLOURS)], lw=0.8, alpha=0.9)
            ax.plot(*trajectory[T, i], "o", mfc="white", mec="black", ms=5)
            ax.plot(*trajectory[0, i], "o", color="black", ms=5)
        ax.set_title(f"{paths} paths, $x_{{{T}}}$ (○) to $x_0$ (●)", fontsize=11)
        _square(ax, lim)
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


def trajectory_player(
    trajectory: torch.Tensor,
    timesteps: Sequence[int],
    *,
    reference: torch.Tensor | None = None,
    lim: float | None = None,
    max_points: int = 800,
    interval_ms: int = 300,
    size: float = 4.5,
) -> str:
    r"""A kernel-free HTML/JavaScript player of sampled points travelling from $x_T$ to $x_0$ (for the site).

    The same player as the widgets' (``to_jshtml`` without the icon font's internet request, JPEG
    frames); keep frames few (a dozen) and points moderate: the page embeds every frame.

    Args:
        trajectory: ``(T + 1, N, 2)`` from ``ddpm_sample(..., return_trajectory=True)``.
        timesteps: the frames, in playing order (e.g. :func:`frame_timesteps`), at most 40.
        reference: held-out data ``(M, 2)`` in light grey behind the points.
        lim, max_points: as in :func:`plot_samples`.
        interval_ms: time per frame.
        size: inches per side (players are drawn at 72 dpi: 4.5 inches is 324 pixels).

    Returns:
        The player's HTML; show it with ``IPython.display.HTML``.

    Raises:
        ValueError: as :func:`plot_trajectory_snapshots`, or more than 40 frames.
    """
    from .widgets import _LiveFigure  # ipywidgets is loaded only when a player is made

    trajectory = _trajectory(trajectory)
    T = trajectory.shape[0] - 1
    if not 1 <= len(timesteps) <= 40:
        raise ValueError(f"timesteps must hold 1 to 40 frames (each embedded in the page), got {len(timesteps)}")
    timesteps = [check_int("timesteps", t, minimum=0, maximum=T) for t in timesteps]
    max_points = check_int("max_points", max_points, minimum=1)
    interval_ms = check_int("interval_ms", interval_ms, minimum=10)
    ref = None if reference is None else _points("reference", reference)
    lim = _frame(lim, trajectory[T], quantile=0.995)

    class Player(_LiveFigure):
        def __init__(self) -> None:
            # fixed margins, not a layout engine: every frame must put the axes in the same place
            self.figure = Figure(figsize=(size, size), dpi=72)
            self.ax = self.figure.subplots(gridspec_kw={"left": 0.12, "right": 0.97, "bottom": 0.08, "top": 0.9})
            if ref is not None:
                self.ax.scatter(ref[:max_points, 0], ref[:max_points, 1], s=5, color=DATA_COLOUR, linewidths=0)
            self.points = self.ax.scatter(*trajectory[T, :max_points].T, s=5, color=SAMPLE_COLOUR, linewidths=0)
            _square(self.ax, lim)
            self.ax.tick_params(labelsize=11)  # players are drawn at 72 dpi: larger labels stay legible

        def _animated_artists(self) -> list[Any]:
            return [self.points, self.ax.title]

        def draw(self, t: int) -> None:
            self.points.set_offsets(trajectory[t, :max_points])
            self.ax.set_title(f"$x_{{{t}}}$, t = {t} of {T}", fontsize=13)

    player = Player()
    return player._jshtml(player.draw, timesteps, interval_ms)


# ------------------------------------------------------------------------------------ training curves


def plot_losses(
    losses: Sequence[float] | torch.Tensor | Mapping[str, Sequence[float] | torch.Tensor],
    *,
    window: int = 100,
    log_y: bool = True,
    suptitle: str | None = None,
) -> Figure:
    r"""Training loss against the step: each run's raw loss faintly, its moving average boldly, log scale.

    The loss of one batch is noisy (each draws its own $t$ and $\varepsilon$), so the trend is in the moving
    average over ``window`` steps. It never reaches 0: even the best network cannot know the noise that
    was drawn, only its expectation given $x_t$.

    Args:
        losses: one run's losses per step, or label -> losses for several runs.
        window: steps per moving average (shortened to the run's length if longer).
        log_y: a logarithmic loss axis.
        suptitle: a title: say what to look at.

    Raises:
        ValueError: no runs, an empty run, or a run with a non-finite or (with ``log_y``) non-positive loss.
    """
    runs = losses if isinstance(losses, Mapping) else {"loss": losses}
    if not runs:
        raise ValueError("losses is empty: give a run's losses, or label -> losses")
    window = check_int("window", window, minimum=1)
    fig = Figure(figsize=(6.0, 3.4), layout="constrained")
    ax = fig.subplots()
    for i, (label, values) in enumerate(runs.items()):
        y = _curve(f"losses[{label!r}]" if isinstance(losses, Mapping) else "losses", values, positive=log_y)
        steps = np.arange(1, len(y) + 1)
        colour, style = _COLOURS[i % len(_COLOURS)], LINE_STYLES[i % len(LINE_STYLES)]
        ax.plot(steps, y, color=colour, lw=0.5, alpha=0.25)
        w = min(window, len(y))
        smooth = np.convolve(y, np.ones(w) / w, mode="valid")  # mean of steps [s - w + 1, s]
        ax.plot(steps[w - 1 :], smooth, color=colour, ls=style, lw=2, label=f"{label} (mean of {w} steps)")
    if log_y:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis)
    ax.set_xlabel("training step")
    ax.set_ylabel(r"loss $\|\varepsilon - \varepsilon_\theta(x_t, t)\|^2$")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=10)
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


def plot_metric_curve(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    *,
    floor_band: tuple[float, float] | None = None,
    ylabel: str = "sliced Wasserstein / noise floor",
    log_y: bool = True,
    suptitle: str | None = None,
) -> Figure:
    """A quality metric against training steps, one line per run, with the noise floor at 1 drawn in.

    Args:
        curves: label -> ``(steps, values)``, e.g. the noise-floor-normalised sliced Wasserstein distance
            measured every few hundred steps.
        floor_band: ``(low, high)`` shaded around 1: how far the floor itself varies between draws at this
            sample size; a value inside the band cannot be told apart from 1.
        ylabel: what the values are.
        log_y: a logarithmic axis (the metric falls over orders of magnitude).
        suptitle: a title: say what to look at.

    Raises:
        ValueError: no curves, steps and values of different lengths, a non-finite or non-positive value.
    """
    if not curves:
        raise ValueError("curves is empty: give label -> (steps, values)")
    fig = Figure(figsize=(6.0, 3.4), layout="constrained")
    ax = fig.subplots()
    if floor_band is not None:
        low, high = (check_float("floor_band", v, low=0.0) for v in floor_band)
        if not low <= 1.0 <= high:
            raise ValueError(f"floor_band must contain 1 (the floor itself), got ({low:g}, {high:g})")
        ax.axhspan(low, high, color="0.85", label="spread of the floor itself")
    ax.axhline(1.0, color="black", lw=1, ls="--", label="noise floor: indistinguishable")
    for i, (label, (steps, values)) in enumerate(curves.items()):
        y = _curve(f"curves[{label!r}]", values, positive=True)
        x = np.asarray(steps, dtype=float)
        if x.shape != y.shape:
            raise ValueError(f"curves[{label!r}] has {len(x)} steps for {len(y)} values")
        ax.plot(
            x,
            y,
            marker="os^D"[i % 4],
            color=_COLOURS[i % len(_COLOURS)],
            ls=LINE_STYLES[i % len(LINE_STYLES)],
            lw=1.8,
            ms=5,
            label=label,
        )
    if log_y:
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=10)
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


def plot_floor_spread(
    draws: Mapping[str, Sequence[float]],
    *,
    xlabel: str = "sliced Wasserstein distance between two held-out sets",
    suptitle: str | None = None,
) -> Figure:
    """How a noise floor varies from draw to draw: one row of dots per group, on a logarithmic axis.

    For example ``{"2,000 points": floors_2k, "10,000 points": floors_10k}``, each list holding the sliced
    Wasserstein distance between two fresh held-out sets, for several pairs. On a log axis equal widths are
    equal *relative* spreads; each row is labelled with its mean and its lowest and highest draw relative to
    that mean (-30% means that draw's floor was 30% below the average one: dividing by it would make a
    model look 30% worse).

    Args:
        draws: label -> at least two positive values.
        xlabel: what the values are.
        suptitle: a title: say what to look at.

    Raises:
        ValueError: no groups, a group with fewer than two values, a non-finite or non-positive value.
    """
    if not draws:
        raise ValueError("draws is empty: give label -> values of the floor from repeated draws")
    groups = {label: _curve(f"draws[{label!r}]", values, positive=True) for label, values in draws.items()}
    for label, values in groups.items():
        if len(values) < 2:
            raise ValueError(f"draws[{label!r}] needs at least two values to have a spread")
    fig = Figure(figsize=(7.0, 1.0 + 0.9 * len(groups)), layout="constrained")
    ax = fig.subplots()
    for row, values in enumerate(groups.values()):
        jitter = (np.arange(len(values)) % 5 - 2) * 0.06  # fixed offsets: overlapping dots stay visible
        ax.plot(values, row + jitter, "o", color=_COLOURS[row % len(_COLOURS)], mfc="none", ms=7, mew=1.5)
        mean, low, high = values.mean(), values.min(), values.max()
        ax.plot([mean, mean], [row - 0.3, row + 0.3], color="black", lw=2)
        ax.text(
            high,
            row,
            f"   mean {mean:.3g}, {100 * (low / mean - 1):+.0f}% to {100 * (high / mean - 1):+.0f}%",
            fontsize=10,
            va="center",
        )
    ax.set_xscale("log")
    _plain_log_ticks(ax.xaxis)
    low, high = min(v.min() for v in groups.values()), max(v.max() for v in groups.values())
    ax.set_xlim(low / 1.15, high * 3.0)  # room on the right for the labels
    ax.set_yticks(range(len(groups)), list(groups))
    ax.set_ylim(-0.6, len(groups) - 0.4)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3, axis="x", which="both")
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


# -------------------------------------------------------------------------------------------- helpers


def _points(name: str, x: object) -> np.ndarray:
    """``x`` as a float64 ``(N, 2)`` array, or a ValueError naming it."""
    if not isinstance(x, (torch.Tensor, np.ndarray)):
        raise TypeError(f"{name} must be a tensor of shape (N, 2), got {type(x).__name__}")
    array = (
        x.detach().to("cpu", torch.float64).numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    )
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, 2) with N >= 1, got {tuple(array.shape)}")
    return array


def _trajectory(trajectory: object) -> np.ndarray:
    if not isinstance(trajectory, torch.Tensor):
        raise TypeError(f"trajectory must be a tensor of shape (T + 1, N, 2), got {type(trajectory).__name__}")
    if trajectory.ndim != 3 or trajectory.shape[0] < 2 or trajectory.shape[2] != 2 or trajectory.shape[1] == 0:
        raise ValueError(
            "trajectory must have shape (T + 1, N, 2), as from ddpm_sample(..., return_trajectory=True); "
            f"got {tuple(trajectory.shape)}"
        )
    return trajectory.detach().to("cpu", torch.float64).numpy()


def _curve(name: str, values: object, *, positive: bool) -> np.ndarray:
    y = np.asarray(torch.as_tensor(values, dtype=torch.float64).detach().cpu()).ravel()
    if y.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(y).all():
        raise ValueError(f"{name} has a non-finite value (NaN or inf): the run diverged")
    if positive and (y <= 0).any():
        raise ValueError(f"{name} has a value <= 0, which a log scale cannot show (use log_y=False)")
    return y


def _frame(lim: float | None, points: np.ndarray, *, quantile: float = 1.0) -> float:
    """The half-width of the square frame: ``lim``, or 1.25 times the points' largest (quantile) coordinate."""
    if lim is not None:
        return check_float("lim", lim, low=0.0)
    finite = np.abs(points[np.isfinite(points).all(axis=1)])
    return 1.25 * float(np.quantile(finite, quantile)) if finite.size else 1.0


def _plain_log_ticks(axis: Axis) -> None:
    """Label a log axis 0.1, 0.2, 0.5, 1, ... rather than 10^-1: easier to read from the back of a room."""
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    axis.set_major_formatter(plain)
    axis.set_minor_formatter(plain)


def _square(ax: Axes, lim: float) -> None:
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=9)


def _scatter_panel(ax: Axes, x: np.ndarray, reference: np.ndarray | None, lim: float, max_points: int) -> None:
    """Reference in light grey, samples dark on top, a square frame, and a note if points fall outside it."""
    if reference is not None:
        r = reference[:max_points]
        ax.scatter(r[:, 0], r[:, 1], s=5, color=DATA_COLOUR, linewidths=0, rasterized=True, label="held-out data")
    shown = x[:max_points]
    ax.scatter(shown[:, 0], shown[:, 1], s=4, color=SAMPLE_COLOUR, linewidths=0, rasterized=True, label="samples")
    outside = ~(np.isfinite(x).all(axis=1) & (np.abs(x) <= lim).all(axis=1))
    if outside.any():
        ax.text(
            0.98,
            0.02,
            f"{100 * outside.mean():.0f}% outside the frame",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=10,
            bbox={"facecolor": "white", "alpha": 0.85, "lw": 0},
        )
    _square(ax, lim)


def _predict(
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], grid: torch.Tensor, t: int, device: str | torch.device
) -> torch.Tensor:
    """``model(grid, t)`` on ``device`` without gradients, checked, as a CPU float64 tensor."""
    x_t = grid.to(device)
    with torch.no_grad():
        eps = model(x_t, torch.full((len(grid),), t, dtype=torch.int64, device=x_t.device))
    if not isinstance(eps, torch.Tensor) or eps.shape != x_t.shape:
        got = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
        raise ValueError(f"model must return a tensor of x_t's shape {tuple(x_t.shape)}, got {got} at t = {t}")
    if not bool(torch.isfinite(eps).all()):
        raise ValueError(f"model returned non-finite values (NaN or inf) at t = {t}")
    return eps.detach().to("cpu", torch.float64)
