r"""Data sets to train a diffusion model on: 2-D distributions a laptop learns in seconds, and 8 x 8 digits.

``load_dataset(name, split, n)`` draws ``n`` points from a named 2-D distribution, reproducibly:

- ``"swiss_roll"``: the spiral of Sohl-Dickstein et al. 2015 (their Fig. 1), built as scikit-learn's
  ``make_swiss_roll`` seen from the side: angle $\varphi = \tfrac{3\pi}{2}(1 + 2u)$ with $u \sim U(0, 1)$,
  point $\varphi(\cos\varphi, \sin\varphi)$ plus Gaussian noise of standard deviation 0.5 (1.5 turns, a band of
  width about 2 on arms 6.3 apart). Label: which half-turn (0, 1, 2) the angle is in.
- ``"moons"``: two interleaved half circles (scikit-learn's ``make_moons``) with noise 0.1. Label: the moon.
- ``"eight_gaussians"``: eight round Gaussians of standard deviation 0.1 on a circle of radius 1 (a common
  test of mode coverage, e.g. FFJORD). Label: the component.
- ``"checkerboard"``: uniform on the black squares of a 4 x 4 board (FFJORD). Label: the square.

**Scale.** Every 2-D set is centred and divided by one constant so that its standard deviation is
:data:`DATA_STD` = 0.5 per coordinate (the RMS over both coordinates), which puts it roughly in [-1, 1]:
the range DDPM's schedules were designed for (Ho et al. 2020 scale images to [-1, 1]). The scale matters
because the forward process mixes signal and noise in fixed proportions, $x_t = \sqrt{\bar\alpha_t}x_0 +
\sqrt{1-\bar\alpha_t}\varepsilon$: a schedule spends its timesteps at fixed noise-to-signal ratios, and only
those between the data's finest detail and its overall size shape the samples. Halve the data and fewer
timesteps land there; on the swiss roll with the linear schedule, standard deviations 0.25, 0.5 and 1.0 put
7%, 13% and 23% of the timesteps there, and the same training scored 2.65, 1.13 and 0.93 times the noise
floor (see :mod:`~diffusion_helpers.recipes`). One fixed scale lets one schedule fit every data set here.

**Splits.** ``"train"`` and ``"test"`` draw from the same distribution with different default seeds, so
held-out data is never the training data; pass ``generator`` to draw other points.

**Images.** ``"digits"`` is the 1,797 handwritten digits that scikit-learn ships
(``sklearn.datasets.load_digits``, from the UCI optical-recognition set; no download): 8 x 8 grey images
with integer intensities 0-16, returned as ``(N, 1, 8, 8)`` float32 scaled linearly to $[-1, 1]$
($x / 8 - 1$: 0 is -1, 16 is 1), the range of Ho et al. 2020. The split is fixed: a seeded shuffle, then
20% of each digit's images held out (stratified), so ``"train"`` holds :data:`DIGITS_SPLIT_SIZES` ``["train"]``
= 1,438 images and ``"test"`` 359, every digit in both and no image in both. ``n`` takes the first ``n`` of the
split (in its shuffled order), or ``n`` drawn at random without replacement with ``generator``; the default
is the whole split. ``"mnist"`` (optional, not among :data:`DATASET_NAMES`: it needs a download once) is the real
MNIST, ``(N, 1, 28, 28)`` in $[-1, 1]$: see :mod:`~diffusion_helpers.mnist`.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable

import torch

from ._checks import check_bool, check_generator, check_int
from .mnist import load_mnist

__all__ = [
    "DATASET_NAMES",
    "DATA_STD",
    "DIGITS_SPLIT_SIZES",
    "IMAGE_DATASETS",
    "SPLITS",
    "held_out_sets",
    "load_dataset",
]

DATA_STD = 0.5
"""The standard deviation per coordinate (RMS over coordinates) of every 2-D data set."""

SPLITS = ("train", "test")
"""The splits: the same distribution, different default seeds."""

IMAGE_DATASETS = ("digits",)
"""The image data sets among :data:`DATASET_NAMES`: fixed collections of ``(N, 1, 8, 8)`` images, not 2-D points."""

DIGITS_SPLIT_SIZES = {"train": 1438, "test": 359}
"""How many of the 1,797 digits each split holds (20% of each digit held out)."""

_DEFAULT_N = 10_000
_DIGITS_TEST_SHARE = 0.2

Loader = Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


def load_dataset(
    name: str,
    split: str = "train",
    n: int | None = None,
    generator: torch.Generator | None = None,
    labels: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""Draw ``n`` points of a named 2-D data set (standard deviation :data:`DATA_STD`), or ``n`` digit images.

    Args:
        name: one of :data:`DATASET_NAMES`.
        split: ``"train"`` or ``"test"``. 2-D sets: the same distribution, drawn with a different default seed.
            ``"digits"``: the fixed split of the 1,797 images (see the module), disjoint.
        n: how many points, >= 1; 10,000 if None. ``"digits"``: at most the split's size
            (:data:`DIGITS_SPLIT_SIZES`), the whole split if None.
        generator: a CPU ``torch.Generator``. 2-D sets: draws the points instead of the split's default seed.
            ``"digits"``: picks ``n`` of the split's images at random (without replacement) instead of the first ``n``.
        labels: also return one integer label per point (see the module for what each data set labels; the
            digit 0-9 for ``"digits"``).

    Returns:
        float32 tensor of shape ``(n, 2)``, or ``(n, 1, 8, 8)`` in $[-1, 1]$ for ``"digits"``; with
        ``labels=True``, ``(points, labels)`` with labels an int64 tensor of shape ``(n,)``. The same arguments
        give the same points on every call.

    Raises:
        TypeError: ``name`` or ``split`` not a string, ``n`` not an int, ``labels`` not a bool, ``generator``
            not a torch.Generator.
        ValueError: an unknown ``name`` or ``split`` (the message lists the valid ones), ``n`` < 1, or ``n`` larger
            than the digits split.
        ModuleNotFoundError: ``"digits"`` without scikit-learn installed (the message says how to install it).
        ConnectionError: ``"mnist"`` neither cached nor downloadable (the message says what to do).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {', '.join(DATASET_NAMES)}; got {type(name).__name__}")
    if name == "mnist":  # optional, downloaded once: see diffusion_helpers.mnist (and its ConnectionError offline)
        return load_mnist(split, n, generator, labels)
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}; valid names are: {', '.join(DATASET_NAMES)}")
    if not isinstance(split, str):
        raise TypeError(f"split must be a string, one of {', '.join(SPLITS)}; got {type(split).__name__}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid splits are: {', '.join(SPLITS)}")
    check_generator(generator)
    check_bool("labels", labels)
    if name == "digits":
        images, image_labels = _digits(split, n, generator)
        return (images, image_labels) if labels else images
    n = _DEFAULT_N if n is None else check_int("n", n, minimum=1)
    if generator is None:
        # a fixed seed per (data set, split): reproducible, and the splits differ
        generator = torch.Generator().manual_seed(zlib.crc32(f"{name}/{split}".encode()))
    points, point_labels = _LOADERS[name](n, generator)
    return (points, point_labels) if labels else points


def held_out_sets(name: str, *, count: int = 5, n: int = 10_000) -> list[torch.Tensor]:
    """``count`` independent sets of ``n`` test points each, for :func:`~diffusion_helpers.metrics.noise_floor_ratio`.

    Drawn from the ``"test"`` split, so they never overlap the training data; the same on every call.

    Raises:
        TypeError, ValueError: as :func:`load_dataset`; ``count`` < 2; an image data set (the digits have one fixed
            test split: see :func:`~diffusion_helpers.metrics.image_noise_floor_ratio`).
    """
    if name in IMAGE_DATASETS:
        raise ValueError(
            f"held_out_sets draws fresh 2-D points; {name!r} has one fixed test split: pass "
            f"load_dataset({name!r}, 'test') to metrics.image_noise_floor_ratio"
        )
    count = check_int("count", count, minimum=2)
    n = check_int("n", n, minimum=1)
    return list(load_dataset(name, "test", n=count * n).split(n))


def _standardise(points: torch.Tensor, centre: tuple[float, float], std: float) -> torch.Tensor:
    """``(points - centre) / std * DATA_STD`` as float32: ``centre`` and ``std`` are the distribution's own."""
    return ((points - torch.tensor(centre, dtype=torch.float64)) * (DATA_STD / std)).float()


def _swiss_roll(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    phi = 1.5 * math.pi * (1 + 2 * u)  # the angle, 1.5 turns: [3 pi / 2, 9 pi / 2]
    spiral = torch.stack([phi * torch.cos(phi), phi * torch.sin(phi)], dim=1)  # (n, 2): radius = angle
    points = spiral + 0.5 * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    half_turn = ((phi - 1.5 * math.pi) / math.pi).long().clamp(max=2)  # 0, 1, 2
    # exact moments, phi uniform on [a, b]: E[phi cos phi] = 2, E[phi sin phi] = 2 / (3 pi),
    # E[phi^2] = (b^3 - a^3) / (3 (b - a)) = 9.75 pi^2; the noise adds 0.25 per coordinate
    mean_y = 2 / (3 * math.pi)
    std = math.sqrt((9.75 * math.pi**2 - 2.0**2 - mean_y**2 + 2 * 0.25) / 2)  # RMS over the 2 coordinates
    return _standardise(points, (2.0, mean_y), std), half_turn


def _moons(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    moon = torch.randint(0, 2, (n,), generator=generator)  # 0: upper moon, 1: lower moon
    theta = math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    upper = torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)  # (n, 2)
    lower = torch.stack([1 - torch.cos(theta), 0.5 - torch.sin(theta)], dim=1)
    points = torch.where(moon[:, None] == 0, upper, lower)
    points = points + 0.1 * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    # exact moments: x has variance 1/2 within each moon + 1/4 between them; y has 1/2 - 4/pi^2 within and
    # (2/pi - 1/4)^2 between; the noise adds 0.01 to each
    var_x, var_y = 0.75 + 0.01, 0.5 - 4 / math.pi**2 + (2 / math.pi - 0.25) ** 2 + 0.01
    return _standardise(points, (0.5, 0.25), math.sqrt((var_x + var_y) / 2)), moon


def _eight_gaussians(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    component = torch.randint(0, 8, (n,), generator=generator)
    angle = component.double() * (2 * math.pi / 8)
    centres = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)  # (n, 2), on the unit circle
    points = centres + 0.1 * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    # per coordinate: E[cos^2] = 1/2 plus the noise, so std = sqrt(0.5 + 0.01)
    return _standardise(points, (0.0, 0.0), math.sqrt(0.51)), component


def _checkerboard(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    # 8 black squares of side 1 on the 4 x 4 board [-2, 2]^2: column c in 0..3, row r with (c + r) even
    square = torch.randint(0, 8, (n,), generator=generator)
    column, row = square % 4, 2 * (square // 4) + (square % 4) % 2
    corner = torch.stack([column, row], dim=1).double() - 2  # (n, 2), the lower-left corner
    points = corner + torch.rand(n, 2, generator=generator, dtype=torch.float64)
    # uniform on [-2, 2] per coordinate: std = 4 / sqrt(12)
    return _standardise(points, (0.0, 0.0), 4 / math.sqrt(12)), square


def _digits(split: str, n: int | None, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` (or ``n`` random) images of a digits split, and their labels; copies, safe to change."""
    images, digit_labels = _digits_split(split)
    size = len(images)
    n = size if n is None else check_int("n", n, minimum=1)
    if n > size:
        raise ValueError(f"n must be at most {size} for digits: the {split!r} split holds {size} images, got {n}")
    chosen = torch.arange(n) if generator is None else torch.randperm(size, generator=generator)[:n]
    return images[chosen].clone(), digit_labels[chosen].clone()


@functools.cache
def _digits_split(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A digits split: ``(images (N, 1, 8, 8) float32 in [-1, 1], labels (N,) int64)``, read once per process."""
    images, digit_labels = _load_digits()
    index = _digits_split_indices()[split]
    return images[index] / 8 - 1, digit_labels[index]  # intensities 0..16 -> [-1, 1]


def _load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 digits in its order: ``(images (1797, 1, 8, 8) float32 in 0..16, labels int64)``."""
    try:
        from sklearn.datasets import load_digits  # imported here: only the digits need scikit-learn
    except ImportError:
        raise ModuleNotFoundError(
            "the digits data set needs scikit-learn, which ships it (no download): pip install scikit-learn"
        ) from None
    bunch = load_digits()
    images = torch.from_numpy(bunch.images).float().unsqueeze(1)  # (1797, 1, 8, 8), integers 0..16
    return images, torch.from_numpy(bunch.target).long()


@functools.cache
def _digits_split_indices() -> dict[str, torch.Tensor]:
    """Which of scikit-learn's digits each split holds: a fixed shuffle, then 20% of each digit held out."""
    _, digit_labels = _load_digits()
    order = torch.randperm(len(digit_labels), generator=torch.Generator().manual_seed(zlib.crc32(b"digits/split")))
    shuffled = digit_labels[order]
    held_out = torch.zeros(len(order), dtype=torch.bool)
    for digit in range(10):
        where = (shuffled == digit).nonzero().squeeze(1)  # this digit's positions in the shuffled order
        held_out[where[: round(_DIGITS_TEST_SHARE * len(where))]] = True
    return {"train": order[~held_out], "test": order[held_out]}  # both in the shuffled order


_LOADERS: dict[str, Loader] = {
    "swiss_roll": _swiss_roll,
    "moons": _moons,
    "eight_gaussians": _eight_gaussians,
    "checkerboard": _checkerboard,
}
DATASET_NAMES: tuple[str, ...] = (*_LOADERS, *IMAGE_DATASETS)
"""The names :func:`load_dataset` knows: the 2-D sets, then :data:`IMAGE_DATASETS`."""
