"""Command: draw samples from a checkpoint saved by ``python -m diffusion_helpers.train`` and save them.

    python -m diffusion_helpers.sample runs/swiss_roll --n 2000 [--sampler ddpm] [--seed 0] --out samples.pt

The samples are written as one tensor of shape ``(N, D)`` with ``torch.save``; read them back with
``torch.load("samples.pt")``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from ._cli import add_threads_option, set_threads
from .reverse import REVERSE_VARIANCES
from .sampling import ddpm_sample
from .training import CHECKPOINT_NAME, load_checkpoint

SAMPLERS = ("ddpm",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m diffusion_helpers.sample",
        description="Draw samples from a trained checkpoint with the DDPM sampler (Ho et al. 2020, Algorithm 2) "
        "and save them as a tensor.",
    )
    parser.add_argument("checkpoint", metavar="DIR", help=f"a folder holding {CHECKPOINT_NAME}, or the file itself")
    parser.add_argument("--n", type=int, required=True, help="how many samples")
    parser.add_argument("--sampler", choices=SAMPLERS, default="ddpm", help="the sampler (default ddpm)")
    parser.add_argument(
        "--variance", choices=REVERSE_VARIANCES, default=None, help="sigma_t^2 of each step (default: the recipe's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampler's noise (default 0)")
    parser.add_argument("--device", default="cpu", help="where to sample: cpu (default), cuda, mps, ...")
    parser.add_argument("--out", metavar="FILE.pt", required=True, help="where to write the samples")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_option(parser)
    args = parser.parse_args(argv)
    set_threads(parser, args)
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    if args.seed < 0:
        parser.error(f"--seed must be >= 0, got {args.seed}")

    path = Path(args.checkpoint)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    start = time.perf_counter()
    try:
        model, schedule, meta = load_checkpoint(path, device=args.device)
        variance = args.variance or meta.get("recipe", {}).get("variance", "beta")
        samples = ddpm_sample(
            model,
            schedule,
            (args.n, model.config["dim"]),
            variance=variance,
            generator=torch.Generator().manual_seed(args.seed),
            device=args.device,
            progress=not args.quiet,
        )
    except (FileNotFoundError, TypeError, ValueError, RuntimeError) as error:
        parser.exit(2, f"error: {error}\n")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(samples.cpu(), out)
    seconds = time.perf_counter() - start
    print(f"{args.n} samples ({args.sampler}, sigma_t^2 = {variance}, T = {len(schedule)}) in {seconds:.1f} s: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
