"""Checkers of notebook 00 (setup): pixels as numbers in [-1, 1], and back.

Each function returns the expected value, computed with the package (see ``exercises/__init__.py``).
"""

from __future__ import annotations

import torch
from PIL import Image

from ..images import pil_to_tensor, tensor_to_pil
from . import exercise, mistake


@exercise(
    "00-pixel-to-x",
    hint="x = 2 * pixel / 255 - 1 maps 0 to -1 and 255 to +1.",
    diagnoses=[
        mistake("That is pixel / 255, on the scale [0, 1]; the model's scale is [-1, 1].", gives=lambda: 200 / 255),
        mistake("Close: subtract 1 after doubling, 2 * pixel / 255 - 1.", gives=lambda: 2 * 200 / 255),
        mistake(
            "That is pixel / 127.5 - 1 with 128 in place of 127.5; 255 must map to exactly +1.",
            gives=lambda: 200 / 128 - 1,
        ),
    ],
)
def pixel_to_x() -> float:
    """The value of the pixel level 200 on the model's scale."""
    return float(pil_to_tensor(Image.new("RGB", (1, 1), (200, 200, 200)))[0, 0, 0])


@exercise(
    "00-x-to-pixels",
    hint="pixel = round((x + 1) * 127.5), after clamping x to [-1, 1]; give a tuple of two ints.",
    diagnoses=[
        mistake(
            "x = 1.6 gives 331.5 without the clamp: that is no byte. Clamp x to [-1, 1] first.",
            gives=lambda: (round(1.3 * 127.5), round(2.6 * 127.5)),
        ),
        mistake(
            "76 is what the wrap-around paints (332 - 256): clamp x to [-1, 1] before converting.",
            gives=lambda: (round(1.3 * 127.5), round(2.6 * 127.5) - 256),
        ),
        mistake(
            "165 is (0.3 + 1) * 127.5 = 165.75 truncated; tensor_to_pil rounds to the nearest level.",
            gives=lambda: (165, 255),
        ),
    ],
)
def x_to_pixels() -> tuple[int, int]:
    """The pixel levels that x = 0.3 and x = 1.6 come back as."""
    image = tensor_to_pil(torch.tensor([0.3, 1.6]).view(1, 1, 2))
    return tuple(image.getpixel((i, 0))[0] for i in range(2))
