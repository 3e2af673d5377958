"""Images in and out of the model's world: loading, PIL <-> tensor in [-1, 1], and grids.

Ho et al. 2020 (Sec. 3.3) scale pixel values {0, ..., 255} linearly to [-1, 1] "so that the neural network
reverse process operates on consistently scaled inputs starting from the standard normal prior p(x_T)".
Tensors here are ``(C, H, W)`` (or ``(B, C, H, W)``) float32 in [-1, 1]; images are RGB ``PIL.Image``.

The example image is the public-domain photograph of Grace Hopper that matplotlib ships as sample data,
so nothing here needs the network. Loading from a URL is optional, bounded in time and size, and says
what to do instead when the network is unreachable.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ._checks import check_float, check_float_tensor, check_int

__all__ = ["example_image", "image_grid", "load_image", "pil_to_tensor", "tensor_to_pil"]

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def example_image(size: int = 128) -> Image.Image:
    """The offline example: matplotlib's public-domain photo of Grace Hopper, center-cropped to ``size`` x ``size``.

    Raises:
        TypeError, ValueError: if ``size`` is not an int in [1, 4096].
    """
    import matplotlib.cbook  # lazily: matplotlib is heavy, and only this function needs its data

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        return _square(Image.open(file), size)


def load_image(
    source: str | os.PathLike[str],
    size: int = 128,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Image.Image:
    """Load an image from a path or an http(s) URL as RGB, center-cropped to a square and resized to ``size``.

    Args:
        source: a file path, or a URL starting with ``http://`` or ``https://``.
        size: the side of the square result in pixels, in [1, 4096].
        timeout: seconds to wait for the server (URLs only).
        max_bytes: the largest download accepted (URLs only).

    Raises:
        FileNotFoundError: a path that does not exist (the message names it).
        ValueError: a file or download that is not an image, one larger than ``max_bytes``, or one with more
            pixels than Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``); an HTTP error status
            (e.g. 404); a malformed URL.
        ConnectionError: the URL cannot be reached, does not answer within ``timeout``, or the download breaks
            off (the message says how to use :func:`example_image`).
        TypeError: ``source`` is not a string or path; ``timeout`` not a number, ``max_bytes`` not an int.
        ValueError: also ``timeout`` outside (0, 600] or ``max_bytes < 1``: a download always has both bounds.
    """
    size = check_int("size", size, minimum=1, maximum=4096)
    timeout = check_float("timeout", timeout, low=0.0, high=600.0, high_inclusive=True)
    max_bytes = check_int("max_bytes", max_bytes, minimum=1)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path or an http(s) URL string, got {type(source).__name__}")
    text = os.fspath(source)
    if isinstance(text, str) and text.lower().startswith(("http://", "https://")):
        return _square(_open_image(_download(text, timeout=timeout, max_bytes=max_bytes), text), size)
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(f"no image file at {str(path)!r}" + (" (it is a folder)" if path.is_dir() else ""))
    return _square(_open_image(path.read_bytes(), str(path)), size)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    r"""An image as a ``(3, H, W)`` float32 tensor in [-1, 1]: $x = 2 \cdot \text{pixel}/255 - 1$.

    Equal to ``torchvision.transforms.functional.to_tensor(image) * 2 - 1`` for an RGB image.

    Raises:
        TypeError: if ``image`` is not a ``PIL.Image.Image``.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"image must be a PIL.Image.Image, got {type(image).__name__}")
    pixels = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.uint8).copy())  # (H, W, 3)
    return pixels.permute(2, 0, 1).float().div_(127.5).sub_(1.0)  # (3, H, W)


def tensor_to_pil(x: torch.Tensor) -> Image.Image:
    """A ``(3, H, W)`` or ``(1, H, W)`` tensor in [-1, 1] as an RGB image, clamping first.

    Values outside [-1, 1] (every noisy ``x_t`` has some) are clamped before the conversion to bytes.
    Converting without clamping wraps around on x86: ``x = 1.6`` gives ``(x + 1) * 127.5 = 331.5``, which
    becomes pixel 75, and ``x = -1.4`` becomes pixel 205 (in torchvision's [0, 1] scale, 1.3 and -0.2),
    painting speckle that is not in the data.

    Raises:
        TypeError: if ``x`` is not a floating tensor.
        ValueError: if ``x`` has another shape, or contains NaN or inf.
    """
    check_float_tensor("x", x)
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"x must have shape (3, H, W) or (1, H, W), got {tuple(x.shape)}")
    x = x.detach().to("cpu", torch.float32)
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or inf; it cannot be shown as an image")
    pixels = ((x.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)  # (C, H, W) in {0..255}
    pixels = pixels.expand(3, -1, -1).permute(1, 2, 0).contiguous().numpy()  # (H, W, 3)
    return Image.fromarray(pixels, mode="RGB")


def image_grid(
    images: Sequence[Image.Image | torch.Tensor] | torch.Tensor,
    ncols: int | None = None,
    *,
    padding: int = 2,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """Paste images into a grid, row by row, with ``ceil(n / ncols)`` rows: every image is in it.

    Args:
        images: PIL images or tensors in [-1, 1] of shape ``(3, H, W)``, or one ``(N, 3, H, W)`` tensor;
            all of one size.
        ncols: images per row (default: all in one row).
        padding: pixels between images.
        background: RGB colour of the padding.

    Raises:
        TypeError: an item that is neither an image nor a tensor.
        ValueError: no images, images of different sizes, ``ncols < 1`` or ``padding < 0``.
    """
    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise ValueError(f"a tensor of images must have shape (N, C, H, W), got {tuple(images.shape)}")
        images = list(images)
    if not isinstance(images, Sequence) or isinstance(images, (str, bytes)):
        raise TypeError(f"images must be a sequence of PIL images or tensors, got {type(images).__name__}")
    if len(images) == 0:
        raise ValueError("images is empty: nothing to put in a grid")
    pils = []
    for i, item in enumerate(images):
        if isinstance(item, torch.Tensor):
            pils.append(tensor_to_pil(item))
        elif isinstance(item, Image.Image):
            pils.append(item.convert("RGB"))
        else:
            raise TypeError(f"images[{i}] must be a PIL image or a tensor, got {type(item).__name__}")
    width, height = pils[0].size
    for i, pil in enumerate(pils):
        if pil.size != (width, height):
            raise ValueError(f"all images must have one size; images[0] is {width}x{height}, images[{i}] is {pil.size[0]}x{pil.size[1]}")
    ncols = len(pils) if ncols is None else check_int("ncols", ncols, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    ncols = min(ncols, len(pils))
    nrows = math.ceil(len(pils) / ncols)
    grid = Image.new(
        "RGB", (ncols * width + (ncols - 1) * padding, nrows * height + (nrows - 1) * padding), background
    )
    for i, pil in enumerate(pils):
        row, col = divmod(i, ncols)
        grid.paste(pil, (col * (width + padding), row * (height + padding)))
    return grid


def _square(image: Image.Image, size: int) -> Image.Image:
    """Center-crop to the largest square, then resize to ``size`` x ``size`` (RGB)."""
    size = check_int("size", size, minimum=1, maximum=4096)
    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)


def _open_image(data: bytes, where: str) -> Image.Image:
    """Decode bytes as an image, within Pillow's decompression-bomb limit; a clear ValueError otherwise."""
    try:
        with warnings.catch_warnings():
            # Between MAX_IMAGE_PIXELS and twice that, Pillow only warns: treat it as the error it signals.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(f"{where} is too large to decode safely: {error}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"{where} is not an image Pillow can read ({error})") from None
    return image


def _download(url: str, *, timeout: float, max_bytes: int) -> bytes:
    import requests  # lazily: only URL loading needs it

    offline_hint = (
        "The series runs offline: use diffusion_helpers.example_image() instead, "
        "or download the file yourself and pass its path to load_image."
    )
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            response.raise_for_status()
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise ValueError(f"{url} is {int(declared)} bytes, more than max_bytes={max_bytes}")
            chunks, total = [], 0
            for chunk in response.iter_content(chunk_size=64 * 1024):
                total += len(chunk)
                if total > max_bytes:
                    raise ValueError(f"{url} is larger than max_bytes={max_bytes}")
                chunks.append(chunk)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise ConnectionError(f"could not download {url} ({type(error).__name__}). {offline_hint}") from None
    except requests.HTTPError as error:
        raise ValueError(f"could not download {url}: {error}") from None
    except requests.exceptions.InvalidURL as error:
        raise ValueError(f"{url} is not a valid URL ({error})") from None
    except requests.RequestException as error:
        # The rest of what requests raises (a connection cut mid-download, a redirect loop): the file cannot be
        # fetched, as above.
        raise ConnectionError(f"could not download {url} ({type(error).__name__}). {offline_hint}") from None
    return b"".join(chunks)
