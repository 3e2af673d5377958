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
import re
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from ._checks import check_float, check_float_tensor, check_int

__all__ = ["example_image", "image_grid", "load_image", "pil_to_tensor", "tensor_to_pil", "to_rgb"]

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
URL_SCHEMES = ("http", "https")  # the only URLs load_image fetches; anything else with a scheme is refused
MAX_GRID_PIXELS = 2**26  # an image_grid of at most 67 million pixels (200 MB as RGB)
WHITE = (255, 255, 255)


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
    background: tuple[int, int, int] = WHITE,
) -> Image.Image:
    """Load an image from a path or an http(s) URL as RGB, center-cropped to a square and resized to ``size``.

    The picture is decoded as a viewer shows it: turned upright by its EXIF orientation (phone photos),
    16-bit greys scaled to 8 bits, and transparent pixels composited on ``background`` (see
    :func:`pil_to_tensor`).

    Args:
        source: a file path, or a URL starting with ``http://`` or ``https://`` (the only schemes fetched).
        size: the side of the square result in pixels, in [1, 4096].
        timeout: seconds the whole download may take, connecting, headers and data together (URLs only).
        max_bytes: the largest file or download accepted; checked before the file is read.
        background: the RGB colour transparent pixels are composited on (default white).

    Raises:
        FileNotFoundError: a path that does not exist (the message names it).
        ValueError: a file or download that is not an image, one larger than ``max_bytes``, or one with more
            pixels than Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``); an HTTP error status
            (e.g. 404); a malformed URL, or a URL whose scheme is not http(s) (``ftp://``, ``file://``).
        ConnectionError: the URL cannot be reached, the download does not finish within ``timeout`` seconds,
            or it breaks off (the message says how to use :func:`example_image`).
        TypeError: ``source`` is not a string or path; ``timeout`` not a number, ``max_bytes`` not an int.
        ValueError: also ``timeout`` outside (0, 600] or ``max_bytes < 1``: a download always has both bounds.
    """
    size = check_int("size", size, minimum=1, maximum=4096)
    timeout = check_float("timeout", timeout, low=0.0, high=600.0, high_inclusive=True)
    max_bytes = check_int("max_bytes", max_bytes, minimum=1)
    background = _check_rgb("background", background)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path or an http(s) URL string, got {type(source).__name__}")
    where = os.fsdecode(source)
    scheme = _url_scheme(source)
    if scheme in URL_SCHEMES:
        data = _download(where, timeout=timeout, max_bytes=max_bytes)
    elif scheme is not None and not os.path.exists(where):
        raise ValueError(
            f"{where!r} is a URL with the scheme {scheme!r}; load_image fetches only http:// and https:// URLs "
            f"(or give the path of an image file)"
        )
    else:
        data = _read_file(Path(where), max_bytes=max_bytes)
    return _square(to_rgb(_open_image(data, where), background, where), size)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    r"""An image as a ``(3, H, W)`` float32 tensor in [-1, 1]: $x = 2 \cdot \text{pixel}/255 - 1$.

    Equal to ``torchvision.transforms.functional.to_tensor(image) * 2 - 1`` for an RGB image. Other modes
    become RGB first: 16-bit greys are scaled to 8 bits, and transparent pixels are composited on white.

    Raises:
        TypeError: if ``image`` is not a ``PIL.Image.Image``.
        ValueError: an image with no defined pixel range (32-bit float, or integers outside [0, 65535]).
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"image must be a PIL.Image.Image, got {type(image).__name__}")
    pixels = torch.from_numpy(np.asarray(to_rgb(image), dtype=np.uint8).copy())  # (H, W, 3)
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
        TypeError: an item that is neither an image nor a tensor; ``images`` not a sequence or tensor.
        ValueError: no images, images of different sizes, ``ncols < 1``, ``padding < 0``, a ``background``
            that is not three ints in [0, 255], or a grid of more than ``MAX_GRID_PIXELS`` pixels.
    """
    if ncols is not None:
        ncols = check_int("ncols", ncols, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    background = _check_rgb("background", background)
    pils = _as_rgb_images("images", images)
    width, height = pils[0].size
    for i, pil in enumerate(pils):
        if pil.size != (width, height):
            raise ValueError(
                f"all images must have one size; images[0] is {width}x{height}, "
                f"images[{i}] is {pil.size[0]}x{pil.size[1]}"
            )
    ncols = len(pils) if ncols is None else min(ncols, len(pils))
    nrows = math.ceil(len(pils) / ncols)
    grid_size = (ncols * width + (ncols - 1) * padding, nrows * height + (nrows - 1) * padding)
    if grid_size[0] * grid_size[1] > MAX_GRID_PIXELS:
        raise ValueError(
            f"the grid would be {grid_size[0]}x{grid_size[1]} pixels, more than MAX_GRID_PIXELS={MAX_GRID_PIXELS}; "
            f"use fewer or smaller images, or less padding (got padding={padding})"
        )
    grid = Image.new("RGB", grid_size, background)
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


_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # "I": Pillow's 32-bit mode, 16-bit files in it
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


def to_rgb(image: Image.Image, background: tuple[int, int, int] = WHITE, where: str = "image") -> Image.Image:
    """``image`` as 8-bit RGB, as a viewer shows it; Pillow's plain ``convert("RGB")`` gets two cases wrong.

    Args:
        image: a PIL image of any mode.
        background: the RGB colour transparent pixels are composited on.
        where: how error messages name the image (e.g. ``"images[3]"``).

    Returns:
        An RGB PIL image of the same size.

    Raises:
        ValueError: a 32-bit image with no defined range, or a mode Pillow cannot convert.

    What differs from ``convert("RGB")``:

    - 16-bit greys (PNG, TIFF): ``convert`` clips every value above 255, so the picture comes out white.
      Here the range [0, 65535] is scaled to [0, 255] (65535 / 255 = 257). Integers outside it, and float
      images (mode ``F``), have no defined range and are refused.
    - Transparency (an alpha channel, or a palette or colour marked transparent): ``convert`` drops it and
      shows the colour hidden under each transparent pixel, often black. Here the image is composited on
      ``background``.
    """
    if image.mode in _SIXTEEN_BIT_MODES:
        levels = np.asarray(image)  # (H, W), uint16 or int32
        if levels.size and (levels.min() < 0 or levels.max() > 65535):
            raise ValueError(
                f"{where} is a 32-bit integer image with values in [{levels.min()}, {levels.max()}]; only the "
                f"16-bit range [0, 65535] can be scaled to 8 bits: convert it to 8 bits yourself"
            )
        image = Image.fromarray((levels / 257).round().astype(np.uint8), mode="L")
    elif image.mode == "F":
        raise ValueError(f"{where} is a 32-bit float image (mode F), which has no defined range: convert it to 8 bits")
    try:
        if image.mode in _ALPHA_MODES or "transparency" in image.info:
            rgba = (image.convert("LA") if image.mode == "La" else image).convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", image.size, (*background, 255)), rgba)
        return image.convert("RGB")
    except ValueError as error:  # a mode Pillow cannot convert
        raise ValueError(f"{where} has mode {image.mode}, which cannot be converted to RGB ({error})") from None


def _as_rgb_images(name: str, images: object) -> list[Image.Image]:
    """Check a non-empty sequence of PIL images or ``(C, H, W)`` tensors (or one ``(N, C, H, W)`` tensor); as RGB."""
    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise ValueError(f"{name}, a tensor of images, must have shape (N, C, H, W), got {tuple(images.shape)}")
        images = list(images)
    if not isinstance(images, Sequence) or isinstance(images, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of PIL images or tensors, got {type(images).__name__}")
    if len(images) == 0:
        raise ValueError(f"{name} is empty: give at least one image")
    pils = []
    for i, item in enumerate(images):
        if isinstance(item, torch.Tensor):
            pils.append(tensor_to_pil(item))
        elif isinstance(item, Image.Image):
            pils.append(to_rgb(item, where=f"{name}[{i}]"))
        else:
            raise TypeError(f"{name}[{i}] must be a PIL image or a tensor, got {type(item).__name__}")
    return pils


def _check_rgb(name: str, value: object) -> tuple[int, int, int]:
    """Return ``value`` as an RGB triple of ints in [0, 255]."""
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)) or len(value) != 3:
        raise TypeError(f"{name} must be an (R, G, B) tuple of three ints in [0, 255], got {value!r}")
    r, g, b = (check_int(f"{name}[{i}]", channel, minimum=0, maximum=255) for i, channel in enumerate(value))
    return r, g, b


def _url_scheme(source: str | os.PathLike[str]) -> str | None:
    r"""The lower-case scheme of a string that starts like a URL (``"ftp"`` for ``"ftp://..."``), else None.

    Paths are never URLs, nor is ``C:\...`` (a scheme has at least two letters).
    """
    if not isinstance(source, str):
        return None
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]+):", source)
    return match.group(1).lower() if match else None


def _read_file(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of a file, refused before reading if it is larger than ``max_bytes``."""
    if not path.is_file():
        raise FileNotFoundError(f"no image file at {str(path)!r}" + (" (it is a folder)" if path.is_dir() else ""))
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{str(path)!r} is {size} bytes, more than max_bytes={max_bytes}; pass a larger max_bytes")
    chunks, total = [], 0
    with path.open("rb") as file:
        # Read in pieces and count: a file may grow, or report no size at all (/proc, /sys).
        while chunk := file.read(1024 * 1024):
            total += len(chunk)
            if total > max_bytes:
                raise ValueError(f"{str(path)!r} is larger than max_bytes={max_bytes}; pass a larger max_bytes")
            chunks.append(chunk)
    return b"".join(chunks)


def _open_image(data: bytes, where: str) -> Image.Image:
    """Decode bytes as an upright image, within Pillow's decompression-bomb limit; a clear ValueError otherwise."""
    try:
        with warnings.catch_warnings():
            # Between MAX_IMAGE_PIXELS and twice that, Pillow only warns: treat it as the error it signals.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
            return ImageOps.exif_transpose(image)  # phone photos store "rotate me" in EXIF, not in the pixels
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValueError(f"{where} is too large to decode safely: {error}") from None
    except Exception as error:  # Pillow's decoders raise many types (NotImplementedError, ...) on broken files
        raise ValueError(f"{where} is not an image Pillow can read ({type(error).__name__}: {error})") from None


_OFFLINE_HINT = (
    "The series runs offline: use diffusion_helpers.example_image() instead, "
    "or download the file yourself and pass its path to load_image."
)


def _download(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """The body of ``url``, at most ``max_bytes``, downloaded within ``timeout`` seconds in all.

    requests' own timeout bounds each wait for the server, not the download: a server sending one byte a
    second (in the headers or the body) would never trip it. So a worker thread downloads, and the caller
    waits for it at most ``timeout`` seconds; a worker still running then is told to stop at its next read.
    """
    outcome: dict[str, Any] = {}
    stop = threading.Event()
    worker = threading.Thread(
        target=_fetch, args=(url, timeout, max_bytes, stop, outcome), name="load_image download", daemon=True
    )
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        stop.set()
        raise ConnectionError(
            f"could not download {url} within timeout={timeout:g} s (the whole download: connecting, headers and "
            f"data). {_OFFLINE_HINT}"
        )
    if "error" in outcome:
        raise outcome["error"].with_traceback(None)
    return outcome["data"]


def _fetch(url: str, timeout: float, max_bytes: int, stop: threading.Event, outcome: dict[str, Any]) -> None:
    """Download ``url`` into ``outcome["data"]``, or put the error to raise into ``outcome["error"]``."""
    import requests  # lazily: only URL loading needs it

    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            response.raise_for_status()
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                outcome["error"] = ValueError(f"{url} is {int(declared)} bytes, more than max_bytes={max_bytes}")
                return
            chunks, total = [], 0
            # read1 returns whatever has arrived, so a slow server cannot keep one read waiting past the deadline
            while not stop.is_set() and (chunk := response.raw.read1(64 * 1024, decode_content=True)):
                total += len(chunk)
                if total > max_bytes:
                    outcome["error"] = ValueError(f"{url} is larger than max_bytes={max_bytes}")
                    return
                chunks.append(chunk)
        outcome["data"] = b"".join(chunks)
    except ValueError as error:  # requests' InvalidURL, MissingSchema, InvalidSchema (a redirect to ftp://), ...
        outcome["error"] = ValueError(f"{url} is not a valid URL ({type(error).__name__}: {error})")
    except (requests.ConnectionError, requests.Timeout) as error:
        outcome["error"] = ConnectionError(f"could not download {url} ({type(error).__name__}). {_OFFLINE_HINT}")
    except requests.HTTPError as error:
        outcome["error"] = ValueError(f"could not download {url}: {error}")
    except Exception as error:  # the rest (a connection cut mid-download, a redirect loop): as above
        outcome["error"] = ConnectionError(f"could not download {url} ({type(error).__name__}). {_OFFLINE_HINT}")
