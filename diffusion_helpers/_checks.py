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


def check_device(device: object) -> torch.device:
    """Return ``device`` as a ``torch.device`` if it names one (``"cpu"``, ``"cuda"``, ``torch.device(...)``)."""
    try:
        return torch.device(device)  # type: ignore[arg-type]
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch.device or a name such as 'cpu' or 'cuda', got {device!r}") from None


def check_dtype(dtype: object) -> torch.dtype:
    """Return ``dtype`` if it is a floating ``torch.dtype``."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype such as torch.float32, got {dtype!r}")
    return dtype


def check_shape(shape: object) -> tuple[int, ...]:
    """Return ``shape`` as a tuple of ints >= 1 with a batch dimension first, e.g. ``(2000, 2)``."""
    if isinstance(shape, (int, str, torch.Tensor)) or not isinstance(shape, Sequence):
        raise TypeError(f"shape must be a tuple of ints such as (2000, 2), got {shape!r}")
    if len(shape) == 0:
        raise ValueError("shape must have a batch dimension, e.g. (2000, 2); got ()")
    return tuple(check_int(f"shape[{i}]", size, minimum=1) for i, size in enumerate(shape))


def call_model(model: object, x_t: torch.Tensor, t: int) -> torch.Tensor:
    """``model(x_t, t)`` for every sample at one timestep ``t``, checked (the samplers' model contract).

    The model gets ``t`` as a 1-D int64 tensor ``(B,)`` on ``x_t``'s device and must return a finite tensor of
    ``x_t``'s shape and device; otherwise a ValueError names ``model`` and ``t``. The prediction is returned in
    ``x_t``'s dtype (a float64 prediction must not change float32 samples).
    """
    t_batch = torch.full((x_t.shape[0],), t, dtype=torch.int64, device=x_t.device)
    try:
        eps = model(x_t, t_batch)  # type: ignore[operator]
    except (RuntimeError, ValueError) as error:
        raise ValueError(
            f"model failed on x_t of shape {tuple(x_t.shape)} at t = {t} (is it a model for data of this shape?): "
            f"{error}"
        ) from error
    if not isinstance(eps, torch.Tensor):
        raise ValueError(f"model must return a tensor (its noise prediction), got {type(eps).__name__} at t = {t}")
    if eps.shape != x_t.shape:
        raise ValueError(
            f"model must return a tensor of x_t's shape {tuple(x_t.shape)}, got {tuple(eps.shape)} at t = {t}"
        )
    if eps.device != x_t.device:
        raise ValueError(f"model must return a tensor on x_t's device {x_t.device}, got {eps.device} at t = {t}")
    if not bool(torch.isfinite(eps).all()):
        raise ValueError(f"model returned non-finite values (NaN or inf) at t = {t}")
    return eps.to(x_t.dtype)
