"""What the two commands (``python -m diffusion_helpers.train`` / ``.sample``) share: the ``--threads`` option."""

from __future__ import annotations

import argparse

import torch


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--threads N`` (default 1) to a command's parser."""
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (default 1: this small network gains little from more, and loses much when "
        "other programs share the cores)",
    )


def set_threads(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Apply ``--threads``, or exit with the parser's usage message if it is below 1."""
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    torch.set_num_threads(args.threads)
