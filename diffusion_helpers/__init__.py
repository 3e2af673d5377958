r"""diffusion_helpers: the small, tested package behind the DDPM notebook series.

It implements the forward (noising) process of Denoising Diffusion Probabilistic Models
(Ho et al. 2020, https://arxiv.org/abs/2006.11239) and the tools the notebooks use to show it.

Timestep convention (one convention, everywhere in this package):
    Timesteps are the paper's ``t in {1, ..., T}``; ``x_0`` is the data and ``x_T`` is (close to) pure
    noise. Every per-timestep tensor of a schedule (``betas``, ``alphas``, ``alpha_bars``, ...) has length
    ``T``, and its element ``[t - 1]`` belongs to timestep ``t``. Functions that accept ``t = 0`` (such
    as :func:`q_sample`) treat it as "no noise yet" and return the data.

Modules, in the direction imports flow (the mathematics never imports the presentation layer):

- ``schedules``: variance schedules beta_t and what follows from them (alpha_t, alpha_bar_t, SNR)
- ``forward``: the forward process: q_step (Eq. 2), q_sample (Eq. 4), forward_trajectory
- ``reverse``: the posterior q(x_{t-1} | x_t, x_0) (Eq. 6-7), x_0 <-> eps, the reverse mean (Eq. 11),
  one step
- ``sampling``: the DDPM sampler (Algorithm 2), and the exact noise predictor of Gaussian data
- ``ddim``: DDIM (Song et al. 2021): sampling in few steps along respaced timesteps, and inversion
- ``data``: 2-D data sets to train on (swiss roll, moons, ...), drawn reproducibly per split, and the 8x8 digits;
  the swiss roll's exact noise predictor
- ``metrics``: sliced Wasserstein distance, and the same divided by its noise floor; for the digits, the same in
  pixel space and a digit classifier's confident share
- ``evaluation``: sample quality and sampling time against the number of sampling steps (steps_versus_quality)
- ``models``: small noise predictors with a sinusoidal timestep embedding: an MLP, and a conv net for images
  (optionally hearing a class label)
- ``guidance``: classifier-free guidance (Ho & Salimans 2022) for a class-conditional model
- ``training``: Algorithm 1 (train), checkpoints (save_checkpoint, load_checkpoint)
- ``recipes``: the recommended training recipe per data set (train_recipe), which the commands
  ``python -m diffusion_helpers.train`` and ``python -m diffusion_helpers.sample`` run
- ``toy1d``: 1-D toys computed exactly: mixture data, Bayes' rule on a grid (import diffusion_helpers.toy1d)
- ``images``: example image, loading, PIL <-> tensor in [-1, 1], image grids
- ``plotting``: matplotlib figures the notebooks show (imported on first use)
- ``plotting_training``: figures of training and sampling on 2-D data (imported on first use)
- ``plotting_sampling``: figures of fast sampling: spacings, steps against quality, DDPM beside DDIM (imported on
  first use)
- ``plotting_images``: figures of small grey images and their sampling: grids, trajectories (imported on first use)
- ``plotting_reverse``: figures and the reverse-step explorer of notebook 04 (imported on first use)
- ``widgets``: ipywidgets controls: the timestep scrubber and the schedule explorer (imported on first use)
- ``notebook``: teaching aids: show the package's source (imported on first use)
- ``exercises``: self-checking exercises: dh.exercises.check("NN-name", answer) (imported on first use)

Nothing here seeds a random generator or changes matplotlib settings when imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from .data import DATASET_NAMES, held_out_sets, load_dataset, swiss_roll_eps_model
from .ddim import SPACINGS, ddim_invert, ddim_sample, ddim_step, spaced_timesteps
from .evaluation import NoiseFloorScorer, QualityPoint, steps_versus_quality
from .forward import MAX_TRAJECTORY_VALUES, at_timestep, forward_trajectory, q_mean_variance, q_sample, q_step
from .guidance import classifier_free_guidance, random_labels
from .images import example_image, image_grid, load_image, pil_to_tensor, tensor_to_pil
from .metrics import (
    ConfidentDigits,
    NoiseFloorRatio,
    confident_digits,
    image_noise_floor_ratio,
    noise_floor_ratio,
    sliced_wasserstein,
)
from .models import ConvDenoiser, MLPDenoiser
from .recipes import PLAIN_RECIPE, RECIPES, train_recipe
from .reverse import (
    REVERSE_VARIANCES,
    p_mean_from_eps,
    p_sample_step,
    predict_eps,
    predict_x0,
    q_posterior_mean_variance,
)
from .sampling import ddpm_sample, gaussian_eps_model
from .schedules import (
    MAX_NUM_TIMESTEPS,
    SCHEDULE_NAMES,
    SCHEDULE_PARAMETERS,
    NoiseSchedule,
    Parameter,
    cosine_betas,
    linear_betas,
    make_schedule,
    quadratic_betas,
    rescale_zero_terminal_snr,
    sigmoid_betas,
    terminal_health,
    timesteps_to_show,
)
from .training import load_checkpoint, save_checkpoint, train

__version__ = "0.1.0"

__all__ = [
    "DATASET_NAMES",
    "MAX_NUM_TIMESTEPS",
    "MAX_TRAJECTORY_VALUES",
    "PLAIN_RECIPE",
    "RECIPES",
    "REVERSE_VARIANCES",
    "SCHEDULE_NAMES",
    "SCHEDULE_PARAMETERS",
    "SPACINGS",
    "ConfidentDigits",
    "ConvDenoiser",
    "MLPDenoiser",
    "NoiseFloorRatio",
    "NoiseFloorScorer",
    "NoiseSchedule",
    "Parameter",
    "QualityPoint",
    "at_timestep",
    "classifier_free_guidance",
    "confident_digits",
    "cosine_betas",
    "ddim_invert",
    "ddim_sample",
    "ddim_step",
    "ddpm_sample",
    "example_image",
    "exercises",
    "forward_trajectory",
    "gaussian_eps_model",
    "held_out_sets",
    "image_grid",
    "image_noise_floor_ratio",
    "linear_betas",
    "load_checkpoint",
    "load_dataset",
    "load_image",
    "make_schedule",
    "noise_floor_ratio",
    "notebook",
    "p_mean_from_eps",
    "p_sample_step",
    "pil_to_tensor",
    "plotting",
    "plotting_images",
    "plotting_reverse",
    "plotting_sampling",
    "plotting_training",
    "predict_eps",
    "predict_x0",
    "q_mean_variance",
    "q_posterior_mean_variance",
    "q_sample",
    "q_step",
    "quadratic_betas",
    "random_labels",
    "rescale_zero_terminal_snr",
    "save_checkpoint",
    "sigmoid_betas",
    "sliced_wasserstein",
    "spaced_timesteps",
    "steps_versus_quality",
    "swiss_roll_eps_model",
    "tensor_to_pil",
    "terminal_health",
    "timesteps_to_show",
    "train",
    "train_recipe",
    "widgets",
]

# The presentation layer pulls in matplotlib and ipywidgets; load it only when it is used, so that
# `import diffusion_helpers` costs little more than `import torch`.
_LAZY_SUBMODULES = (
    "exercises",
    "notebook",
    "plotting",
    "plotting_images",
    "plotting_reverse",
    "plotting_sampling",
    "plotting_training",
    "widgets",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
