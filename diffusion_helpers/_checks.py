"""Argument checks shared by the package: clear errors that name the argument.

A student's typo should end in a one-line message that says which argument is wrong and what is
allowed, not in a traceback from deep inside torch. Every check raises ``TypeError`` for a value of
the wrong type and ``ValueError`` for a value of the right type outside the allowed range.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np
import torch


def check_int(name: str, value: object, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an int in {_describe_range(minimum, maximum)}, got {value}")
    return value


def check_float(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = False,
    high_inclusive: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` inside the given interval (open ends by default)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    interval = (
        ("[" if low_inclusive else "(")
        + ("-inf" if low is None else f"{low:g}")
        + ", "
        + ("inf" if high is None else f"{high:g}")
        + ("]" if high_inclusive else ")")
    )
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in {interval}, got {value}")
    too_low = low is not None and (value < low or (value == low and not low_inclusive))
    too_high = high is not None and (value > high or (value == high and not high_inclusive))
    if too_low or too_high:
        raise ValueError(f"{name} must be in {interval}, got {value:g}")
    return value


def check_float_tensor(name: str, value: object) -> torch.Tensor:
    """Return ``value`` if it is a floating-point tensor."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (e.g. torch.float32), got dtype {value.dtype}; "
            f"convert images with diffusion_helpers.pil_to_tensor"
        )
    return value


def check_noise(noise: object, like: torch.Tensor, name: str = "noise") -> torch.Tensor:
    """Return ``noise`` if it has the shape, dtype and device of ``like``."""
    check_float_tensor(name, noise)
    assert isinstance(noise, torch.Tensor)
    if noise.shape != like.shape:
        raise ValueError(f"{name} must have the shape of the data {tuple(like.shape)}, got {tuple(noise.shape)}")
    if noise.dtype != like.dtype:
        raise TypeError(f"{name} must have the data's dtype {like.dtype}, got {noise.dtype}")
    if noise.device != like.device:
        raise ValueError(f"{name} must be on the data's device {like.device}, got {noise.device}")
    return noise


def _describe_range(minimum: int | None, maximum: int | None) -> str:
    if maximum is None:
        return f"[{minimum}, inf)"
    if minimum is None:
        return f"(-inf, {maximum}]"
    return f"[{minimum}, {maximum}]"


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool (``"no"`` or ``0`` are not: they would silently mean something else)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_generator(generator: object) -> torch.Generator | None:
    """Return ``generator`` if it is a ``torch.Generator`` or None."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def check_mapping(name: str, value: object, *, entries: str) -> Mapping:
    """Return ``value`` if it is a mapping (a dict); ``entries`` says what it maps, e.g. ``"label -> schedule"``."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping {entries} (a dict), got {type(value).__name__}")
    return value


def check_sequence(name: str, value: object, *, items: str) -> Sequence:
    """Return ``value`` if it is a list, tuple, 1-D tensor or array (not a string); ``items`` says of what."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 1:
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of {items} (a list or tuple), got {type(value).__name__}")
    return value
