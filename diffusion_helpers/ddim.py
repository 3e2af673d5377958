r"""Fast sampling with DDIM (Song et al. 2021): tens of network calls instead of a thousand.

DDPM's reverse process undoes the Markov forward process one step at a time, so it needs all $T$ steps. Song
et al. observe that training only ever used the marginals $q(x_t \mid x_0) = \mathcal N(\sqrt{\bar\alpha_t}\,x_0,
(1-\bar\alpha_t) I)$ (Eq. 4 of Ho et al.), and that many other, non-Markovian, forward processes have the same
marginals. For any $s < t$ and any $\sigma \ge 0$ with $\sigma^2 \le 1 - \bar\alpha_s$, the choice

$$q_\sigma(x_s \mid x_t, x_0) = \mathcal N\Big(\sqrt{\bar\alpha_s}\,x_0 + \sqrt{1 - \bar\alpha_s - \sigma^2}\,
\frac{x_t - \sqrt{\bar\alpha_t}\,x_0}{\sqrt{1-\bar\alpha_t}},\ \sigma^2 I\Big)$$

keeps $x_s \sim \mathcal N(\sqrt{\bar\alpha_s}\,x_0, (1-\bar\alpha_s) I)$, so a network trained with DDPM's loss
serves every one of them. Sampling replaces $x_0$ by the network's guess $\hat x_0$ (Eq. 9 of Song et al.,
Eq. 15 of Ho et al.) and the fraction by the predicted noise $\hat\varepsilon$:

$$x_s = \sqrt{\bar\alpha_s}\,\hat x_0 + \sqrt{1 - \bar\alpha_s - \sigma^2}\,\hat\varepsilon + \sigma z
\qquad\text{(Song et al., Eq. 12)},$$

$$\sigma = \eta\,\sqrt{\frac{1-\bar\alpha_s}{1-\bar\alpha_t}}\,\sqrt{1 - \frac{\bar\alpha_t}{\bar\alpha_s}}
\qquad\text{(Eq. 16)}.$$

$\eta = 0$ makes sampling deterministic (DDIM proper); $\eta = 1$ with $s = t - 1$ gives DDPM's step with
$\sigma_t^2 = \tilde\beta_t$. Because nothing ties $s$ to $t - 1$, the sampler may jump along a short increasing
subsequence $\tau_1 < \dots < \tau_S$ of $\{1, \dots, T\}$ (:func:`spaced_timesteps`), with $\tau_0 = 0$ and
$\bar\alpha_0 = 1$. With $\eta = 0$ the same update run upwards maps data to the noise it would be sampled
from (:func:`ddim_invert`).

Timestep convention: ``t`` in ``1, ..., T``; $t = 0$ is the data. Models follow
:mod:`~diffusion_helpers.sampling`'s model contract.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from tqdm.auto import tqdm

from ._checks import (
    call_model,
    check_bool,
    check_device,
    check_dtype,
    check_float,
    check_float_tensor,
    check_generator,
    check_int,
    check_noise,
    check_shape,
)
from .schedules import NoiseSchedule

__all__ = ["SPACINGS", "ddim_invert", "ddim_sample", "ddim_step", "spaced_timesteps"]

SPACINGS = ("trailing", "leading", "linspace")
"""How :func:`spaced_timesteps` picks a few of the T timesteps (Lin et al. 2024, Table 2)."""

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def spaced_timesteps(num_timesteps: int, steps: int, spacing: str = "trailing") -> torch.Tensor:
    r"""The timesteps $\tau_1 < \dots < \tau_S$ a sampler with ``steps`` $= S$ steps visits, out of $1, \dots, T$.

    With $k = T / S$ (Lin et al. 2024, Table 2, in this package's 1-based $t$):

    - ``"trailing"``: $\tau_i = \operatorname{round}(T - (S - i)\,k)$, i.e. $T, T - k, \dots$ counted down from $T$.
      The first step starts from pure noise at $t = T$, where training put $x_T$.
    - ``"leading"``: $\tau_i = 1 + (i - 1)\lfloor k \rfloor$, i.e. $1, 1 + k, \dots$ counted up from 1. The
      largest is $T - k + 1$, not $T$: the sampler starts from $\mathcal N(0, I)$ at a timestep where $x_t$
      still holds some signal, a mismatch that costs quality when $S$ is small.
    - ``"linspace"``: $\operatorname{round}$ of $S$ evenly spaced values from 1 to $T$ (both ends included).

    Args:
        num_timesteps: $T \ge 1$.
        steps: $S$, between 1 and $T$.
        spacing: one of :data:`SPACINGS`.

    Returns:
        int64 tensor of shape ``(steps,)``, increasing, distinct, in ``[1, T]``; ``steps = T`` gives
        $1, \dots, T$ for every spacing.

    Raises:
        TypeError: ``num_timesteps`` or ``steps`` not an int, ``spacing`` not a string.
        ValueError: ``steps`` < 1 or > ``num_timesteps``, an unknown ``spacing``.
    """
    T = check_int("num_timesteps", num_timesteps, minimum=1)
    S = check_int("steps", steps, minimum=1, maximum=T)
    if not isinstance(spacing, str) or spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {', '.join(map(repr, SPACINGS))}, got {spacing!r}")
    i = torch.arange(1, S + 1, dtype=torch.float64)  # i = 1, ..., S
    if spacing == "trailing":
        tau = torch.round(T - (S - i) * (T / S))  # T, T - k, ..., counted down from T
    elif spacing == "leading":
        tau = 1 + (i - 1) * (T // S)  # 1, 1 + k, ..., counted up from 1
    else:
        tau = torch.round(torch.linspace(1, T, S, dtype=torch.float64))  # both ends
    return tau.long()


def ddim_step(
    x_t: torch.Tensor,
    t: int,
    s: int,
    eps: torch.Tensor,
    schedule: NoiseSchedule,
    *,
    eta: float = 0.0,
    clip_x0: bool = False,
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""One DDIM step from timestep ``t`` to timestep ``s`` given a noise prediction (Song et al. 2021, Eq. 12).

    $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon)/\sqrt{\bar\alpha_t}$, then
    $x_s = \sqrt{\bar\alpha_s}\,\hat x_0 + \sqrt{1 - \bar\alpha_s - \sigma^2}\,\hat\varepsilon + \sigma z$ with
    $\sigma = \eta\sqrt{(1-\bar\alpha_s)/(1-\bar\alpha_t)}\sqrt{1 - \bar\alpha_t/\bar\alpha_s}$ (Eq. 16).

    Sampling steps down ($s < t$). With $\eta = 0$ the step is deterministic and also runs up ($s > t$), which
    is how :func:`ddim_invert` maps data to noise; $t = 0$ is then the data itself ($\bar\alpha_0 = 1$,
    $\hat x_0 = x_0$).

    Args:
        x_t: $x_t$, a floating tensor ``(B, ...)``.
        t: the current timestep, in ``[0, T]`` (0 only for an upward step).
        s: the timestep to step to, in ``[0, T]`` and different from ``t``; 0 returns $\hat x_0$.
        eps: $\hat\varepsilon = \varepsilon_\theta(x_t, t)$, same shape, dtype and device as ``x_t``.
        schedule: the variance schedule.
        eta: $\eta \in [0, 1]$ (0: deterministic DDIM; 1: DDPM's variance when $s = t - 1$; above 1, $\sigma^2$
            could exceed $1 - \bar\alpha_s$). Must be 0 for $s > t$.
        clip_x0: clamp $\hat x_0$ to $[-1, 1]$ (data scaled to that range) and use the noise it implies.
        noise: $z$, like ``x_t``; drawn from ``generator`` if None and $\sigma > 0$.
        generator: the random generator for ``noise``.

    Returns:
        $x_s$, same shape, dtype and device as ``x_t``.

    Raises:
        TypeError: ``x_t`` or ``eps`` not a floating tensor, ``t``/``s`` not ints, ``clip_x0`` not a bool,
            ``generator`` not a torch.Generator.
        ValueError: ``t`` or ``s`` outside ``[0, T]`` or equal, $\eta$ outside $[0, 1]$, $\eta > 0$ with
            $s > t$, ``eps`` or ``noise`` unlike ``x_t``, $\bar\alpha_t = 0$ (a zero-terminal-SNR schedule at
            $t = T$: $x_t$ is pure noise and determines no $\hat x_0$).
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    T = len(schedule)
    x_t = check_float_tensor("x_t", x_t)
    t, s = check_int("t", t, minimum=0, maximum=T), check_int("s", s, minimum=0, maximum=T)
    if s == t:
        raise ValueError(f"s must differ from t (a step goes somewhere), got t = s = {t}")
    eps = check_noise(eps, x_t, "eps")
    eta = check_float("eta", eta, low=0.0, high=1.0, low_inclusive=True, high_inclusive=True)
    if eta > 0 and s > t:
        raise ValueError(f"eta must be 0 for an upward step (s = {s} > t = {t}): only the deterministic step inverts")
    check_bool("clip_x0", clip_x0)
    check_generator(generator)
    alpha_bar_t, alpha_bar_s = _alpha_bar(schedule, t), _alpha_bar(schedule, s)
    if alpha_bar_t == 0:
        raise ValueError(
            f"alpha_bar_t is 0 at t = {t} (a zero-terminal-SNR schedule): x_t is pure noise there and determines "
            "no x_0; sample with a schedule without zero_terminal_snr"
        )
    # Eq. 9: $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon)/\sqrt{\bar\alpha_t}$
    x0_hat = (x_t - math.sqrt(1 - alpha_bar_t) * eps) / math.sqrt(alpha_bar_t)
    if clip_x0 and t > 0:  # (at t = 0, x_t is the data and $\hat x_0 = x_0$)
        x0_hat = x0_hat.clamp(-1, 1)
        eps = (x_t - math.sqrt(alpha_bar_t) * x0_hat) / math.sqrt(1 - alpha_bar_t)  # the noise the clamped x0 implies
    # Eq. 16: $\sigma = \eta\sqrt{(1-\bar\alpha_s)/(1-\bar\alpha_t)}\sqrt{1-\bar\alpha_t/\bar\alpha_s}$
    sigma = eta * math.sqrt((1 - alpha_bar_s) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_s)) if eta else 0.0
    # Eq. 12: $x_s = \sqrt{\bar\alpha_s}\,\hat x_0 + \sqrt{1-\bar\alpha_s-\sigma^2}\,\hat\varepsilon + \sigma z$
    # (with eta <= 1, sigma^2 <= 1 - alpha_bar_s; max() only absorbs rounding at sigma^2 = 1 - alpha_bar_s)
    x_s = math.sqrt(alpha_bar_s) * x0_hat + math.sqrt(max(1 - alpha_bar_s - sigma**2, 0.0)) * eps
    if sigma > 0:
        if noise is None:  # drawn where the generator lives, then moved: a seed gives the same z on every device
            where = generator.device if generator is not None else x_t.device
            noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype, device=where).to(x_t.device)
        x_s = x_s + sigma * check_noise(noise, x_t, "noise")
    return x_s


@torch.no_grad()
def ddim_sample(
    model: EpsModel,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    steps: int = 50,
    eta: float = 0.0,
    spacing: str = "trailing",
    clip_x0: bool = False,
    x_T: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
    return_trajectory: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Draw samples with DDIM (Song et al. 2021): ``steps`` network calls along :func:`spaced_timesteps`.

    From $x_{\tau_S} \sim \mathcal N(0, I)$, one :func:`ddim_step` from $\tau_i$ to $\tau_{i-1}$ for
    $i = S, \dots, 1$ ($\tau_0 = 0$): $x_{\tau_{i-1}} = \sqrt{\bar\alpha_{\tau_{i-1}}}\,\hat x_0 +
    \sqrt{1 - \bar\alpha_{\tau_{i-1}} - \sigma_i^2}\,\varepsilon_\theta(x_{\tau_i}, \tau_i) + \sigma_i z$ (Eq. 12).
    Random numbers are drawn in this order: $x_{\tau_S}$, then $z$ for every step with $\sigma_i > 0$ (none when
    $\eta = 0$; the last step, to $\bar\alpha_0 = 1$, has $\sigma = 0$), each one call of shape ``shape``. With
    ``steps = T`` and ``eta = 1`` this draws the same numbers as :func:`~diffusion_helpers.ddpm_sample` with
    ``variance="beta_tilde"`` and gives the same samples.

    Args:
        model: the noise predictor, any callable ``model(x_t, t) -> eps`` (the model contract of
            :mod:`~diffusion_helpers.sampling`); it runs under ``torch.no_grad()``.
        schedule: the variance schedule the model was trained with (``T`` steps).
        shape: the shape of the batch to draw, ``(B, ...)``, e.g. ``(2000, 2)`` or ``(64, 1, 8, 8)``.
        steps: $S$, the number of network calls, between 1 and ``T``.
        eta: $\eta \in [0, 1]$: 0 is deterministic DDIM, 1 is DDPM-like.
        spacing: which timesteps to visit, one of :data:`SPACINGS` (see :func:`spaced_timesteps`).
        clip_x0: clamp each $\hat x_0$ to $[-1, 1]$ (for data scaled to that range, e.g. images).
        x_T: the starting noise $x_{\tau_S}$, a tensor of ``shape`` (e.g. from :func:`ddim_invert`); drawn from
            ``generator`` if None.
        generator: the random generator (on ``device`` or on the CPU: the numbers are then drawn on the CPU and
            moved, so a seed gives the same samples on every device).
        device: where the samples live and the model runs.
        dtype: floating dtype of the samples.
        progress: show a tqdm progress bar over the steps.
        return_trajectory: also return every state and its timestep.

    Returns:
        The samples $x_0$, a tensor of ``shape``; with ``return_trajectory``, ``(samples, trajectory,
        timesteps)``: ``trajectory`` of shape ``(steps + 1, *shape)`` whose element ``[i]`` is $x$ at
        ``timesteps[i]``, and ``timesteps`` = $(0, \tau_1, \dots, \tau_S)$, int64 of shape ``(steps + 1,)``
        (``[-1]`` is the starting noise, ``[0]`` the samples).

    Raises:
        TypeError: ``model`` not callable, ``schedule`` not a NoiseSchedule, ``shape`` not a sequence of ints,
            ``dtype`` not floating, ``generator`` not a torch.Generator, a flag not a bool.
        ValueError: ``steps`` < 1 or > ``T``, ``eta`` outside [0, 1], an unknown ``spacing``, a zero-terminal-SNR
            schedule with a step at $t = T$, a model that fails on or returns something unlike ``x_t`` (e.g. an image
            model asked for 2-D samples; the message names the timestep).
    """
    if not callable(model):
        raise TypeError(f"model must be callable as model(x_t, t) -> eps, got {type(model).__name__}")
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    shape, dtype, device = check_shape(shape), check_dtype(dtype), check_device(device)
    tau = spaced_timesteps(len(schedule), steps, spacing).tolist()  # [tau_1, ..., tau_S], increasing
    eta = check_float("eta", eta, low=0.0, high=1.0, low_inclusive=True, high_inclusive=True)
    check_bool("clip_x0", clip_x0)
    check_bool("progress", progress)
    check_generator(generator)
    noise_device = generator.device if generator is not None else device

    def randn() -> torch.Tensor:
        return torch.randn(shape, generator=generator, dtype=dtype, device=noise_device).to(device)

    if x_T is not None:
        x_T = check_float_tensor("x_T", x_T)
        if tuple(x_T.shape) != shape:
            raise ValueError(f"x_T must have the sampled shape {shape}, got {tuple(x_T.shape)}")
    timesteps = [0, *tau]  # tau_0 = 0: the data
    x = randn() if x_T is None else x_T.to(device, dtype)  # $x_{\tau_S} \sim \mathcal N(0, I)$
    trajectory = torch.empty((len(timesteps), *shape), dtype=dtype, device=device) if return_trajectory else None
    if trajectory is not None:
        trajectory[-1] = x
    for i in tqdm(range(len(tau), 0, -1), desc="DDIM sampling", disable=not progress, leave=False):
        t, s = timesteps[i], timesteps[i - 1]  # from tau_i down to tau_{i-1}
        z = randn() if eta > 0 and s > 0 else None  # $\sigma = 0$ on the last step, to $\bar\alpha_0 = 1$
        eps = call_model(model, x, t)  # $\varepsilon_\theta(x_{\tau_i}, \tau_i)$
        x = ddim_step(x, t, s, eps, schedule, eta=eta, clip_x0=clip_x0, noise=z)
        if trajectory is not None:
            trajectory[i - 1] = x
    if trajectory is not None:
        return x, trajectory, torch.tensor(timesteps, dtype=torch.int64)
    return x


@torch.no_grad()
def ddim_invert(
    model: EpsModel,
    schedule: NoiseSchedule,
    x0: torch.Tensor,
    *,
    steps: int = 50,
    spacing: str = "trailing",
    progress: bool = False,
    return_trajectory: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Map data to the noise that deterministic DDIM ($\eta = 0$) would turn back into it: $x_0 \to x_{\tau_S}$.

    :func:`ddim_step` with $\eta = 0$ run upwards, from $\tau_{i-1}$ to $\tau_i$ for $i = 1, \dots, S$
    ($\tau_0 = 0$). The step needs $\hat\varepsilon$ at the point it starts from, but the model is defined only
    for $t \ge 1$, so each step uses $\varepsilon_\theta(x_{\tau_{i-1}}, \tau_i)$: the noise predicted at the level
    being stepped to (as ``diffusers``' ``DDIMInverseScheduler`` does). The error this makes shrinks as the steps
    get smaller; with an exact model and many steps, ``ddim_sample(..., eta=0)`` from the result returns ``x0``.

    Args:
        model: the noise predictor (the model contract of :mod:`~diffusion_helpers.sampling`).
        schedule: the variance schedule the model was trained with.
        x0: the data to invert, a floating tensor ``(B, ...)`` on the model's device.
        steps: $S$, between 1 and ``T``.
        spacing: one of :data:`SPACINGS`; use the spacing you will sample with.
        progress: show a tqdm progress bar.
        return_trajectory: also return every state and its timestep.

    Returns:
        The noise $x_{\tau_S}$, like ``x0``; with ``return_trajectory``, ``(noise, trajectory, timesteps)`` as in
        :func:`ddim_sample` (``trajectory[0]`` is ``x0``, ``trajectory[-1]`` the noise).

    Raises:
        TypeError, ValueError: as :func:`ddim_sample`; ``x0`` not a floating tensor with a batch dimension.
    """
    if not callable(model):
        raise TypeError(f"model must be callable as model(x_t, t) -> eps, got {type(model).__name__}")
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    x = check_float_tensor("x0", x0)
    check_shape(tuple(x.shape))
    tau = spaced_timesteps(len(schedule), steps, spacing).tolist()
    check_bool("progress", progress)
    timesteps = [0, *tau]
    trajectory = torch.empty((len(timesteps), *x.shape), dtype=x.dtype, device=x.device) if return_trajectory else None
    if trajectory is not None:
        trajectory[0] = x
    for i in tqdm(range(1, len(timesteps)), desc="DDIM inversion", disable=not progress, leave=False):
        t, s = timesteps[i - 1], timesteps[i]  # from tau_{i-1} up to tau_i
        eps = call_model(model, x, s)  # the noise predicted at the level stepped to (no model at t = 0)
        x = ddim_step(x, t, s, eps, schedule, eta=0.0)
        if trajectory is not None:
            trajectory[i] = x
    if trajectory is not None:
        return x, trajectory, torch.tensor(timesteps, dtype=torch.int64)
    return x


def _alpha_bar(schedule: NoiseSchedule, t: int) -> float:
    r"""$\bar\alpha_t$ as a Python float (float64), with $\bar\alpha_0 = 1$."""
    return 1.0 if t == 0 else float(schedule.alpha_bars[t - 1])
