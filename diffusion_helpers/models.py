r"""A small noise-prediction network $\varepsilon_\theta(x_t, t)$ for 2-D (or any low-dimensional) data.

The network sees the noisy point $x_t$ and the timestep $t$ and predicts the noise $\varepsilon$ that
:func:`~diffusion_helpers.q_sample` mixed in (Ho et al. 2020, Sec. 3.2). The timestep enters through a
sinusoidal embedding (Vaswani et al. 2017, Sec. 3.5, as in Ho et al. 2020, Sec. 4): a vector of sines and
cosines of $t$ at geometrically spaced frequencies, so that nearby timesteps get similar features.

It follows the model contract of :func:`~diffusion_helpers.ddpm_sample`: ``model(x_t, t) -> eps`` with
``x_t`` of shape ``(B, D)`` and ``t`` a 1-D integer tensor of shape ``(B,)`` in ``[1, T]``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ._checks import check_int

__all__ = ["ACTIVATIONS", "MLPDenoiser", "SinusoidalEmbedding"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "silu": nn.SiLU}
"""The activations :class:`MLPDenoiser` offers, by name."""


class SinusoidalEmbedding(nn.Module):
    r"""$t \mapsto [\sin(\omega_j s), \cos(\omega_j s)]_{j=0}^{k-1}$ with $s = 1000\,t/T$ and $\omega_j = 10000^{-j/k}$.

    The timestep is first rescaled to $s \in (0, 1000]$, so a model sees the same features at the same point
    of any schedule whatever its length $T$.

    Args:
        dim: the embedding size ``2k`` (even).
        num_timesteps: ``T``.
    """

    def __init__(self, dim: int, num_timesteps: int) -> None:
        super().__init__()
        k = dim // 2
        self.scale = 1000 / num_timesteps
        frequencies = torch.exp(-math.log(10_000) * torch.arange(k) / k)  # (k,): 1 down to about 1/10000
        self.register_buffer("frequencies", frequencies, persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = (t * self.scale).to(self.frequencies.dtype)[:, None] * self.frequencies  # (B, k)
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # (B, 2k)


class MLPDenoiser(nn.Module):
    r"""$\varepsilon_\theta(x_t, t)$: an MLP on the noisy point and the embedded timestep.

    ``[x_t, emb(t)] -> Linear -> ReLU -> (Linear -> ReLU) x (layers - 1) -> Linear -> eps``.

    ReLU rather than the smooth SiLU of image models: on the swiss roll the same recipe reached 1.1x the
    noise floor with ReLU and 2.5x with SiLU (``benchmarks/bench_training.py``, notebook 05). The noise field
    of thin 2-D structures changes direction sharply between neighbouring arms, which a piecewise-linear
    network draws with few units.

    Args:
        dim: ``D``, the number of coordinates of a data point (2 for the 2-D data sets).
        num_timesteps: ``T`` of the schedule it will be trained with.
        hidden: the width of the hidden layers.
        layers: the number of hidden layers (>= 1).
        time_dim: the size of the timestep embedding (even).
        activation: ``"relu"`` or ``"silu"``.

    Attributes:
        config: the constructor's arguments, a plain dict: ``MLPDenoiser(**model.config)`` builds the same
            architecture (checkpoints store it next to the weights).
    """

    def __init__(
        self,
        dim: int = 2,
        num_timesteps: int = 1000,
        hidden: int = 128,
        layers: int = 3,
        time_dim: int = 32,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}")
        self.config: dict[str, Any] = {
            "dim": check_int("dim", dim, minimum=1),
            "num_timesteps": check_int("num_timesteps", num_timesteps, minimum=1),
            "hidden": check_int("hidden", hidden, minimum=1),
            "layers": check_int("layers", layers, minimum=1),
            "time_dim": check_int("time_dim", time_dim, minimum=2),
            "activation": activation,
        }
        if time_dim % 2:
            raise ValueError(f"time_dim must be even (sines and cosines come in pairs), got {time_dim}")
        self.time_embedding = SinusoidalEmbedding(time_dim, num_timesteps)
        self.input_layer = nn.Linear(dim + time_dim, hidden)
        self.hidden_layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers - 1))
        self.output_layer = nn.Linear(hidden, dim)
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = torch.cat([x_t, self.time_embedding(t)], dim=1)  # (B, D + time_dim)
        h = self.activation(self.input_layer(h))  # (B, hidden)
        for layer in self.hidden_layers:
            h = self.activation(layer(h))  # (B, hidden)
        return self.output_layer(h)  # (B, D): the predicted noise
