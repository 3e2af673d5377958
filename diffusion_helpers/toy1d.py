r"""One-dimensional toys where everything can be computed exactly: Gaussian-mixture data and Bayes' rule on a grid.

In one dimension a density is a vector of values on a grid, so the reverse step can be computed by brute
force instead of being derived:

- Bayes' rule, $q(x_{t-1} \mid x_t) \propto q(x_t \mid x_{t-1})\,q(x_{t-1})$, as a product of two vectors and
  a division by its sum (:func:`reverse_step_on_grid`). With $q(x_{t-1}) = q(x_{t-1} \mid x_0)$ it must give
  the closed form of Ho et al. 2020, Eq. 6-7; with the data's own marginal it gives the true reverse step,
  which nobody can compute for images.
- How far a density is from Gaussian (:func:`distance_from_gaussian`) and how many bumps it has
  (:func:`count_modes`): the reverse step is nearly Gaussian when $\beta_t$ is small and not when it is large.
- Data drawn from a mixture of Gaussians (:class:`GaussianMixture`), whose noised marginal $q(x_t)$ is again
  a mixture (Eq. 4 applied to each component), and whose exact noise predictor
  $\varepsilon^*(x_t, t) = \mathbb E[\varepsilon \mid x_t]$ is known in closed form (:func:`mixture_eps_model`), so
  the DDPM sampler can be run on two-mode data with no training.

Mathematics only: no plotting. Densities are float64 tensors; a grid is a 1-D, evenly spaced float64 tensor.
Timestep convention: ``t`` in ``1, ..., T``, with $\bar\alpha_0 = 1$.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ._checks import check_float, check_generator, check_int
from .schedules import NoiseSchedule

__all__ = [
    "GaussianMixture",
    "count_modes",
    "distance_from_gaussian",
    "grid_moments",
    "make_grid",
    "mixture_eps_model",
    "normal_density",
    "reverse_step_on_grid",
]


def normal_density(x: torch.Tensor, mean: float | torch.Tensor, variance: float | torch.Tensor) -> torch.Tensor:
    r"""$\mathcal N(x; \mu, \sigma^2) = \exp\!\big(-(x-\mu)^2 / 2\sigma^2\big) / \sqrt{2\pi\sigma^2}$, elementwise.

    ``x``, ``mean`` and ``variance`` broadcast against each other; the result is float64.
    """
    variance = torch.as_tensor(variance, dtype=torch.float64)
    return torch.exp(-((x - mean) ** 2) / (2 * variance)) / torch.sqrt(2 * math.pi * variance)


def make_grid(low: float, high: float, size: int) -> torch.Tensor:
    """``size`` evenly spaced float64 points from ``low`` to ``high`` (both included).

    Raises:
        TypeError, ValueError: non-numbers, ``low >= high``, ``size < 3``.
    """
    low, high = check_float("low", low), check_float("high", high)
    if low >= high:
        raise ValueError(f"low must be < high, got low={low:g}, high={high:g}")
    size = check_int("size", size, minimum=3)
    return torch.linspace(low, high, size, dtype=torch.float64)


def reverse_step_on_grid(
    grid: torch.Tensor, prior: torch.Tensor, x_t: float | torch.Tensor, beta_t: float
) -> torch.Tensor:
    r"""$q(x_{t-1} \mid x_t)$ on a grid of $x_{t-1}$ values, by Bayes' rule: likelihood times prior, normalised.

    $q(x_{t-1} \mid x_t) = \dfrac{q(x_t \mid x_{t-1})\,q(x_{t-1})}{\int q(x_t \mid x'_{t-1})\,q(x'_{t-1})\,dx'_{t-1}}$,
    with $q(x_t \mid x_{t-1}) = \mathcal N(x_t; \sqrt{1-\beta_t}\,x_{t-1}, \beta_t)$ (Eq. 2) and the integral a sum
    over the grid.

    Args:
        grid: the $x_{t-1}$ values, shape ``(N,)``, evenly spaced.
        prior: $q(x_{t-1})$ on the grid, shape ``(N,)`` (any positive multiple of it: it is normalised).
        x_t: one value of $x_t$, or a tensor of ``M`` values (shape ``(M,)``).
        beta_t: the step's noise variance, in (0, 1].

    Returns:
        The posterior density on the grid, float64: shape ``(N,)`` for one ``x_t``, ``(M, N)`` for ``M``.
        Each row integrates to 1 over the grid.

    Raises:
        TypeError, ValueError: a grid that is not a 1-D evenly spaced tensor of at least 3 points, a prior of
            another shape or with negative values or no mass, ``beta_t`` outside (0, 1].
    """
    step = _check_grid(grid)
    prior = _check_density("prior", prior, grid)
    beta_t = check_float("beta_t", beta_t, low=0.0, high=1.0, high_inclusive=True)
    x_t = torch.as_tensor(x_t, dtype=torch.float64)
    # $q(x_t \mid x_{t-1})$ for every grid value of $x_{t-1}$ (Eq. 2): (N,) or (M, N)
    likelihood = normal_density(x_t.unsqueeze(-1), math.sqrt(1 - beta_t) * grid, beta_t)
    joint = likelihood * prior  # $q(x_t \mid x_{t-1})\,q(x_{t-1})$
    evidence = joint.sum(dim=-1, keepdim=True) * step  # $q(x_t) = \int q(x_t \mid x_{t-1})\,q(x_{t-1})\,dx_{t-1}$
    return joint / evidence


def grid_moments(grid: torch.Tensor, density: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of a density on a grid (sums over the last dimension).

    Returns:
        ``(mean, variance)``, shape ``density.shape[:-1]``.
    """
    step = _check_grid(grid)
    mass = density.sum(dim=-1) * step
    mean = (density * grid).sum(dim=-1) * step / mass
    variance = (density * (grid - mean.unsqueeze(-1)) ** 2).sum(dim=-1) * step / mass
    return mean, variance


def distance_from_gaussian(grid: torch.Tensor, density: torch.Tensor) -> torch.Tensor:
    r"""Total-variation distance between a density and the Gaussian with its mean and variance.

    $\mathrm{TV}(p, g) = \tfrac12 \int \lvert p(x) - g(x)\rvert\,dx$ with
    $g = \mathcal N(\text{mean}_p, \text{var}_p)$: 0 for a Gaussian, at most 1; the Gaussian with the same
    moments is the one a DDPM reverse step would fit.

    Args:
        grid: shape ``(N,)``, evenly spaced; it must cover the density and its Gaussian.
        density: shape ``(N,)`` or ``(M, N)`` (one density per row).

    Returns:
        float64 tensor of shape ``density.shape[:-1]``.
    """
    step = _check_grid(grid)
    mean, variance = grid_moments(grid, density)
    gaussian = normal_density(grid, mean.unsqueeze(-1), variance.unsqueeze(-1))
    return 0.5 * (density - gaussian).abs().sum(dim=-1) * step


def count_modes(density: torch.Tensor, *, threshold: float = 0.05) -> int:
    """The number of local maxima of a 1-D density that rise above ``threshold`` times its highest value.

    A shoulder (a maximum below the threshold) does not count, so grid noise and faint bumps are ignored.
    """
    if not isinstance(density, torch.Tensor) or density.ndim != 1 or density.numel() < 3:
        raise ValueError("density must be a 1-D tensor of at least 3 values")
    inner = density[1:-1]
    peaks = (inner > density[:-2]) & (inner >= density[2:]) & (inner > threshold * density.max())
    return int(peaks.sum())


@dataclass(frozen=True)
class GaussianMixture:
    r"""1-D data $x_0 \sim \sum_k w_k\,\mathcal N(m_k, s_k^2)$.

    Attributes:
        means: $m_k$. stds: $s_k > 0$. weights: $w_k > 0$ (normalised to sum to 1).
    """

    means: tuple[float, ...]
    stds: tuple[float, ...]
    weights: tuple[float, ...]

    def __init__(self, means: Sequence[float], stds: Sequence[float], weights: Sequence[float] | None = None) -> None:
        means = tuple(check_float(f"means[{k}]", m) for k, m in enumerate(means))
        if not means:
            raise ValueError("means must name at least one component")
        stds = tuple(check_float(f"stds[{k}]", s, low=0.0) for k, s in enumerate(stds))
        weights = tuple(1.0 for _ in means) if weights is None else weights
        weights = tuple(check_float(f"weights[{k}]", w, low=0.0) for k, w in enumerate(weights))
        if not len(means) == len(stds) == len(weights):
            raise ValueError(
                f"means, stds and weights must have one entry per component, got {len(means)}, "
                f"{len(stds)} and {len(weights)}"
            )
        total = sum(weights)
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "stds", stds)
        object.__setattr__(self, "weights", tuple(w / total for w in weights))

    def noised(self, alpha_bar_t: float) -> GaussianMixture:
        r"""The marginal $q(x_t)$ of the data noised by Eq. 4: again a mixture, with the same weights.

        Component $k$ becomes $\mathcal N(\sqrt{\bar\alpha_t}\,m_k,\ \bar\alpha_t s_k^2 + 1 - \bar\alpha_t)$.
        """
        alpha_bar_t = check_float(
            "alpha_bar_t", alpha_bar_t, low=0.0, high=1.0, low_inclusive=True, high_inclusive=True
        )
        return GaussianMixture(
            [math.sqrt(alpha_bar_t) * m for m in self.means],
            [math.sqrt(alpha_bar_t * s**2 + 1 - alpha_bar_t) for s in self.stds],
            self.weights,
        )

    def density(self, x: torch.Tensor) -> torch.Tensor:
        r"""$\sum_k w_k\,\mathcal N(x; m_k, s_k^2)$, elementwise, float64."""
        x = torch.as_tensor(x, dtype=torch.float64)
        return sum(w * normal_density(x, m, s**2) for m, s, w in zip(self.means, self.stds, self.weights))

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` draws, float64 tensor of shape ``(n,)``: a component by its weight, then a normal draw from it."""
        n = check_int("n", n, minimum=1)
        check_generator(generator)
        component = torch.multinomial(torch.tensor(self.weights), n, replacement=True, generator=generator)
        means, stds = torch.tensor(self.means)[component], torch.tensor(self.stds)[component]
        return means + stds * torch.randn(n, generator=generator, dtype=torch.float64)

    @property
    def mean(self) -> float:
        return sum(w * m for m, w in zip(self.means, self.weights))

    @property
    def std(self) -> float:
        second = sum(w * (s**2 + m**2) for m, s, w in zip(self.means, self.stds, self.weights))
        return math.sqrt(second - self.mean**2)


def mixture_eps_model(
    schedule: NoiseSchedule, mixture: GaussianMixture
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    r"""The exact noise predictor $\varepsilon^*(x_t, t) = \mathbb E[\varepsilon \mid x_t]$ for 1-D mixture data.

    Given the component $k$, $x_0 \sim \mathcal N(m_k, s_k^2)$ and the Gaussian answer of
    :func:`~diffusion_helpers.gaussian_eps_model` holds. Averaging it over the components with their
    posterior probabilities
    $r_k(x_t) \propto w_k\,\mathcal N(x_t; \sqrt{\bar\alpha_t}\,m_k, \bar\alpha_t s_k^2 + 1 - \bar\alpha_t)$ gives

    $\varepsilon^*(x_t, t) = \sum_k r_k(x_t)\,
    \dfrac{\sqrt{1-\bar\alpha_t}\,(x_t - \sqrt{\bar\alpha_t}\,m_k)}{\bar\alpha_t s_k^2 + 1 - \bar\alpha_t}$.

    Args:
        schedule: the variance schedule.
        mixture: the data distribution; each entry of ``x_t`` is one 1-D sample.

    Returns:
        A model ``model(x_t, t) -> eps`` following :func:`~diffusion_helpers.ddpm_sample`'s model contract.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(f"mixture must be a GaussianMixture, got {type(mixture).__name__}")
    alpha_bars = torch.cat([torch.ones(1, dtype=torch.float64), schedule.alpha_bars])  # [t] is alpha_bar_t
    m, s2 = torch.tensor(mixture.means), torch.tensor(mixture.stds) ** 2  # (K,), (K,)
    log_w = torch.tensor(mixture.weights).log()  # (K,)

    def eps_star(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        alpha_bar_t = alpha_bars[t.cpu()].to(x_t.device).view(-1, *(1,) * x_t.ndim)  # (B, 1, ..., 1)
        x = x_t.to(torch.float64).unsqueeze(-1)  # (B, ..., 1): one column per component below
        variance = alpha_bar_t * s2.to(x.device) + 1 - alpha_bar_t  # (B, ..., K): Var[x_t | k]
        centred = x - alpha_bar_t.sqrt() * m.to(x.device)  # $x_t - \sqrt{\bar\alpha_t} m_k$
        # $r_k(x_t)$: the posterior probability of component k, by Bayes in log space (stable far in the tails)
        r = torch.softmax(log_w.to(x.device) - 0.5 * variance.log() - centred**2 / (2 * variance), dim=-1)
        # $\varepsilon^* = \sum_k r_k\,\varepsilon^*_k$, the Gaussian answer of each component:
        # $\varepsilon^*_k = \sqrt{1-\bar\alpha_t}(x_t - \sqrt{\bar\alpha_t} m_k)/(\bar\alpha_t s_k^2 + 1-\bar\alpha_t)$
        eps = (r * (1 - alpha_bar_t).sqrt() * centred / variance).sum(dim=-1)
        return eps.to(x_t.dtype)

    eps_star.__qualname__ = eps_star.__name__ = f"mixture_eps_model({mixture!r})"
    return eps_star


def _check_grid(grid: object) -> float:
    """The spacing of an evenly spaced 1-D float grid (raises otherwise)."""
    if not isinstance(grid, torch.Tensor) or grid.ndim != 1 or grid.numel() < 3 or not grid.is_floating_point():
        raise ValueError("grid must be a 1-D floating tensor of at least 3 evenly spaced points (see make_grid)")
    steps = grid.diff()
    step = float(steps[0])
    if step <= 0 or not torch.allclose(steps, steps[0], rtol=1e-6, atol=0.0):
        raise ValueError("grid must be increasing and evenly spaced (see make_grid)")
    return step


def _check_density(name: str, density: object, grid: torch.Tensor) -> torch.Tensor:
    if not isinstance(density, torch.Tensor) or density.shape != grid.shape:
        raise ValueError(f"{name} must be a tensor of the grid's shape {tuple(grid.shape)}")
    density = density.to(torch.float64)
    if not bool(torch.isfinite(density).all()) or bool((density < 0).any()) or float(density.sum()) <= 0:
        raise ValueError(f"{name} must be finite, >= 0 and have some mass on the grid")
    return density
