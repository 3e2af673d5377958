r"""Interactive figures for the classroom: a timestep scrubber and a schedule explorer.

Each is a live matplotlib figure plus core ipywidgets controls (sliders, a dropdown, an ``Output`` area);
no third-party widget, so they work in JupyterLab, VS Code and Colab. Moving a control calls
``update()``, which changes the figure's artists in place and re-renders it once as a PNG into the
``Output`` area (replacing the previous picture in one step, so it does not flicker).

A static page has no kernel to run ``update()``. For it, ``to_jshtml(...)`` renders the same figure for a
list of values into a self-contained HTML/JavaScript player (matplotlib's ``FuncAnimation.to_jshtml``):
a scrubber that works without a kernel.

Presentation layer: imports the mathematics, never the other way round.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib import rc_context
from matplotlib.animation import FuncAnimation
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ._checks import check_bool, check_float_tensor, check_int, check_mapping, check_sequence
from .forward import q_sample
from .images import pil_to_tensor, tensor_to_pil
from .schedules import (
    MAX_NUM_TIMESTEPS,
    SCHEDULE_NAMES,
    SCHEDULE_PARAMETERS,
    NoiseSchedule,
    Parameter,
    make_schedule,
    terminal_health,
    timesteps_to_show,
)

__all__ = ["ScheduleExplorer", "TimestepScrubber"]

# The figures are re-rendered on every slider move. 96 dpi draws them at the size of the text around them in
# JupyterLab (legible on a projector at 1280 x 800) and still keeps a redraw under 100 ms.
_DPI = 96
_PLAYER_DPI = 72
MAX_FRAMES = 200  # frames of a kernel-free player: each is a picture embedded in the page
MAX_IMAGE_SIDE = 512  # the explorer noises and redraws its picture several times per slider move


# matplotlib's player links Font Awesome from a CDN for its button icons; the series works offline, so
# the link goes and each icon becomes a text symbol every font has.
_PLAYER_ICONS = {
    "fa fa-minus": "−",
    "fa fa-fast-backward": "|◀◀",
    "fa fa-step-backward": "|◀",
    "fa fa-play fa-flip-horizontal": "◀",
    "fa fa-pause": "❚❚",
    "fa fa-play": "▶",
    "fa fa-step-forward": "▶|",
    "fa fa-fast-forward": "▶▶|",
    "fa fa-plus": "+",
}


def _offline_player(html: str) -> str:
    """A ``to_jshtml`` player without its one request to the internet (the icon font's stylesheet)."""
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
    return re.sub(
        r'<i class="(fa [^"]*)"></i>',
        lambda match: f'<span aria-hidden="true">{_PLAYER_ICONS.get(match.group(1), "•")}</span>',
        html,
    )


class _LiveFigure:
    """A figure that widgets redraw in place and show as a PNG in an ``Output`` area.

    The axes, ticks and labels never change, so they are drawn once into a background; an update
    restores that background and draws only the artists marked as animated (lines, images, titles):
    matplotlib's blitting, applied to an Agg canvas. That is what keeps one update under 100 ms.
    """

    figure: Figure
    output: widgets.Output
    widget: widgets.Widget  # the controls and the output, shown when the object is a cell's last value
    _canvas: FigureCanvasAgg
    _background: Any = None

    def _animated_artists(self) -> list[Artist]:
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _render(self) -> None:
        if self._background is None:
            self._canvas = FigureCanvasAgg(self.figure)
            for artist in self._animated_artists():
                artist.set_animated(True)
            self._canvas.draw()  # everything but the animated artists
            self._background = self._canvas.copy_from_bbox(self.figure.bbox)
        self._canvas.restore_region(self._background)
        for artist in self._animated_artists():
            self.figure.draw_artist(artist)
        rgba = np.asarray(self._canvas.buffer_rgba())
        buffer = io.BytesIO()
        Image.fromarray(rgba[..., :3]).save(buffer, format="png", compress_level=1)
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        # Replace the output in one assignment: no clear-then-draw flicker, and no kernel needed.
        self.output.outputs = (
            {
                "output_type": "display_data",
                "data": {"image/png": png, "text/plain": repr(self.figure)},
                "metadata": {},
            },
        )

    def _jshtml(self, draw: Callable[[Any], None], values: Sequence[Any], interval_ms: int) -> str:
        """A kernel-free HTML/JS player of the figure, drawn with ``draw(value)`` for each value.

        The caller checks each value first; here, that there are 1 to ``MAX_FRAMES`` of them.
        """
        interval_ms = check_int("interval_ms", interval_ms, minimum=1, maximum=60_000)
        if not 1 <= len(values) <= MAX_FRAMES:
            raise ValueError(f"a player needs 1 to MAX_FRAMES={MAX_FRAMES} frames, got {len(values)}")
        artists = self._animated_artists()
        for artist in artists:  # a full redraw per frame: include them
            artist.set_animated(False)
        try:
            animation = FuncAnimation(self.figure, draw, frames=list(values), interval=interval_ms, blit=False)
            # JPEG frames at 72 dpi: noisy pictures compress about 4x better than as PNG, and the page embeds
            # every frame of every player (the fonts, sized for 96 dpi, stay legible)
            with rc_context({"animation.frame_format": "jpeg", "savefig.dpi": _PLAYER_DPI}):
                return _offline_player(animation.to_jshtml(default_mode="once"))
        finally:
            for artist in artists:
                artist.set_animated(self._background is not None)


class TimestepScrubber(_LiveFigure):
    r"""A slider over $t$ that shows $x_t$ of a forward trajectory next to its pixel histogram.

    Args:
        trajectory: ``(T + 1, C, H, W)`` tensor from :func:`diffusion_helpers.forward_trajectory`.
        t: the timestep shown first.

    Raises:
        TypeError: ``trajectory`` not a floating tensor, ``t`` not an int.
        ValueError: a trajectory that is not ``(T + 1, C, H, W)`` with ``T >= 1`` and ``C`` 1 or 3, or that holds
            NaN or inf; ``t`` outside ``[0, T]``.
    """

    def __init__(self, trajectory: torch.Tensor, t: int = 0) -> None:
        check_float_tensor("trajectory", trajectory)
        if trajectory.ndim != 4 or trajectory.shape[0] < 2 or trajectory.shape[1] not in (1, 3):
            raise ValueError(
                f"trajectory must be a (T + 1, C, H, W) tensor with T >= 1 and C = 1 or 3, as from "
                f"forward_trajectory; got shape {tuple(trajectory.shape)}"
            )
        if not torch.isfinite(trajectory).all():
            raise ValueError("trajectory contains NaN or inf; it cannot be shown")
        self.trajectory = trajectory
        T = trajectory.shape[0] - 1
        t = check_int("t", t, minimum=0, maximum=T)
        self.figure = Figure(figsize=(6.4, 2.9), dpi=_DPI)
        self._ax_image, self._ax_hist = self.figure.subplots(
            1,
            2,
            width_ratios=[1, 1.5],
            gridspec_kw={"left": 0.02, "right": 0.97, "bottom": 0.17, "top": 0.88, "wspace": 0.25},
        )
        self._ax_image.set_axis_off()
        self._image = self._ax_image.imshow(tensor_to_pil(trajectory[t]))
        self._bins = np.linspace(-4, 4, 81)
        grid = np.linspace(-4, 4, 200)
        self._ax_hist.plot(
            grid, np.exp(-(grid**2) / 2) / math.sqrt(2 * math.pi), "k", lw=1.2, label=r"$\mathcal{N}(0,1)$"
        )
        counts = self._density(t)
        self._bars = self._ax_hist.bar(self._bins[:-1], counts, width=np.diff(self._bins), align="edge", alpha=0.7)
        self._ax_hist.set_xlim(-4, 4)
        self._ax_hist.set_ylim(0, 1.6)
        self._ax_hist.set_xlabel("pixel value")
        self._ax_hist.set_ylabel("density")
        self._ax_hist.legend(loc="upper right", fontsize=8)
        self.slider = widgets.IntSlider(value=t, min=0, max=T, step=1, description="t", continuous_update=True)
        self.slider.add_class("dh-timestep")
        self.output = widgets.Output()
        self.widget = widgets.VBox([self.slider, self.output])
        self.widget.add_class("dh-scrubber")
        self.slider.observe(lambda change: self.update(), names="value")
        self.update()

    def _animated_artists(self) -> list[Artist]:
        return [self._image, *self._bars, self._ax_image.title, self._ax_hist.title]

    def _density(self, t: int) -> np.ndarray:
        values = self.trajectory[t].detach().to("cpu", torch.float64).flatten().numpy()
        counts, _ = np.histogram(values, bins=self._bins, density=False)
        return counts / (values.size * np.diff(self._bins))

    def draw(self, t: int) -> None:
        """Redraw the figure for timestep ``t`` in ``[0, T]`` (no rendering)."""
        t = check_int("t", t, minimum=0, maximum=self.trajectory.shape[0] - 1)  # -1 would draw x_T as x_{-1}
        self._image.set_data(tensor_to_pil(self.trajectory[t]))
        for bar, height in zip(self._bars, self._density(t)):
            bar.set_height(height)
        x = self.trajectory[t]
        self._ax_image.set_title(f"$x_{{{t}}}$", fontsize=11)
        self._ax_hist.set_title(
            f"pixels of $x_{{{t}}}$: mean {float(x.mean()):+.2f}, std {float(x.std()):.2f}", fontsize=10
        )

    def update(self) -> None:
        """Redraw for the slider's timestep and show the new picture."""
        self.draw(self.slider.value)
        self._render()

    def to_jshtml(self, timesteps: Sequence[int], interval_ms: int = 200) -> str:
        """A kernel-free player over the given timesteps (for the static site), 1 to ``MAX_FRAMES`` of them."""
        T = self.trajectory.shape[0] - 1
        timesteps = check_sequence("timesteps", timesteps, items="ints")
        timesteps = [check_int("timesteps", t, minimum=0, maximum=T) for t in timesteps]
        return self._jshtml(self.draw, timesteps, interval_ms)


class ScheduleExplorer(_LiveFigure):
    r"""Sliders for a schedule's parameters and a timestep; curves, an image row and readouts that follow.

    The image row shows the same picture noised with the same $\varepsilon$ at evenly spaced timesteps,
    plus $x_t$ at the slider's $t$ (framed in red), so only the schedule changes between redraws. The
    readouts give $\bar\alpha_t$ at the slider and the terminal health (:func:`terminal_health`).

    Every value the schedule accepts is accepted, here and in :meth:`set`: the sliders take their ranges and
    defaults from :data:`SCHEDULE_PARAMETERS` and widen to show a value beyond them. Nothing is rounded or
    clamped; a value that is not allowed is refused with an error, and a refused call changes nothing.

    Args:
        image: the picture, a PIL image or a ``(3, H, W)`` (or ``(1, H, W)``) tensor in [-1, 1], at most
            ``MAX_IMAGE_SIDE`` pixels a side.
        name: the schedule to start with (one of ``SCHEDULE_NAMES``).
        num_timesteps: ``T`` to start with, in ``[num_images - 1, MAX_NUM_TIMESTEPS]``.
        t: the timestep to start with, in ``[0, T]`` (default ``T // 2``).
        num_images: how many spaced timesteps the image row shows, in [2, 12].
        seed: seed of the fixed noise.
        **params: other controls to start with: the schedules' parameters (``beta_1``, ``beta_T``, ``s``,
            ``max_beta``) and ``zero_terminal_snr``.

    Raises:
        TypeError, ValueError: an argument the schedule or the explorer does not accept (the message names it).
    """

    def __init__(
        self,
        image: Image.Image | torch.Tensor,
        *,
        name: str = "linear",
        num_timesteps: int = 1000,
        t: int | None = None,
        num_images: int = 6,
        seed: int = 0,
        **params: float,
    ) -> None:
        x0 = _check_image(image)  # (C, H, W)
        num_images = check_int("num_images", num_images, minimum=2, maximum=12)
        seed = check_int("seed", seed, minimum=0, maximum=2**64 - 1)
        first = {"name": name, "num_timesteps": num_timesteps, **params} | ({} if t is None else {"t": t})
        settings = _check_settings(first, _DEFAULT_SETTINGS, num_images=num_images)
        # One batch: the spaced timesteps, then the slider's t. The noise stays fixed across redraws.
        self._x0 = x0.unsqueeze(0).expand(num_images + 1, *x0.shape)  # (N + 1, C, H, W), no copy
        self._noise = torch.randn(self._x0.shape, generator=torch.Generator().manual_seed(seed))
        self._num_images = num_images

        style = {"description_width": "90px"}
        T = settings["num_timesteps"]
        self.controls = {
            "name": widgets.Dropdown(
                options=SCHEDULE_NAMES, value=settings["name"], description="schedule", style=style
            ),
            "num_timesteps": widgets.IntSlider(
                value=T,
                min=max(1, num_images - 1),
                max=max(2000, T),
                description="T",
                style=style,
                continuous_update=False,
            ),
            **{key: _parameter_slider(key, spec, settings[key], style) for key, spec in _PARAMETERS.items()},
            "zero_terminal_snr": widgets.Checkbox(
                value=settings["zero_terminal_snr"], description="zero terminal SNR", indent=False
            ),
            "t": widgets.IntSlider(value=settings["t"], min=0, max=T, description="t", style=style),
        }
        self.controls["beta_T"].add_class("dh-beta-T")
        self.controls["t"].add_class("dh-timestep")
        self.readout = widgets.HTML()
        self.output = widgets.Output()
        self._build_figure()
        self.widget = widgets.VBox(
            [
                widgets.HBox([widgets.VBox(list(self.controls.values())), self.readout]),
                self.output,
            ]
        )
        self.widget.add_class("dh-explorer")
        self._hold = False
        for control in self.controls.values():
            control.observe(lambda change: self.update(), names="value")
        self.schedule: NoiseSchedule | None = None
        self.update()

    def _build_figure(self) -> None:
        # Fixed axes, so that only the data changes between redraws: time runs as t / T (schedules with
        # different T line up), beta on a log axis, log-SNR over the range every schedule here spans.
        # Sized for a projector: about 1000 px wide at 96 dpi, no text smaller than 11 px.
        n = self._num_images + 1
        self.figure = Figure(figsize=(10.5, 5.0), dpi=_DPI)
        self._header = self.figure.text(0.5, 0.995, "", ha="center", va="top", fontsize=14)
        self._verdict = self.figure.text(0.5, 0.94, "", ha="center", va="top", fontsize=12, weight="bold")
        top, bottom = self.figure.subfigures(2, 1, height_ratios=[1.75, 1])
        self._curve_axes = top.subplots(
            1, 3, gridspec_kw={"left": 0.065, "right": 0.985, "bottom": 0.17, "top": 0.76, "wspace": 0.3}
        )
        a0, a1, a2 = self._curve_axes
        a0.set_title(r"$\sqrt{\bar\alpha_t}$ (signal), $\sqrt{1-\bar\alpha_t}$ (noise)", fontsize=12)
        a0.set_ylim(-0.02, 1.02)
        a1.set_title(r"$\beta_t$ (log scale)", fontsize=12)
        a1.set_yscale("log")
        a1.set_ylim(5e-6, 1.5)
        a2.set_title(r"$\log\,\mathrm{SNR}(t)$", fontsize=12)
        a2.set_ylim(-30, 14)
        self._lines: dict[str, Any] = {}
        # colour and dash pattern differ, so the curves stay apart in greyscale (as in plotting.plot_schedules)
        (self._lines["signal"],) = a0.plot([], [], color="#0072B2", lw=2, label="signal")
        (self._lines["noise"],) = a0.plot([], [], color="#D55E00", lw=2, ls="--", label="noise")
        a0.legend(fontsize=11, loc="center right")
        (self._lines["betas"],) = a1.plot([], [], color="#CC79A7", lw=2)
        (self._lines["log_snr"],) = a2.plot([], [], color="#009E73", lw=2)
        for ax in self._curve_axes:
            ax.set_xlim(0, 1)
            ax.set_xlabel("relative time t / T", fontsize=11)
            ax.tick_params(labelsize=10)
            ax.grid(alpha=0.3)
        self._markers = [ax.axvline(0, color="grey", lw=1.2, ls="--") for ax in self._curve_axes]
        self._image_axes = bottom.subplots(
            1, n, gridspec_kw={"left": 0.01, "right": 0.99, "bottom": 0.01, "top": 0.85, "wspace": 0.06}
        )
        blank = np.zeros((*self._x0.shape[-2:], 3), dtype=np.uint8)
        self._images = []
        for ax in self._image_axes:
            ax.set_xticks([])
            ax.set_yticks([])
            self._images.append(ax.imshow(blank))
            ax.set_title(" ", fontsize=12)
        for spine in self._image_axes[-1].spines.values():
            spine.set_color("tab:red")
            spine.set_linewidth(2.5)

    def _animated_artists(self) -> list[Artist]:
        return [
            *self._lines.values(),
            *self._markers,
            *self._images,
            *(ax.title for ax in self._image_axes),
            self._header,
            self._verdict,
        ]

    def set(self, **values: Any) -> None:
        """Set controls by name (``name``, ``num_timesteps``, ``beta_1``, ``beta_T``, ``s``, ``max_beta``,
        ``zero_terminal_snr``, ``t``) and redraw once.

        All values are checked together, against the new ``T`` and schedule, before any control changes; a
        ``t`` not given follows a smaller new ``T`` down (to ``T``).

        Raises:
            TypeError, ValueError: a value the explorer does not accept (the message names it); nothing changes.
        """
        self._apply(_check_settings(values, self._settings(), num_images=self._num_images))
        self.update()

    def _settings(self) -> dict[str, Any]:
        return {key: control.value for key, control in self.controls.items()}

    def _apply(self, settings: Mapping[str, Any]) -> None:
        """Put checked settings on the controls, widening a slider where a value lies beyond it."""
        with self._holding_updates():
            self.controls["t"].max = settings["num_timesteps"]  # before t: a t beyond the old max would be clamped
            for key, value in settings.items():
                _make_room(self.controls[key], value)
                self.controls[key].value = value

    @contextlib.contextmanager
    def _holding_updates(self) -> Iterator[None]:
        """Change several controls without a redraw for each (their observers call update())."""
        self._hold = True
        try:
            yield
        finally:
            self._hold = False

    def current_schedule(self) -> NoiseSchedule:
        """The schedule the controls describe (raises ValueError for an invalid combination)."""
        c = self._settings()
        params = {key: c[key] for key in SCHEDULE_PARAMETERS[c["name"]]}
        return make_schedule(c["name"], c["num_timesteps"], zero_terminal_snr=c["zero_terminal_snr"], **params)

    def update(self) -> None:
        """Recompute the schedule and ``q_sample``, redraw the curves, image row and readouts, and show them."""
        if getattr(self, "_hold", False):
            return
        for key in _PARAMETERS:  # show the sliders of this schedule's own parameters only
            shown = key in SCHEDULE_PARAMETERS[self.controls["name"].value]
            self.controls[key].layout.display = None if shown else "none"
        T = self.controls["num_timesteps"].value
        if self.controls["t"].max != T:
            with self._holding_updates():  # changing max may clamp the value, which would call update()
                self.controls["t"].max = T
        try:
            schedule = self.current_schedule()
        except ValueError as error:
            message = html.escape(str(error))  # "beta_1 <= beta_T" must not be read as a tag
            self.readout.value = f"<div style='color:#b00020;max-width:22em'><b>Invalid settings:</b> {message}</div>"
            return
        self.schedule = schedule
        self.draw(schedule, self.controls["t"].value)
        self.readout.value = self._readout_html(schedule, self.controls["t"].value)
        self._render()

    def draw(self, schedule: NoiseSchedule, t: int) -> None:
        """Redraw curves and images for a schedule and a timestep ``t`` in ``[0, T]`` (no rendering)."""
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
        T = len(schedule)
        _check_num_timesteps(T, self._num_images)
        t = check_int("t", t, minimum=0, maximum=T)
        relative_time = torch.arange(1, T + 1, dtype=torch.float64).div_(T).numpy()
        self._lines["signal"].set_data(relative_time, schedule.sqrt_alpha_bars.numpy())
        self._lines["noise"].set_data(relative_time, schedule.sqrt_one_minus_alpha_bars.numpy())
        self._lines["betas"].set_data(relative_time, schedule.betas.numpy())
        self._lines["log_snr"].set_data(relative_time, schedule.log_snr.numpy())
        for marker in self._markers:
            marker.set_xdata([t / T, t / T])
        timesteps = [*timesteps_to_show(T, self._num_images), t]
        x_t = q_sample(self._x0, torch.tensor(timesteps), schedule, noise=self._noise)  # (N + 1, C, H, W)
        for ax, image, step, x in zip(self._image_axes, self._images, timesteps, x_t):
            image.set_data(tensor_to_pil(x))
            ax.set_title(f"t = {step}", fontsize=12, color="tab:red" if ax is self._image_axes[-1] else "black")
        names = {"beta_1": "β₁", "beta_T": "β_T", "s": "s", "max_beta": "max β"}
        params = ", ".join(f"{names.get(key, key)} = {value:.3g}" for key, value in schedule.params.items())
        rescaled = ", zero terminal SNR" if schedule.zero_terminal_snr else ""
        self._header.set_text(f"{schedule.name} schedule, T = {T}, {params}{rescaled}")
        # the verdict is in the figure too, so a kernel-free player shows when x_T becomes noise
        health = terminal_health(schedule)
        self._verdict.set_text(("✓ " if health["ok"] else "✗ ") + health["verdict"])
        self._verdict.set_color("#1b7f3b" if health["ok"] else "#b00020")

    @staticmethod
    def _readout_html(schedule: NoiseSchedule, t: int) -> str:
        health = terminal_health(schedule)
        alpha_bar_t = schedule.alpha_bar(t)
        colour = "#1b7f3b" if health["ok"] else "#b00020"
        rows = [
            ("schedule", f"{schedule.name}, T = {len(schedule)}"),
            (f"√ᾱ_t at t = {t}", f"{math.sqrt(alpha_bar_t):.4f}"),
            (f"√(1−ᾱ_t) at t = {t}", f"{math.sqrt(1 - alpha_bar_t):.4f}"),
            ("√ᾱ_T (signal left at T)", f"{health['sqrt_alpha_bar_T']:.3g}"),
            ("SNR(T)", f"{health['snr_T']:.3g}"),
        ]
        table = "".join(
            f"<tr><td>{key}</td><td style='text-align:right'><b>{value}</b></td></tr>" for key, value in rows
        )
        return (
            f"<table style='font-size:0.9em'>{table}</table>"
            f"<div style='color:{colour};max-width:22em'>{'✓' if health['ok'] else '✗'} {health['verdict']}</div>"
        )

    def to_jshtml(self, control: str, values: Sequence[Any], interval_ms: int = 250) -> str:
        """A kernel-free player that steps one control through ``values`` (for the static site).

        Raises:
            ValueError: an unknown control, no values or more than ``MAX_FRAMES``.
            TypeError, ValueError: a value :meth:`set` would refuse (checked before any frame is drawn).
        """
        if not isinstance(control, str) or control not in self.controls:
            raise ValueError(f"control must be one of {', '.join(self.controls)}, got {control!r}")
        values = check_sequence("values", values, items="control values")
        values = values.tolist() if isinstance(values, (torch.Tensor, np.ndarray)) else list(values)
        return self.to_jshtml_frames([{control: value} for value in values], interval_ms)

    def to_jshtml_frames(self, frames: Sequence[Mapping[str, Any]], interval_ms: int = 500) -> str:
        """A kernel-free player whose every frame sets several controls (for the static site).

        Each frame is a mapping of control names to values, applied on top of the explorer's current settings
        as :meth:`set` would, e.g. ``[{"num_timesteps": 100, "beta_T": b} for b in (0.02, 0.1, 0.2)]`` or
        ``[{"name": "cosine"}, {"name": "cosine", "zero_terminal_snr": True}]``. The figure's header names
        each frame's schedule and its verdict. The explorer's settings are the same afterwards.

        Raises:
            ValueError: no frames, or more than ``MAX_FRAMES``.
            TypeError, ValueError: a frame :meth:`set` would refuse (the message names the frame); every frame
                is checked before any is drawn.
        """
        frames = check_sequence("frames", frames, items="mappings of control names to values")
        start = self._settings()
        checked = []
        for i, frame in enumerate(frames):
            check_mapping(f"frames[{i}]", frame, entries="control name -> value")
            try:
                checked.append(_check_settings(frame, start, num_images=self._num_images))
            except (TypeError, ValueError) as error:
                raise type(error)(f"frames[{i}]: {error}") from None

        def draw(settings: dict[str, Any]) -> None:
            self._apply(settings)
            self.draw(self.current_schedule(), settings["t"])

        try:
            return self._jshtml(draw, checked, interval_ms)
        finally:
            self._apply(start)
            self.update()


# ---------------------------------------------------------------------------------------------------------------
# The explorer's settings: one check shared by the constructor, set() and the players.

# Every parameter of every named schedule gets one slider; schedules sharing a parameter share its range.
_PARAMETERS: dict[str, Parameter] = {
    key: spec for parameters in SCHEDULE_PARAMETERS.values() for key, spec in parameters.items()
}
_SLIDER_LOOKS = {  # parameter -> (slider label, readout format)
    "beta_1": ("β_1", ".1e"),
    "beta_T": ("β_T", ".3f"),
    "s": ("cosine s", ".3f"),
    "max_beta": ("max β", ".3f"),
}
_DEFAULT_SETTINGS: dict[str, Any] = {  # what the explorer shows unless told otherwise; t = None means T // 2
    "name": "linear",
    "num_timesteps": 1000,
    **{key: spec.default for key, spec in _PARAMETERS.items()},
    "zero_terminal_snr": False,
    "t": None,
}


def _check_settings(changes: Mapping[str, Any], current: Mapping[str, Any], *, num_images: int) -> dict[str, Any]:
    """The explorer's settings after ``changes``: every value checked, and checked together.

    ``T`` is checked before ``t`` (so ``set(num_timesteps=1000, t=800)`` works from ``T = 100``), and the
    schedule is built from the new values together. A ``t`` not in ``changes`` follows a smaller ``T``
    down. Nothing is changed here: the caller applies the result only once it is complete.
    """
    unknown = sorted(set(changes) - set(_DEFAULT_SETTINGS))
    if unknown:
        controls = ", ".join(_DEFAULT_SETTINGS)
        raise TypeError(f"unknown control {', '.join(map(str, unknown))}; the controls are {controls}")
    settings = {**current, **changes}
    name = settings["name"]
    if not isinstance(name, str) or name not in SCHEDULE_NAMES:
        raise ValueError(f"name must be one of {', '.join(SCHEDULE_NAMES)}, got {name!r}")
    T = check_int("num_timesteps", settings["num_timesteps"], minimum=1, maximum=MAX_NUM_TIMESTEPS)
    _check_num_timesteps(T, num_images)
    for key, spec in _PARAMETERS.items():
        settings[key] = spec.check(key, settings[key])
    settings["zero_terminal_snr"] = check_bool("zero_terminal_snr", settings["zero_terminal_snr"])
    params = {key: settings[key] for key in SCHEDULE_PARAMETERS[name]}
    make_schedule(name, T, zero_terminal_snr=settings["zero_terminal_snr"], **params)  # the combination
    if "t" in changes:
        settings["t"] = check_int("t", changes["t"], minimum=0, maximum=T)
    else:
        settings["t"] = T // 2 if settings["t"] is None else min(settings["t"], T)
    return {**settings, "num_timesteps": T}


def _check_num_timesteps(T: int, num_images: int) -> None:
    if T < num_images - 1:
        raise ValueError(
            f"num_timesteps must be at least num_images - 1 = {num_images - 1} to show {num_images} spaced "
            f"timesteps, got {T}"
        )


def _check_image(image: object) -> torch.Tensor:
    """The explorer's picture as a ``(C, H, W)`` tensor, from a PIL image or a tensor."""
    if isinstance(image, Image.Image):
        image = pil_to_tensor(image)
    check_float_tensor("image", image)
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        shape = tuple(image.shape)
        raise ValueError(f"image must be a PIL image, or a (3, H, W) or (1, H, W) tensor; got shape {shape}")
    if max(image.shape[1:]) > MAX_IMAGE_SIDE or min(image.shape[1:]) < 1:
        raise ValueError(
            f"image must be 1 to MAX_IMAGE_SIDE={MAX_IMAGE_SIDE} pixels a side (the explorer redraws it several "
            f"times per move), got {image.shape[2]}x{image.shape[1]}; e.g. diffusion_helpers.example_image(128)"
        )
    if not torch.isfinite(image).all():
        raise ValueError("image contains NaN or inf")
    return image.detach().to("cpu", torch.float32)


def _parameter_slider(key: str, spec: Parameter, value: float, style: dict[str, str]) -> widgets.Widget:
    """A slider over ``spec``'s slider range (log-scaled for β), widened to show ``value``."""
    description, readout_format = _SLIDER_LOOKS.get(key, (key, ".3g"))
    if spec.log_slider:
        slider = widgets.FloatLogSlider(
            base=10,
            min=math.log10(spec.slider_low),
            max=math.log10(spec.slider_high),
            step=0.05,
            description=description,
            style=style,
            readout_format=readout_format,
        )
    else:
        slider = widgets.FloatSlider(
            min=spec.slider_low,
            max=spec.slider_high,
            step=(spec.slider_high - spec.slider_low) / 100,
            description=description,
            style=style,
            readout_format=readout_format,
        )
    _make_room(slider, value)
    slider.value = value
    return slider


def _make_room(control: widgets.Widget, value: Any) -> None:
    """Widen a slider's range to hold ``value``: a slider clamps a value beyond its ends without a word."""
    if isinstance(control, widgets.FloatLogSlider):  # its min and max are exponents
        exponent = math.log10(value)
        control.min = min(control.min, exponent - 1e-9)  # the margin absorbs the rounding of 10 ** exponent
        control.max = max(control.max, exponent + 1e-9)
    elif isinstance(control, (widgets.FloatSlider, widgets.IntSlider)):
        control.min = min(control.min, value)
        control.max = max(control.max, value)
