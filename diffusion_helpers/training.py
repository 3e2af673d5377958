r"""Training a noise predictor with Ho et al. 2020, Algorithm 1, and saving it.

Algorithm 1::

    repeat
        x_0 ~ q(x_0)                    a batch of training points
        t ~ Uniform({1, ..., T})        one timestep per point
        eps ~ N(0, I)
        gradient step on || eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t) ||^2
    until converged

:func:`train` is that loop, with Adam, an optional cosine learning-rate decay and an optional exponential
moving average (EMA) of the weights. :func:`save_checkpoint` / :func:`load_checkpoint` store everything
needed to sample again: the weights, the model's configuration, the schedule and the recipe. A checkpoint is
read with ``torch.load(weights_only=True)`` only: loading a file never runs code from it.

Timestep convention: ``t`` in ``1, ..., T``, as in :func:`~diffusion_helpers.q_sample`.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from ._checks import check_bool, check_device, check_float, check_float_tensor, check_generator, check_int
from .forward import q_sample
from .models import NO_LABEL, ConvDenoiser, MLPDenoiser
from .schedules import NoiseSchedule

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_NAME", "LR_SCHEDULES", "load_checkpoint", "save_checkpoint", "train"]

LR_SCHEDULES = ("constant", "cosine")
"""How the learning rate changes over training: kept at ``lr``, or decayed to 0 along a half cosine."""

CHECKPOINT_FORMAT = "diffusion_helpers.checkpoint/1"
"""The tag every checkpoint of this package carries."""

CHECKPOINT_NAME = "checkpoint.pt"
"""The file name the commands use inside a run's folder: ``python -m diffusion_helpers.train ... --out DIR``
writes ``DIR/checkpoint.pt``."""

_MODEL_CLASSES: dict[str, type[nn.Module]] = {"MLPDenoiser": MLPDenoiser, "ConvDenoiser": ConvDenoiser}


def train(
    model: nn.Module,
    data: torch.Tensor,
    schedule: NoiseSchedule,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator | None,
    device: str | torch.device = "cpu",
    progress: bool = True,
    lr_schedule: str = "constant",
    ema_decay: float | None = None,
    callback: Callable[[int, nn.Module], None] | None = None,
    callback_every: int = 1000,
    labels: torch.Tensor | None = None,
    label_dropout: float = 0.1,
) -> torch.Tensor:
    r"""Train ``model`` to predict the noise, Algorithm 1 of Ho et al. 2020, with Adam (in place).

    Each step draws a batch of training points (with replacement), one timestep per point uniformly from
    ``{1, ..., T}`` and the noise, makes $x_t$ with :func:`~diffusion_helpers.q_sample` (Eq. 4), and takes a
    gradient step on the loss $\lVert\varepsilon - \varepsilon_\theta(x_t, t)\rVert^2$ (Eq. 14, averaged).

    Args:
        model: a module following the model contract, ``model(x_t, t) -> eps``; it is moved to ``device``.
        data: the training points, ``(N, ...)`` floating; batches are drawn from it.
        schedule: the variance schedule (its ``T`` is the range of ``t``).
        steps: the number of gradient steps, >= 1.
        batch_size: points per step, >= 1.
        lr: Adam's learning rate (the peak, with ``lr_schedule="cosine"``).
        generator: a CPU generator for the batches, timesteps and noise (drawn on the CPU and moved, so a seed
            gives the same run on any device); None uses the global generator. The initial weights are the
            caller's: build the model under a seed.
        device: where the model and data live during training.
        progress: show a tqdm progress bar with the running loss.
        lr_schedule: ``"constant"`` or ``"cosine"`` (from ``lr`` down to 0 at the last step).
        ema_decay: if given (e.g. 0.999), keep an exponential moving average of the weights,
            $\bar\theta \leftarrow d\,\bar\theta + (1 - d)\,\theta$ after every step, and leave ``model`` with
            $\bar\theta$ at the end: the averaged weights smooth out Adam's last steps and sample better.
        callback: called as ``callback(step, model)`` every ``callback_every`` steps and after the last one
            (with the averaged weights when ``ema_decay`` is set), e.g. to measure sample quality during training.
        callback_every: steps between two callbacks.
        labels: ``(N,)`` int64 classes of ``data``, for a class-conditional model (``model(x_t, t, labels)``, e.g.
            ``ConvDenoiser(num_classes=10)``); None trains an unconditional one. Each step then feeds the batch's
            labels, each replaced by "no label" (:data:`~diffusion_helpers.models.NO_LABEL`) with probability
            ``label_dropout``, so that the network also learns $\varepsilon_\theta(x_t, t, \varnothing)$ for
            classifier-free guidance (Ho & Salimans 2022, Algorithm 1).
        label_dropout: $p_\text{uncond}$, in [0, 1) (used only with ``labels``).

    Returns:
        The loss of every step, a float32 tensor of shape ``(steps,)``.

    Raises:
        TypeError: a ``model`` that is not an ``nn.Module``, non-floating ``data``, wrong argument types.
        ValueError: empty or non-finite ``data``; ``steps``, ``batch_size`` or ``callback_every`` < 1;
            ``lr`` <= 0; an unknown ``lr_schedule``; ``ema_decay`` outside (0, 1); ``labels`` not one int64 class
            (>= 0) per data point; ``label_dropout`` outside [0, 1).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (e.g. MLPDenoiser), got {type(model).__name__}")
    data = check_float_tensor("data", data)
    if data.ndim < 2 or data.shape[0] < 1:
        raise ValueError(f"data must be a (N, ...) tensor of N >= 1 points, got shape {tuple(data.shape)}")
    if not torch.isfinite(data).all():
        raise ValueError("data must be finite, got NaN or inf")
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (see make_schedule), got {type(schedule).__name__}")
    steps = check_int("steps", steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    lr = check_float("lr", lr, low=0.0)
    if check_generator(generator) is not None and generator.device.type != "cpu":
        raise ValueError(
            f"generator must be a CPU torch.Generator (batches are drawn on the CPU), not one on {generator.device}"
        )
    check_bool("progress", progress)
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {', '.join(map(repr, LR_SCHEDULES))}, got {lr_schedule!r}")
    if ema_decay is not None:
        ema_decay = check_float("ema_decay", ema_decay, low=0.0, high=1.0)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable as callback(step, model), got {type(callback).__name__}")
    callback_every = check_int("callback_every", callback_every, minimum=1)
    device = check_device(device)
    if labels is not None:
        if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64:
            got = f"a {labels.dtype} tensor" if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise TypeError(f"labels must be an int64 tensor of shape (N,), one class per data point, got {got}")
        if labels.shape != data.shape[:1] or bool((labels < 0).any()):
            raise ValueError(
                f"labels must hold one class >= 0 per data point, shape ({data.shape[0]},), got shape "
                f"{tuple(labels.shape)}"
            )
        labels = labels.to(device)
    label_dropout = check_float("label_dropout", label_dropout, low=0.0, high=1.0, low_inclusive=True)

    T, N = len(schedule), data.shape[0]
    model.to(device).train()
    data = data.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    # the learning rate at step i (0-based): lr, or lr * (1 + cos(pi i / steps)) / 2
    lr_factor = (lambda i: 1.0) if lr_schedule == "constant" else (lambda i: 0.5 * (1 + math.cos(math.pi * i / steps)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay)) if ema_decay is not None else None
    losses = torch.empty(steps)

    def report(step: int) -> None:
        if callback is not None:
            callback(step, ema.module if ema is not None else model)

    bar = tqdm(range(1, steps + 1), desc="training", disable=not progress, leave=False)
    for step in bar:
        # random numbers are drawn on the CPU, then moved: the same seed gives the same run on any device
        index = torch.randint(N, (batch_size,), generator=generator).to(device)
        x0 = data[index]  # $x_0 \sim q(x_0)$
        t = torch.randint(1, T + 1, (batch_size,), generator=generator).to(device)  # $t \sim U(\{1, \dots, T\})$
        eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(device)  # $\varepsilon \sim N(0, I)$
        x_t = q_sample(x0, t, schedule, noise=eps)  # $\sqrt{\bar\alpha_t} x_0 + \sqrt{1-\bar\alpha_t}\varepsilon$
        if labels is None:
            eps_hat = model(x_t, t)  # $\varepsilon_\theta(x_t, t)$
        else:  # $c$, or $\varnothing$ with probability p_uncond
            dropped = (torch.rand(batch_size, generator=generator) < label_dropout).to(device)
            eps_hat = model(x_t, t, labels[index].masked_fill(dropped, NO_LABEL))  # $\varepsilon_\theta(x_t, t, c)$
        loss = (eps - eps_hat).pow(2).mean()  # $\lVert\varepsilon - \varepsilon_\theta\rVert^2$
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if ema is not None:
            ema.update_parameters(model)
        losses[step - 1] = loss.detach()
        if progress and step % 100 == 0:
            bar.set_postfix(loss=f"{losses[step - 100 : step].mean():.4f}", refresh=False)
        if step % callback_every == 0 and step != steps:
            report(step)
    if ema is not None:
        model.load_state_dict(ema.module.state_dict())  # the model ends with the averaged weights
    model.eval()
    report(steps)
    return losses


def save_checkpoint(path: str | os.PathLike, model: nn.Module, schedule: NoiseSchedule, **meta: Any) -> Path:
    """Save a model, its schedule and what made them (``meta``: the recipe, the seed, the data set, ...).

    The file holds only tensors, strings, numbers, bools, None, lists and dicts, so
    :func:`load_checkpoint` reads it with ``torch.load(weights_only=True)``. It is written to a temporary
    file first and renamed, so an interrupted save never leaves half a checkpoint behind.

    Args:
        path: the file to write (its folder is created if needed).
        model: a model with a ``config`` dict that rebuilds it (:class:`~diffusion_helpers.models.MLPDenoiser`,
            :class:`~diffusion_helpers.models.ConvDenoiser`).
        schedule: the schedule it was trained with.
        **meta: plain values to keep with it (nested lists and dicts allowed).

    Returns:
        The path written.

    Raises:
        TypeError: an unknown model class, a schedule that is not a NoiseSchedule, a ``meta`` value that is
            not plain data (the message names its key).
    """
    name = type(model).__name__
    if _MODEL_CLASSES.get(name) is not type(model):
        raise TypeError(f"model must be one of {', '.join(_MODEL_CLASSES)} (a model with a config), got {name}")
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    for key, value in meta.items():
        _check_plain(f"meta[{key!r}]", value)
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "model_class": name,
        "model_config": dict(model.config),
        "model_state": {key: value.detach().cpu() for key, value in model.state_dict().items()},
        "schedule": schedule.state_dict(),
        "meta": meta,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as temporary:
        try:
            torch.save(checkpoint, temporary)
        except BaseException:
            temporary.close()
            os.unlink(temporary.name)
            raise
    os.replace(temporary.name, path)
    return path


def load_checkpoint(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[nn.Module, NoiseSchedule, dict[str, Any]]:
    """Load what :func:`save_checkpoint` saved: ``(model, schedule, meta)``, the model in eval mode on ``device``.

    Reads with ``torch.load(weights_only=True)``: tensors and plain data only, never pickled code.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a file that is truncated, not a checkpoint of this package, or whose weights do not fit
            the model it names (the message names the path).
    """
    path = Path(path)
    where = repr(str(path))
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {where}")
    device = check_device(device)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a bad file raises RuntimeError, UnpicklingError, EOFError, ...
        raise ValueError(f"{where} is not a readable checkpoint (truncated, or not a torch file): {error}") from None
    keys = {"format", "model_class", "model_config", "model_state", "schedule", "meta"}
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT or set(checkpoint) != keys:
        raise ValueError(f"{where} is not a diffusion_helpers checkpoint (save one with save_checkpoint)")
    model_class = _MODEL_CLASSES.get(checkpoint["model_class"])
    if model_class is None:
        raise ValueError(f"{where} holds an unknown model class {checkpoint['model_class']!r}")
    try:
        model = model_class(**checkpoint["model_config"])
        model.load_state_dict(checkpoint["model_state"])
        schedule = NoiseSchedule.from_state_dict(checkpoint["schedule"])
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{where} is from another model (weights and configuration differ): {error}") from None
    return model.to(device).eval(), schedule, checkpoint["meta"]


def _check_plain(name: str, value: object) -> None:
    """Raise TypeError unless ``value`` is data ``torch.load(weights_only=True)`` reads back."""
    if value is None or isinstance(value, (str, bool, numbers.Number, torch.Tensor)):
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(f"{name}[{i}]", item)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{name} must have str or int keys, got {type(key).__name__}")
            _check_plain(f"{name}[{key!r}]", item)
        return
    allowed = "str, number, bool, None, tensor, list or dict"
    raise TypeError(f"{name} must be plain data ({allowed}), got {type(value).__name__}")
