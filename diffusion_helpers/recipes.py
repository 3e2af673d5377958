r"""The package's recommended training recipe for each 2-D data set, and the plain recipe to compare with.

A recipe is plain data: the schedule, the network, the training loop's settings, the amount of training data
and the reverse variance $\sigma_t^2$ to sample with. :func:`train_recipe` runs one; it is what
``python -m diffusion_helpers.train`` runs.

**Why these settings.** Measured on the swiss roll (data standard deviation 0.5) with the noise-floor ratio of
:func:`~diffusion_helpers.metrics.noise_floor_ratio` (10,000 samples, averaged over two to three sample sets;
1.0 is the floor, and one set of samples of the data itself scores 1.0 give or take 0.15). The plain recipe
(linear schedule, raw coordinates, 10,000 steps at a constant learning rate) scores 3.1 after 27 s of
training; the recommended one 0.99 after 10 s of CPU time (``benchmarks/bench_training.py``). In order of
effect:

1. *Where the training steps land.* Uniform $t$ spends a training step at every noise level alike, but the
   roll's shape is decided only while the noise, relative to the signal, lies between the roll's thickness
   (0.04) and the gap between its arms (0.46). The linear schedule puts 13% of its timesteps there, the cosine
   schedule 25%. Same recipe otherwise: linear 1.13, cosine 0.94. Scaling the data changes the same fraction
   (linear: standard deviation 0.25, 0.5, 1.0 put 7%, 13%, 23% there and scored 2.65, 1.13, 0.93).
2. *Averaged weights.* Adam's last steps leave the weights jittering; an exponential moving average of the
   weights (EMA, decay 0.999) alone took the plain recipe from 2.65 to 1.66 (both with the data at standard
   deviation 0.68, the scale first tried). The average's memory must fit the run: 0.998 (about 500 steps) for
   3,000-5,000 steps; 0.9995 scored 2.24 against 1.66 for 0.999 at 10,000 steps.
3. *The network's inputs.* Fed raw coordinates, an MLP draws smooth functions first; sines and cosines of
   the coordinates let it draw the noise field's sharp turn across each arm. Without them, short runs were
   a lottery (5,000 steps, four seeds: 1.00, 2.05, 1.06, 1.02); with them every seed reached the floor in 3,000
   steps (four seeds at width 96: 1.06, 1.00, 1.01, 0.96). ReLU beat GELU and SiLU (1.13, 1.41, 2.52).
4. *A cosine learning-rate decay with a higher peak* (5e-3). The decay alone did nothing for the plain
   recipe (2.73 at std 0.68: at 1e-3 it was under-trained, and decaying only trained it less); a low peak
   under-trains (3e-3 for 5,000 steps: 2.13), a high one is erratic (2e-2: 2.20; at 1e-2 a third to a half of
   the last layers' ReLUs never fire again).
5. *The reverse variance* did not matter at T = 1000 (the same network: 1.13 with $\beta_t$, 1.10 with
   $\tilde\beta_t$). It matters when the steps are few: with the exact noise predictor of the swiss roll (no
   network at all) and the cosine schedule, $\sigma_t^2 = \beta_t$ / $\tilde\beta_t$ scored 0.88 / 1.17 at
   T = 100, 0.97 / 1.88 at T = 50 and 1.29 / 3.97 at T = 20: $\tilde\beta_t$ is the variance of the step when
   $x_0$ is known exactly, too small when it is not, so each step loses a little spread. T itself costs only
   sampling time; 1,000 steps sample 2,000 points in about 1.5 s.

The same recipe on the other data sets (3,000 steps): moons 1.04, eight Gaussians 1.04, checkerboard 1.24;
the checkerboard's sharp-edged squares take longer, so its recipe trains 6,000 steps (1.14).
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ._checks import check_bool, check_int
from .data import DATASET_NAMES, IMAGE_DATASETS, load_dataset
from .models import ConvDenoiser, MLPDenoiser
from .schedules import NoiseSchedule, make_schedule
from .training import train

__all__ = ["PLAIN_RECIPE", "RECIPES", "build_model", "train_recipe"]

PLAIN_RECIPE: dict[str, Any] = {
    "schedule": {"name": "linear", "num_timesteps": 1000},
    "model": {"hidden": 128, "layers": 3, "time_dim": 32, "x_frequencies": 0, "activation": "relu"},
    "train": {"steps": 10_000, "batch_size": 512, "lr": 1e-3, "lr_schedule": "constant", "ema_decay": None},
    "data_size": 100_000,
    "variance": "beta",
}
r"""The baseline of issue 7: a 3-layer MLP on raw coordinates, the linear schedule with T = 1000, 10,000 Adam
steps at batch 512 and a constant learning rate, $\sigma_t^2 = \beta_t$. About 3.1x the noise floor on the
swiss roll."""

_RECOMMENDED: dict[str, Any] = {
    "schedule": {"name": "cosine", "num_timesteps": 1000},
    "model": {"hidden": 96, "layers": 3, "time_dim": 32, "x_frequencies": 8, "activation": "relu"},
    "train": {"steps": 3000, "batch_size": 512, "lr": 5e-3, "lr_schedule": "cosine", "ema_decay": 0.998},
    "data_size": 100_000,
    "variance": "beta",
}

RECIPES: dict[str, dict[str, Any]] = {
    name: copy.deepcopy(_RECOMMENDED) for name in DATASET_NAMES if name not in IMAGE_DATASETS
}
RECIPES["checkerboard"]["train"]["steps"] = 6000  # sharp-edged squares: 1.24 after 3,000 steps, 1.14 after 6,000
RECIPES["digits"] = {
    "schedule": {"name": "cosine", "num_timesteps": 1000},
    "model": {"class": "ConvDenoiser", "width": 32, "time_dim": 64, "groups": 8, "blocks": 1},
    "train": {"steps": 1000, "batch_size": 128, "lr": 2e-3, "lr_schedule": "cosine", "ema_decay": 0.995},
    "data_size": None,
    "variance": "beta",
}
"""Data set name -> its recommended recipe (one recipe for every 2-D set, longer for the checkerboard; a small
U-Net for the digits)."""


def build_model(model_recipe: dict[str, Any], data: torch.Tensor, num_timesteps: int) -> MLPDenoiser | ConvDenoiser:
    """The untrained network a recipe's ``"model"`` entry names, sized for ``data`` and ``num_timesteps``.

    ``model_recipe["class"]`` is ``"MLPDenoiser"`` (the default, so recipes written before there were two classes
    still work) or ``"ConvDenoiser"``; the entry's other keys are the class's arguments. The data's shape gives
    ``dim`` (MLP) or ``channels`` and ``image_size`` (conv net).

    Raises:
        ValueError: an unknown class, or data of the wrong shape for it ((N, D) points for the MLP, (N, C, H, W)
            square images for the conv net).
    """
    arguments = dict(model_recipe)
    name = arguments.pop("class", "MLPDenoiser")
    if name == "MLPDenoiser" and data.ndim == 2:
        return MLPDenoiser(dim=data.shape[1], num_timesteps=num_timesteps, **arguments)
    if name == "ConvDenoiser" and data.ndim == 4 and data.shape[2] == data.shape[3]:
        return ConvDenoiser(channels=data.shape[1], image_size=data.shape[2], num_timesteps=num_timesteps, **arguments)
    if name not in ("MLPDenoiser", "ConvDenoiser"):
        raise ValueError(f"unknown model class {name!r} in the recipe; valid classes are: MLPDenoiser, ConvDenoiser")
    needs = "(N, D) points" if name == "MLPDenoiser" else "(N, C, H, H) square images"
    raise ValueError(f"a {name} trains on {needs}, but the data has shape {tuple(data.shape)}")


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
        ``(model, schedule, losses, recipe)``: the trained model (the class ``recipe["model"]["class"]`` names,
        :class:`~diffusion_helpers.models.MLPDenoiser` if it names none) in eval mode, its schedule, the loss of
        every step, and the recipe as run (with ``steps`` and ``seed`` filled in).

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
    data = load_dataset(dataset, "train", n=recipe["data_size"])  # (N, D) points or (N, C, H, W) images
    with torch.random.fork_rng(devices=[]):  # seed the initial weights without touching the global generator
        torch.manual_seed(seed)
        model = build_model(recipe["model"], data, len(schedule))
    generator = torch.Generator().manual_seed(seed)
    losses = train(model, data, schedule, generator=generator, device=device, progress=progress, **recipe["train"])
    return model, schedule, losses, recipe
