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

from ._checks import check_float_tensor, check_int, check_noise
from .schedules import NoiseSchedule

__all__ = ["forward_trajectory", "q_mean_variance", "q_sample", "q_step"]



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
        TypeError: wrong types (non-float ``x_prev``, non-integer ``t``, ``noise`` of another dtype).
        ValueError: ``t`` outside ``[1, T]``, per-sample ``t`` not matching dim 0, ``noise`` of another shape.
    """
    x_prev, t, noise = _check_inputs("x_prev", x_prev, t, schedule, noise, minimum_t=1)
    sqrt_alpha, sqrt_beta = _coefficients(schedule, "step", t, x_prev)
    noise = _draw_noise(x_prev, noise, generator)
    return _scaled_sum(sqrt_alpha, x_prev, sqrt_beta, noise)


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
        TypeError: wrong types (non-float ``x0``, non-integer ``t``, ``noise`` of another dtype).
        ValueError: ``t`` outside ``[0, T]``, per-sample ``t`` not matching dim 0, ``noise`` of another shape.
    """
    x0, t, noise = _check_inputs("x0", x0, t, schedule, noise, minimum_t=0)
    if isinstance(t, int) and t == 0:
        return x0.clone()
    sqrt_alpha_bar, sqrt_one_minus_alpha_bar = _coefficients(schedule, "sample", t, x0)
    noise = _draw_noise(x0, noise, generator)
    return _scaled_sum(sqrt_alpha_bar, x0, sqrt_one_minus_alpha_bar, noise)


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
    x0, t, _ = _check_inputs("x0", x0, t, schedule, None, minimum_t=0)
    sqrt_alpha_bar, one_minus_alpha_bar = _coefficients(schedule, "mean_variance", t, x0)
    mean = x0 * sqrt_alpha_bar
    return mean, torch.as_tensor(one_minus_alpha_bar, dtype=x0.dtype, device=x0.device)


def forward_trajectory(
    x0: torch.Tensor,
    schedule: NoiseSchedule,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""One true trajectory $x_0, x_1, \dots, x_T$ of the Markov chain, step by step with :func:`q_step`.

    Each step draws fresh noise, in order, so a seeded ``generator`` gives the same trajectory as calling
    :func:`q_step` ``T`` times with it. This is $O(T)$; :func:`q_sample` reaches any one $x_t$ in $O(1)$.

    Args:
        x0: the data, a floating tensor of any shape.
        schedule: the variance schedule, with ``T`` steps.
        generator: the random generator for the noise.
        noise: optional $\varepsilon_1, \dots, \varepsilon_T$, shape ``(T, *x0.shape)``: step ``t`` uses ``noise[t - 1]``.

    Returns:
        Tensor of shape ``(T + 1, *x0.shape)``: element ``[t]`` is $x_t$, and ``[0]`` equals ``x0``.

    Raises:
        TypeError: non-float ``x0`` or ``noise``, ``schedule`` not a NoiseSchedule.
        ValueError: ``noise`` of the wrong shape.
    """
    check_float_tensor("x0", x0)
    _check_schedule(schedule)
    T = len(schedule)
    if noise is not None:
        check_noise(noise, torch.empty((T, *x0.shape), dtype=x0.dtype, device=x0.device), "noise")
    sqrt_alphas = schedule.alphas.sqrt().tolist()  # [t - 1]: sqrt(alpha_t)
    sqrt_betas = schedule.betas.sqrt().tolist()  # [t - 1]: sqrt(beta_t)
    trajectory = torch.empty((T + 1, *x0.shape), dtype=x0.dtype, device=x0.device)  # (T+1, *x0.shape)
    trajectory[0] = x0
    for t in range(1, T + 1):
        eps = noise[t - 1] if noise is not None else _draw_noise(x0, None, generator)
        # $x_t = \sqrt{\alpha_t} x_{t-1} + \sqrt{\beta_t} \varepsilon_t$, written straight into its slot
        _scaled_sum(sqrt_alphas[t - 1], trajectory[t - 1], sqrt_betas[t - 1], eps, out=trajectory[t])
    return trajectory


def _check_schedule(schedule: object) -> None:
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")


def _check_inputs(
    name: str, x: object, t: object, schedule: object, noise: object, *, minimum_t: int
) -> tuple[torch.Tensor, int | torch.Tensor, torch.Tensor | None]:
    """Check the common arguments; a tensor ``t`` comes back as a 1-D CPU ``long`` tensor."""
    x = check_float_tensor(name, x)
    _check_schedule(schedule)
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


def _coefficients(
    schedule: NoiseSchedule, key: str, t: int | torch.Tensor, x: torch.Tensor
) -> tuple[float | torch.Tensor, float | torch.Tensor]:
    """Look up a pair of the schedule's coefficients (``"step"``, ``"sample"``, ``"mean_variance"``) at ``t``.

    Returns floats (float64) for an int ``t``, and ``(B, 1, ..., 1)`` tensors in ``x``'s dtype and device for
    per-sample timesteps, so that they broadcast over each sample.
    """
    if isinstance(t, int):
        a, b = schedule._by_t[key][:, t].tolist()
        return a, b
    table = schedule._coefficient_table(key, x.dtype, x.device)  # (2, T + 1)
    coefficients = torch.index_select(table, 1, t.to(x.device))  # (2, B): one small op for both
    shape = (-1,) + (1,) * (x.ndim - 1)
    return coefficients[0].view(shape), coefficients[1].view(shape)  # (B, 1, ..., 1) each


def _scaled_sum(
    a: float | torch.Tensor,
    x: torch.Tensor,
    b: float | torch.Tensor,
    y: torch.Tensor,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``a * x + b * y`` with ``a``, ``b`` floats or per-sample ``(B, 1, ..., 1)`` tensors.

    Written as two in-place kernels into one output (``out = a * x``, then ``out += b * y``): the naive
    ``a * x + b * y`` allocates and streams two full-size temporaries, which costs several times more
    (see ``benchmarks/bench_forward.py``).
    """
    if torch.is_grad_enabled() and (x.requires_grad or y.requires_grad):
        # out= kernels do not support autograd: keep gradients flowing (e.g. to x0) with the plain formula
        result = a * x + b * y
        return result if out is None else out.copy_(result)
    if out is None:
        out = torch.empty_like(x)
    torch.mul(x, a, out=out)
    return out.addcmul_(y, b) if isinstance(b, torch.Tensor) else out.add_(y, alpha=b)


def _draw_noise(x: torch.Tensor, noise: torch.Tensor | None, generator: torch.Generator | None) -> torch.Tensor:
    if noise is not None:
        return noise
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
