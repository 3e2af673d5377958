r"""Sampling from a trained (or exact) noise predictor with the DDPM sampler (Ho et al. 2020, Algorithm 2).

Algorithm 2::

    x_T ~ N(0, I)
    for t = T, ..., 1:
        z ~ N(0, I) if t > 1, else z = 0
        x_{t-1} = 1/sqrt(alpha_t) (x_t - (1 - alpha_t)/sqrt(1 - alpha_bar_t) eps_theta(x_t, t)) + sigma_t z
    return x_0

**The model contract.** A model is any callable ``model(x_t, t) -> eps`` that takes ``x_t`` of the sampled
``shape`` and ``t``, a 1-D ``torch.int64`` tensor of shape ``(B,)`` (``B = shape[0]``) on the sampling device
holding timesteps in ``[1, T]``, and returns its prediction of the noise $\varepsilon$ in $x_t$, a tensor of
``x_t``'s shape. A ``torch.nn.Module``, a plain function, or :func:`gaussian_eps_model` (the exact answer for
Gaussian data, which tests a sampler with no training at all) all fit.

Timestep convention: ``t`` in ``1, ..., T``; element ``[t]`` of a returned trajectory is $x_t$.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from tqdm.auto import tqdm

from ._checks import call_model, check_bool, check_device, check_dtype, check_float, check_generator, check_shape
from .reverse import REVERSE_VARIANCES, predict_eps, predict_x0
from .schedules import NoiseSchedule

__all__ = ["ddpm_sample", "gaussian_eps_model"]

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@torch.no_grad()
def ddpm_sample(
    model: EpsModel,
    schedule: NoiseSchedule,
    shape: Sequence[int],
    *,
    variance: str = "beta",
    clip_x0: bool = False,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: bool = False,
    return_trajectory: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""Draw samples with the DDPM sampler (Ho et al. 2020, Algorithm 2), from $x_T \sim \mathcal N(0, I)$ to $x_0$.

    Each step is :func:`~diffusion_helpers.p_sample_step`'s equation, with the coefficients computed once
    for all steps: $x_{t-1} = \frac{1}{\sqrt{\alpha_t}}\big(x_t - \frac{1-\alpha_t}{\sqrt{1-\bar\alpha_t}}
    \varepsilon_\theta(x_t, t)\big) + \sigma_t z$, with no noise at $t = 1$. Random numbers are drawn in this
    order: $x_T$, then $z$ for $t = T, \dots, 2$, each in one call of shape ``shape``.

    Args:
        model: the noise predictor, any callable ``model(x_t, t) -> eps`` (see the module's model contract).
            It runs under ``torch.no_grad()``.
        schedule: the variance schedule the model was trained with (``T`` steps).
        shape: the shape of the batch to draw, ``(B, ...)``, e.g. ``(2000, 2)`` or ``(16, 3, 32, 32)``.
        variance: $\sigma_t^2$: ``"beta"`` ($\beta_t$) or ``"beta_tilde"`` ($\tilde\beta_t$, Eq. 7).
        clip_x0: clamp each step's predicted $\hat x_0$ (Eq. 15) to $[-1, 1]$, the range of image data, and step
            with the noise that clamped $\hat x_0$ implies. The step is then the posterior mean
            $\tilde\mu_t(x_t, \hat x_0)$ of Eq. 7 with a legal $\hat x_0$ (what Ho et al.'s code does for images).
        generator: the random generator for $x_T$ and $z$ (on ``device``, or on the CPU: the numbers are then
            drawn on the CPU and moved, so a seed gives the same samples on every device).
        device: where the samples live and the model runs.
        dtype: floating dtype of the samples.
        progress: show a tqdm progress bar over the ``T`` steps.
        return_trajectory: also return every state. It holds ``T + 1`` batches: for ``T = 1000`` and 2,000 2-D
            float32 points 16 MB, for 64 RGB images of 32x32 about 790 MB. Keep it for small batches.

    Returns:
        The samples $x_0$, a tensor of ``shape``; with ``return_trajectory``, ``(samples, trajectory)`` where
        ``trajectory`` has shape ``(T + 1, *shape)`` and element ``[t]`` is $x_t$ (``[T]`` the starting noise,
        ``[0]`` the samples).

    Raises:
        TypeError: ``model`` not callable, ``schedule`` not a NoiseSchedule, ``shape`` not a sequence of ints,
            ``dtype`` not floating, ``generator`` not a torch.Generator.
        ValueError: an empty ``shape`` or a size < 1, an unknown ``variance``, a schedule with $\alpha_T = 0$
            (zero terminal SNR), and a model output that is not a tensor of ``shape`` or not finite (the
            message names the timestep).
    """
    if not callable(model):
        raise TypeError(f"model must be callable as model(x_t, t) -> eps, got {type(model).__name__}")
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    shape, dtype, device = check_shape(shape), check_dtype(dtype), check_device(device)
    if variance not in REVERSE_VARIANCES:
        raise ValueError(f"variance must be one of {', '.join(map(repr, REVERSE_VARIANCES))}, got {variance!r}")
    check_bool("clip_x0", clip_x0)
    check_generator(generator)
    T = len(schedule)
    betas, alphas, alpha_bars = schedule.betas, schedule.alphas, schedule.alpha_bars  # (T,), [t - 1] is timestep t
    alpha_bars_prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bars[:-1]])  # alpha_bar_0 = 1
    if float(alphas[-1]) == 0:
        raise ValueError(
            "schedule has alpha_T = 0 (zero terminal SNR): x_T is pure noise and a noise prediction defines no "
            "reverse mean at t = T (Eq. 11 divides by sqrt(alpha_T)); sample with a schedule without "
            "zero_terminal_snr"
        )
    # The coefficients of line 4 for every t, computed once in float64 and kept as Python floats:
    # $x_{t-1} = \frac{1}{\sqrt{\alpha_t}}(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\varepsilon_\theta) + \sigma_t z$
    one_over_sqrt_alphas = alphas.rsqrt().tolist()
    eps_coefficients = (betas / (1 - alpha_bars).sqrt()).tolist()
    # $\sigma_t^2 = \beta_t$ or $\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t$ (Sec. 3.2)
    sigmas = (betas if variance == "beta" else (1 - alpha_bars_prev) / (1 - alpha_bars) * betas).sqrt().tolist()

    noise_device = generator.device if generator is not None else device

    def randn() -> torch.Tensor:
        return torch.randn(shape, generator=generator, dtype=dtype, device=noise_device).to(device)

    x = randn()  # Algorithm 2, line 1: $x_T \sim \mathcal N(0, I)$
    trajectory = torch.empty((T + 1, *shape), dtype=dtype, device=device) if return_trajectory else None
    if trajectory is not None:
        trajectory[T] = x
    for t in tqdm(range(T, 0, -1), desc="DDPM sampling", disable=not progress, leave=False):  # line 2
        z = randn() if t > 1 else torch.zeros_like(x)  # line 3: $z \sim \mathcal N(0, I)$ if $t > 1$, else $z = 0$
        eps = call_model(model, x, t)  # $\varepsilon_\theta(x_t, t)$
        if clip_x0:  # the noise that the clamped $\hat x_0$ implies
            eps = predict_eps(x, t, predict_x0(x, t, eps, schedule).clamp(-1, 1), schedule)
        # line 4: $x_{t-1} = (x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\varepsilon_\theta)/\sqrt{\alpha_t}+\sigma_t z$
        x = one_over_sqrt_alphas[t - 1] * (x - eps_coefficients[t - 1] * eps) + sigmas[t - 1] * z
        if trajectory is not None:
            trajectory[t - 1] = x
    return (x, trajectory) if trajectory is not None else x  # line 6: return $x_0$


def gaussian_eps_model(
    schedule: NoiseSchedule, mean: float | torch.Tensor = 0.0, std: float | torch.Tensor = 1.0
) -> EpsModel:
    r"""The exact noise predictor for data $x_0 \sim \mathcal N(\mu, \sigma^2)$: a model that needs no training.

    $\varepsilon^*(x_t, t)
    = \dfrac{\sqrt{1-\bar\alpha_t}\,(x_t - \sqrt{\bar\alpha_t}\,\mu)}{\bar\alpha_t\sigma^2 + 1 - \bar\alpha_t}$.

    Derivation. By Eq. 4, $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon$ with $x_0$ and
    $\varepsilon$ independent, so $(\varepsilon, x_t)$ is jointly Gaussian with $\mathbb E[x_t] =
    \sqrt{\bar\alpha_t}\,\mu$, $\operatorname{Var}[x_t] = \bar\alpha_t\sigma^2 + 1 - \bar\alpha_t$ and
    $\operatorname{Cov}[\varepsilon, x_t] = \sqrt{1-\bar\alpha_t}$. For jointly Gaussian variables the
    conditional mean is linear: $\mathbb E[\varepsilon \mid x_t] = \operatorname{Cov}[\varepsilon, x_t]\,
    (x_t - \mathbb E[x_t]) / \operatorname{Var}[x_t]$, which is the formula above. That conditional mean is
    what the training loss $\lVert\varepsilon - \varepsilon_\theta(x_t, t)\rVert^2$ is minimised by, so this is the
    perfectly trained network for that data. Each dimension is independent, so $\mu$ and $\sigma$ may differ
    per dimension.

    Args:
        schedule: the variance schedule.
        mean: $\mu$, a float or a tensor that broadcasts against one sample (e.g. shape ``(D,)`` for ``(B, D)`` data).
        std: $\sigma \ge 0$, a float or a tensor like ``mean`` ($\sigma = 0$: every $x_0$ is the point $\mu$).

    Returns:
        A model ``model(x_t, t) -> eps`` following the model contract of :func:`ddpm_sample`.

    Raises:
        TypeError: ``schedule`` not a NoiseSchedule, ``mean`` or ``std`` not a number or a real tensor.
        ValueError: a non-finite ``mean`` or ``std``, or a negative ``std``; when called, an ``x_t`` whose
            samples ``mean`` and ``std`` do not broadcast against.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    mu, sigma = _check_moment("mean", mean, low=None), _check_moment("std", std, low=0.0)
    moment_shape = torch.broadcast_shapes(mu.shape, sigma.shape)  # the shape of one sample, or a suffix of it
    alpha_bars = torch.cat([torch.ones(1, dtype=torch.float64), schedule.alpha_bars])  # [t] is alpha_bar_t
    alpha_bars = alpha_bars.view(-1, *(1,) * len(moment_shape))  # (T + 1, 1, ..., 1): broadcasts over mu, sigma
    # For every t at once, float64: $\varepsilon^* = g_t\,(x_t - \sqrt{\bar\alpha_t}\,\mu)$ with
    # $g_t = \sqrt{1-\bar\alpha_t} / (\bar\alpha_t\sigma^2 + 1 - \bar\alpha_t)$
    gains = (1 - alpha_bars).sqrt() / (alpha_bars * sigma**2 + 1 - alpha_bars)
    centres = alpha_bars.sqrt() * mu  # the mean of x_t: $\mathbb E[x_t] = \sqrt{\bar\alpha_t}\,\mu$
    # both (T + 1, *moment_shape)
    gains, centres = (table.expand(len(alpha_bars), *moment_shape) for table in (gains, centres))

    def eps_star(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if len(moment_shape) >= x_t.ndim or not _broadcasts_to(moment_shape, x_t.shape[1:]):
            raise ValueError(
                f"mean and std of shape {tuple(moment_shape)} must broadcast against one sample, "
                f"got x_t of shape {tuple(x_t.shape)}"
            )
        # (B, 1, ..., 1, *moment_shape), in x_t's dtype and device, so both broadcast over each sample
        shape = (-1, *(1,) * (x_t.ndim - 1 - len(moment_shape)), *moment_shape)
        gain_t = gains[t.cpu()].view(shape).to(x_t)
        centre_t = centres[t.cpu()].view(shape).to(x_t)
        # $\varepsilon^*(x_t, t) = \frac{\sqrt{1-\bar\alpha_t}}{\bar\alpha_t\sigma^2 + 1 - \bar\alpha_t}
        #                     (x_t - \sqrt{\bar\alpha_t}\mu)$
        return gain_t * (x_t - centre_t)

    eps_star.__qualname__ = eps_star.__name__ = f"gaussian_eps_model(mean={mean!r}, std={std!r})"
    return eps_star


def _broadcasts_to(shape: torch.Size, target: torch.Size) -> bool:
    try:
        return torch.broadcast_shapes(shape, target) == target
    except RuntimeError:
        return False


def _check_moment(name: str, value: object, *, low: float | None) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        if value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must be a real number or a real tensor, got dtype {value.dtype}")
        value = value.detach().to("cpu", torch.float64)
        if not bool(torch.isfinite(value).all()):
            raise ValueError(f"{name} must be finite, got {value}")
        if low is not None and bool((value < low).any()):
            raise ValueError(f"{name} must be >= {low:g}, got {value}")
        return value
    return torch.tensor(check_float(name, value, low=low, low_inclusive=True), dtype=torch.float64)
