r"""Data sets to train a diffusion model on: 2-D distributions a laptop learns in seconds, and 8 x 8 digits.

``load_dataset(name, split, n)`` draws ``n`` points from a named 2-D distribution, reproducibly:

- ``"swiss_roll"``: the spiral of Sohl-Dickstein et al. 2015 (their Fig. 1), built as scikit-learn's
  ``make_swiss_roll`` seen from the side: angle $\varphi = \tfrac{3\pi}{2}(1 + 2u)$ with $u \sim U(0, 1)$,
  point $\varphi(\cos\varphi, \sin\varphi)$ plus Gaussian noise of standard deviation 0.5 (1.5 turns, a band of
  width about 2 on arms 6.3 apart). Label: which half-turn (0, 1, 2) the angle is in. Its exact noise predictor,
  :func:`swiss_roll_eps_model` ($\mathbb E[\varepsilon \mid x_t]$, the perfectly trained network), tests samplers
  with no network at all.
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

from ._checks import check_bool, check_float_tensor, check_generator, check_int
from .mnist import load_mnist
from .schedules import NoiseSchedule

__all__ = [
    "DATASET_NAMES",
    "DATA_STD",
    "DIGITS_SPLIT_SIZES",
    "IMAGE_DATASETS",
    "SPLITS",
    "held_out_sets",
    "load_dataset",
    "swiss_roll_eps_model",
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


def swiss_roll_eps_model(
    schedule: NoiseSchedule, components: int = 3000
) -> Callable[[torch.Tensor, int | torch.Tensor], torch.Tensor]:
    r"""The exact noise predictor of the swiss roll: what a perfectly trained network would output, with no network.

    $\varepsilon^*(x_t, t) = \mathbb E[\varepsilon \mid x_t] = \dfrac{x_t - \sqrt{\bar\alpha_t}\,\hat x_0}
    {\sqrt{1-\bar\alpha_t}}$ with $\hat x_0 = \mathbb E[x_0 \mid x_t]$ (Eq. 4 of Ho et al. 2020 solved for
    $\varepsilon$, in expectation).

    Derivation. ``load_dataset("swiss_roll")`` draws an angle $\varphi$ uniform on $[\tfrac{3\pi}{2},
    \tfrac{9\pi}{2}]$ and adds Gaussian noise to the spiral point, then centres and scales (see the module): so
    $x_0 = m(\varphi) + \tau z$ with $m(\varphi)$ the scaled spiral point, $\tau$ the scaled noise (0.5 before
    scaling) and $z \sim \mathcal N(0, I)$. Cut the angles into ``components`` = $K$ equal pieces with midpoints
    $\varphi_k$: the data is the mixture $\frac1K\sum_k \mathcal N(m_k, \tau^2 I)$, $m_k = m(\varphi_k)$, exact as
    $K \to \infty$ (neighbouring means lie at most $10/K$ apart, against $\tau = 0.037$; the error, from the
    spiral's two ends, falls as $1/K^2$: from 300 to 3,000 components $\varepsilon^*$ at points of the forward
    process changes by less than 0.03, and 50-step DDIM samples by a few thousandths). Then, per component $k$,
    exactly as for Gaussian data (:func:`~diffusion_helpers.gaussian_eps_model`):
    $x_t \mid k \sim \mathcal N(\sqrt{\bar\alpha_t}\,m_k, v_t I)$ with $v_t = \bar\alpha_t\tau^2 + 1 - \bar\alpha_t$,
    and the Gaussian posterior mean of $x_0$ is
    $\mathbb E[x_0 \mid x_t, k] = m_k + \frac{\sqrt{\bar\alpha_t}\,\tau^2}{v_t}(x_t - \sqrt{\bar\alpha_t}\,m_k)$.
    Bayes' rule weighs the components by how well each explains $x_t$,
    $w_k(x_t) \propto \exp\!\big(-\lVert x_t - \sqrt{\bar\alpha_t}\,m_k\rVert^2 / (2 v_t)\big)$, and
    $\hat x_0 = \sum_k w_k\,\mathbb E[x_0 \mid x_t, k] = \bar m + \frac{\sqrt{\bar\alpha_t}\,\tau^2}{v_t}
    (x_t - \sqrt{\bar\alpha_t}\,\bar m)$ with $\bar m = \sum_k w_k m_k$ (the posterior mean is affine in $m_k$).
    The training loss $\lVert\varepsilon - \varepsilon_\theta(x_t, t)\rVert^2$ is minimised by
    $\mathbb E[\varepsilon \mid x_t]$, so this is the network a perfect training run converges to: sampling with
    it measures the sampler alone. Computed in float64, in chunks of points (memory: a few MB per chunk).

    Args:
        schedule: the variance schedule (``T`` steps).
        components: $K \ge 2$, the number of Gaussians along the spiral. Each call costs about
            ``B * components`` exponentials.

    Returns:
        A model ``model(x_t, t) -> eps`` following the samplers' model contract: ``x_t`` a floating tensor of shape
        ``(B, 2)``, ``t`` an int or a 1-D integer tensor ``(B,)`` in ``[1, T]`` (a different $t$ per point is
        fine); ``eps`` has ``x_t``'s shape, dtype and device. The model's attributes ``means`` (float64, shape
        ``(K, 2)``: the $m_k$) and ``noise_std`` ($\tau$) describe the mixture, e.g. to sample from it.

    Raises:
        TypeError: ``schedule`` not a NoiseSchedule, ``components`` not an int; when called, ``x_t`` not a floating
            tensor or ``t`` not an int or integer tensor.
        ValueError: ``components`` < 2; when called, ``x_t`` not of shape ``(B, 2)`` or not finite, ``t`` not of
            shape ``(B,)`` or outside ``[1, T]``.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    components = check_int("components", components, minimum=2)
    T, alpha_bars = len(schedule), schedule.alpha_bars.double()  # (T,): [t - 1] is alpha_bar_t
    phi = 1.5 * math.pi * (1 + 2 * (torch.arange(components, dtype=torch.float64) + 0.5) / components)  # midpoints
    spiral = torch.stack([phi * torch.cos(phi), phi * torch.sin(phi)], dim=1)  # (K, 2), before scaling
    scale = DATA_STD / _SWISS_ROLL_STD  # the data's scaling (see _standardise), here kept in float64
    means = (spiral - torch.tensor(_SWISS_ROLL_MEAN, dtype=torch.float64)) * scale  # (K, 2): the m_k
    tau = _SWISS_ROLL_NOISE * scale  # the noise around the spiral, scaled with the data
    chunk = max(1, 2**20 // components)  # points per chunk: (chunk, K) float64 matrices of about 8 MB

    def eps_star(x_t: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        x_t = check_float_tensor("x_t", x_t)
        if x_t.ndim != 2 or x_t.shape[1] != 2:
            raise ValueError(f"x_t must be a batch of 2-D points, shape (B, 2), got {tuple(x_t.shape)}")
        x = x_t.detach().to("cpu", torch.float64)  # (B, 2)
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x_t must be finite, got NaN or inf")
        alpha_bar_t = alpha_bars[_check_timesteps(t, len(x), T) - 1].view(-1, 1)  # (B, 1)
        eps = torch.empty_like(x)
        for start in range(0, len(x), chunk):
            x_c, a = x[start : start + chunk], alpha_bar_t[start : start + chunk]  # (b, 2), (b, 1)
            v = a * tau**2 + 1 - a  # (b, 1): $v_t = \bar\alpha_t\tau^2 + 1 - \bar\alpha_t$, Var[x_t | k] per coordinate
            # $\lVert x_t - \sqrt{\bar\alpha_t} m_k\rVert^2$, expanded so that it is one matrix product: (b, K)
            squared_distances = (
                x_c.square().sum(1, keepdim=True) - 2 * a.sqrt() * (x_c @ means.T) + a * means.square().sum(1)
            )
            weights = torch.softmax(-squared_distances / (2 * v), dim=1)  # (b, K): $w_k(x_t)$, Bayes' rule
            mean_of_means = weights @ means  # (b, 2): $\bar m = \sum_k w_k m_k$
            # $\hat x_0 = \sum_k w_k \mathbb E[x_0 \mid x_t, k]
            #            = \bar m + \frac{\sqrt{\bar\alpha_t}\tau^2}{v_t}(x_t - \sqrt{\bar\alpha_t}\bar m)$
            x0_hat = mean_of_means + a.sqrt() * tau**2 / v * (x_c - a.sqrt() * mean_of_means)
            # $\varepsilon^* = (x_t - \sqrt{\bar\alpha_t}\,\hat x_0) / \sqrt{1-\bar\alpha_t}$
            eps[start : start + chunk] = (x_c - a.sqrt() * x0_hat) / (1 - a).sqrt()
        return eps.to(x_t)

    eps_star.__qualname__ = eps_star.__name__ = f"swiss_roll_eps_model(components={components})"
    eps_star.means, eps_star.noise_std = means, tau  # type: ignore[attr-defined]  # the mixture, for its users
    return eps_star


def _check_timesteps(t: object, batch: int, T: int) -> torch.Tensor:
    """``t`` (an int, or an integer tensor of shape ``(batch,)``) as an int64 CPU tensor ``(batch,)`` in ``[1, T]``."""
    if isinstance(t, torch.Tensor):
        if t.dtype.is_floating_point or t.is_complex() or t.dtype == torch.bool:
            raise TypeError(f"t must be an int or an integer tensor, got dtype {t.dtype}")
        if t.shape != (batch,):
            raise ValueError(f"t must have shape (B,) = ({batch},), one timestep per point, got {tuple(t.shape)}")
        t = t.to("cpu", torch.int64)
    else:
        t = torch.full((batch,), check_int("t", t, minimum=1, maximum=T), dtype=torch.int64)
    if batch and not (1 <= int(t.min()) and int(t.max()) <= T):
        raise ValueError(f"t must be in [1, T] = [1, {T}], got values from {int(t.min())} to {int(t.max())}")
    return t


def _standardise(points: torch.Tensor, centre: tuple[float, float], std: float) -> torch.Tensor:
    """``(points - centre) / std * DATA_STD`` as float32: ``centre`` and ``std`` are the distribution's own."""
    return ((points - torch.tensor(centre, dtype=torch.float64)) * (DATA_STD / std)).float()


# The swiss roll before scaling: angle phi uniform on [3 pi / 2, 9 pi / 2], point phi (cos phi, sin phi) + noise.
# Its exact moments, phi uniform on [a, b]: E[phi cos phi] = 2, E[phi sin phi] = 2 / (3 pi),
# E[phi^2] = (b^3 - a^3) / (3 (b - a)) = 9.75 pi^2; the noise adds 0.25 per coordinate.
# Shared by the generator and its exact noise predictor (swiss_roll_eps_model), so the two cannot drift apart.
_SWISS_ROLL_NOISE = 0.5
_SWISS_ROLL_MEAN = (2.0, 2 / (3 * math.pi))
_SWISS_ROLL_STD = math.sqrt((9.75 * math.pi**2 - 2.0**2 - _SWISS_ROLL_MEAN[1] ** 2 + 2 * 0.25) / 2)  # RMS over x, y


def _swiss_roll(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    phi = 1.5 * math.pi * (1 + 2 * u)  # the angle, 1.5 turns: [3 pi / 2, 9 pi / 2]
    spiral = torch.stack([phi * torch.cos(phi), phi * torch.sin(phi)], dim=1)  # (n, 2): radius = angle
    points = spiral + _SWISS_ROLL_NOISE * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    half_turn = ((phi - 1.5 * math.pi) / math.pi).long().clamp(max=2)  # 0, 1, 2
    return _standardise(points, _SWISS_ROLL_MEAN, _SWISS_ROLL_STD), half_turn


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
