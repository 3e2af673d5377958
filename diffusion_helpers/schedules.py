r"""Variance (β) schedules of the forward process, and the quantities derived from them.

A schedule is the sequence $\beta_1, \dots, \beta_T$ of the per-step noise variances of Ho et al. 2020
(Eq. 2). Everything else follows from it:

- $\alpha_t = 1 - \beta_t$
- $\bar\alpha_t = \prod_{s=1}^{t} \alpha_s$ (the product stops at $t$, not at $T$), what diffusers calls
  ``alphas_cumprod``
- the signal-to-noise ratio of $x_t$, $\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$ (Kingma et al. 2021)

Timestep convention: ``t`` runs over ``1, ..., T``; element ``[t - 1]`` of every length-``T`` tensor
belongs to timestep ``t``. All schedules are computed in float64 on the CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import torch

from ._checks import check_float, check_int

__all__ = [
    "SCHEDULE_NAMES",
    "NoiseSchedule",
    "cosine_betas",
    "linear_betas",
    "make_schedule",
    "quadratic_betas",
    "rescale_zero_terminal_snr",
    "sigmoid_betas",
    "spaced_timesteps",
    "terminal_health",
]


class NoiseSchedule:
    r"""An immutable variance schedule $\beta_{1..T}$ with $\alpha$, $\bar\alpha$ and the SNR derived from it.

    Build one with :func:`make_schedule`, or from your own betas with :meth:`from_betas`. Every tensor
    property returns a fresh float64 tensor of length ``T`` (element ``[t - 1]`` is timestep ``t``), so
    changing it in place cannot corrupt the schedule.

    Attributes:
        name: the schedule's name (``"linear"``, ``"cosine"``, ..., or ``"custom"``).
        params: the parameters it was built with (read-only mapping).
        num_timesteps: ``T``, the number of forward steps.
        zero_terminal_snr: whether $\bar\alpha_T$ was rescaled to exactly 0 (Lin et al. 2024).
    """

    __slots__ = ("_alpha_bars", "_betas", "_by_t", "_by_t_cache", "_name", "_params", "_zero_terminal_snr")

    def __init__(
        self,
        betas: torch.Tensor,
        *,
        name: str = "custom",
        params: Mapping[str, Any] | None = None,
        zero_terminal_snr: bool = False,
    ) -> None:
        betas = _check_betas(betas, zero_terminal_snr=zero_terminal_snr)
        set_ = object.__setattr__
        set_(self, "_name", str(name))
        set_(self, "_params", MappingProxyType(dict(params or {})))
        set_(self, "_betas", betas)
        # $\bar\alpha_t = \prod_{s=1}^t \alpha_s$: always recomputed from the (possibly clipped) betas.
        set_(self, "_alpha_bars", torch.cumprod(1.0 - betas, dim=0))
        set_(self, "_zero_terminal_snr", bool(zero_terminal_snr))
        # Coefficient pairs of the forward process, each indexed by the timestep t in 0..T (length T + 1).
        # Index 0 is t = 0: no step taken, alpha_bar_0 = 1.
        alpha_bars_0 = torch.cat([torch.ones(1, dtype=torch.float64), self._alpha_bars])
        alphas_0 = torch.cat([torch.ones(1, dtype=torch.float64), 1.0 - betas])
        pairs = {
            "step": (alphas_0.sqrt(), torch.cat([torch.zeros(1, dtype=torch.float64), betas]).sqrt()),  # Eq. 2
            "sample": (alpha_bars_0.sqrt(), (1.0 - alpha_bars_0).sqrt()),  # Eq. 4: sqrt(alpha_bar_t), sqrt(1 - alpha_bar_t)
            "mean_variance": (alpha_bars_0.sqrt(), 1.0 - alpha_bars_0),  # Eq. 4: mean factor and variance
        }
        set_(self, "_by_t", MappingProxyType({key: torch.stack(pair) for key, pair in pairs.items()}))  # (2, T + 1)
        set_(self, "_by_t_cache", {})  # the tables above in other dtypes/devices, made on first use

    @classmethod
    def from_betas(cls, betas: torch.Tensor | list[float], *, name: str = "custom") -> NoiseSchedule:
        """A schedule from explicit betas (a 1-D sequence with every value in (0, 1)).

        Raises:
            TypeError: if ``betas`` is not a tensor or a sequence of numbers.
            ValueError: if it is empty, not 1-D, not finite, or has a value outside (0, 1).
        """
        if not isinstance(betas, torch.Tensor):
            try:
                betas = torch.as_tensor(betas, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError) as error:
                raise TypeError(f"betas must be a 1-D tensor or a sequence of numbers ({error})") from None
        return cls(betas, name=name)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("NoiseSchedule is immutable: build a new one with make_schedule(...)")

    def __delattr__(self, key: str) -> None:
        raise AttributeError("NoiseSchedule is immutable")

    def __len__(self) -> int:
        return self._betas.shape[0]

    def __repr__(self) -> str:
        params = "".join(f", {key}={value!r}" for key, value in self._params.items())
        rescaled = ", zero_terminal_snr=True" if self._zero_terminal_snr else ""
        return (
            f"NoiseSchedule({self._name!r}, T={len(self)}{params}{rescaled}, "
            f"alpha_bar_T={float(self._alpha_bars[-1]):.4g})"
        )

    def _coefficient_table(self, key: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """A ``(2, T + 1)`` coefficient table of the forward process (column ``t``) in a dtype and device, cached.

        The cache only holds conversions of immutable data, so it cannot change what the schedule means.
        """
        table = self._by_t_cache.get((key, dtype, device))
        if table is None:
            table = self._by_t[key].to(device=device, dtype=dtype)
            self._by_t_cache[(key, dtype, device)] = table
        return table

    @property
    def name(self) -> str:
        return self._name

    @property
    def params(self) -> Mapping[str, Any]:
        return self._params

    @property
    def num_timesteps(self) -> int:
        return len(self)

    @property
    def zero_terminal_snr(self) -> bool:
        return self._zero_terminal_snr

    @property
    def betas(self) -> torch.Tensor:
        r"""$\beta_t$, shape ``(T,)``."""
        return self._betas.clone()

    @property
    def alphas(self) -> torch.Tensor:
        r"""$\alpha_t = 1 - \beta_t$, shape ``(T,)``."""
        return 1.0 - self._betas

    @property
    def alpha_bars(self) -> torch.Tensor:
        r"""$\bar\alpha_t = \prod_{s=1}^t \alpha_s$ (diffusers' ``alphas_cumprod``), shape ``(T,)``."""
        return self._alpha_bars.clone()

    @property
    def sqrt_alpha_bars(self) -> torch.Tensor:
        r"""$\sqrt{\bar\alpha_t}$: how much of $x_0$ is left in $x_t$ (Eq. 4), shape ``(T,)``."""
        return self._alpha_bars.sqrt()

    @property
    def sqrt_one_minus_alpha_bars(self) -> torch.Tensor:
        r"""$\sqrt{1 - \bar\alpha_t}$: the standard deviation of the noise in $x_t$ (Eq. 4), shape ``(T,)``."""
        return (1.0 - self._alpha_bars).sqrt()

    @property
    def snr(self) -> torch.Tensor:
        r"""$\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$, shape ``(T,)``; 0 at ``T`` after a zero-SNR rescale."""
        return self._alpha_bars / (1.0 - self._alpha_bars)

    @property
    def log_snr(self) -> torch.Tensor:
        r"""$\log \mathrm{SNR}(t)$ (natural log), shape ``(T,)``; ``-inf`` where the SNR is 0."""
        return torch.log(self._alpha_bars) - torch.log1p(-self._alpha_bars)

    def alpha_bar(self, t: int) -> float:
        r"""$\bar\alpha_t$ for one timestep ``t`` in ``[0, T]``, with $\bar\alpha_0 = 1$ (the empty product).

        Raises:
            TypeError: if ``t`` is not an int.
            ValueError: if ``t`` is outside ``[0, T]``.
        """
        t = check_int("t", t, minimum=0, maximum=len(self))
        return 1.0 if t == 0 else float(self._alpha_bars[t - 1])


def linear_betas(num_timesteps: int, beta_1: float = 1e-4, beta_T: float = 0.02) -> torch.Tensor:
    r"""Ho et al. 2020, Sec. 4: $\beta_t$ increasing linearly from ``beta_1`` to ``beta_T``.

    Returns:
        float64 tensor of shape ``(T,)``.
    """
    # $\beta_t = \beta_1 + \frac{t-1}{T-1}(\beta_T - \beta_1)$
    return torch.linspace(beta_1, beta_T, num_timesteps, dtype=torch.float64)


def quadratic_betas(num_timesteps: int, beta_1: float = 1e-4, beta_T: float = 0.02) -> torch.Tensor:
    r"""$\sqrt{\beta_t}$ increasing linearly from $\sqrt{\beta_1}$ to $\sqrt{\beta_T}$ (diffusers: ``scaled_linear``).

    Returns:
        float64 tensor of shape ``(T,)``.
    """
    return torch.linspace(math.sqrt(beta_1), math.sqrt(beta_T), num_timesteps, dtype=torch.float64) ** 2


def cosine_betas(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    r"""Nichol & Dhariwal 2021, Eq. 17: $\bar\alpha(t) = f(t)/f(0)$ with $f(t) = \cos^2\!\big(\tfrac{t/T + s}{1 + s}\tfrac{\pi}{2}\big)$.

    $\beta_t = \min\big(1 - \bar\alpha(t)/\bar\alpha(t-1),\ \text{max\_beta}\big)$; the clip only bites at the
    last steps, where $f$ reaches 0. The schedule's ``alpha_bars`` are the product of the clipped alphas.

    Returns:
        float64 tensor of shape ``(T,)``.
    """
    t = torch.arange(num_timesteps + 1, dtype=torch.float64)  # 0, 1, ..., T
    f = torch.cos((t / num_timesteps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=max_beta)


def sigmoid_betas(num_timesteps: int, beta_1: float = 1e-4, beta_T: float = 0.02) -> torch.Tensor:
    r"""GeoDiff (Xu et al. 2022): $\beta_t = \beta_1 + (\beta_T - \beta_1)\,\sigma(\text{linspace}(-6, 6, T))$.

    Slow at both ends and fast in the middle; since $\sigma(\pm 6)$ is not exactly 0 or 1, the end values
    sit slightly inside ``[beta_1, beta_T]``.

    Returns:
        float64 tensor of shape ``(T,)``.
    """
    return beta_1 + (beta_T - beta_1) * torch.sigmoid(torch.linspace(-6, 6, num_timesteps, dtype=torch.float64))


def rescale_zero_terminal_snr(schedule: NoiseSchedule) -> NoiseSchedule:
    r"""Lin et al. 2024, Algorithm 1: rescale a schedule so that $\bar\alpha_T = 0$ (zero terminal SNR).

    $\sqrt{\bar\alpha_t}$ is shifted so its last value is 0 and scaled so its first value is unchanged;
    then $\alpha_t = \bar\alpha_t / \bar\alpha_{t-1}$. The last step gets $\beta_T = 1$: $x_T$ is pure noise.

    Raises:
        TypeError: if ``schedule`` is not a :class:`NoiseSchedule`.
        ValueError: if ``T < 2`` (one step cannot be both kept and removed).
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    if len(schedule) < 2:
        raise ValueError(f"a zero-terminal-SNR rescale needs num_timesteps >= 2, got {len(schedule)}")
    if schedule.zero_terminal_snr:
        return schedule
    sqrt_alpha_bars = schedule.sqrt_alpha_bars
    first, last = sqrt_alpha_bars[0].clone(), sqrt_alpha_bars[-1].clone()
    sqrt_alpha_bars = (sqrt_alpha_bars - last) * (first / (first - last))
    alpha_bars = sqrt_alpha_bars**2
    alphas = torch.cat([alpha_bars[:1], alpha_bars[1:] / alpha_bars[:-1]])
    return NoiseSchedule(1 - alphas, name=schedule.name, params=schedule.params, zero_terminal_snr=True)


def _check_range_params(name: str, beta_1: object, beta_T: object) -> dict[str, float]:
    beta_1 = check_float("beta_1", beta_1, low=0.0, high=1.0)
    beta_T = check_float("beta_T", beta_T, low=0.0, high=1.0)
    if beta_1 > beta_T:
        raise ValueError(f"the {name} schedule needs beta_1 <= beta_T, got beta_1={beta_1:g} > beta_T={beta_T:g}")
    return {"beta_1": beta_1, "beta_T": beta_T}


def _check_cosine_params(s: object, max_beta: object) -> dict[str, float]:
    return {
        "s": check_float("s", s, low=0.0, low_inclusive=True),
        "max_beta": check_float("max_beta", max_beta, low=0.0, high=1.0),
    }


# name -> (function computing the betas, its default parameters, the check of its parameters)
_SCHEDULES: dict[str, tuple[Callable[..., torch.Tensor], dict[str, float], Callable[..., dict[str, float]]]] = {
    "linear": (linear_betas, {"beta_1": 1e-4, "beta_T": 0.02}, lambda **p: _check_range_params("linear", **p)),
    "quadratic": (quadratic_betas, {"beta_1": 1e-4, "beta_T": 0.02}, lambda **p: _check_range_params("quadratic", **p)),
    "cosine": (cosine_betas, {"s": 0.008, "max_beta": 0.999}, _check_cosine_params),
    "sigmoid": (sigmoid_betas, {"beta_1": 1e-4, "beta_T": 0.02}, lambda **p: _check_range_params("sigmoid", **p)),
}
SCHEDULE_NAMES: tuple[str, ...] = tuple(_SCHEDULES)


def make_schedule(name: str, num_timesteps: int, *, zero_terminal_snr: bool = False, **params: float) -> NoiseSchedule:
    r"""Build a named variance schedule with ``T = num_timesteps`` steps.

    Schedules and their parameters (defaults in brackets):

    - ``"linear"`` (Ho et al. 2020): ``beta_1`` [1e-4], ``beta_T`` [0.02]. These defaults were chosen for
      T = 1000; with fewer steps $\bar\alpha_T$ stays far from 0 (at T = 100 about 0.36).
    - ``"quadratic"``: ``beta_1`` [1e-4], ``beta_T`` [0.02] (diffusers' ``scaled_linear``).
    - ``"cosine"`` (Nichol & Dhariwal 2021): ``s`` [0.008], ``max_beta`` [0.999].
    - ``"sigmoid"`` (GeoDiff): ``beta_1`` [1e-4], ``beta_T`` [0.02].

    Args:
        name: one of :data:`SCHEDULE_NAMES`.
        num_timesteps: ``T >= 1``.
        zero_terminal_snr: apply :func:`rescale_zero_terminal_snr` (Lin et al. 2024), so that $x_T$ is pure noise.
        **params: the schedule's parameters, as listed above.

    Returns:
        A :class:`NoiseSchedule` whose tensors have shape ``(T,)``.

    Raises:
        TypeError: ``name`` not a string, ``num_timesteps`` not an int, a parameter that is not a number or
            that the schedule does not take.
        ValueError: an unknown ``name``, ``T < 1``, a beta outside (0, 1), ``beta_1 > beta_T``, a non-finite
            parameter, ``s < 0``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {', '.join(SCHEDULE_NAMES)}; got {type(name).__name__}")
    if name not in _SCHEDULES:
        raise ValueError(f"unknown schedule name {name!r}; valid names are: {', '.join(SCHEDULE_NAMES)}")
    num_timesteps = check_int("num_timesteps", num_timesteps, minimum=1)
    betas_fn, defaults, check = _SCHEDULES[name]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise TypeError(
            f"the {name} schedule takes the parameters {', '.join(defaults)}; got unexpected {', '.join(unknown)}"
        )
    params = check(**{**defaults, **params})
    schedule = NoiseSchedule(betas_fn(num_timesteps, **params), name=name, params=params)
    return rescale_zero_terminal_snr(schedule) if zero_terminal_snr else schedule


def terminal_health(schedule: NoiseSchedule) -> dict[str, Any]:
    r"""How close $x_T$ gets to pure noise: $\sqrt{\bar\alpha_T}$, $\mathrm{SNR}(T)$ and a verdict.

    $\sqrt{\bar\alpha_T}$ is the fraction of the image's amplitude still in $x_T$ (Eq. 4). Sampling starts
    from pure noise, so a schedule whose $x_T$ still shows the image trains on a start it never sees.

    Returns:
        ``{"sqrt_alpha_bar_T", "snr_T", "ok", "verdict"}``; ``ok`` when $\sqrt{\bar\alpha_T} \le 0.01$.

    Raises:
        TypeError: if ``schedule`` is not a :class:`NoiseSchedule`.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    alpha_bar_T = schedule.alpha_bar(len(schedule))
    signal = math.sqrt(alpha_bar_T)
    snr_T = alpha_bar_T / (1.0 - alpha_bar_T)
    if signal <= 0.01:
        verdict = f"x_T is noise: {100 * signal:.2g}% of the image's amplitude is left"
    else:
        verdict = f"x_T still carries {100 * signal:.0f}% of the image's amplitude: not noise yet"
    return {"sqrt_alpha_bar_T": signal, "snr_T": snr_T, "ok": signal <= 0.01, "verdict": verdict}


def spaced_timesteps(num_timesteps: int, count: int) -> list[int]:
    """``count`` timesteps spread evenly over ``[0, T]``, always including 0 and ``T``.

    Use it to choose which states of a trajectory to show: unlike stepping by ``T // count``, it never
    leaves out the last, noisiest state.

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if ``num_timesteps < 1`` or ``count`` is not in ``[2, T + 1]``.
    """
    num_timesteps = check_int("num_timesteps", num_timesteps, minimum=1)
    count = check_int("count", count, minimum=2, maximum=num_timesteps + 1)
    return [round(i * num_timesteps / (count - 1)) for i in range(count)]


def _check_betas(betas: object, *, zero_terminal_snr: bool) -> torch.Tensor:
    if not isinstance(betas, torch.Tensor):
        raise TypeError(f"betas must be a torch.Tensor, got {type(betas).__name__}")
    if betas.ndim != 1 or betas.numel() == 0:
        raise ValueError(f"betas must be a non-empty 1-D tensor, got shape {tuple(betas.shape)}")
    if betas.is_complex() or betas.dtype == torch.bool:
        raise TypeError(f"betas must be real numbers, got dtype {betas.dtype}")
    betas = betas.detach().to("cpu", torch.float64).clone()
    if not torch.isfinite(betas).all():
        raise ValueError("betas must be finite, got NaN or inf")
    body = betas[:-1] if zero_terminal_snr else betas
    if (body <= 0).any() or (body >= 1).any():
        bad = int(torch.nonzero((body <= 0) | (body >= 1))[0]) + 1
        raise ValueError(
            f"every beta must be in (0, 1), got beta_{bad} = {float(betas[bad - 1]):g}; "
            f"for few timesteps, lower beta_T (or raise it for many)"
        )
    if zero_terminal_snr and float(betas[-1]) != 1.0:
        raise ValueError(f"a zero-terminal-SNR schedule ends with beta_T = 1, got {float(betas[-1]):g}")
    return betas
