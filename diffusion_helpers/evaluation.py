r"""How sample quality and sampling time change with the number of sampling steps (notebook 06).

:func:`steps_versus_quality` runs the DDIM sampler (Song et al. 2021, Eq. 12; ``eta=1`` is DDPM-like) with
several step counts from the **same** starting noise, and scores each batch with
:func:`~diffusion_helpers.metrics.noise_floor_ratio` (notebook 05's metric: the sliced Wasserstein distance to
held-out data over the distance between held-out sets; 1.0 means indistinguishable from fresh data at this
sample size). It also times each run, in wall time and in CPU time of this process.

Sharing the starting noise (one seed for every step count) removes the luck of the draw from the comparison
between step counts: what changes along the curve is the sampler, not the noise. Timings are of the whole
batch divided by its size; on a shared machine the wall time depends on the load, the CPU time less so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from tqdm.auto import tqdm

from ._checks import check_float, check_int, check_sequence
from .ddim import SPACINGS, ddim_sample
from .metrics import noise_floor_ratio, random_directions
from .schedules import NoiseSchedule

__all__ = ["QualityPoint", "steps_versus_quality"]


class QualityPoint(NamedTuple):
    """One point of :func:`steps_versus_quality`'s curve."""

    steps: int
    """the number of sampling steps (network calls)."""
    ratio: float
    """the samples' noise-floor ratio (1.0: as close to held-out data as fresh data is)."""
    seconds_per_sample: float
    """wall time of the sampling run divided by the number of samples."""
    cpu_seconds_per_sample: float
    """CPU time of this process during the run, divided by the number of samples."""


def steps_versus_quality(
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    schedule: NoiseSchedule,
    held_out: Sequence[torch.Tensor],
    steps_list: Sequence[int],
    *,
    eta: float = 0.0,
    spacing: str = "trailing",
    clip_x0: bool = False,
    projections: int | torch.Tensor = 256,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> list[QualityPoint]:
    r"""Sample quality and time against the number of DDIM steps, each run from the same starting noise.

    For each ``S`` in ``steps_list``: draw ``n`` samples with ``ddim_sample(model, schedule, (n, D), steps=S,
    eta=eta, spacing=spacing, generator=torch.Generator().manual_seed(seed))`` (``n, D`` from the held-out sets),
    time it, and score them with ``noise_floor_ratio(samples, held_out)``, with one set of projection
    directions for every ``S``.

    Args:
        model: the noise predictor, any callable ``model(x_t, t) -> eps`` (the samplers' model contract).
        schedule: the schedule the model was trained with (``T`` steps).
        held_out: ``K >= 2`` held-out sets, each ``(n, D)`` (e.g. :func:`~diffusion_helpers.data.held_out_sets`).
        steps_list: the step counts to try, each in ``[1, T]``, e.g. ``(5, 10, 20, 50, 100, 1000)``.
        eta: $\eta \ge 0$: 0 is deterministic DDIM, 1 is DDPM-like (Song et al., Eq. 16).
        spacing: which timesteps the sampler visits: one of ``SPACINGS`` (see ``ddim.spaced_timesteps``).
        clip_x0: clamp the predicted $x_0$ to $[-1, 1]$ at every step.
        projections: the number of random directions of the sliced Wasserstein distance (drawn once, from
            ``seed``), or the directions themselves, a ``(P, D)`` tensor of unit vectors.
        seed: seeds the starting noise (the same for every step count) and the directions.
        device: where the model runs and the samples are drawn.
        progress: show a progress bar over ``steps_list``.

    Returns:
        One :class:`QualityPoint` ``(steps, ratio, seconds_per_sample, cpu_seconds_per_sample)`` per entry of
        ``steps_list``, in its order.

    Raises:
        TypeError: ``steps_list`` not a sequence of ints, ``held_out`` not a sequence of tensors.
        ValueError: an empty ``steps_list`` or a step count outside ``[1, T]``, a negative ``eta``, an unknown
            ``spacing``, fewer than two held-out sets or sets of different shapes; as ``ddim_sample`` and
            ``noise_floor_ratio``.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    T = len(schedule)
    steps_list = check_sequence("steps_list", steps_list, items="step counts")
    if len(steps_list) == 0:
        raise ValueError("steps_list is empty: give at least one number of steps in [1, T]")
    steps_list = [
        check_int("steps_list", int(s) if torch.is_tensor(s) else s, minimum=1, maximum=T) for s in steps_list
    ]
    eta = check_float("eta", eta, low=0.0, low_inclusive=True)
    if spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {', '.join(map(repr, SPACINGS))}, got {spacing!r}")
    seed = check_int("seed", seed, minimum=0)
    if isinstance(held_out, torch.Tensor) or not isinstance(held_out, Sequence) or len(held_out) < 2:
        raise ValueError("held_out must be a list of at least 2 held-out sets of shape (n, D)")
    if not all(isinstance(h, torch.Tensor) and h.ndim == 2 for h in held_out):
        raise TypeError("held_out must hold tensors of shape (n, D)")
    shape = tuple(held_out[0].shape)  # (n, D): the samples must match the held-out sets' size
    if isinstance(projections, torch.Tensor):
        directions = projections
    else:
        count = check_int("projections", projections, minimum=1)
        directions = random_directions(count, shape[1], generator=torch.Generator().manual_seed(seed))
    held_out = [h.to(device) for h in held_out]

    points = []
    for steps in tqdm(steps_list, desc="steps vs quality", disable=not progress, leave=False):
        start, start_cpu = time.perf_counter(), time.process_time()
        samples = ddim_sample(
            model,
            schedule,
            shape,
            steps=steps,
            eta=eta,
            spacing=spacing,
            clip_x0=clip_x0,
            generator=torch.Generator().manual_seed(seed),  # the same x_T for every step count
            device=device,
        )
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        ratio = noise_floor_ratio(samples, held_out, projections=directions).ratio
        points.append(QualityPoint(steps, ratio, wall / shape[0], cpu / shape[0]))
    return points
