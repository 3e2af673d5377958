r"""Variance (β) schedules of the forward process, and the quantities derived from them.

A schedule is the sequence $\beta_1, \dots, \beta_T$ of the per-step noise variances of Ho et al. 2020
(Eq. 2). Everything else follows from it:

- $\alpha_t = 1 - \beta_t$
- $\bar\alpha_t = \prod_{s=1}^{t} \alpha_s$ (the product stops at $t$, not at $T$), what diffusers calls
  ``alphas_cumprod``
- the signal-to-noise ratio of $x_t$, $\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$ (Kingma et al. 2021)

Timestep convention: ``t`` runs over ``1, ..., T``; element ``[t - 1]`` of every length-``T`` tensor
belongs to timestep ``t``. All schedules are computed in float64 on the CPU.

Each named schedule's parameters, with their defaults and allowed ranges, are in one table,
:data:`SCHEDULE_PARAMETERS`: ``make_schedule``, the public β functions and the schedule explorer's
sliders all read it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ._checks import check_bool, check_float, check_int

__all__ = [
    "MAX_NUM_TIMESTEPS",
    "SCHEDULE_NAMES",
    "SCHEDULE_PARAMETERS",
    "NoiseSchedule",
    "Parameter",
    "cosine_betas",
    "linear_betas",
    "make_schedule",
    "quadratic_betas",
    "rescale_zero_terminal_snr",
    "sigmoid_betas",
    "terminal_health",
    "timesteps_to_show",
]

MAX_NUM_TIMESTEPS = 100_000
"""The largest ``T`` a schedule may have (Ho et al. use 1,000; a larger ``T`` is almost surely a typo)."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a named schedule: its default, the values it may take, and a slider's range.

    Attributes:
        default: the value used when the parameter is not given.
        low, high: the allowed interval (``high=None`` for no upper bound).
        low_inclusive, high_inclusive: whether the interval includes its ends.
        slider_low, slider_high: the part of that interval the schedule explorer's slider offers.
        log_slider: whether the slider moves on a log scale (for values spanning decades, like β).
    """

    default: float
    low: float
    high: float | None
    low_inclusive: bool = False
    high_inclusive: bool = False
    slider_low: float = 0.0
    slider_high: float = 1.0
    log_slider: bool = False

    def check(self, name: str, value: object) -> float:
        """Return ``value`` as a float if it is allowed, else raise TypeError/ValueError naming ``name``."""
        return check_float(
            name,
            value,
            low=self.low,
            high=self.high,
            low_inclusive=self.low_inclusive,
            high_inclusive=self.high_inclusive,
        )


_BETA_1 = Parameter(1e-4, 0.0, 1.0, slider_low=1e-5, slider_high=1e-2, log_slider=True)
_BETA_T = Parameter(0.02, 0.0, 1.0, slider_low=1e-3, slider_high=0.999, log_slider=True)

SCHEDULE_PARAMETERS: dict[str, dict[str, Parameter]] = {
    "linear": {"beta_1": _BETA_1, "beta_T": _BETA_T},
    "quadratic": {"beta_1": _BETA_1, "beta_T": _BETA_T},
    "cosine": {
        "s": Parameter(0.008, 0.0, None, low_inclusive=True, slider_low=0.0, slider_high=0.2),
        "max_beta": Parameter(0.999, 0.0, 1.0, slider_low=0.5, slider_high=0.999),
    },
    "sigmoid": {"beta_1": _BETA_1, "beta_T": _BETA_T},
}
"""Every named schedule's parameters, as ``SCHEDULE_PARAMETERS[name][parameter]`` (a :class:`Parameter`)."""

SCHEDULE_NAMES: tuple[str, ...] = tuple(SCHEDULE_PARAMETERS)


class NoiseSchedule:
    r"""A read-only variance schedule $\beta_{1..T}$ with $\alpha$, $\bar\alpha$ and the SNR derived from it.

    Build one with :func:`make_schedule`, or from your own betas with :meth:`from_betas`. Its attributes
    are properties without setters, and every tensor property returns a fresh float64 tensor of length
    ``T`` (element ``[t - 1]`` is timestep ``t``), so nothing a caller does can change the schedule.
    Schedules can be copied and pickled; a checkpoint stores :meth:`state_dict`, which
    ``torch.load(..., weights_only=True)`` can read, and rebuilds the schedule with :meth:`from_state_dict`.

    Attributes:
        name: the schedule's name (``"linear"``, ``"cosine"``, ..., or ``"custom"``).
        params: the parameters it was built with (a copy: changing it changes nothing).
        num_timesteps: ``T``, the number of forward steps.
        zero_terminal_snr: whether $\bar\alpha_T$ was rescaled to exactly 0 (Lin et al. 2024).
    """

    def __init__(
        self,
        betas: torch.Tensor,
        *,
        name: str = "custom",
        params: dict[str, float] | None = None,
        zero_terminal_snr: bool = False,
    ) -> None:
        zero_terminal_snr = check_bool("zero_terminal_snr", zero_terminal_snr)
        self._betas = _check_betas(betas, zero_terminal_snr=zero_terminal_snr)
        # $\bar\alpha_t = \prod_{s=1}^t \alpha_s$
        self._alpha_bars = torch.cumprod(1.0 - self._betas, dim=0)
        self._name = str(name)
        self._params = dict(params or {})
        self._zero_terminal_snr = zero_terminal_snr

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

    def state_dict(self) -> dict[str, Any]:
        """Everything that defines the schedule, as plain tensors, strings, numbers and bools."""
        return {
            "betas": self.betas,
            "name": self._name,
            "params": dict(self._params),
            "zero_terminal_snr": self._zero_terminal_snr,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> NoiseSchedule:
        """The schedule :meth:`state_dict` describes (checked like any other schedule).

        Raises:
            TypeError, ValueError: if ``state`` is not such a dict or describes an invalid schedule.
        """
        if not isinstance(state, dict) or set(state) != {"betas", "name", "params", "zero_terminal_snr"}:
            raise ValueError("state must be a dict with keys betas, name, params, zero_terminal_snr (state_dict())")
        if not isinstance(state["params"], dict):
            raise TypeError(f"state['params'] must be a dict, got {type(state['params']).__name__}")
        return cls(
            state["betas"], name=state["name"], params=state["params"], zero_terminal_snr=state["zero_terminal_snr"]
        )

    def __len__(self) -> int:
        return self._betas.shape[0]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoiseSchedule):
            return NotImplemented
        same_betas = self._betas.shape == other._betas.shape and torch.equal(self._betas, other._betas)
        return same_betas and (self._name, self._params, self._zero_terminal_snr) == (
            other._name,
            other._params,
            other._zero_terminal_snr,
        )

    __hash__ = None  # type: ignore[assignment]  # equal schedules are not interchangeable dict keys

    def __repr__(self) -> str:
        params = "".join(f", {key}={value!r}" for key, value in self._params.items())
        rescaled = ", zero_terminal_snr=True" if self._zero_terminal_snr else ""
        return (
            f"NoiseSchedule({self._name!r}, T={len(self)}{params}{rescaled}, "
            f"alpha_bar_T={float(self._alpha_bars[-1]):.4g})"
        )

    @property
    def name(self) -> str:
        return self._name

    @property
    def params(self) -> dict[str, float]:
        return dict(self._params)

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
        r"""$\sqrt{\bar\alpha_t}$, how much of $x_0$ is left in $x_t$ (Eq. 4), shape ``(T,)``."""
        return self._alpha_bars.sqrt()

    @property
    def sqrt_one_minus_alpha_bars(self) -> torch.Tensor:
        r"""$\sqrt{1 - \bar\alpha_t}$, the standard deviation of the noise in $x_t$ (Eq. 4), shape ``(T,)``."""
        return (1.0 - self._alpha_bars).sqrt()

    @property
    def snr(self) -> torch.Tensor:
        r"""$\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$, shape ``(T,)``.

        It is 0 at ``T`` after a zero-SNR rescale.
        """
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

    Raises:
        TypeError, ValueError: as :func:`make_schedule` (``T`` in ``[1, MAX_NUM_TIMESTEPS]``, betas in (0, 1),
            ``beta_1 <= beta_T``).
    """
    num_timesteps, p = _check_schedule_args("linear", num_timesteps, {"beta_1": beta_1, "beta_T": beta_T})
    # $\beta_t = \beta_1 + \frac{t-1}{T-1}(\beta_T - \beta_1)$
    return torch.linspace(p["beta_1"], p["beta_T"], num_timesteps, dtype=torch.float64)


def quadratic_betas(num_timesteps: int, beta_1: float = 1e-4, beta_T: float = 0.02) -> torch.Tensor:
    r"""$\sqrt{\beta_t}$ increasing linearly from $\sqrt{\beta_1}$ to $\sqrt{\beta_T}$ (diffusers: ``scaled_linear``).

    Returns:
        float64 tensor of shape ``(T,)``.

    Raises:
        TypeError, ValueError: as :func:`linear_betas`.
    """
    num_timesteps, p = _check_schedule_args("quadratic", num_timesteps, {"beta_1": beta_1, "beta_T": beta_T})
    return torch.linspace(math.sqrt(p["beta_1"]), math.sqrt(p["beta_T"]), num_timesteps, dtype=torch.float64) ** 2


def cosine_betas(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    r"""Nichol & Dhariwal 2021, Eq. 17: the cosine schedule, $\bar\alpha(t) = f(t)/f(0)$.

    $f(t) = \cos^2\!\big(\tfrac{t/T + s}{1 + s}\tfrac{\pi}{2}\big)$ and
    $\beta_t = \min\big(1 - \bar\alpha(t)/\bar\alpha(t-1),\ \text{max\_beta}\big)$; the clip only bites at the
    last steps, where $f$ reaches 0. The schedule's ``alpha_bars`` are the product of the clipped alphas.

    Returns:
        float64 tensor of shape ``(T,)``.

    Raises:
        TypeError, ValueError: ``T`` outside ``[1, MAX_NUM_TIMESTEPS]``, ``s < 0``, ``max_beta`` outside (0, 1).
    """
    num_timesteps, p = _check_schedule_args("cosine", num_timesteps, {"s": s, "max_beta": max_beta})
    t = torch.arange(num_timesteps + 1, dtype=torch.float64)  # 0, 1, ..., T
    f = torch.cos((t / num_timesteps + p["s"]) / (1 + p["s"]) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=p["max_beta"])


def sigmoid_betas(num_timesteps: int, beta_1: float = 1e-4, beta_T: float = 0.02) -> torch.Tensor:
    r"""GeoDiff (Xu et al. 2022): $\beta_t = \beta_1 + (\beta_T - \beta_1)\,\sigma(\text{linspace}(-6, 6, T))$.

    Slow at both ends and fast in the middle; since $\sigma(\pm 6)$ is not exactly 0 or 1, the end values
    sit slightly inside ``[beta_1, beta_T]``.

    Returns:
        float64 tensor of shape ``(T,)``.

    Raises:
        TypeError, ValueError: as :func:`linear_betas`.
    """
    num_timesteps, p = _check_schedule_args("sigmoid", num_timesteps, {"beta_1": beta_1, "beta_T": beta_T})
    x = torch.linspace(-6, 6, num_timesteps, dtype=torch.float64)
    return p["beta_1"] + (p["beta_T"] - p["beta_1"]) * torch.sigmoid(x)


def rescale_zero_terminal_snr(schedule: NoiseSchedule) -> NoiseSchedule:
    r"""Lin et al. 2024, Algorithm 1: rescale a schedule so that $\bar\alpha_T = 0$ (zero terminal SNR).

    $\sqrt{\bar\alpha_t}$ is shifted so its last value is 0 and scaled so its first value is unchanged;
    then $\alpha_t = \bar\alpha_t / \bar\alpha_{t-1}$. The last step gets $\beta_T = 1$: $x_T$ is pure noise.

    Raises:
        TypeError: if ``schedule`` is not a :class:`NoiseSchedule`.
        ValueError: if ``T < 2`` (one step cannot be both kept and removed), or if $\bar\alpha_t$ already
            reaches 0 (in float64) before ``T``, so that no step is left to rescale.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    if len(schedule) < 2:
        raise ValueError(f"a zero-terminal-SNR rescale needs num_timesteps >= 2, got {len(schedule)}")
    if schedule.zero_terminal_snr:
        return schedule
    sqrt_alpha_bars = schedule.sqrt_alpha_bars
    first, last = float(sqrt_alpha_bars[0]), float(sqrt_alpha_bars[-1])
    # Only the last step may reach 0; an earlier zero would make alpha_t = 0 / 0.
    if float(sqrt_alpha_bars[-2]) - last <= 0.0:
        raise ValueError(
            f"this {schedule.name} schedule's alpha_bar_t reaches {float(schedule.alpha_bars[-2]):.3g} before t = T: "
            f"nothing is left to rescale; lower beta_T (or the number of timesteps {len(schedule)})"
        )
    sqrt_alpha_bars = (sqrt_alpha_bars - last) * (first / (first - last))
    alpha_bars = sqrt_alpha_bars**2
    alphas = torch.cat([alpha_bars[:1], alpha_bars[1:] / alpha_bars[:-1]])
    return NoiseSchedule(1 - alphas, name=schedule.name, params=schedule.params, zero_terminal_snr=True)


_BETA_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "linear": linear_betas,
    "quadratic": quadratic_betas,
    "cosine": cosine_betas,
    "sigmoid": sigmoid_betas,
}


def make_schedule(name: str, num_timesteps: int, *, zero_terminal_snr: bool = False, **params: float) -> NoiseSchedule:
    r"""Build a named variance schedule with ``T = num_timesteps`` steps.

    Schedules and their parameters (defaults and ranges in :data:`SCHEDULE_PARAMETERS`):

    - ``"linear"`` (Ho et al. 2020): ``beta_1`` [1e-4], ``beta_T`` [0.02]. These defaults were chosen for
      T = 1000; with fewer steps $\bar\alpha_T$ stays far from 0 (at T = 100 about 0.36).
    - ``"quadratic"``: ``beta_1`` [1e-4], ``beta_T`` [0.02] (diffusers' ``scaled_linear``).
    - ``"cosine"`` (Nichol & Dhariwal 2021): ``s`` [0.008], ``max_beta`` [0.999].
    - ``"sigmoid"`` (GeoDiff): ``beta_1`` [1e-4], ``beta_T`` [0.02].

    Args:
        name: one of :data:`SCHEDULE_NAMES`.
        num_timesteps: ``T``, in ``[1, MAX_NUM_TIMESTEPS]``.
        zero_terminal_snr: apply :func:`rescale_zero_terminal_snr` (Lin et al. 2024), so that $x_T$ is pure noise.
        **params: the schedule's parameters, as listed above.

    Returns:
        A :class:`NoiseSchedule` whose tensors have shape ``(T,)``.

    Raises:
        TypeError: ``name`` not a string, ``num_timesteps`` not an int, ``zero_terminal_snr`` not a bool, a
            parameter that is not a number or that the schedule does not take.
        ValueError: an unknown ``name``, ``T`` out of range, a beta outside (0, 1), ``beta_1 > beta_T``, a
            non-finite parameter, ``s < 0``.
    """
    zero_terminal_snr = check_bool("zero_terminal_snr", zero_terminal_snr)
    num_timesteps, params = _check_schedule_args(name, num_timesteps, params)
    schedule = NoiseSchedule(_BETA_FUNCTIONS[name](num_timesteps, **params), name=name, params=params)
    return rescale_zero_terminal_snr(schedule) if zero_terminal_snr else schedule


def terminal_health(schedule: NoiseSchedule) -> dict[str, Any]:
    r"""How close $x_T$ gets to pure noise: $\sqrt{\bar\alpha_T}$, $\mathrm{SNR}(T)$ and a verdict.

    $\sqrt{\bar\alpha_T}$ is the fraction of the image's amplitude still in $x_T$ (Eq. 4). Sampling starts
    from pure noise, so a schedule whose $x_T$ still shows the image trains on a start it never sees.

    Returns:
        ``{"sqrt_alpha_bar_T", "snr_T", "ok", "verdict"}``; ``ok`` when $\sqrt{\bar\alpha_T} \le 0.01$.
        ``snr_T`` is ``inf`` when $\bar\alpha_T$ rounds to 1 (betas too small to add any noise).

    Raises:
        TypeError: if ``schedule`` is not a :class:`NoiseSchedule`.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    alpha_bar_T = schedule.alpha_bar(len(schedule))
    signal = math.sqrt(alpha_bar_T)
    snr_T = math.inf if alpha_bar_T == 1.0 else alpha_bar_T / (1.0 - alpha_bar_T)
    if signal <= 0.01:
        verdict = f"x_T is noise: {100 * signal:.2g}% of the image's amplitude is left"
    else:
        verdict = f"x_T still carries {100 * signal:.0f}% of the image's amplitude: not noise yet"
    return {"sqrt_alpha_bar_T": signal, "snr_T": snr_T, "ok": signal <= 0.01, "verdict": verdict}


def timesteps_to_show(num_timesteps: int, count: int) -> list[int]:
    """``count`` timesteps spread evenly over ``[0, T]``, always including 0 and ``T``.

    Use it to choose which states of a trajectory to show: unlike stepping by ``T // count``, it never
    leaves out the last, noisiest state.

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if ``num_timesteps`` is not in ``[1, MAX_NUM_TIMESTEPS]`` or ``count`` not in ``[2, T + 1]``.
    """
    num_timesteps = check_int("num_timesteps", num_timesteps, minimum=1, maximum=MAX_NUM_TIMESTEPS)
    count = check_int("count", count, minimum=2, maximum=num_timesteps + 1)
    return [round(i * num_timesteps / (count - 1)) for i in range(count)]


def _check_schedule_args(
    name: object, num_timesteps: object, params: dict[str, object]
) -> tuple[int, dict[str, float]]:
    """Check a named schedule's arguments against :data:`SCHEDULE_PARAMETERS`; fill in the defaults."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {', '.join(SCHEDULE_NAMES)}; got {type(name).__name__}")
    if name not in SCHEDULE_PARAMETERS:
        raise ValueError(f"unknown schedule name {name!r}; valid names are: {', '.join(SCHEDULE_NAMES)}")
    num_timesteps = check_int("num_timesteps", num_timesteps, minimum=1, maximum=MAX_NUM_TIMESTEPS)
    table = SCHEDULE_PARAMETERS[name]
    unknown = sorted(set(params) - set(table))
    if unknown:
        raise TypeError(
            f"the {name} schedule takes the parameters {', '.join(table)}; got unexpected {', '.join(unknown)}"
        )
    checked = {key: spec.check(key, params.get(key, spec.default)) for key, spec in table.items()}
    if "beta_1" in checked and checked["beta_1"] > checked["beta_T"]:
        raise ValueError(
            f"the {name} schedule needs beta_1 <= beta_T, "
            f"got beta_1={checked['beta_1']:g} > beta_T={checked['beta_T']:g}"
        )
    return num_timesteps, checked


def _check_betas(betas: object, *, zero_terminal_snr: bool) -> torch.Tensor:
    if not isinstance(betas, torch.Tensor):
        raise TypeError(f"betas must be a torch.Tensor, got {type(betas).__name__}")
    if betas.ndim != 1 or betas.numel() == 0:
        raise ValueError(f"betas must be a non-empty 1-D tensor, got shape {tuple(betas.shape)}")
    if betas.numel() > MAX_NUM_TIMESTEPS:
        raise ValueError(f"a schedule has at most MAX_NUM_TIMESTEPS = {MAX_NUM_TIMESTEPS} betas, got {betas.numel()}")
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
