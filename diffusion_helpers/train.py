"""Command: train a denoiser on a 2-D data set or the digits with the package's recipe and save a checkpoint.

    python -m diffusion_helpers.train swiss_roll --out runs/swiss_roll [--seed 0] [--device cpu]
    python -m diffusion_helpers.train digits --out runs/digits

The same code the notebooks run (:func:`~diffusion_helpers.recipes.train_recipe`); the checkpoint
``DIR/checkpoint.pt`` holds the weights, the model's configuration, the schedule and the recipe (under
``meta["recipe"]``, with how to sample: ``"variance"``, ``"clip_x0"`` and, for a class-conditional model such as
the digits', the guidance weight ``"guidance"``), and ``python -m diffusion_helpers.sample DIR`` draws samples
from it with those settings. The digits recipe trains a class-conditional network on the digits and their labels
(each label dropped for "no label" now and then, Ho & Salimans 2022), which samples with classifier-free guidance.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._cli import add_threads_option, set_threads
from .data import DATASET_NAMES, IMAGE_DATASETS
from .recipes import PLAIN_RECIPE, RECIPES, train_recipe
from .training import CHECKPOINT_NAME, save_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m diffusion_helpers.train",
        description="Train a DDPM noise predictor on a 2-D data set or the digits with the package's recommended "
        "recipe (Ho et al. 2020, Algorithm 1) and save a checkpoint into DIR.",
    )
    parser.add_argument("dataset", metavar="DATASET", choices=DATASET_NAMES, help=f"one of {', '.join(DATASET_NAMES)}")
    parser.add_argument("--out", metavar="DIR", required=True, help=f"folder for the checkpoint ({CHECKPOINT_NAME})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the batches (default 0)")
    parser.add_argument("--device", default="cpu", help="where to train: cpu (default), cuda, mps, ...")
    parser.add_argument("--steps", type=int, default=None, help="train for this many steps instead of the recipe's")
    parser.add_argument(
        "--recipe",
        choices=("recommended", "plain"),
        default="recommended",
        help="the package's recipe for DATASET (default), or the plain baseline to compare with (2-D data sets)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_option(parser)
    args = parser.parse_args(argv)
    set_threads(parser, args)

    if args.recipe == "plain" and args.dataset in IMAGE_DATASETS:
        parser.error(f"--recipe plain is the 2-D baseline (an MLP on points); drop it for {args.dataset}")
    start = time.perf_counter()
    recipe = RECIPES[args.dataset] if args.recipe == "recommended" else PLAIN_RECIPE
    print(f"training on {args.dataset} ({args.recipe} recipe): {_describe(recipe, args.steps)}", flush=True)
    try:
        model, schedule, losses, recipe = train_recipe(
            args.dataset, recipe=recipe, seed=args.seed, device=args.device, progress=not args.quiet, steps=args.steps
        )
    except (TypeError, ValueError, RuntimeError) as error:
        parser.exit(2, f"error: {error}\n")
    seconds = time.perf_counter() - start
    tail = losses[-min(len(losses), 500) :].mean()
    path = save_checkpoint(Path(args.out) / CHECKPOINT_NAME, model, schedule, recipe=recipe, seconds=seconds)
    print(f"done in {seconds:.1f} s; mean loss of the last steps {tail:.4f}; saved {path}")
    return 0


def _describe(recipe: dict, steps: int | None) -> str:
    train, schedule, model = recipe["train"], recipe["schedule"], recipe["model"]
    ema = f", EMA {train['ema_decay']}" if train["ema_decay"] else ""
    if model.get("class", "MLPDenoiser") == "MLPDenoiser":
        network = f"MLP {model['layers']}x{model['hidden']}"
    else:
        network = f"{model['class']} width {model['width']}"
    if model.get("num_classes") is not None:  # class-conditional: learns from the labels, samples with guidance
        network += (
            f" conditioned on {model['num_classes']} classes (label dropped with probability "
            f"{train.get('label_dropout', 0.1):g}; samples with guidance w = {recipe.get('guidance', 0.0):g})"
        )
    return (
        f"{schedule['name']} schedule T={schedule['num_timesteps']}, {network}, {steps or train['steps']} steps of "
        f"{train['batch_size']}, lr {train['lr']:g} ({train['lr_schedule']}){ema}"
    )


if __name__ == "__main__":
    sys.exit(main())
