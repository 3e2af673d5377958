r"""The forward (noising) process q of Ho et al. 2020: one Markov step, the closed form, a whole trajectory.

- One step, Eq. 2: $q(x_t \mid x_{t-1}) = \mathcal N\big(x_t;\ \sqrt{1-\beta_t}\,x_{t-1},\ \beta_t I\big)$,
  sampled as $x_t = \sqrt{\alpha_t}\,x_{t-1} + \sqrt{\beta_t}\,\varepsilon$.
- Closed form, Eq. 4: $q(x_t \mid x_0) = \mathcal N\big(x_t;\ \sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t) I\big)$,
  sampled as $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon$ (diffusers: ``add_noise``).

Timestep convention: ``t`` in ``1, ..., T`` for a step; ``t`` in ``0, ..., T`` for the closed form, where
``t = 0`` means the data itself. ``t`` is an int (the same for the whole tensor) or a 1-D integer tensor of
per-sample timesteps, one for each entry of the batch dimension 0. Randomness is explicit: pass ``noise``
to fix it, or a ``torch.Generator`` to draw it reproducibly.
"""

from __future__ import annotations

import torch

from ._checks import check_float_tensor, check_generator, check_int, check_noise
from .schedules import NoiseSchedule

__all__ = ["MAX_TRAJECTORY_VALUES", "at_timestep", "forward_trajectory", "q_mean_variance", "q_sample", "q_step"]

MAX_TRAJECTORY_VALUES = 2**28
"""The most values :func:`forward_trajectory` will hold, ``(T + 1) * x0.numel()`` (1 GiB in float32)."""


def q_step(
    x_prev: torch.Tensor,
    t: int | torch.Tensor,
    schedule: NoiseSchedule,
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""One Markov step $x_{t-1} \to x_t$ of the forward process (Ho et al. 2020, Eq. 2).

    $x_t = \sqrt{1 - \beta_t}\,x_{t-1} + \sqrt{\beta_t}\,\varepsilon$, $\varepsilon \sim \mathcal N(0, I)$.

    Args:
        x_prev: $x_{t-1}$, a floating tensor of any shape, e.g. ``(B, C, H, W)``.
        t: the timestep being produced, in ``[1, T]``: an int, or a 1-D integer tensor of shape ``(B,)``.
        schedule: the variance schedule.
        noise: $\varepsilon$, same shape, dtype and device as ``x_prev``; drawn from ``generator`` if None.
        generator: the random generator for ``noise``.

    Returns:
        $x_t$, same shape, dtype and device as ``x_prev``.

    Raises:
        TypeError: wrong types (non-float ``x_prev``, non-integer ``t``, ``noise`` of another dtype, a
            ``generator`` that is not a ``torch.Generator``).
        ValueError: ``t`` outside ``[1, T]``, per-sample ``t`` not matching dim 0, ``noise`` of another shape.
    """
    x_prev, t, noise = _check_inputs("x_prev", x_prev, t, schedule, noise, generator, minimum_t=1)
    if noise is None:
        noise = torch.randn(x_prev.shape, generator=generator, dtype=x_prev.dtype, device=x_prev.device)
    sqrt_alpha_t = at_timestep(schedule.alphas.sqrt(), t, x_prev)  # (), or (B, 1, ..., 1) for per-sample t
    sqrt_beta_t = at_timestep(schedule.betas.sqrt(), t, x_prev)
    # $x_t = \sqrt{\alpha_t}\,x_{t-1} + \sqrt{\beta_t}\,\varepsilon$  (a.addcmul_(b, c): a += b * c)
    return (sqrt_alpha_t * x_prev).addcmul_(sqrt_beta_t, noise)


def q_sample(
    x0: torch.Tensor,
    t: int | torch.Tensor,
    schedule: NoiseSchedule,
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Sample $x_t \sim q(x_t \mid x_0)$ in one shot (Ho et al. 2020, Eq. 4).

    $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1 - \bar\alpha_t}\,\varepsilon$, $\varepsilon \sim \mathcal N(0, I)$.

    Args:
        x0: the data $x_0$, a floating tensor, e.g. ``(B, C, H, W)`` in [-1, 1].
        t: in ``[0, T]``: an int, or a 1-D integer tensor of shape ``(B,)`` (one timestep per sample on dim 0).
            ``t = 0`` gives back ``x0`` (for an int ``t = 0``, as a copy and without drawing noise).
        schedule: the variance schedule.
        noise: $\varepsilon$, same shape, dtype and device as ``x0``; drawn from ``generator`` if None.
        generator: the random generator for ``noise``.

    Returns:
        $x_t$, same shape, dtype and device as ``x0``.

    Raises:
        TypeError: wrong types (non-float ``x0``, non-integer ``t``, ``noise`` of another dtype, a
            ``generator`` that is not a ``torch.Generator``).
        ValueError: ``t`` outside ``[0, T]``, per-sample ``t`` not matching dim 0, ``noise`` of another shape.
    """
    x0, t, noise = _check_inputs("x0", x0, t, schedule, noise, generator, minimum_t=0)
    if isinstance(t, int) and t == 0:
        return x0.clone()
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    sqrt_alpha_bar_t = at_timestep(schedule.sqrt_alpha_bars, t, x0, at_zero=1.0)  # (), or (B, 1, ..., 1)
    sqrt_one_minus_alpha_bar_t = at_timestep(schedule.sqrt_one_minus_alpha_bars, t, x0, at_zero=0.0)
    # $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon$  (a.addcmul_(b, c): a += b * c)
    return (sqrt_alpha_bar_t * x0).addcmul_(sqrt_one_minus_alpha_bar_t, noise)


def q_mean_variance(
    x0: torch.Tensor, t: int | torch.Tensor, schedule: NoiseSchedule
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and variance of $q(x_t \mid x_0)$ (Eq. 4): $\sqrt{\bar\alpha_t}\,x_0$ and $(1 - \bar\alpha_t)$.

    Args:
        x0: the data, a floating tensor.
        t: in ``[0, T]``, an int or a 1-D integer tensor of shape ``(B,)``.
        schedule: the variance schedule.

    Returns:
        ``(mean, variance)``: the mean has ``x0``'s shape; the variance is the same in every dimension
        (the covariance is $(1-\bar\alpha_t) I$) and broadcasts against it: shape ``()`` for an int ``t``,
        ``(B, 1, ..., 1)`` for a tensor ``t``. Both in ``x0``'s dtype and device.

    Raises:
        TypeError, ValueError: as :func:`q_sample`.
    """
    x0, t, _ = _check_inputs("x0", x0, t, schedule, None, None, minimum_t=0)
    sqrt_alpha_bar_t = at_timestep(schedule.sqrt_alpha_bars, t, x0, at_zero=1.0)
    one_minus_alpha_bar_t = at_timestep(1.0 - schedule.alpha_bars, t, x0, at_zero=0.0)
    return sqrt_alpha_bar_t * x0, one_minus_alpha_bar_t


def forward_trajectory(
    x0: torch.Tensor,
    schedule: NoiseSchedule,
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""One true trajectory $x_0, x_1, \dots, x_T$ of the Markov chain: :func:`q_step` (Eq. 2), ``T`` times.

    Each step draws fresh noise, in order, so a seeded ``generator`` gives the same trajectory as calling
    :func:`q_step` ``T`` times with it. This is $O(T)$; :func:`q_sample` reaches any one $x_t$ in $O(1)$.

    Args:
        x0: the data, a floating tensor of any shape.
        schedule: the variance schedule, with ``T`` steps.
        noise: optional $\varepsilon_1, \dots, \varepsilon_T$, shape ``(T, *x0.shape)``: step ``t`` uses
            ``noise[t - 1]``.
        generator: the random generator for the noise (when ``noise`` is None).

    Returns:
        Tensor of shape ``(T + 1, *x0.shape)``: element ``[t]`` is $x_t$, and ``[0]`` equals ``x0``.

    Raises:
        TypeError: non-float ``x0`` or ``noise``, ``schedule`` not a NoiseSchedule, a bad ``generator``.
        ValueError: ``noise`` of the wrong shape; a trajectory of more than ``MAX_TRAJECTORY_VALUES`` values.
    """
    check_float_tensor("x0", x0)
    _check_schedule(schedule)
    check_generator(generator)
    T = len(schedule)
    size = (T + 1) * x0.numel()
    if size > MAX_TRAJECTORY_VALUES:
        raise ValueError(
            f"a trajectory of T + 1 = {T + 1} states of {x0.numel()} values holds {size} values, more than "
            f"MAX_TRAJECTORY_VALUES = {MAX_TRAJECTORY_VALUES}: use a smaller x0 or fewer timesteps, or q_sample"
        )
    if noise is not None:
        check_noise(noise, x0.expand(T, *x0.shape), "noise")  # a view with the trajectory's shape: no copy
    trajectory = torch.empty((T + 1, *x0.shape), dtype=x0.dtype, device=x0.device)  # (T + 1, *x0.shape)
    trajectory[0] = x0
    for t in range(1, T + 1):
        eps = None if noise is None else noise[t - 1]
        trajectory[t] = q_step(trajectory[t - 1], t, schedule, noise=eps, generator=generator)  # Eq. 2
    return trajectory


def at_timestep(
    per_step: torch.Tensor, t: int | torch.Tensor, x: torch.Tensor, *, at_zero: float | None = None
) -> torch.Tensor:
    """Timestep ``t``'s entry ``per_step[t - 1]`` of a length-``T`` schedule tensor, ready to multiply ``x``.

    Args:
        per_step: a schedule tensor of shape ``(T,)`` such as ``schedule.sqrt_alpha_bars``.
        t: an int, or a 1-D CPU integer tensor of per-sample timesteps (one per entry of ``x``'s dim 0).
        x: the tensor the value will multiply; the result takes its dtype and device.
        at_zero: the value at ``t = 0`` (for example $\\bar\\alpha_0 = 1$); without it, ``t`` must be ``>= 1``.

    Returns:
        shape ``()`` for an int ``t``; ``(B, 1, ..., 1)`` for per-sample ``t``, so it broadcasts over each sample.
    """
    if at_zero is not None:
        per_step = torch.cat([per_step.new_tensor([at_zero]), per_step])  # index t now gives timestep t
        value = per_step[t]
    else:
        value = per_step[t - 1]
    value = value.to(dtype=x.dtype, device=x.device)
    return value if isinstance(t, int) else value.view(-1, *([1] * (x.ndim - 1)))


def _check_schedule(schedule: object) -> None:
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")


def _check_inputs(
    name: str, x: object, t: object, schedule: object, noise: object, generator: object, *, minimum_t: int
) -> tuple[torch.Tensor, int | torch.Tensor, torch.Tensor | None]:
    """Check the common arguments; a tensor ``t`` comes back as a 1-D CPU ``long`` tensor."""
    x = check_float_tensor(name, x)
    _check_schedule(schedule)
    check_generator(generator)
    assert isinstance(schedule, NoiseSchedule)
    T = len(schedule)
    if isinstance(t, torch.Tensor) and t.ndim == 0:
        t = t.item()
    if isinstance(t, torch.Tensor):
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise TypeError(f"t must be an int or an integer tensor (e.g. torch.long), got dtype {t.dtype}")
        if t.ndim != 1 or x.ndim == 0 or t.shape[0] != x.shape[0]:
            raise ValueError(
                f"a tensor t must be 1-D with one timestep per sample of {name}'s dim 0 "
                f"(shape ({x.shape[0] if x.ndim else 0},)), got shape {tuple(t.shape)}"
            )
        t = t.to("cpu", torch.long)
        if t.numel():
            lowest, highest = (int(v) for v in torch.aminmax(t))
            if lowest < minimum_t or highest > T:
                bad = lowest if lowest < minimum_t else highest
                raise ValueError(f"every t must be in [{minimum_t}, {T}] (T = {T}), got {bad}")
    else:
        t = check_int("t", t, minimum=minimum_t, maximum=T)
    if noise is not None:
        noise = check_noise(noise, x)
    return x, t, noise
