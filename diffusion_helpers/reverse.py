r"""The reverse process of Ho et al. 2020: the posterior of the forward process, and one reverse step.

- The forward posterior, Eq. 6-7: conditioned on $x_0$, the step back is Gaussian,
  $q(x_{t-1} \mid x_t, x_0) = \mathcal N\big(x_{t-1};\ \tilde\mu_t(x_t, x_0),\ \tilde\beta_t I\big)$ with
  $\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\,x_0
  + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\,x_t$ and
  $\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t$.
- Three ways to say the same thing: the reverse mean $\mu$, the clean data $x_0$ and the noise
  $\varepsilon$ in $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon$ (Eq. 4) determine each
  other given $x_t$. :func:`predict_x0` and :func:`predict_eps` convert between $x_0$ and $\varepsilon$;
  :func:`p_mean_from_eps` is Eq. 11, the mean a network that predicts $\varepsilon$ implies.
- One step of the sampler, Algorithm 2 line 4: :func:`p_sample_step`.

Timestep convention: ``t`` in ``1, ..., T`` (a reverse step goes from $x_t$ to $x_{t-1}$), with
$\bar\alpha_0 = 1$, so at ``t = 1`` the posterior is the point $x_0$ ($\tilde\beta_1 = 0$). ``t`` is an int, or
a 1-D integer tensor with one timestep per sample of the batch dimension 0, as in :func:`q_sample`.
Coefficients are computed for every ``t`` in float64 (from the schedule's public tensors), then the one at
``t`` is picked with :func:`at_timestep` and applied in the data's dtype.
"""

from __future__ import annotations

import torch

from ._checks import check_noise
from .forward import _check_inputs, at_timestep
from .schedules import NoiseSchedule

__all__ = [
    "REVERSE_VARIANCES",
    "p_mean_from_eps",
    "p_sample_step",
    "predict_eps",
    "predict_x0",
    "q_posterior_mean_variance",
]

#: The two choices of the reverse variance $\sigma_t^2$ in Ho et al. 2020, Sec. 3.2.
REVERSE_VARIANCES: tuple[str, ...] = ("beta", "beta_tilde")


def q_posterior_mean_variance(
    x0: torch.Tensor, x_t: torch.Tensor, t: int | torch.Tensor, schedule: NoiseSchedule
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and variance of the forward posterior $q(x_{t-1} \mid x_t, x_0)$ (Ho et al. 2020, Eq. 6-7).

    $\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\,x_0
    + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\,x_t$, $\quad
    \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t$, with $\bar\alpha_0 = 1$.

    At ``t = 1`` the mean is ``x0`` and the variance is 0: one step back from $x_1$ given $x_0$ *is* $x_0$.

    Args:
        x0: the data $x_0$, a floating tensor, e.g. ``(B, C, H, W)``.
        x_t: $x_t$, same shape, dtype and device as ``x0``.
        t: in ``[1, T]``: an int, or a 1-D integer tensor of shape ``(B,)`` (one timestep per sample on dim 0).
        schedule: the variance schedule.

    Returns:
        ``(mean, variance)``: the mean has ``x_t``'s shape; the variance $\tilde\beta_t$ is the same in every
        dimension and broadcasts against it: shape ``()`` for an int ``t``, ``(B, 1, ..., 1)`` for a tensor
        ``t``. Both in ``x_t``'s dtype and device.

    Raises:
        TypeError: non-float tensors, ``x0`` of another dtype, a non-integer ``t``, ``schedule`` not a NoiseSchedule.
        ValueError: ``t`` outside ``[1, T]``, per-sample ``t`` not matching dim 0, ``x0`` of another shape.
    """
    x_t, t, _ = _check_inputs("x_t", x_t, t, schedule, None, None, minimum_t=1)
    x0 = check_noise(x0, x_t, "x0")
    betas, alphas, alpha_bars, alpha_bars_prev = _per_step(schedule)  # (T,) each, float64
    # Eq. 7: $\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\beta_t}{1-\bar\alpha_t} x_0
    #                      + \frac{\sqrt{\alpha_t}(1-\bar\alpha_{t-1})}{1-\bar\alpha_t} x_t$
    x0_coefficients = alpha_bars_prev.sqrt() * betas / (1 - alpha_bars)
    x_t_coefficients = alphas.sqrt() * (1 - alpha_bars_prev) / (1 - alpha_bars)
    mean = at_timestep(x0_coefficients, t, x_t) * x0 + at_timestep(x_t_coefficients, t, x_t) * x_t
    # Eq. 7: $\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t} \beta_t$
    beta_tildes = (1 - alpha_bars_prev) / (1 - alpha_bars) * betas
    return mean, at_timestep(beta_tildes, t, x_t)


def predict_x0(x_t: torch.Tensor, t: int | torch.Tensor, eps: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    r"""The $x_0$ that $x_t$ and a noise $\varepsilon$ imply: Eq. 4 solved for $x_0$ (Ho et al. 2020, Eq. 15).

    $\hat x_0 = \big(x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon\big) / \sqrt{\bar\alpha_t}$.

    Args:
        x_t: $x_t$, a floating tensor, e.g. ``(B, C, H, W)``.
        t: in ``[1, T]``: an int, or a 1-D integer tensor of shape ``(B,)``.
        eps: $\varepsilon$ (e.g. a network's prediction), same shape, dtype and device as ``x_t``.
        schedule: the variance schedule.

    Returns:
        $\hat x_0$, same shape, dtype and device as ``x_t``.

    Raises:
        TypeError, ValueError: as :func:`q_posterior_mean_variance` (with ``eps`` in place of ``x0``);
            ValueError also where $\bar\alpha_t = 0$ (a zero-terminal-SNR schedule at ``t = T``): $x_t$ is pure
            noise there and says nothing about $x_0$.
    """
    x_t, t, _ = _check_inputs("x_t", x_t, t, schedule, None, None, minimum_t=1)
    eps = check_noise(eps, x_t, "eps")
    _refuse_zero("alpha_bar_t", schedule.alpha_bars, t, "x_t is pure noise there and determines no x_0")
    sqrt_alpha_bar_t = at_timestep(schedule.sqrt_alpha_bars, t, x_t)
    sqrt_one_minus_alpha_bar_t = at_timestep(schedule.sqrt_one_minus_alpha_bars, t, x_t)
    # Eq. 15: $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon) / \sqrt{\bar\alpha_t}$
    return (x_t - sqrt_one_minus_alpha_bar_t * eps) / sqrt_alpha_bar_t


def predict_eps(x_t: torch.Tensor, t: int | torch.Tensor, x0: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    r"""The noise $\varepsilon$ that takes $x_0$ to $x_t$: Eq. 4 solved for $\varepsilon$.

    $\varepsilon = \big(x_t - \sqrt{\bar\alpha_t}\,x_0\big) / \sqrt{1-\bar\alpha_t}$
    (the inverse of :func:`predict_x0`).

    Args:
        x_t: $x_t$, a floating tensor.
        t: in ``[1, T]``: an int, or a 1-D integer tensor of shape ``(B,)``.
        x0: $x_0$ (e.g. a network's prediction), same shape, dtype and device as ``x_t``.
        schedule: the variance schedule.

    Returns:
        $\varepsilon$, same shape, dtype and device as ``x_t``.

    Raises:
        TypeError, ValueError: as :func:`q_posterior_mean_variance`.
    """
    x_t, t, _ = _check_inputs("x_t", x_t, t, schedule, None, None, minimum_t=1)
    x0 = check_noise(x0, x_t, "x0")
    sqrt_alpha_bar_t = at_timestep(schedule.sqrt_alpha_bars, t, x_t)
    sqrt_one_minus_alpha_bar_t = at_timestep(schedule.sqrt_one_minus_alpha_bars, t, x_t)
    # Eq. 4 solved for the noise: $\varepsilon = (x_t - \sqrt{\bar\alpha_t}\,x_0) / \sqrt{1-\bar\alpha_t}$
    return (x_t - sqrt_alpha_bar_t * x0) / sqrt_one_minus_alpha_bar_t


def p_mean_from_eps(
    x_t: torch.Tensor, t: int | torch.Tensor, eps: torch.Tensor, schedule: NoiseSchedule
) -> torch.Tensor:
    r"""The reverse mean a noise prediction implies (Ho et al. 2020, Eq. 11).

    $\mu_\theta(x_t, t)
    = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\,\varepsilon_\theta\Big)$.
    It equals the posterior mean $\tilde\mu_t(x_t, \hat x_0)$ of Eq. 7 at $\hat x_0$ = :func:`predict_x0`.

    Args:
        x_t: $x_t$, a floating tensor.
        t: in ``[1, T]``: an int, or a 1-D integer tensor of shape ``(B,)``.
        eps: $\varepsilon_\theta(x_t, t)$, same shape, dtype and device as ``x_t``.
        schedule: the variance schedule.

    Returns:
        $\mu_\theta$, same shape, dtype and device as ``x_t``.

    Raises:
        TypeError, ValueError: as :func:`q_posterior_mean_variance` (with ``eps`` in place of ``x0``);
            ValueError also where $\alpha_t = 0$ (the last step of a zero-terminal-SNR schedule, $\beta_T = 1$).
    """
    x_t, t, _ = _check_inputs("x_t", x_t, t, schedule, None, None, minimum_t=1)
    eps = check_noise(eps, x_t, "eps")
    _refuse_zero("alpha_t", schedule.alphas, t, "beta_t = 1 (zero terminal SNR), so a noise prediction defines no mean")
    # Eq. 11 for every t: the factor $\beta_t / \sqrt{1-\bar\alpha_t}$ in front of $\varepsilon_\theta$
    eps_coefficients = schedule.betas / schedule.sqrt_one_minus_alpha_bars
    one_over_sqrt_alpha_t = at_timestep(schedule.alphas.rsqrt(), t, x_t)
    # Eq. 11: $\mu_\theta = \frac{1}{\sqrt{\alpha_t}}(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\varepsilon_\theta)$
    return one_over_sqrt_alpha_t * (x_t - at_timestep(eps_coefficients, t, x_t) * eps)


def p_sample_step(
    x_t: torch.Tensor,
    t: int | torch.Tensor,
    eps: torch.Tensor,
    schedule: NoiseSchedule,
    *,
    variance: str = "beta",
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""One reverse step $x_t \to x_{t-1}$ from a noise prediction (Ho et al. 2020, Algorithm 2, line 4).

    $x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{1-\alpha_t}{\sqrt{1-\bar\alpha_t}}\,\varepsilon_\theta\Big)
    + \sigma_t z$, $z \sim \mathcal N(0, I)$ for $t > 1$ and $z = 0$ at $t = 1$ (the last step adds no noise).

    The variance $\sigma_t^2$ is ``"beta"`` ($\beta_t$) or ``"beta_tilde"`` ($\tilde\beta_t$ of Eq. 7). Ho et al.
    (Sec. 3.2) found both to give similar samples; $\beta_t$ is optimal when $x_0 \sim \mathcal N(0, I)$,
    $\tilde\beta_t$ when $x_0$ is one fixed point.

    Args:
        x_t: $x_t$, a floating tensor, e.g. ``(B, C, H, W)``.
        t: in ``[1, T]``: an int, or a 1-D integer tensor of shape ``(B,)``.
        eps: $\varepsilon_\theta(x_t, t)$, same shape, dtype and device as ``x_t``.
        schedule: the variance schedule.
        variance: ``"beta"`` or ``"beta_tilde"`` (see :data:`REVERSE_VARIANCES`).
        noise: $z$, same shape, dtype and device as ``x_t``; drawn from ``generator`` if None. Where
            ``t = 1`` it is multiplied by 0.
        generator: the random generator for ``noise``.

    Returns:
        $x_{t-1}$, same shape, dtype and device as ``x_t``.

    Raises:
        TypeError, ValueError: as :func:`p_mean_from_eps`; ValueError for an unknown ``variance``,
            ``noise`` of another shape.
    """
    if variance not in REVERSE_VARIANCES:
        raise ValueError(f"variance must be one of {', '.join(map(repr, REVERSE_VARIANCES))}, got {variance!r}")
    x_t, t, noise = _check_inputs("x_t", x_t, t, schedule, noise, generator, minimum_t=1)
    if noise is None:
        noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype, device=x_t.device)
    betas, _, alpha_bars, alpha_bars_prev = _per_step(schedule)
    # $\sigma_t^2 = \beta_t$ or $\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t$ (Sec. 3.2)
    sigmas = (betas if variance == "beta" else (1 - alpha_bars_prev) / (1 - alpha_bars) * betas).sqrt()
    sigmas[0] = 0.0  # Algorithm 2, line 3: $z = 0$ at $t = 1$
    mean = p_mean_from_eps(x_t, t, eps, schedule)  # Eq. 11
    # Algorithm 2, line 4: $x_{t-1} = \mu_\theta(x_t, t) + \sigma_t z$
    return mean + at_timestep(sigmas, t, x_t) * noise


def _per_step(schedule: NoiseSchedule) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""$\beta_t, \alpha_t, \bar\alpha_t, \bar\alpha_{t-1}$ for every t, float64 tensors of shape ``(T,)``.

    Element ``[t - 1]`` is timestep ``t``; $\bar\alpha_{t-1}$ starts with $\bar\alpha_0 = 1$ (the empty product).
    """
    alpha_bars = schedule.alpha_bars
    alpha_bars_prev = torch.cat([torch.ones(1, dtype=alpha_bars.dtype), alpha_bars[:-1]])
    return schedule.betas, schedule.alphas, alpha_bars, alpha_bars_prev


def _refuse_zero(name: str, per_step: torch.Tensor, t: int | torch.Tensor, why: str) -> None:
    """ValueError if a schedule tensor is 0 at (any of) ``t`` (a checked ``t``: an int or a CPU long tensor)."""
    zero_at = per_step[t - 1] == 0
    if bool(zero_at.any()):
        bad = t if isinstance(t, int) else int(t[zero_at][0])
        raise ValueError(f"{name} is 0 at t = {bad}: {why}")
