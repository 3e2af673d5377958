r"""Figures for faster sampling with DDIM on 2-D data (notebook 06).

- :func:`plot_spacings`: which timesteps a sampler with few steps visits (trailing, leading, evenly spaced),
  over the signal $\sqrt{\bar\alpha_t}$ that each timestep tells the network to expect.
- :func:`plot_steps_versus_quality`: the noise-floor ratio of the samples against the number of steps, one
  line per sampler, with the wall time on a second axis.
- :func:`plot_matched_points`: the same points in several panels (noise, and what each sampler made of it;
  or data, its inverted noise and its reconstruction), each point coloured by where it is in the first panel,
  so that a deterministic map shows as a smooth rearrangement of colours and a random one as confetti.
- :func:`plot_paths` and :func:`sampler_player`: the paths of sampled points under several samplers side by
  side, as a static figure and as a kernel-free player for the static site.

A sampler's trajectory here is a pair ``(trajectory, timesteps)``: ``trajectory`` of shape ``(S + 1, N, 2)``,
whose element ``[i]`` is $x_t$ at ``t = timesteps[i]``, with ``timesteps`` increasing from 0 (the samples) to
the start. That is what ``ddim_sample(..., return_trajectory=True)`` returns; for ``ddpm_sample``, whose
trajectory holds every ``t``, the timesteps are ``torch.arange(T + 1)``.

Presentation layer: it may import the mathematics, never the other way round. Like the other plotting
modules, every function returns a ``matplotlib.figure.Figure`` that is not registered with pyplot and changes
no rcParams; curves differ by line style as well as colour, for a greyscale print.

Timestep convention: ``t`` in ``1, ..., T``; ``t = 0`` is the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure

from ._checks import check_float, check_int
from .ddim import SPACINGS, spaced_timesteps
from .plotting_training import (
    _COLOURS,
    DATA_COLOUR,
    LINE_STYLES,
    _frame,
    _plain_log_ticks,
    _points,
    _square,
)
from .schedules import NoiseSchedule

__all__ = [
    "plot_matched_points",
    "plot_paths",
    "plot_spacings",
    "plot_steps_versus_quality",
    "point_colours",
    "sampler_player",
]


# ---------------------------------------------------------------------------------------------- spacings


def plot_spacings(
    schedule: NoiseSchedule,
    steps: int,
    *,
    spacings: Sequence[str] = SPACINGS,
    suptitle: str | None = None,
) -> Figure:
    r"""The timesteps a sampler with ``steps`` steps visits under each spacing, over $\sqrt{\bar\alpha_t}$.

    Top: $\sqrt{\bar\alpha_t}$, the share of the data's amplitude in $x_t$, with each spacing's first timestep
    marked: the sampler starts from pure noise but tells the network it is at that $t$. Bottom: one row of
    marks per spacing, with its first and last timestep written next to it.

    Args:
        schedule: the schedule (``T`` steps).
        steps: the number of sampling steps, in ``[1, T]``.
        spacings: names of ``ddim.SPACINGS``, one row each.
        suptitle: a title: say what to look at.

    Raises:
        TypeError: ``schedule`` not a NoiseSchedule.
        ValueError: ``steps`` outside ``[1, T]``, no spacings or an unknown one.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    T = len(schedule)
    steps = check_int("steps", steps, minimum=1, maximum=T)
    if isinstance(spacings, str) or len(spacings) == 0:
        raise ValueError(f"spacings must be a list of names from {', '.join(SPACINGS)}, got {spacings!r}")
    for spacing in spacings:
        if spacing not in SPACINGS:
            raise ValueError(f"spacings must be names from {', '.join(map(repr, SPACINGS))}, got {spacing!r}")
    visited = {spacing: spaced_timesteps(T, steps, spacing).tolist() for spacing in spacings}
    signal = schedule.sqrt_alpha_bars.numpy()  # (T,): [t - 1] is sqrt(alpha_bar_t)
    t_axis = np.arange(1, T + 1)

    fig = Figure(figsize=(7.5, 2.6 + 0.45 * len(spacings) + (0.4 if suptitle else 0.0)), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 0.5 + 0.4 * len(spacings)]})
    top.plot(t_axis, signal, color="black", lw=1.5, label=r"$\sqrt{\bar\alpha_t}$: data left in $x_t$")
    for i, (spacing, timesteps) in enumerate(visited.items()):
        start = timesteps[-1]
        colour, marker = _COLOURS[i % len(_COLOURS)], "os^D"[i % 4]
        top.plot(
            [start],
            [signal[start - 1]],
            marker=marker,
            color=colour,
            ms=8,
            ls="none",
            label=rf"{spacing} starts at t = {start}: $\sqrt{{\bar\alpha_t}}$ = {signal[start - 1]:.2g}",
        )
        bottom.plot(timesteps, [i] * len(timesteps), marker=marker, color=colour, ls="none", ms=6)
        bottom.text(T * 1.02, i, f"{timesteps[0]} … {timesteps[-1]}", va="center", fontsize=10)
    top.set_ylabel(r"$\sqrt{\bar\alpha_t}$")
    top.set_ylim(-0.03, 1.05)
    top.grid(alpha=0.3)
    top.legend(fontsize=9, loc="lower left")
    bottom.set_yticks(range(len(visited)), list(visited))
    bottom.set_ylim(len(visited) - 0.5, -0.5)
    bottom.set_xlim(-0.02 * T, T * 1.16)  # a little room left of t = 1, where leading and linspace start
    bottom.set_xlabel(f"timestep t (T = {T}); {steps} steps")
    bottom.grid(alpha=0.3, axis="x")
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


# ----------------------------------------------------------------------------------- steps vs quality


def plot_steps_versus_quality(
    curves: Mapping[str, Sequence[Sequence[float]]],
    *,
    floor_band: tuple[float, float] | None = None,
    time_for: int = 10_000,
    suptitle: str | None = None,
) -> Figure:
    """Sample quality against the number of sampling steps, with the wall time on a second axis.

    Args:
        curves: label -> rows ``(steps, ratio, seconds_per_sample, ...)``, e.g. the
            :class:`~diffusion_helpers.evaluation.QualityPoint` list of ``steps_versus_quality``.
        floor_band: ``(low, high)`` shaded around 1: how much the ratio of fresh data itself varies.
        time_for: the right axis shows the wall time for this many samples.
        suptitle: a title: say what to look at.

    Raises:
        ValueError: no curves, an empty curve, a row with fewer than three numbers, a non-positive value.
    """
    if not curves:
        raise ValueError("curves is empty: give label -> rows (steps, ratio, seconds per sample)")
    time_for = check_int("time_for", time_for, minimum=1)
    fig = Figure(figsize=(7.0, 3.8 + (0.4 if suptitle else 0.0)), layout="constrained")
    ax = fig.subplots()
    timing = ax.twinx()
    if floor_band is not None:
        low, high = (check_float("floor_band", v, low=0.0) for v in floor_band)
        if not low <= 1.0 <= high:
            raise ValueError(f"floor_band must contain 1 (the floor itself), got ({low:g}, {high:g})")
        ax.axhspan(low, high, color="0.88", label="spread of fresh data's ratio")
    ax.axhline(1.0, color="black", lw=1, ls="--", label="noise floor")
    for i, (label, rows) in enumerate(curves.items()):
        table = np.asarray([tuple(row)[:3] for row in rows], dtype=float) if len(rows) else np.empty((0, 3))
        if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] != 3:
            raise ValueError(f"curves[{label!r}] must be a non-empty list of rows (steps, ratio, seconds per sample)")
        if not np.isfinite(table).all() or (table <= 0).any():
            raise ValueError(f"curves[{label!r}] has a value that is not finite and > 0 (a log scale cannot show it)")
        colour = _COLOURS[i % len(_COLOURS)]
        steps, ratio, seconds = table.T
        ax.plot(
            steps, ratio, marker="os^D"[i % 4], color=colour, ls=LINE_STYLES[i % len(LINE_STYLES)], lw=2, label=label
        )
        timing.plot(steps, seconds * time_for, marker="x", color=colour, ls=":", lw=1, alpha=0.7)
    for axis in (ax, timing):
        axis.set_xscale("log")
        axis.set_yscale("log")
        _plain_log_ticks(axis.yaxis)
    _plain_log_ticks(ax.xaxis)
    ax.set_xlabel("sampling steps (network calls per sample)")
    ax.set_ylabel("sliced Wasserstein / noise floor")
    timing.set_ylabel(f"wall time for {time_for:,} samples, s (dotted, ×)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9, loc="upper right")
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


# ------------------------------------------------------------------------------------- matched points


def point_colours(points: torch.Tensor | np.ndarray) -> np.ndarray:
    """A colour per 2-D point: hue from its angle around the points' centre, brightness from its distance.

    Returns:
        ``(N, 3)`` RGB values in ``[0, 1]``; nearby points get similar colours.
    """
    x = _points("points", points)
    centred = x - x.mean(axis=0)
    hue = (np.arctan2(centred[:, 1], centred[:, 0]) / (2 * math.pi)) % 1.0
    radius = np.hypot(centred[:, 0], centred[:, 1])
    rank = radius.argsort().argsort() / max(len(x) - 1, 1)  # 0 at the centre, 1 at the edge
    value = 0.35 + 0.6 * rank
    return hsv_to_rgb(np.stack([hue, np.full_like(hue, 0.85), value], axis=1))


def plot_matched_points(
    panels: Mapping[str, torch.Tensor],
    *,
    reference: torch.Tensor | None = None,
    lim: float | Sequence[float | None] | None = None,
    max_points: int = 2000,
    suptitle: str | None = None,
    size: float = 3.0,
) -> Figure:
    """The same ``N`` points in several panels, each coloured by where it is in the first panel.

    Point ``i`` of every panel is the image of point ``i`` of the first one (the noise a sampler started from,
    or the data a round trip started from). A map that keeps neighbours together shows as smooth bands of
    colour; one that scatters them, as confetti.

    Args:
        panels: label -> ``(N, 2)`` points, the same ``N`` in every panel; the first panel sets the colours.
        reference: held-out data ``(M, 2)`` in light grey under every panel but the first.
        lim: the half-width of the frames: one number for all, one per panel (None: from the panel's points),
            or None.
        max_points: at most this many points are drawn (the first ones).
        suptitle, size: a title for the figure; inches per panel.

    Raises:
        ValueError: no panels, points that are not ``(N, 2)``, panels of different ``N``, a ``lim`` list of
            the wrong length.
    """
    if not panels:
        raise ValueError("panels is empty: give label -> points of shape (N, 2)")
    points = {label: _points(f"panels[{label!r}]", x) for label, x in panels.items()}
    sizes = {len(x) for x in points.values()}
    if len(sizes) != 1:
        raise ValueError(f"every panel must hold the same N points (point i is the image of point i), got {sizes}")
    max_points = check_int("max_points", max_points, minimum=1)
    limits = list(lim) if isinstance(lim, (list, tuple)) else [lim] * len(points)
    if len(limits) != len(points):
        raise ValueError(f"lim must be one number or one per panel ({len(points)}), got {len(limits)}")
    ref = None if reference is None else _points("reference", reference)
    colours = point_colours(next(iter(points.values()))[:max_points])
    fig = Figure(figsize=(size * len(points), size + (0.55 if suptitle else 0.3)), layout="constrained")
    axes = fig.subplots(1, len(points), squeeze=False)[0]
    for i, (ax, (label, x), panel_lim) in enumerate(zip(axes, points.items(), limits)):
        if ref is not None and i > 0:
            r = ref[:max_points]
            ax.scatter(r[:, 0], r[:, 1], s=4, color=DATA_COLOUR, linewidths=0, rasterized=True)
        shown = x[:max_points]
        ax.scatter(shown[:, 0], shown[:, 1], s=5, c=colours, linewidths=0, rasterized=True)
        _square(ax, _frame(panel_lim, x, quantile=0.995))
        ax.set_title(label, fontsize=11)
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


# ------------------------------------------------------------------------------------------------ paths


def plot_paths(
    panels: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    reference: torch.Tensor | None = None,
    paths: int = 6,
    lim: float | None = None,
    max_states: int = 200,
    suptitle: str | None = None,
    size: float = 3.2,
) -> Figure:
    r"""The paths of a few sampled points from $x_T$ (open circle) to $x_0$ (filled circle), one panel per sampler.

    Args:
        panels: label -> ``(trajectory, timesteps)`` (see the module's docstring), the same points in each.
        reference: held-out data ``(M, 2)`` in light grey.
        paths: how many points to follow (the first ones).
        lim: the frame is ``[-lim, lim]^2`` (default from the first panel's start).
        max_states: a path through more states than this is drawn through this many of them, evenly spaced
            (a path through all 1,000 states of DDPM is a scribble).
        suptitle, size: a title for the figure; inches per panel.

    Raises:
        ValueError: no panels, a trajectory that is not ``(S + 1, N, 2)`` or whose timesteps do not match it,
            ``paths`` outside ``[1, N]``.
    """
    runs = _runs(panels)
    n = min(trajectory.shape[1] for trajectory, _ in runs.values())
    paths = check_int("paths", paths, minimum=1, maximum=n)
    max_states = check_int("max_states", max_states, minimum=2)
    ref = None if reference is None else _points("reference", reference)
    first = next(iter(runs.values()))[0]
    lim = _frame(lim, first[-1], quantile=0.995)
    fig = Figure(figsize=(size * len(runs), size + (0.55 if suptitle else 0.3)), layout="constrained")
    axes = fig.subplots(1, len(runs), squeeze=False)[0]
    for ax, (label, (trajectory, timesteps)) in zip(axes, runs.items()):
        if ref is not None:
            ax.scatter(ref[:2000, 0], ref[:2000, 1], s=3, color=DATA_COLOUR, linewidths=0, rasterized=True)
        states = np.unique(np.linspace(0, len(timesteps) - 1, min(len(timesteps), max_states)).round().astype(int))
        for i in range(paths):
            path = trajectory[states, i]  # (states, 2), from x_0 up to the start
            ax.plot(path[:, 0], path[:, 1], color=_COLOURS[i % len(_COLOURS)], lw=1.0, alpha=0.9)
            ax.plot(*trajectory[-1, i], "o", mfc="white", mec="black", ms=5)
            ax.plot(*trajectory[0, i], "o", color="black", ms=5)
        ax.set_title(f"{label}: {len(timesteps) - 1} steps", fontsize=11)
        _square(ax, lim)
    if suptitle:
        fig.suptitle(suptitle, fontsize=13)
    return fig


def sampler_player(
    panels: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    frames: Sequence[int],
    *,
    reference: torch.Tensor | None = None,
    lim: float | None = None,
    max_points: int = 800,
    interval_ms: int = 400,
    size: float = 4.0,
) -> str:
    r"""A kernel-free HTML/JavaScript player of several samplers side by side, frame by frame in $t$.

    Each frame shows every sampler's points at the same timestep ``t``: every panel must have visited it
    (choose the frames among the coarsest sampler's timesteps).

    Args:
        panels: label -> ``(trajectory, timesteps)`` (see the module's docstring).
        frames: the timesteps to show, in playing order (e.g. from ``T`` down to 0), at most 40.
        reference: held-out data ``(M, 2)`` in light grey behind the points.
        lim: the frame is ``[-lim, lim]^2`` (default from the first panel's start).
        max_points: at most this many points per panel.
        interval_ms: time per frame.
        size: inches per panel (players are drawn at 72 dpi).

    Returns:
        The player's HTML; show it with ``dh.notebook.try_this`` or ``IPython.display.HTML``.

    Raises:
        ValueError: as :func:`plot_paths`; no frames or more than 40, a frame some panel did not visit.
    """
    from .widgets import _LiveFigure  # ipywidgets is loaded only when a player is made

    runs = _runs(panels)
    if not 1 <= len(frames) <= 40:
        raise ValueError(f"frames must hold 1 to 40 timesteps (each embedded in the page), got {len(frames)}")
    frames = [check_int("frames", t, minimum=0) for t in frames]
    index: dict[str, dict[int, int]] = {}
    for label, (_, timesteps) in runs.items():
        where = {int(t): i for i, t in enumerate(timesteps)}
        missing = [t for t in frames if t not in where]
        if missing:
            raise ValueError(
                f"frames must be timesteps that every panel visited; {label!r} has no state at t = {missing[0]} "
                "(choose the frames among the coarsest sampler's timesteps)"
            )
        index[label] = where
    max_points = check_int("max_points", max_points, minimum=1)
    interval_ms = check_int("interval_ms", interval_ms, minimum=10)
    ref = None if reference is None else _points("reference", reference)
    lim = _frame(lim, next(iter(runs.values()))[0][-1], quantile=0.995)

    class Player(_LiveFigure):
        def __init__(self) -> None:
            # fixed margins, not a layout engine: every frame must put the axes in the same place
            self.figure = Figure(figsize=(size * len(runs), size + 0.3), dpi=72)
            axes = self.figure.subplots(
                1, len(runs), squeeze=False, gridspec_kw={"left": 0.07, "right": 0.98, "bottom": 0.08, "top": 0.85}
            )[0]
            self.points, self.titles = [], []
            for ax, (label, (trajectory, _)) in zip(axes, runs.items()):
                if ref is not None:
                    ax.scatter(ref[:max_points, 0], ref[:max_points, 1], s=5, color=DATA_COLOUR, linewidths=0)
                self.points.append(ax.scatter(*trajectory[-1, :max_points].T, s=5, color=_COLOURS[0], linewidths=0))
                self.titles.append(ax.set_title(label, fontsize=13))
                _square(ax, lim)
                ax.tick_params(labelsize=11)
            self.caption = self.figure.suptitle("", fontsize=14)

        def _animated_artists(self) -> list[Any]:
            return [*self.points, self.caption]

        def draw(self, t: int) -> None:
            for artist, (label, (trajectory, _)) in zip(self.points, runs.items()):
                artist.set_offsets(trajectory[index[label][t], :max_points])
            self.caption.set_text(f"$x_{{{t}}}$, t = {t}")

    player = Player()
    return player._jshtml(player.draw, frames, interval_ms)


# -------------------------------------------------------------------------------------------- helpers


def _runs(panels: object) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """label -> (trajectory as float64 (S + 1, N, 2), timesteps as int (S + 1,)), checked."""
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty mapping label -> (trajectory, timesteps)")
    runs = {}
    for label, pair in panels.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"panels[{label!r}] must be a pair (trajectory, timesteps)")
        trajectory, timesteps = pair
        if not isinstance(trajectory, torch.Tensor) or trajectory.ndim != 3 or trajectory.shape[2] != 2:
            got = tuple(trajectory.shape) if isinstance(trajectory, torch.Tensor) else type(trajectory).__name__
            raise ValueError(f"panels[{label!r}]: the trajectory must be a tensor of shape (S + 1, N, 2), got {got}")
        steps = torch.as_tensor(timesteps).cpu().numpy()
        if steps.shape != (trajectory.shape[0],) or not np.array_equal(steps, np.sort(steps)) or steps[0] != 0:
            raise ValueError(
                f"panels[{label!r}]: the timesteps must be increasing from 0, one per state of the trajectory "
                f"({trajectory.shape[0]}), got {steps.tolist()[:6]}"
            )
        runs[label] = (trajectory.detach().to("cpu", torch.float64).numpy(), steps.astype(int))
    return runs
