r"""Optional: the real MNIST digits (LeCun et al. 1998), for readers with internet; nothing else needs them.

``load_dataset("mnist", split)`` (or :func:`load_mnist`) returns MNIST's 60,000 training or 10,000 test images
as ``(N, 1, 28, 28)`` float32 scaled linearly to $[-1, 1]$ ($x / 127.5 - 1$: black 0 is -1, white 255 is 1),
the same form as the 8 x 8 ``"digits"`` that scikit-learn ships. MNIST's own split is kept: ``"train"`` and
``"test"`` are disjoint.

**Download and cache.** The first call downloads the four files (about 11 MB) with torchvision into
:func:`mnist_folder` (``$DIFFUSION_HELPERS_DATA``, or ``~/.cache/diffusion_helpers`` when that variable is not
set), under ``MNIST/raw/``; later calls read them from there, offline. Every network operation gives up after
``timeout`` seconds. Without internet the call stops with a :class:`ConnectionError` that says what to do:
use ``"digits"`` (no download), or copy the four files into that folder by hand.

The tests and the notebooks' default runs never call this: the series stays offline.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch

from ._checks import check_bool, check_float, check_generator, check_int

__all__ = ["MNIST_FILES", "MNIST_FOLDER_VARIABLE", "MNIST_SPLIT_SIZES", "load_mnist", "mnist_folder"]

MNIST_FOLDER_VARIABLE = "DIFFUSION_HELPERS_DATA"
"""The environment variable that names the folder MNIST is cached in (see :func:`mnist_folder`)."""

MNIST_SPLIT_SIZES = {"train": 60_000, "test": 10_000}
"""How many images each split of MNIST holds."""

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
"""The four files torchvision reads from ``<folder>/MNIST/raw/`` (each may also be there as ``.gz``)."""


def mnist_folder() -> Path:
    """The folder MNIST is cached in: ``$DIFFUSION_HELPERS_DATA`` if set, else ``~/.cache/diffusion_helpers``."""
    folder = os.environ.get(MNIST_FOLDER_VARIABLE)
    return Path(folder).expanduser() if folder else Path.home() / ".cache" / "diffusion_helpers"


def load_mnist(
    split: str = "train",
    n: int | None = None,
    generator: torch.Generator | None = None,
    labels: bool = False,
    *,
    folder: str | os.PathLike[str] | None = None,
    timeout: float = 30.0,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    r"""MNIST's images of a split as ``(n, 1, 28, 28)`` in $[-1, 1]$, downloaded once and cached (see the module).

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000), MNIST's own disjoint split.
        n: how many images, at most the split's size; the whole split if None.
        generator: picks ``n`` images at random (without replacement) instead of the first ``n``.
        labels: also return the digits 0-9, an int64 tensor of shape ``(n,)``.
        folder: where the files are cached; :func:`mnist_folder` if None.
        timeout: seconds each network operation may wait before the download gives up.

    Returns:
        float32 tensor of shape ``(n, 1, 28, 28)``, $x/127.5 - 1$; with ``labels=True``, ``(images, labels)``.

    Raises:
        TypeError, ValueError: ``split`` not ``"train"`` or ``"test"``, ``n`` < 1 or above the split's size,
            ``timeout`` <= 0.
        ConnectionError: the files are not cached and cannot be downloaded (no internet?); the message says
            what to do instead.
    """
    if not isinstance(split, str):
        raise TypeError(f"split must be a string, one of {', '.join(MNIST_SPLIT_SIZES)}; got {type(split).__name__}")
    if split not in MNIST_SPLIT_SIZES:
        raise ValueError(f"unknown split {split!r}; valid splits are: {', '.join(MNIST_SPLIT_SIZES)}")
    if n is not None and check_int("n", n, minimum=1) > MNIST_SPLIT_SIZES[split]:
        size = MNIST_SPLIT_SIZES[split]
        raise ValueError(f"n must be at most {size} for mnist: the {split!r} split holds {size} images, got {n}")
    check_generator(generator)
    check_bool("labels", labels)
    timeout = check_float("timeout", timeout, low=0.0, low_inclusive=False)
    folder = Path(folder).expanduser() if folder is not None else mnist_folder()
    dataset = _read_or_download(folder, train=split == "train", timeout=timeout)
    size = len(dataset.data)  # the split's size, unless the folder holds files other than MNIST's own
    n = size if n is None else min(n, size)
    chosen = torch.arange(n) if generator is None else torch.randperm(size, generator=generator)[:n]
    images = dataset.data[chosen].unsqueeze(1).float() / 127.5 - 1  # (n, 1, 28, 28): 0..255 -> [-1, 1]
    return (images, dataset.targets[chosen].long()) if labels else images


def _read_or_download(folder: Path, *, train: bool, timeout: float):  # -> torchvision.datasets.MNIST
    """torchvision's MNIST from ``folder``, downloading what is missing with a socket timeout of ``timeout`` s."""
    from torchvision.datasets import MNIST  # imported here: only this optional data set needs it

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # torchvision downloads with urllib, which waits on this timeout
    try:
        return MNIST(folder, train=train, download=True)
    except (OSError, RuntimeError) as error:  # URLError and timeouts are OSErrors; torchvision raises RuntimeError
        lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
        reason = lines[0].rstrip(":") + (f" ({lines[-1]})" if len(lines) > 1 else "")  # what, and the last cause
        files = ", ".join(MNIST_FILES)
        raise ConnectionError(
            f"could not download MNIST into {folder} (no internet?): {reason}. Use "
            "load_dataset('digits') instead, which ships with scikit-learn and needs no download; or copy the "
            f"four MNIST files ({files}, or their .gz) into {folder / 'MNIST' / 'raw'} and call again (set "
            f"{MNIST_FOLDER_VARIABLE} to use another folder)"
        ) from error
    finally:
        socket.setdefaulttimeout(previous)
