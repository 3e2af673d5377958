r"""The package's recommended training recipe for each 2-D data set, and the plain recipe to compare with.

A recipe is plain data: the schedule, the network, the training loop's settings, the amount of training data
and the reverse variance $\sigma_t^2$ to sample with. :func:`train_recipe` runs one; it is what
``python -m diffusion_helpers.train`` runs.

**Why these settings.** Measured on the swiss roll (data standard deviation 0.5) with the noise-floor ratio of
:func:`~diffusion_helpers.metrics.noise_floor_ratio` (10,000 samples, averaged over two to three sample sets;
1.0 is the floor, and one set of samples of the data itself scores 1.0 give or take 0.15). The plain recipe
(linear schedule, raw coordinates, 10,000 steps at a constant learning rate) scores 3.1 after 27 s of
training; the recommended one 0.97 after 16 s of CPU time, start-up included (``benchmarks/bench_training.py``;
0.99 after 10 s before the network learned a correction and trained longer, item 6). In order of effect:

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
6. *Deterministic DDIM needs the network in correction form* (``data_std``, see
   :class:`~diffusion_helpers.models.MLPDenoiser`): DDIM with 50 steps ($\eta = 0$, trailing) scored 1,058 with the
   recipe above (DDPM with 1,000 steps: 0.99). The cosine schedule ends at $\bar\alpha_T = 2.4 \times 10^{-9}$,
   so at $t = T$ the guess $\hat x_0$ multiplies the network's noise error by $1/\sqrt{\bar\alpha_T} = 2 \times 10^4$;
   DDPM's later steps shrink such an error and add fresh noise, DDIM's deterministic steps keep it. Predicting
   only the correction to the exact noise of Gaussian data, scaled by $\sigma_d\sqrt{\bar\alpha_t / v_t}$
   (Karras et al. 2022), bounds the error's effect on $\hat x_0$ at every $t$: DDIM-50 1.41 (DDPM 0.99). A plain
   Gaussian skip without the scale did not (58). What remains: the few samples whose $x_T$ lies beyond 3.5
   standard deviations travel through regions training rarely visits, where the network cannot correct the
   Gaussian guess (zero to two samples in 10,000 end outside the data); and longer training: 5,000 steps scored
   1.34 and 1.26 (two training seeds; 4,000: 1.34; EMA 0.999: 1.43), DDPM 0.96: the swiss roll's recipe trains
   5,000 steps. 50 deterministic steps cannot do much better: with the exact noise predictor of the swiss roll
   (no network) DDIM-50 scores 1.21 (100 steps: 1.16), so the sampler itself, not the network, sets that floor.
   All DDIM figures are the mean of three sample sets.

The same recipe on the other data sets (3,000 steps): moons 1.04, eight Gaussians 1.04, checkerboard 1.24;
the checkerboard's sharp-edged squares take longer, so its recipe trains 6,000 steps (1.14). In correction form
(DDPM-1000 / DDIM-50, 3,000 steps): moons 1.12 / 1.42, eight Gaussians 1.08 / 1.17 (before the correction form:
1.03 / 741), checkerboard with its 6,000 steps 0.81 / 1.24. With 5,000 steps moons scored 0.98 / 1.36 and eight
Gaussians 1.18 / 1.31: only the swiss roll, whose DDIM-50 needs it, trains 5,000 steps (notebook 05 trains four
such networks within its time budget).

**The digits** (``RECIPES["digits"]``, a :class:`~diffusion_helpers.models.ConvDenoiser`). Judged by issue 8's two
measures, with 5 x 359 samples of DDIM with 50 steps ($\eta = 0$, trailing) against the 359 held-out digits:
:func:`~diffusion_helpers.metrics.image_noise_floor_ratio` (target <= 1.3) and the share of samples the digit
classifier is sure of, relative to real held-out digits (:func:`~diffusion_helpers.metrics.confident_digits`,
target >= 0.9; real digits: 77%). Training CPU time with one thread; the machine was shared (load 2-5), so wall
time ran up to twice the CPU time. In order of effect:

1. *Clip the predicted* $x_0$ *when sampling* (``"clip_x0"``). The cosine schedule's
   $\bar\alpha_T = 2.4 \times 10^{-9}$ turns a small noise error at $t = T$ into a wild guess
   $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon)/\sqrt{\bar\alpha_t}$ (the error times
   $1/\sqrt{\bar\alpha_T} = 2 \times 10^4$), which deterministic steps keep: unclipped DDIM-50 scored about
   18,000. Clamping $\hat x_0$ to $[-1, 1]$, the range every image lives in, costs nothing: 1.25 and 0.41 for the
   first recipe tried (width 32, 1,000 steps of 128, 65 s). The linear schedule samples without clipping (1.38)
   but trained worse (1.33 and 0.35 clipped).
2. *Many small steps beat a wider network.* At about 65 s: width 32, 1,000 steps of 128: 1.25 / 0.41; width 48,
   700 steps: 1.31 / 0.33; two blocks per level, 700 steps: 1.44 / 0.34; width 16, 2,000 steps: 1.24 / 0.46;
   width 16, 4,000 steps of 64: 1.20 / 0.51 (73 s); width 8, 8,000 steps of 64: 1.37 / 0.37 (too small).
   Sampling is cheaper too: DDIM-50 draws the 1,795 samples in about 8 s at width 16, 20 s at width 32.
3. *Let the timestep scale the features, not only shift them* (:class:`~diffusion_helpers.models.ConvBlock`:
   GroupNorm, then times $1 + s(t)$ plus $b(t)$ per channel, after Dhariwal & Nichol 2021). Same recipe, two
   training seeds: 1.20 / 0.51 and 1.17 / 0.49 with the timestep only added, 1.21 / 0.58 and 1.16 / 0.58 with
   scale and shift, at the same cost. (The other figures here were measured with the timestep only added.)
4. *More training helps, slowly*: width 16, 3,000 steps of 128 (85 s): 1.18 / 0.54; 6,000 of 64 (110 s):
   1.17 / 0.57; 8,000 of 32 (98 s): 1.23 / 0.54; width 24, 2,500 and 3,000 steps of 64 (82 s, 89 s): 1.19 / 0.54
   and 1.17 / 0.59. Five times the budget reaches further: width 32, 5,000 steps of 128, EMA 0.998 (323 s):
   1.15 / 0.74.
5. *A stochastic sampler reads the same network better*: on the 3,000-step model (718 samples), DDIM-50
   1.27 / 0.56, DDIM-200 with $\eta = 1$ 1.26 / 0.62, DDPM-1000 1.18 / 0.65. DDPM costs 20 times as many network
   calls.
6. *No gain*: a higher peak learning rate (4e-3: 0.36 against 0.41 at width 32, 0.47 against 0.46 at width 16),
   EMA 0.99 (= 0.995), self-attention at 4 x 4 (1.17 / 0.52 against 1.20 / 0.51), the sigmoid schedule
   (1.26 / 0.40); a longer EMA memory hurts (0.999 over 2,000 steps: 2.12 / 0.33). Two torch threads ran
   slower than one at every size measured, on the shared machine: the command keeps its default of one.

7. *Condition on the digit, and guide a little* (``"num_classes"``, ``"label_dropout"``, ``"guidance"``; Ho &
   Salimans 2022, :mod:`~diffusion_helpers.guidance`). Items 1-6 were measured on an unconditional network: however
   trained, its samples stayed in between digits (a 3 that is half an 8). The same network and training (4,000
   steps of 64, the same cost) told each image's digit, with "no label" in place of it one step in five, then
   sampled with labels drawn uniformly ($c \sim p(c)$, then $x \sim p(x \mid c)$: still a model of $p(x)$):

   =================================  ===========  ===========  ===========  ===========  ===============
   training seed, label dropout       $w = 0$      $w = 0.25$   $w = 0.5$    $w = 1$      no label only
   =================================  ===========  ===========  ===========  ===========  ===============
   0, 0.2 (scratch network)           1.20 / 0.87               1.19 / 1.14  1.34 / 1.23  1.29 / 0.29
   1, 0.2 (scratch network)           1.20 / 0.84  1.12 / 1.02  1.20 / 1.13  1.37 / 1.22  1.47 / 0.33
   0, 0.1 (scratch network)           1.21 / 0.90  1.16 / 1.07  1.22 / 1.17  1.46 / 1.25  1.40 / 0.24
   0, 0.2 (``train_recipe``), draw 1  1.17 / 0.83  1.19 / 1.02  1.19 / 1.11
   0, 0.2 (``train_recipe``), draw 2  1.11 / 0.85  1.08 / 1.04  1.12 / 1.14
   2, 0.2 (``train_recipe``), draw 1  1.15 / 0.84  1.09 / 1.01  1.16 / 1.12
   2, 0.2 (``train_recipe``), draw 2  1.11 / 0.85  1.10 / 1.03
   =================================  ===========  ===========  ===========  ===========  ===============

   (Draws 1 and 2: two seeds of the noise and the labels.) DDPM with all 1,000 steps and $w = 0.25$: 1.18 / 1.11
   and 1.18 / 1.07 for training seeds 0 and 2, at 20 times the cost. The label alone lifts the confident share
   from 0.56 to 0.83-0.90; a small guidance weight passes the real
   digits' rate without costing variety (the noise-floor ratio is no worse at $w = 0.25$), while $w \ge 1$ trades
   variety for clarity (1.34-1.46; $w = 2$: 1.76 / 1.26, $w = 3$: 1.93 / 1.27). The "no label" branch, trained
   one step in five, is a worse unconditional model than item 1-6's network (0.24-0.33): it only needs to be good
   enough to point away from. The recipe samples with $w = 0.25$ and drops the label one step in five.

The recipe (width 16, 4,000 steps of 64, about 70 s of CPU, conditional, $w = 0.25$): in
``benchmarks/bench_digits.py``, training with the command, 1.17 / 1.04 and 1.14 / 1.03 for two sample seeds after
73 s of CPU (83 s wall at load 1.5-3.7); unguided ($w = 0$) the same samples score 1.17 / 0.87 and 1.16 / 0.85,
the "no label" branch 1.26 / 0.32 and 1.25 / 0.34. Before the
labels (items 1-6), the same network scored 1.21 / 0.58 and 1.16 / 0.58 for two training seeds, and 1.20 / 0.56 in
``benchmarks/bench_digits.py``: the noise-floor target was met, the classifier target not. What those samples lacked
was shape, not cleanliness: setting their near-black pixels to black, or rounding them to the data's 17 grey
levels, changed nothing, and five times the training budget (width 32, 5,000 steps of 128, EMA 0.998, 323 s)
reached only 0.74. For comparison, issue 7's plain settings on the width-32 network (linear schedule, 1,000 steps
of 128 at a constant 1e-3, no EMA, 64 s): 1.75 / 0.39 unclipped, 1.43 / 0.40 clipped. The target of 2 minutes is
for this machine, which has two cores: with nothing else running, wall time is CPU time plus a few seconds.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from ._checks import check_bool, check_int
from .data import DATA_STD, DATASET_NAMES, IMAGE_DATASETS, load_dataset
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
    "model": {
        "hidden": 96,
        "layers": 3,
        "time_dim": 32,
        "x_frequencies": 8,
        "activation": "relu",
        "data_std": DATA_STD,
    },  # the layers learn the correction to the Gaussian guess (item 6)
    "train": {"steps": 3000, "batch_size": 512, "lr": 5e-3, "lr_schedule": "cosine", "ema_decay": 0.998},
    "data_size": 100_000,
    "variance": "beta",
}

RECIPES: dict[str, dict[str, Any]] = {
    name: copy.deepcopy(_RECOMMENDED) for name in DATASET_NAMES if name not in IMAGE_DATASETS
}
RECIPES["checkerboard"]["train"]["steps"] = 6000  # sharp-edged squares: 1.24 after 3,000 steps, 1.14 after 6,000
RECIPES["swiss_roll"]["train"]["steps"] = 5000  # thin arms: DDIM-50 1.41-1.45 after 3,000 steps, 1.26-1.34 after 5,000
RECIPES["digits"] = {
    "schedule": {"name": "cosine", "num_timesteps": 1000},
    "model": {"class": "ConvDenoiser", "width": 16, "time_dim": 64, "groups": 8, "blocks": 1, "num_classes": 10},
    "train": {
        "steps": 4000,
        "batch_size": 64,
        "lr": 2e-3,
        "lr_schedule": "cosine",
        "ema_decay": 0.995,
        "label_dropout": 0.2,  # trains the digit labels in, and "no label" one step in five
    },
    "data_size": None,  # the whole training split, 1,438 digits
    "variance": "beta",
    "clip_x0": True,  # sample with the predicted x_0 clamped to [-1, 1] (see "The digits" above)
    "guidance": 0.25,  # sample with classifier-free guidance of weight w = 0.25 (see "The digits" above)
}
"""Data set name -> its recommended recipe (one recipe for every 2-D set, longer for the checkerboard and the swiss
roll; a small U-Net for the digits)."""


def build_model(
    model_recipe: dict[str, Any], data: torch.Tensor, num_timesteps: int, *, schedule: NoiseSchedule | None = None
) -> MLPDenoiser | ConvDenoiser:
    """The untrained network a recipe's ``"model"`` entry names, sized for ``data`` and ``num_timesteps``.

    ``model_recipe["class"]`` is ``"MLPDenoiser"`` (the default, so recipes written before there were two classes
    still work) or ``"ConvDenoiser"``; the entry's other keys are the class's arguments. The data's shape gives
    ``dim`` (MLP) or ``channels`` and ``image_size`` (conv net). ``schedule`` (of ``num_timesteps`` steps) goes to
    the MLP, which needs it in correction form (``"data_std"`` in the entry).

    Raises:
        ValueError: an unknown class, or data of the wrong shape for it ((N, D) points for the MLP, (N, C, H, W)
            square images for the conv net).
    """
    arguments = dict(model_recipe)
    name = arguments.pop("class", "MLPDenoiser")
    if name == "MLPDenoiser" and data.ndim == 2:
        return MLPDenoiser(dim=data.shape[1], num_timesteps=num_timesteps, schedule=schedule, **arguments)
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
    labels = None
    if recipe["model"].get("num_classes") is None:
        data = load_dataset(dataset, "train", n=recipe["data_size"])  # (N, D) points or (N, C, H, W) images
    else:  # a class-conditional model learns from the labels too
        data, labels = load_dataset(dataset, "train", n=recipe["data_size"], labels=True)
    with torch.random.fork_rng(devices=[]):  # seed the initial weights without touching the global generator
        torch.manual_seed(seed)
        model = build_model(recipe["model"], data, len(schedule), schedule=schedule)
    generator = torch.Generator().manual_seed(seed)
    losses = train(
        model,
        data,
        schedule,
        generator=generator,
        device=device,
        progress=progress,
        labels=labels,
        **recipe["train"],
    )
    return model, schedule, losses, recipe
