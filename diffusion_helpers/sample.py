r"""Command: draw samples from a checkpoint saved by ``python -m diffusion_helpers.train`` and save them.

    python -m diffusion_helpers.sample runs/swiss_roll --n 10000 --sampler ddim --steps 50 --out samples.pt
    python -m diffusion_helpers.sample runs/digits --n 100 --sampler ddim --seed 1 --out digits.png
    python -m diffusion_helpers.sample runs/digits --n 64 --sampler ddim --label 3 --guidance 1 --out threes.png

Two samplers: ``ddpm`` (Ho et al. 2020, Algorithm 2: all ``T`` steps; ``--variance`` picks
$\sigma_t^2$) and ``ddim`` (Song et al. 2021, Eq. 12: ``--steps`` of the ``T`` timesteps, chosen by
``--spacing``; ``--eta`` 0 is deterministic, 1 adds DDPM-like noise). ``--clip-x0`` clamps each step's
predicted $x_0$ to $[-1, 1]$ (for image data, which lives there) and ``--no-clip-x0`` does not; without either,
the checkpoint's recipe decides (the digits recipe clips).

A class-conditional checkpoint (a model trained with labels, ``model.config["num_classes"]`` = $K$, as the digits
recipe's) samples with classifier-free guidance (Ho & Salimans 2022, Eq. 6;
:func:`~diffusion_helpers.classifier_free_guidance`) of weight ``--guidance`` $w \ge 0$, by default the recipe's
(``recipe["guidance"]``; 0, the conditional model unguided, when the recipe names none). ``--label C`` draws every
sample of class ``C`` (for the digits, the digit ``C``). Without it the labels are drawn uniformly from
$\{0, \dots, K-1\}$ (:func:`~diffusion_helpers.random_labels`), which samples $p(x) = \sum_c p(c)\,p(x \mid c)$, from
a generator of their own seeded with ``--seed``; the sampler's noise comes from a second generator seeded with
``--seed``, exactly as for an unconditional model, so a seed gives the same starting noise $x_T$ whatever the labels
(``--label 3`` and ``--label 5`` with one seed draw the same noise towards two digits). The labels of a ``.pt`` are
``dh.random_labels(N, K, generator=torch.Generator().manual_seed(SEED))``, in the tensor's order; a ``.png`` grid
shows the samples sorted by label (stable), so in reading order the classes run 0, 1, ..., K-1.

The output follows ``--out``'s suffix: ``.pt`` writes one tensor of the model's sample shape ``(N, D)`` or
``(N, C, H, W)`` with ``torch.save`` (read it back with ``torch.load("samples.pt")``); ``.png`` writes image
samples as a picture grid (pixels enlarged without smoothing, a light border around each image). Options that
do not fit together (``--eta`` with ``ddpm``, a ``.png`` of 2-D points, ``--steps`` above ``T``) stop with a
usage message that says what to change.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from ._cli import add_threads_option, set_threads
from .ddim import SPACINGS, ddim_sample
from .guidance import classifier_free_guidance, random_labels
from .reverse import REVERSE_VARIANCES
from .sampling import ddpm_sample
from .training import CHECKPOINT_NAME, load_checkpoint

SAMPLERS = ("ddpm", "ddim")
SUFFIXES = (".pt", ".png")
DDIM_DEFAULTS = {"steps": 50, "eta": 0.0, "spacing": "trailing"}
"""The ``ddim`` sampler's options when not given (``--steps``, ``--eta``, ``--spacing``)."""
MIN_TILE_PIXELS = 32
"""A ``.png`` enlarges each image by a whole factor until it is at least this many pixels wide (8x8 digits: x4)."""
MAX_GRID_IMAGES = 1024
"""The most samples one ``.png`` grid holds (32 x 32 tiles of at least 32 pixels: about 1,100 pixels a side)."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    set_threads(parser, args)
    _check_arguments(parser, args)

    path = Path(args.checkpoint)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    start = time.perf_counter()
    try:
        model, schedule, meta = load_checkpoint(path, device=args.device)
    except (FileNotFoundError, TypeError, ValueError, RuntimeError) as error:
        parser.exit(2, f"error: {error}\n")
    shape = model.sample_shape(args.n)
    out = Path(args.out)
    if out.suffix.lower() == ".png" and len(shape) != 4:
        parser.error(f"--out {out}: {shape[1]}-D samples cannot be written as a picture; use .pt")
    recipe = meta.get("recipe", {})
    clip_x0 = recipe.get("clip_x0", False) if args.clip_x0 is None else args.clip_x0
    T = len(schedule)
    if args.sampler == "ddim" and args.steps > T:
        parser.error(f"--steps must be at most T = {T}, the checkpoint's number of timesteps; got {args.steps}")
    labels, guidance = _labels_and_guidance(parser, args, model, recipe)  # (None, None) for an unconditional model
    eps_model = model if labels is None else classifier_free_guidance(model, labels, guidance)
    generator = torch.Generator().manual_seed(args.seed)  # the sampler's noise: the same whatever the labels
    try:
        if args.sampler == "ddpm":
            variance = args.variance or recipe.get("variance", "beta")
            description = f"ddpm, sigma_t^2 = {variance}, T = {T}"
            samples = ddpm_sample(
                eps_model,
                schedule,
                shape,
                variance=variance,
                clip_x0=clip_x0,
                generator=generator,
                device=args.device,
                progress=not args.quiet,
            )
        else:
            description = f"ddim, {args.steps} of T = {T} steps ({args.spacing}), eta = {args.eta:g}"
            samples = ddim_sample(
                eps_model,
                schedule,
                shape,
                steps=args.steps,
                eta=args.eta,
                spacing=args.spacing,
                clip_x0=clip_x0,
                generator=generator,
                device=args.device,
                progress=not args.quiet,
            )
    except (TypeError, ValueError, RuntimeError) as error:
        parser.exit(2, f"error: {error}\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    conditioning = ""
    if labels is not None:
        if args.label is None:
            conditioning = f"; guidance w = {guidance:g}, labels uniformly random (seed {args.seed})"
        else:
            conditioning = f"; guidance w = {guidance:g}, every sample of class {args.label}"
    if out.suffix.lower() == ".png":
        if labels is not None and args.label is None:
            samples = samples[torch.argsort(labels, stable=True)]  # rows read 0, 1, ..., K-1
            conditioning += ", sorted by label"
        save_grid(samples.cpu(), out)
    else:
        torch.save(samples.cpu(), out)
    seconds = time.perf_counter() - start
    clipped = ", x_0 clipped" if clip_x0 else ""
    print(f"{args.n} samples ({description}{clipped}{conditioning}) in {seconds:.1f} s: {out}")
    return 0


def _labels_and_guidance(
    parser: argparse.ArgumentParser, args: argparse.Namespace, model: torch.nn.Module, recipe: dict
) -> tuple[torch.Tensor | None, float | None]:
    """``(labels (N,), w)`` for a class-conditional model; ``(None, None)`` for an unconditional one.

    Refuses ``--guidance`` or ``--label`` for an unconditional model and a ``--label`` outside ``[0, K)``. The
    random labels come from their own generator seeded with ``--seed``, so the sampler's noise does not move.
    """
    num_classes = getattr(model, "config", {}).get("num_classes")
    if num_classes is None:
        for option in ("guidance", "label"):
            if getattr(args, option) is not None:
                parser.error(
                    f"--{option} applies to a class-conditional checkpoint only (a model trained with labels, such "
                    "as the digits recipe's); this one was trained without labels: drop it"
                )
        return None, None
    if args.label is not None and not 0 <= args.label < num_classes:
        parser.error(
            f"--label must be a class in [0, {num_classes}), i.e. 0 to {num_classes - 1} for this checkpoint; "
            f"got {args.label}"
        )
    guidance = recipe.get("guidance", 0.0) if args.guidance is None else args.guidance
    if args.label is None:
        labels = random_labels(args.n, num_classes, generator=torch.Generator().manual_seed(args.seed))
    else:
        labels = torch.full((args.n,), args.label, dtype=torch.int64)
    return labels, float(guidance)


def save_grid(images: torch.Tensor, path: Path) -> None:
    """Write images ``(N, C, H, W)`` in [-1, 1] as one PNG grid, about square, each tile enlarged and framed.

    Each image is enlarged by the smallest whole factor that makes it :data:`MIN_TILE_PIXELS` wide, by
    repeating pixels (nearest neighbour: no smoothing invents detail), and framed by 2 light-grey pixels.
    """
    from torchvision.utils import save_image  # presentation: imported only when a picture is asked for

    scale = max(1, math.ceil(MIN_TILE_PIXELS / images.shape[-1]))
    images = torch.nn.functional.interpolate(images, scale_factor=scale, mode="nearest")  # (N, C, sH, sW)
    columns = math.ceil(math.sqrt(len(images)))
    save_image(images, path, nrow=columns, padding=2, pad_value=0.8, normalize=True, value_range=(-1, 1))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m diffusion_helpers.sample",
        description="Draw samples from a trained checkpoint with the DDPM sampler (Ho et al. 2020, Algorithm 2) or "
        "the DDIM sampler (Song et al. 2021, a few steps) and save them as a tensor (.pt) or, for image data, a "
        "picture grid (.png).",
    )
    parser.add_argument("checkpoint", metavar="DIR", help=f"a folder holding {CHECKPOINT_NAME}, or the file itself")
    parser.add_argument("--n", type=int, required=True, help="how many samples")
    parser.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default="ddpm",
        help="ddpm: all T steps (default); ddim: --steps of them, deterministic with --eta 0",
    )
    parser.add_argument(
        "--variance",
        choices=REVERSE_VARIANCES,
        default=None,
        help="ddpm only: sigma_t^2 of each step (default: the recipe's)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help=f"ddim only: how many of the T steps to take (default {DDIM_DEFAULTS['steps']})",
    )
    parser.add_argument(
        "--eta",
        type=float,
        default=None,
        help="ddim only: the noise of each step, 0 (deterministic, default) to 1 (as much as DDPM)",
    )
    parser.add_argument(
        "--spacing",
        choices=SPACINGS,
        default=None,
        help=f"ddim only: which timesteps the steps visit (default {DDIM_DEFAULTS['spacing']})",
    )
    parser.add_argument(
        "--clip-x0",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="clamp each step's predicted x_0 to [-1, 1], where image data lives (default: the recipe's)",
    )
    parser.add_argument(
        "--guidance",
        metavar="W",
        type=float,
        default=None,
        help="class-conditional checkpoints only: the classifier-free guidance weight w >= 0 (Ho & Salimans 2022): "
        "0 samples the conditional model as it is, larger w draws samples that look more clearly like their class "
        "(default: the recipe's, 0 if it names none)",
    )
    parser.add_argument(
        "--label",
        metavar="C",
        type=int,
        default=None,
        help="class-conditional checkpoints only: draw every sample of class C, 0 to K-1 (for the digits, the "
        "digit C). Default: labels drawn uniformly at random from --seed (by a generator of their own, so a seed's "
        "noise is the same whatever the labels); a .png grid shows them sorted by label, 0 first",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the sampler's noise (and of the random labels) (default 0)"
    )
    parser.add_argument("--device", default="cpu", help="where to sample: cpu (default), cuda, mps, ...")
    parser.add_argument(
        "--out",
        metavar="FILE",
        required=True,
        help="where to write the samples: FILE.pt (a tensor) or, for image data, FILE.png (a picture grid)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_option(parser)
    return parser


def _check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse what does not fit before the checkpoint is read; fill in the ``ddim`` defaults."""
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")
    if args.guidance is not None and not 0 <= args.guidance < math.inf:  # also refuses nan
        parser.error(
            f"--guidance must be a number >= 0 (0: the conditional model unguided; without the option, the "
            f"checkpoint's recipe decides), got {args.guidance}"
        )
    suffix = Path(args.out).suffix.lower()
    if suffix not in SUFFIXES:
        parser.error(
            f"--out {args.out}: unknown file type {suffix or '(no suffix)'!r}; end it in .pt (a tensor) or .png "
            "(a picture grid, for image data)"
        )
    if suffix == ".png" and args.n > MAX_GRID_IMAGES:
        parser.error(
            f"--n {args.n} is too many for one picture grid (at most {MAX_GRID_IMAGES}); draw fewer, or write a "
            "tensor with --out FILE.pt"
        )
    if args.sampler == "ddpm":
        for option in ("steps", "eta", "spacing"):
            if getattr(args, option) is not None:
                parser.error(
                    f"--{option} applies to --sampler ddim only (DDPM takes all T steps, and its noise is set by "
                    "--variance); drop it, or add --sampler ddim"
                )
    else:
        if args.variance is not None:
            parser.error(
                "--variance applies to --sampler ddpm only (DDIM's noise is set by --eta); drop it, or use --eta"
            )
        for option, default in DDIM_DEFAULTS.items():
            if getattr(args, option) is None:
                setattr(args, option, default)
        if args.steps < 1:
            parser.error(f"--steps must be at least 1 (and at most T, the checkpoint's timesteps), got {args.steps}")
        if not 0 <= args.eta <= 1:  # also refuses nan
            parser.error(
                f"--eta must be a number in [0, 1] (0: deterministic DDIM, 1: as much noise as DDPM), got {args.eta}"
            )


if __name__ == "__main__":
    sys.exit(main())
