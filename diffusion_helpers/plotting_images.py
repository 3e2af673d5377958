r"""Figures of small grey images and of their sampling (notebook 07): grids, a trajectory strip, a player.

- :func:`plot_image_grid`: a batch ``(B, 1, H, W)`` in $[-1, 1]$ as one grid, pixel for pixel, with an
  optional label under each image (a digit's class, a classifier's confidence).
- :func:`plot_image_samples`: several batches side by side (DDPM against DDIM, without and with clipping
  $\hat x_0$), each optionally over a histogram of its pixel values against the data's, with the share of
  pixels outside $[-1, 1]$: what clipping the predicted $x_0$ changes.
- :func:`plot_image_trajectory`: one sample on its way from noise ($t = T$) to an image ($t = 0$) at chosen
  timesteps, and, given the model, the network's guess of the final image at each of them,
  $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon_\theta(x_t, t))/\sqrt{\bar\alpha_t}$ (Ho et al. 2020, Eq. 15).
- :func:`image_trajectory_player`: a grid of samples forming, as a kernel-free player for the static site.
- :func:`plot_guidance_tradeoff`: the two scores of a class-conditional model against the guidance weight $w$
  (Ho & Salimans 2022): the noise-floor ratio (variety) and the classifier's confident share (clarity).

Images are shown as they are: nearest-neighbour pixels (an 8 x 8 digit is 64 squares, not a blur), grey from
black at $-1$ to white at $+1$ on one fixed scale, so that two panels compare; values outside $[-1, 1]$ (every
noisy $x_t$ has some) are drawn as black or white, as :func:`diffusion_helpers.tensor_to_pil` clamps them.

Presentation layer: it may import the mathematics, never the other way round. Every function returns a
``matplotlib.figure.Figure`` that is not registered with pyplot and changes no rcParams (the player returns
its HTML).

Timestep convention: ``t`` in ``1, ..., T``; ``t = 0`` is the sample. A trajectory's element ``[k]`` is $x_t$
at ``t = timesteps[k]``: for ``ddpm_sample(..., return_trajectory=True)`` that is ``t = k`` (the default),
for ``ddim_sample`` pass the ``timesteps`` it returns.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from ._checks import check_bool, check_float, check_int, check_sequence
from .reverse import predict_x0
from .schedules import NoiseSchedule

__all__ = [
    "MAX_IMAGES",
    "image_trajectory_player",
    "plot_guidance_tradeoff",
    "plot_image_grid",
    "plot_image_samples",
    "plot_image_trajectory",
]

MAX_IMAGES = 1024
"""The most images one grid shows: enough for any batch worth looking at, few enough to draw in a second."""

SAMPLE_COLOUR = "#08306b"  # dark blue: nearly black in greyscale
DATA_COLOUR = "0.6"  # grey
GAP_COLOUR = "white"  # between the images of a grid
_PIXEL_BINS = np.arange(-2.0625, 2.07, 0.125)  # width 1/8 centred on -2, ..., 2: the digits' 17 levels are bin centres
_HISTOGRAM_RANGE = 2.0  # values beyond +-2 are counted in the end bins


def _grey() -> Colormap:
    """Black at -1, white at +1; the gaps of a grid (NaN) in white."""
    return colormaps["gray"].with_extremes(bad=GAP_COLOUR)


# ------------------------------------------------------------------------------------------------ grids


def plot_image_grid(
    images: torch.Tensor,
    labels: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    suptitle: str | None = None,
    size: float = 0.6,
    label_size: float = 8.0,
) -> Figure:
    """A batch of grey images in $[-1, 1]$ as one grid, row by row, with an optional label under each.

    Args:
        images: ``(B, 1, H, W)``, e.g. samples or ``load_dataset("digits")[:64]``; at most :data:`MAX_IMAGES`.
        labels: one short text per image (``"7"``, ``"7: 0.98"``), drawn under it; or None.
        ncols: images per row (default: a square grid, ``ceil(sqrt(B))``).
        suptitle: a title for the figure: say what to look at.
        size: inches per image.
        label_size: the labels' font size in points.

    Returns:
        The figure: one axes holding the whole grid as one picture (gaps white), with no ticks.

    Raises:
        TypeError: ``images`` not a floating tensor; ``labels`` not a sequence of strings.
        ValueError: ``images`` not ``(B, 1, H, W)`` with 1 to :data:`MAX_IMAGES` images, NaN or inf in it,
            a number of labels different from ``B``, ``ncols < 1``, ``size`` outside (0, 5].
    """
    pictures = _images("images", images)
    label_list = _labels(labels, len(pictures))
    size = check_float("size", size, low=0.0, high=5.0, high_inclusive=True)
    label_size = check_float("label_size", label_size, low=0.0, high=40.0)
    ncols = _ncols(ncols, len(pictures))
    height, width = pictures.shape[1:]
    gap = 1 + (math.ceil(1.4 * label_size / 72 / (size / height)) if label_list else 0)  # rows of pixels
    mosaic = _mosaic(pictures, ncols, gap_rows=gap, gap_cols=1)
    title_inches = 0.45 if suptitle else 0.0
    figure = Figure(figsize=(mosaic.shape[1] * size / width, mosaic.shape[0] * size / height + title_inches))
    ax = figure.add_axes((0.0, 0.0, 1.0, 1.0 - title_inches / figure.get_figheight()))
    _show(ax, mosaic)
    if label_list:
        for i, label in enumerate(label_list):
            row, col = divmod(i, ncols)
            x = col * (width + 1) + (width - 1) / 2
            y = row * (height + gap) + height - 0.5 + 0.15  # just under the image, in pixel coordinates
            ax.text(x, y, label, ha="center", va="top", fontsize=label_size)
    if suptitle:
        figure.suptitle(suptitle, fontsize=12, y=1.0 - 0.08 / figure.get_figheight(), va="top")
    return figure


def plot_image_samples(
    panels: Mapping[str, torch.Tensor],
    *,
    reference: torch.Tensor | None = None,
    histograms: bool = True,
    max_images: int = 64,
    ncols: int | None = None,
    suptitle: str | None = None,
    size: float = 2.8,
) -> Figure:
    r"""Batches of images side by side, each over a histogram of its pixel values against the data's.

    The comparison of samplers, and of sampling without and with clipping the predicted $\hat x_0$ to
    $[-1, 1]$: each histogram's title says what share of the pixels fall outside $[-1, 1]$, where no pixel of
    the data lies. The histograms count every pixel of every image given (not only the ones shown), as a
    density on a log scale; bins are $1/8$ wide, centred on the 17 grey levels of the digits data set, and
    values beyond $\pm 2$ are counted in the end bins.

    Args:
        panels: label -> images ``(B, 1, H, W)``, all of one height and width.
        reference: images of the data ``(N, 1, H, W)``: their histogram is drawn in grey under each panel's.
        histograms: draw the row of histograms.
        max_images: the first this many images of each panel are shown in its grid (all are counted).
        ncols: images per row of each grid (default: square).
        suptitle: a title for the figure: say what to look at.
        size: inches per panel.

    Raises:
        TypeError: a panel or ``reference`` that is not a floating tensor.
        ValueError: no panels, more than 6, images that are not ``(B, 1, H, W)`` or differ in ``H, W``, NaN or inf.
    """
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty mapping label -> images (B, 1, H, W)")
    if len(panels) > 6:
        raise ValueError(f"panels holds {len(panels)} batches; at most 6 fit side by side")
    batches = {label: _images(f"panels[{label!r}]", x, limit=None) for label, x in panels.items()}
    ref = None if reference is None else _images("reference", reference, limit=None)
    pixel_size = next(iter(batches.values())).shape[1:]
    for label, batch in [*batches.items(), *([("reference", ref)] if ref is not None else [])]:
        if batch.shape[1:] != pixel_size:
            raise ValueError(f"{label} has images of {batch.shape[1:]} pixels, the first panel {pixel_size}")
    check_bool("histograms", histograms)
    max_images = check_int("max_images", max_images, minimum=1, maximum=MAX_IMAGES)
    size = check_float("size", size, low=0.0, high=10.0, high_inclusive=True)

    rows = 2 if histograms else 1
    mosaics = {
        label: _mosaic(batch[:max_images], _ncols(ncols, len(batch[:max_images])), gap_rows=1, gap_cols=1)
        for label, batch in batches.items()
    }
    # the grids' row is as tall as the tallest grid drawn ``size`` wide: a wide grid (4 rows of 10) is not padded
    aspect = max(mosaic.shape[0] / mosaic.shape[1] for mosaic in mosaics.values())
    grid_height = size * min(aspect, 1.5)
    figure = Figure(
        figsize=(
            size * len(batches),
            grid_height + (0.45 * size if histograms else 0) + (0.5 if suptitle else 0.3),
        ),
        layout="constrained",
    )
    figure.get_layout_engine().set(wspace=0.06)  # a visible gap between neighbouring grids
    axes = figure.subplots(rows, len(batches), squeeze=False, height_ratios=[grid_height, 0.45 * size][:rows])
    for column, (label, batch) in enumerate(batches.items()):
        _show(axes[0, column], mosaics[label])
        axes[0, column].set_title(label, fontsize=11)
        if histograms:
            _pixel_histogram(axes[1, column], batch, ref)
    if histograms:
        axes[1, 0].set_ylabel("share of pixels\n(log scale)", fontsize=9)
        if ref is not None:
            axes[1, 0].legend(fontsize=8, loc="upper center", framealpha=0.9)
    if suptitle:
        figure.suptitle(suptitle, fontsize=12)
    return figure


def _pixel_histogram(ax: Axes, batch: np.ndarray, reference: np.ndarray | None) -> None:
    """Pixel values of ``batch`` (dark bars) over those of ``reference`` (grey steps), [-1, 1] marked."""
    values = batch.ravel()
    outside = float(np.mean(np.abs(values) > 1.0))
    shown = np.clip(values, -_HISTOGRAM_RANGE, _HISTOGRAM_RANGE)
    weights = np.full(shown.shape, 1.0 / shown.size)
    ax.hist(shown, bins=_PIXEL_BINS, weights=weights, color=SAMPLE_COLOUR, alpha=0.8, label="samples")
    if reference is not None:
        ref = reference.ravel()
        ax.hist(
            np.clip(ref, -_HISTOGRAM_RANGE, _HISTOGRAM_RANGE),
            bins=_PIXEL_BINS,
            weights=np.full(ref.shape, 1.0 / ref.size),
            histtype="step",
            color=DATA_COLOUR,
            lw=1.5,
            label="data",
        )
    for edge in (-1.0, 1.0):
        ax.axvline(edge, color="black", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 1.0)
    ax.set_xlim(_PIXEL_BINS[0], _PIXEL_BINS[-1])
    ax.set_xticks([-2, -1, 0, 1, 2])
    ax.tick_params(labelsize=8)
    ax.set_xlabel("pixel value", fontsize=9)
    ax.set_title(f"{100 * outside:.1f}% of pixels outside [-1, 1]", fontsize=9)


# ------------------------------------------------------------------------------------------------ guidance


def plot_guidance_tradeoff(
    weights: Sequence[float],
    ratios: Sequence[float],
    confident: Sequence[float],
    *,
    no_label: tuple[float, float] | None = None,
    ratio_target: float = 1.3,
    confident_target: float = 0.9,
    suptitle: str | None = None,
) -> Figure:
    r"""Classifier-free guidance's trade-off: two scores of the samples against the guidance weight $w$.

    Left, the noise-floor ratio of the samples against the held-out images (lower is better, and it grows when
    variety falls); right, the classifier's confident share relative to real images (higher is clearer). Each
    panel marks its target with a dashed line and, with ``no_label``, the "no label" model's score (to which $w$
    does not apply) with a dotted one.

    Args:
        weights: the guidance weights $w \ge 0$, shape ``(K,)``.
        ratios: the noise-floor ratio at each weight, ``(K,)``.
        confident: the confident share relative to real images at each weight, ``(K,)``.
        no_label: ``(ratio, confident)`` of the "no label" model, or None.
        ratio_target, confident_target: where to draw the targets.
        suptitle: a title for the figure.

    Raises:
        TypeError: a weight or score that is not a number (or a sequence of them).
        ValueError: empty sequences or of different lengths, a weight or score that is negative or not finite,
            a target that is not > 0.
    """
    columns = {
        "weights": _scores("weights", weights),
        "ratios": _scores("ratios", ratios),
        "confident": _scores("confident", confident),
    }
    if len({len(v) for v in columns.values()}) != 1:
        lengths = ", ".join(f"{name} {len(v)}" for name, v in columns.items())
        raise ValueError(f"weights, ratios and confident must have one length, got {lengths}")
    if no_label is not None:
        no_label = _scores("no_label", no_label)
        if len(no_label) != 2:
            raise ValueError(f"no_label must be two numbers (ratio, confident), got {len(no_label)}")
    ratio_target = check_float("ratio_target", ratio_target, low=0.0)
    confident_target = check_float("confident_target", confident_target, low=0.0)
    figure = Figure(figsize=(8.4, 3.3 + (0.3 if suptitle else 0.0)), layout="constrained")
    axes = figure.subplots(1, 2)
    panels = (
        (columns["ratios"], ratio_target, "noise-floor ratio (lower: closer to the data)", "target <= "),
        (columns["confident"], confident_target, "confident share / real digits' (higher: clearer)", "target >= "),
    )
    for k, (ax, (values, target, ylabel, target_text)) in enumerate(zip(axes, panels)):
        ax.plot(columns["weights"], values, "o-", color=SAMPLE_COLOUR, lw=1.8, label="guided, weight w")
        ax.axhline(target, color="black", lw=0.9, ls="--", label=f"{target_text}{target:g}")
        if no_label is not None:
            ax.axhline(no_label[k], color=DATA_COLOUR, lw=1.5, ls=":", label='"no label" model')
        ax.set_xlabel("guidance weight w")
        ax.set_ylabel(ylabel, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if suptitle:
        figure.suptitle(suptitle, fontsize=12)
    return figure


# ----------------------------------------------------------------------------------------- trajectories


def plot_image_trajectory(
    trajectory: torch.Tensor,
    frames: Sequence[int],
    *,
    timesteps: Sequence[int] | torch.Tensor | None = None,
    sample: int = 0,
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    schedule: NoiseSchedule | None = None,
    suptitle: str | None = None,
    size: float = 1.1,
) -> Figure:
    r"""One sample from noise to image: $x_t$ at the chosen timesteps, and optionally the network's $\hat x_0$.

    With ``model`` and ``schedule``, a second row shows what the network predicts the final image to be at each
    shown step, $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon_\theta(x_t, t))/\sqrt{\bar\alpha_t}$ (Eq. 15):
    early on a blurred average of digits, later the digit that $x_t$ is turning into.

    Args:
        trajectory: ``(K, B, 1, H, W)`` (a batch's trajectory) or ``(K, 1, H, W)`` (one sample's), element
            ``[k]`` being $x_t$ at ``t = timesteps[k]``.
        frames: the timesteps to show, in the order to show them (e.g. ``[1000, 600, 300, 100, 0]``); each must
            be one of ``timesteps``.
        timesteps: the ``t`` of each element of ``trajectory`` (default ``0, 1, ..., K - 1``, as
            ``ddpm_sample`` returns it; pass the ``timesteps`` that ``ddim_sample`` returns).
        sample: which sample of the batch to follow.
        model: any ``model(x_t, t) -> eps`` (the sampler's contract); with ``schedule``, adds the $\hat x_0$ row.
        schedule: the schedule the model was trained with.
        suptitle: a title for the figure.
        size: inches per image.

    Raises:
        TypeError: ``trajectory`` not a floating tensor, ``model`` not callable, ``schedule`` not a NoiseSchedule.
        ValueError: a trajectory of another shape, NaN or inf in it, ``timesteps`` of the wrong length,
            a frame that is not among ``timesteps``, ``sample`` outside the batch, ``model`` without
            ``schedule`` (or the reverse), a model output that is not a finite tensor of $x_t$'s shape.
    """
    states, t_values = _trajectory(trajectory, timesteps)
    sample = check_int("sample", sample, minimum=0, maximum=states.shape[1] - 1)
    indices = _frame_indices(frames, t_values)
    size = check_float("size", size, low=0.0, high=5.0, high_inclusive=True)
    if (model is None) != (schedule is None):
        raise ValueError("give model and schedule together (for the row of predicted x_0), or neither")
    if model is not None and not callable(model):
        raise TypeError(f"model must be callable as model(x_t, t) -> eps, got {type(model).__name__}")
    if schedule is not None and not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    rows = {"$x_t$": [states[k, sample] for k in indices]}
    if model is not None:
        rows[r"$\hat x_0$ predicted"] = [
            _predicted_x0(model, schedule, states[k, sample : sample + 1], t_values[k]) for k in indices
        ]

    top_inches = 0.7 if suptitle else 0.35  # room for the column titles (and the suptitle)
    figure = Figure(figsize=(size * len(indices) + 0.5, size * len(rows) * 1.15 + top_inches))
    margins = {"left": 0.5 / figure.get_figwidth(), "right": 0.99, "bottom": 0.02}
    margins["top"] = 1 - top_inches / figure.get_figheight()
    axes = figure.subplots(
        len(rows), len(indices), squeeze=False, gridspec_kw={"wspace": 0.08, "hspace": 0.15, **margins}
    )
    for row, (row_label, pictures) in enumerate(rows.items()):
        for ax, picture in zip(axes[row], pictures):
            _show(ax, picture)
        axes[row, 0].set_ylabel(row_label, fontsize=10)
    for ax, k in zip(axes[0], indices):
        t = int(t_values[k])
        ax.set_title(f"t = {t}" + (" (sample)" if t == 0 else " (noise)" if t == t_values.max() else ""), fontsize=9)
    if suptitle:
        figure.suptitle(suptitle, fontsize=12)
    return figure


def image_trajectory_player(
    trajectory: torch.Tensor,
    frames: Sequence[int],
    *,
    timesteps: Sequence[int] | torch.Tensor | None = None,
    max_images: int = 16,
    ncols: int | None = None,
    interval_ms: int = 300,
    size: float = 4.5,
) -> str:
    r"""A kernel-free HTML/JavaScript player of a grid of samples forming, from $x_T$ to $x_0$ (for the site).

    The same player as the widgets' (``to_jshtml`` without the icon font's internet request, JPEG frames).

    Args:
        trajectory: ``(K, B, 1, H, W)``, element ``[k]`` being $x_t$ at ``t = timesteps[k]``.
        frames: the timesteps to play, in order (each one of ``timesteps``), at most 40.
        timesteps: as in :func:`plot_image_trajectory` (default ``0, 1, ..., K - 1``: ``ddpm_sample``'s).
        max_images: the first this many samples of the batch are shown.
        ncols: images per row (default: square).
        interval_ms: time per frame.
        size: inches per side (players are drawn at 72 dpi: 4.5 inches is 324 pixels).

    Returns:
        The player's HTML; show it with ``IPython.display.HTML`` or ``dh.notebook.try_this``.

    Raises:
        ValueError: as :func:`plot_image_trajectory`, no frames or more than 40.
    """
    from .widgets import _LiveFigure  # ipywidgets is loaded only when a player is made

    states, t_values = _trajectory(trajectory, timesteps)
    if isinstance(frames, (str, bytes)) or not isinstance(frames, Sequence) or not 1 <= len(frames) <= 40:
        raise ValueError(f"frames must be 1 to 40 timesteps (each is embedded in the page), got {frames!r}")
    indices = _frame_indices(frames, t_values)
    max_images = check_int("max_images", max_images, minimum=1, maximum=MAX_IMAGES)
    interval_ms = check_int("interval_ms", interval_ms, minimum=10)
    size = check_float("size", size, low=0.0, high=10.0, high_inclusive=True)
    shown = states[:, :max_images]  # (K, B', H, W)
    columns = _ncols(ncols, shown.shape[1])
    mosaics = {k: _mosaic(shown[k], columns, gap_rows=1, gap_cols=1) for k in indices}
    T = int(t_values.max())

    class Player(_LiveFigure):
        def __init__(self) -> None:
            # fixed margins, not a layout engine: every frame must put the axes in the same place
            self.figure = Figure(figsize=(size, size), dpi=72)
            self.ax = self.figure.add_axes((0.03, 0.03, 0.94, 0.86))
            self.image = _show(self.ax, mosaics[indices[0]])

        def _animated_artists(self) -> list[Any]:
            return [self.image, self.ax.title]

        def draw(self, k: int) -> None:
            self.image.set_data(mosaics[k])
            t = int(t_values[k])
            self.ax.set_title(f"$x_{{{t}}}$, t = {t} of {T}", fontsize=13)

    player = Player()
    return player._jshtml(player.draw, indices, interval_ms)


# -------------------------------------------------------------------------------------------- helpers


def _images(name: str, x: object, *, limit: int | None = MAX_IMAGES) -> np.ndarray:
    """``x`` checked as ``(B, 1, H, W)`` finite floats, returned as a float64 ``(B, H, W)`` array."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a tensor of grey images (B, 1, H, W), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor with values in [-1, 1], got dtype {x.dtype}")
    if x.ndim != 4 or x.shape[1] != 1 or 0 in x.shape:
        raise ValueError(f"{name} must have shape (B, 1, H, W): a batch of grey images, got {tuple(x.shape)}")
    if limit is not None and x.shape[0] > limit:
        raise ValueError(f"{name} holds {x.shape[0]} images; show at most MAX_IMAGES={limit} (slice the batch)")
    array = x.detach().to("cpu", torch.float64)[:, 0].numpy()
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or inf: it cannot be shown (did the sampler diverge?)")
    return array


def _labels(labels: object, count: int) -> list[str] | None:
    if labels is None:
        return None
    labels = check_sequence("labels", labels, items="strings")
    if not all(isinstance(label, str) for label in labels):
        raise TypeError("labels must be a sequence of strings, one per image")
    if len(labels) != count:
        raise ValueError(f"labels has {len(labels)} entries for {count} images")
    return list(labels)


def _ncols(ncols: int | None, count: int) -> int:
    if ncols is None:
        return math.ceil(math.sqrt(count))
    return min(check_int("ncols", ncols, minimum=1), count)


def _mosaic(images: np.ndarray, ncols: int, *, gap_rows: int, gap_cols: int) -> np.ndarray:
    """``(B, H, W)`` images pasted row by row into one ``(rows, cols)`` array, the gaps NaN."""
    count, height, width = images.shape
    nrows = math.ceil(count / ncols)
    mosaic = np.full((nrows * (height + gap_rows) - gap_rows, ncols * (width + gap_cols) - gap_cols), np.nan)
    for i, image in enumerate(images):
        row, col = divmod(i, ncols)
        top, left = row * (height + gap_rows), col * (width + gap_cols)
        mosaic[top : top + height, left : left + width] = image
    return mosaic


def _show(ax: Axes, picture: np.ndarray) -> Any:
    """A picture clamped to [-1, 1], pixel for pixel, grey on one fixed scale, without ticks or frame."""
    image = ax.imshow(np.clip(picture, -1.0, 1.0), cmap=_grey(), vmin=-1.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return image


def _trajectory(trajectory: object, timesteps: object) -> tuple[np.ndarray, np.ndarray]:
    """``(K, B, H, W)`` float64 states and the ``(K,)`` int timesteps they belong to."""
    if not isinstance(trajectory, torch.Tensor) or not trajectory.is_floating_point():
        raise TypeError(
            f"trajectory must be a floating tensor (K, B, 1, H, W), got {type(trajectory).__name__}"
            + (f" of dtype {trajectory.dtype}" if isinstance(trajectory, torch.Tensor) else "")
        )
    if trajectory.ndim == 4:
        trajectory = trajectory.unsqueeze(1)  # one sample's (K, 1, H, W) -> (K, 1, 1, H, W)
    if trajectory.ndim != 5 or trajectory.shape[2] != 1 or trajectory.shape[0] < 2 or 0 in trajectory.shape:
        raise ValueError(
            "trajectory must have shape (K, B, 1, H, W) with K >= 2, as from ddpm_sample(..., return_trajectory=True)"
            f" for grey images; got {tuple(trajectory.shape)}"
        )
    states = trajectory.detach().to("cpu", torch.float64)[:, :, 0].numpy()
    if not np.isfinite(states).all():
        raise ValueError("trajectory contains NaN or inf: it cannot be shown (did the sampler diverge?)")
    if timesteps is None:
        return states, np.arange(len(states))
    values = np.asarray(torch.as_tensor(timesteps).detach().cpu())
    if values.ndim != 1 or len(values) != len(states) or values.dtype.kind not in "iu":
        raise ValueError(
            f"timesteps must be {len(states)} ints, the t of each element of trajectory, got shape {values.shape}"
        )
    return states, values.astype(np.int64)


def _scores(name: str, values: object) -> np.ndarray:
    """A non-empty sequence of finite numbers >= 0 (a list, tuple or 1-D tensor) as a float array."""
    values = check_sequence(name, values, items="numbers >= 0")
    if isinstance(values, (torch.Tensor, np.ndarray)):
        values = values.tolist()
    if not values:
        raise ValueError(f"{name} is empty: give at least one number")
    return np.array([check_float(f"{name}[{k}]", v, low=0.0, low_inclusive=True) for k, v in enumerate(values)])


def _frame_indices(frames: object, t_values: np.ndarray) -> list[int]:
    """The trajectory index of each frame (a timestep), or a ValueError naming the ones that are missing."""
    frames = check_sequence("frames", frames, items="timesteps")
    if len(frames) == 0:
        raise ValueError("frames is empty: give at least one timestep to show")
    where = {int(t): k for k, t in enumerate(t_values)}
    indices = []
    for t in frames:
        t = check_int("frames", int(t) if isinstance(t, torch.Tensor) else t)
        if t not in where:
            available = sorted(where)
            listed = ", ".join(map(str, available)) if len(available) <= 12 else f"{available[0]}, ..., {available[-1]}"
            raise ValueError(f"frames asks for t = {t}, which the trajectory does not hold (it holds t = {listed})")
        indices.append(where[t])
    return indices


def _predicted_x0(
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], schedule: NoiseSchedule, x_t: np.ndarray, t: int
) -> np.ndarray:
    """The network's $\\hat x_0$ for one state ``(1, H, W)`` at ``t`` (``t = 0``: the state itself), as ``(H, W)``."""
    if t == 0:
        return x_t[0]
    if not 1 <= t <= len(schedule):
        raise ValueError(f"the trajectory's t = {t} is outside the schedule's [1, {len(schedule)}]")
    x = torch.from_numpy(x_t).float().unsqueeze(1)  # (1, 1, H, W)
    with torch.no_grad():
        eps = model(x, torch.full((1,), t, dtype=torch.int64))  # $\varepsilon_\theta(x_t, t)$
    if not isinstance(eps, torch.Tensor) or eps.shape != x.shape or not bool(torch.isfinite(eps).all()):
        got = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
        raise ValueError(f"model must return a finite tensor of x_t's shape {tuple(x.shape)}, got {got} at t = {t}")
    return predict_x0(x, t, eps.to(x.dtype), schedule)[0, 0].double().numpy()  # Eq. 15
