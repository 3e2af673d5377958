r"""The package's recommended training recipe for each 2-D data set, and the plain recipe to compare with.

A recipe is plain data: the schedule, the network, the training loop's settings, the amount of data and the
reverse variance $\sigma_t^2$ to sample with. :func:`train_recipe` runs one (it is what
``python -m diffusion_helpers.train`` runs) and returns the trained model with its schedule.

Why these settings (measured on the swiss roll with the noise-floor ratio of
:func:`~diffusion_helpers.metrics.noise_floor_ratio`; see notebook 05 and ``benchmarks/bench_training.py``):
see :data:`RECIPES`.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ._checks import check_bool, check_int
from .data import DATASET_NAMES, load_dataset
from .models import MLPDenoiser
from .schedules import NoiseSchedule, make_schedule
from .training import train

__all__ = ["PLAIN_RECIPE", "RECIPES", "train_recipe"]

PLAIN_RECIPE: dict[str, Any] = {
    "schedule": {"name": "linear", "num_timesteps": 1000},
    "model": {"hidden": 128, "layers": 3, "time_dim": 32},
    "train": {"steps": 10_000, "batch_size": 512, "lr": 1e-3, "lr_schedule": "constant", "ema_decay": None},
    "data_size": 100_000,
    "variance": "beta",
}
r"""The baseline of issue 7: a 3-layer MLP, the linear schedule with T = 1000, 10k Adam steps at batch 512,
$\sigma_t^2 = \beta_t$. About 2.7x the noise floor on the swiss roll."""

_RECOMMENDED: dict[str, Any] = {
    "schedule": {"name": "linear", "num_timesteps": 1000},
    "model": {"hidden": 128, "layers": 3, "time_dim": 32},
    "train": {"steps": 10_000, "batch_size": 512, "lr": 1e-3, "lr_schedule": "cosine", "ema_decay": 0.999},
    "data_size": 100_000,
    "variance": "beta",
}

RECIPES: dict[str, dict[str, Any]] = {name: copy.deepcopy(_RECOMMENDED) for name in DATASET_NAMES}
"""Data set name -> its recommended recipe."""


def train_recipe(
    dataset: str,
    *,
    recipe: dict[str, Any] | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
    steps: int | None = None,
) -> tuple[MLPDenoiser, NoiseSchedule, torch.Tensor, dict[str, Any]]:
    """Train a denoiser on ``dataset`` with a recipe, reproducibly for a ``seed``.

    Args:
        dataset: a name of :data:`~diffusion_helpers.data.DATASET_NAMES`.
        recipe: the recipe, :data:`RECIPES` ``[dataset]`` if None (or e.g. :data:`PLAIN_RECIPE`).
        seed: seeds the initial weights and the training's random numbers (the global generator is untouched).
        device: where to train.
        progress: show a progress bar.
        steps: train for this many steps instead of the recipe's (a quick try, or a test).

    Returns:
        ``(model, schedule, losses, recipe)``: the trained model in eval mode, its schedule, the loss of every
        step, and the recipe as run (with ``steps`` and ``seed`` filled in).

    Raises:
        ValueError, TypeError: an unknown data set, a bad seed or number of steps.
    """
    if not isinstance(dataset, str) or dataset not in RECIPES:
        raise ValueError(f"unknown data set {dataset!r}; valid names are: {', '.join(RECIPES)}")
    recipe = copy.deepcopy(RECIPES[dataset] if recipe is None else recipe)
    seed = check_int("seed", seed, minimum=0)
    check_bool("progress", progress)
    if steps is not None:
        recipe["train"]["steps"] = check_int("steps", steps, minimum=1)
    recipe["seed"], recipe["dataset"] = seed, dataset
    schedule_args = dict(recipe["schedule"])
    schedule = make_schedule(schedule_args.pop("name"), schedule_args.pop("num_timesteps"), **schedule_args)
    data = load_dataset(dataset, "train", n=recipe["data_size"])
    with torch.random.fork_rng(devices=[]):  # seed the initial weights without touching the global generator
        torch.manual_seed(seed)
        model = MLPDenoiser(dim=data.shape[1], num_timesteps=len(schedule), **recipe["model"])
    generator = torch.Generator().manual_seed(seed)
    losses = train(model, data, schedule, generator=generator, device=device, progress=progress, **recipe["train"])
    return model, schedule, losses, recipe
