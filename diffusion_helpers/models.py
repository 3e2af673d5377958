r"""Small noise-prediction networks $\varepsilon_\theta(x_t, t)$: an MLP for 2-D points, a conv net for small images.

The network sees the noisy point $x_t$ and the timestep $t$ and predicts the noise $\varepsilon$ that
:func:`~diffusion_helpers.q_sample` mixed in (Ho et al. 2020, Sec. 3.2). Both inputs enter as sines and
cosines at geometrically spaced frequencies:

- the timestep, as in Ho et al. 2020 (Sec. 4, after Vaswani et al. 2017): nearby steps get similar features;
- the point's coordinates too ("Fourier features", Tancik et al. 2020). An MLP fed raw coordinates learns
  smooth functions first and sharp ones slowly; near the data, at small $t$, the noise field flips direction
  across each arm of the swiss roll. With the waves given, the same network and recipe reached the noise floor
  on the swiss roll for every seed tried, against 1.0-2.2x without them (notebook 05).

:class:`ConvDenoiser` is the same idea for images such as the 8 x 8 digits: a small U-Net (Ronneberger et al.
2015, as Ho et al. use it) whose blocks each scale and shift their features by the timestep's embedding. Given
``num_classes``, it also hears a class label, ``model(x_t, t, labels)``, for classifier-free guidance
(:mod:`~diffusion_helpers.guidance`).

Both follow the model contract of :func:`~diffusion_helpers.ddpm_sample`: ``model(x_t, t) -> eps`` with
``x_t`` of shape ``(B, D)`` (MLP) or ``(B, C, H, W)`` (conv net) and ``t`` a 1-D integer tensor of shape ``(B,)``
in ``[1, T]``; ``model.sample_shape(n)`` is the shape of ``n`` samples.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ._checks import check_float, check_int
from .schedules import NoiseSchedule

__all__ = ["ACTIVATIONS", "NO_LABEL", "ConvBlock", "ConvDenoiser", "MLPDenoiser", "SinusoidalEmbedding"]

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "silu": nn.SiLU}
"""The activations :class:`MLPDenoiser` offers, by name."""

NO_LABEL = -1
r"""The label that means "no label", $\varnothing$, in a batch of labels for a class-conditional model."""


class SinusoidalEmbedding(nn.Module):
    r"""Sines and cosines of each input value: $u \mapsto [\sin(\omega_j u)]_{j<k},\ [\cos(\omega_j u)]_{j<k}$.

    The $k$ frequencies $\omega_j = \omega_0\,r^{-j/k}$ fall geometrically from ``highest`` $= \omega_0$ by a
    total factor of about ``ratio`` $= r$, so the features resolve both fine and coarse differences of $u$.

    Args:
        num_frequencies: ``k`` (0 gives no features).
        highest: the fastest angular frequency $\omega_0$, in radians per unit of $u$.
        ratio: how many times slower the slowest wave is (up to the factor $r^{1/k}$).

    Shapes: ``(B,)`` -> ``(B, 2k)``; ``(B, D)`` -> ``(B, 2kD)`` (the sines of every column, then their cosines).
    """

    def __init__(self, num_frequencies: int, highest: float, ratio: float) -> None:
        super().__init__()
        k = num_frequencies
        frequencies = highest * torch.exp(-math.log(ratio) * torch.arange(k) / k)  # (k,): highest, ..., ~highest/ratio
        self.register_buffer("frequencies", frequencies, persistent=False)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        angles = u.to(self.frequencies.dtype)[..., None] * self.frequencies  # (B, k) or (B, D, k)
        return torch.cat([angles.sin().flatten(1), angles.cos().flatten(1)], dim=1)  # (B, 2k) or (B, 2kD)


class MLPDenoiser(nn.Module):
    r"""$\varepsilon_\theta(x_t, t)$: an MLP on the noisy point and the timestep, both as sines and cosines.

    ``[x_t, waves(x_t), waves(t)] -> Linear -> ReLU -> (Linear -> ReLU) x (layers - 1) -> Linear -> eps``.

    The timestep's waves are those of Ho et al.: $t$ rescaled to $1000\,t/T$, frequencies from 1 down to 1/10000.
    The coordinates' waves (``x_frequencies`` per coordinate) run from 30 radians per unit (a wavelength of
    0.2, the scale of the swiss roll's arms when the data has standard deviation 0.5) down to 0.3.
    ReLU rather than the smooth SiLU of image models: with the same recipe the swiss roll reached 1.1x the
    noise floor with ReLU and 2.5x with SiLU (raw coordinates, notebook 05).

    **The correction to the best Gaussian guess** (``data_std``; the preconditioning of Karras et al. 2022, Sec. 5,
    written for $\varepsilon$). Data $x_0 \sim \mathcal N(0, \sigma_d^2 I)$ has an exact noise predictor
    (:func:`~diffusion_helpers.gaussian_eps_model`), $\varepsilon_G = \sqrt{1-\bar\alpha_t}\,x_t / v_t$ with
    $v_t = \bar\alpha_t\sigma_d^2 + 1 - \bar\alpha_t = \operatorname{Var}[x_t]$. Given ``data_std`` $= \sigma_d$, the
    layers' output $F$ only corrects it:

    $$\varepsilon_\theta(x_t, t) = \varepsilon_G(x_t, t) + \sigma_d\sqrt{\bar\alpha_t / v_t}\;F(x_t, t).$$

    The scale keeps the network's error from blowing up in $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,
    \varepsilon_\theta)/\sqrt{\bar\alpha_t}$ (Eq. 15): $F$ moves $\hat x_0$ by $\sigma_d\sqrt{(1-\bar\alpha_t)/v_t}\,F$,
    at most $\sigma_d F$, at every $t$. A plain output moves it by $\sqrt{(1-\bar\alpha_t)/\bar\alpha_t}$ times its
    error: $2 \times 10^4$ at $t = T$ of the cosine schedule, an error that deterministic DDIM carries into its
    samples (on the swiss roll, DDIM with 50 steps scored about 1,000x the noise floor without the correction form
    and 1.3x with it). Where the data is nearly pure noise, $\varepsilon_G$ is already almost exact, and the
    ideal $F$ has unit variance at every $t$.

    Args:
        dim: ``D``, the number of coordinates of a data point (2 for the 2-D data sets).
        num_timesteps: ``T`` of the schedule it will be trained with.
        hidden: the width of the hidden layers.
        layers: the number of hidden layers (>= 1).
        time_dim: the size of the timestep embedding (even).
        x_frequencies: waves per coordinate (0: the network sees the raw coordinates only).
        activation: ``"relu"`` or ``"silu"``.
        data_std: None (the layers' output is the predicted noise) or $\sigma_d > 0$, the standard deviation of the
            (centred) training data: the layers then predict the correction to the Gaussian guess (above).
        schedule: the schedule it will be trained with (a NoiseSchedule or its ``state_dict()``), with ``T`` =
            ``num_timesteps``; needed with ``data_std`` (the correction form uses $\bar\alpha_t$).

    Attributes:
        config: the constructor's arguments, a plain dict: ``MLPDenoiser(**model.config)`` builds the same
            architecture (checkpoints store it next to the weights; the schedule as its ``state_dict()``).

    Raises:
        ValueError, TypeError: a bad size, activation or ``data_std``; ``data_std`` without a ``schedule``, or a
            schedule whose length is not ``num_timesteps``.
    """

    def __init__(
        self,
        dim: int = 2,
        num_timesteps: int = 1000,
        hidden: int = 128,
        layers: int = 3,
        time_dim: int = 32,
        x_frequencies: int = 8,
        activation: str = "relu",
        data_std: float | None = None,
        schedule: NoiseSchedule | dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(schedule, dict):
            schedule = NoiseSchedule.from_state_dict(schedule)
        if schedule is not None and not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule or its state_dict(), got {type(schedule).__name__}")
        if data_std is not None:
            data_std = check_float("data_std", data_std, low=0.0)
            if schedule is None:
                raise ValueError("data_std needs the schedule (schedule=...): the Gaussian guess uses alpha_bar_t")
        if schedule is not None and len(schedule) != num_timesteps:
            raise ValueError(f"schedule has T = {len(schedule)} steps, but num_timesteps is {num_timesteps}")
        self.config: dict[str, Any] = {
            "dim": check_int("dim", dim, minimum=1),
            "num_timesteps": check_int("num_timesteps", num_timesteps, minimum=1),
            "hidden": check_int("hidden", hidden, minimum=1),
            "layers": check_int("layers", layers, minimum=1),
            "time_dim": check_int("time_dim", time_dim, minimum=2),
            "x_frequencies": check_int("x_frequencies", x_frequencies, minimum=0),
            "activation": activation,
            "data_std": data_std,
            "schedule": None if schedule is None else schedule.state_dict(),
        }
        if time_dim % 2:
            raise ValueError(f"time_dim must be even (sines and cosines come in pairs), got {time_dim}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, got {activation!r}")
        self.time_embedding = SinusoidalEmbedding(time_dim // 2, highest=1000 / num_timesteps, ratio=10_000)
        self.x_embedding = SinusoidalEmbedding(x_frequencies, highest=30.0, ratio=100)
        self.input_layer = nn.Linear(dim + 2 * x_frequencies * dim + time_dim, hidden)
        self.hidden_layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers - 1))
        self.output_layer = nn.Linear(hidden, dim)
        self.activation = ACTIVATIONS[activation]()
        if schedule is not None:  # not in state_dict (the config holds the schedule): old checkpoints still load
            self.register_buffer("alpha_bars", schedule.alpha_bars.float(), persistent=False)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = torch.cat([x_t, self.x_embedding(x_t), self.time_embedding(t)], dim=1)  # (B, D + 2kD + time_dim)
        h = self.activation(self.input_layer(h))  # (B, hidden)
        for layer in self.hidden_layers:
            h = self.activation(layer(h))  # (B, hidden)
        F = self.output_layer(h)  # (B, D)
        sigma_d = self.config["data_std"]
        if sigma_d is None:
            return F  # the predicted noise
        alpha_bar_t = self.alpha_bars[t - 1][:, None]  # (B, 1)
        v_t = alpha_bar_t * sigma_d**2 + 1 - alpha_bar_t  # Var[x_t] for data N(0, sigma_d^2 I)
        eps_gaussian = (1 - alpha_bar_t).sqrt() * x_t / v_t  # (B, D): the exact noise predictor of that data
        # $\varepsilon_\theta = \varepsilon_G + \sigma_d\sqrt{\bar\alpha_t / v_t}\,F$
        return eps_gaussian + sigma_d * (alpha_bar_t / v_t).sqrt() * F  # (B, D): the predicted noise

    def sample_shape(self, n: int) -> tuple[int, int]:
        """The shape of a batch of ``n`` samples from this model, ``(n, D)``: the ``shape`` a sampler takes."""
        return (check_int("n", n, minimum=1), self.config["dim"])


class ConvDenoiser(nn.Module):
    r"""$\varepsilon_\theta(x_t, t)$ for small images: a two-level U-Net whose every block hears the timestep.

    ::

        x_t (B, C, H, W) -> conv -> Blocks --skip-----------------------------> concat -> Blocks -> conv -> eps
                                          \-> down (H/2) -> Blocks -> up (H) /

    Each :class:`ConvBlock` is GroupNorm -> SiLU -> 3x3 conv, then GroupNorm scaled and shifted per channel by
    the timestep -> SiLU -> 3x3 conv, plus a residual connection (Ho et al. 2020, Appendix B, with the scale and
    shift of Dhariwal & Nichol 2021, at a size a CPU trains in a minute). The timestep embedding is Ho et al.'s
    sines and cosines of $1000\,t/T$, passed through a two-layer MLP.

    Args:
        channels: ``C``, the image channels (1 for grey digits).
        image_size: ``H = W``, even (the middle runs at half the size).
        num_timesteps: ``T`` of the schedule it will be trained with.
        width: channels at full size; the half-size level has twice as many.
        time_dim: the size of the timestep embedding (even).
        groups: GroupNorm's groups (must divide ``width``).
        blocks: residual blocks per level (on the way down, in the middle, on the way up).
        num_classes: None for an unconditional model; ``K`` for a model that also hears a class label
            $c \in \{0, \dots, K-1\}$ (the digit), as ``model(x_t, t, labels)``. Its embedding is added to the
            timestep's, and one more learnt embedding stands for "no label", $\varnothing$: ``labels=None``, or a
            label of :data:`NO_LABEL` (-1) in the batch. Trained with labels dropped now and then
            (:func:`~diffusion_helpers.train`'s ``label_dropout``), one network predicts both
            $\varepsilon_\theta(x_t, t, c)$ and $\varepsilon_\theta(x_t, t, \varnothing)$, which classifier-free
            guidance combines (:func:`~diffusion_helpers.classifier_free_guidance`, Ho & Salimans 2022).

    Attributes:
        config: the constructor's arguments, a plain dict: ``ConvDenoiser(**model.config)`` builds the same
            architecture (checkpoints store it next to the weights).

    Raises:
        ValueError: at construction, a bad size or width; when called, an ``x_t`` that is not ``(B, C, H, W)``
            with the configured channels and size (an image model asked for 2-D points says so), labels given to
            an unconditional model, or labels that are not one per image in ``[0, K)`` or -1.
    """

    def __init__(
        self,
        channels: int = 1,
        image_size: int = 8,
        num_timesteps: int = 1000,
        width: int = 32,
        time_dim: int = 64,
        groups: int = 8,
        blocks: int = 2,
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "channels": check_int("channels", channels, minimum=1),
            "image_size": check_int("image_size", image_size, minimum=2),
            "num_timesteps": check_int("num_timesteps", num_timesteps, minimum=1),
            "width": check_int("width", width, minimum=1),
            "time_dim": check_int("time_dim", time_dim, minimum=2),
            "groups": check_int("groups", groups, minimum=1),
            "blocks": check_int("blocks", blocks, minimum=1),
            "num_classes": None if num_classes is None else check_int("num_classes", num_classes, minimum=1),
        }
        if image_size % 2:
            raise ValueError(f"image_size must be even (the middle of the U-Net runs at half size), got {image_size}")
        if time_dim % 2:
            raise ValueError(f"time_dim must be even (sines and cosines come in pairs), got {time_dim}")
        if width % groups:
            raise ValueError(f"width must be a multiple of groups ({groups}), got {width}")
        self.time_embedding = nn.Sequential(
            SinusoidalEmbedding(time_dim // 2, highest=1000 / num_timesteps, ratio=10_000),
            nn.Linear(time_dim, time_dim),
            nn.SiLU(),
            nn.Linear(time_dim, time_dim),
        )
        if num_classes is not None:  # one vector per class, and the last one for "no label"
            self.label_embedding = nn.Embedding(num_classes + 1, time_dim)
        w = width
        self.input_conv = nn.Conv2d(channels, w, 3, padding=1)
        self.down = nn.ModuleList([ConvBlock(w, w, time_dim, groups) for _ in range(blocks)])
        self.downsample = nn.Conv2d(w, 2 * w, 3, stride=2, padding=1)  # H -> H/2
        self.middle = nn.ModuleList([ConvBlock(2 * w, 2 * w, time_dim, groups) for _ in range(blocks)])
        self.upsample = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * w, w, 3, padding=1))
        self.up = nn.ModuleList([ConvBlock(2 * w if i == 0 else w, w, time_dim, groups) for i in range(blocks)])
        self.output = nn.Sequential(nn.GroupNorm(groups, w), nn.SiLU(), nn.Conv2d(w, channels, 3, padding=1))

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        self._check_input(x_t)
        emb = self.time_embedding(t)  # (B, time_dim)
        if self.config["num_classes"] is not None:
            emb = emb + self.label_embedding(self._label_indices(labels, x_t))  # the label speaks with the time
        elif labels is not None:
            raise ValueError("labels were given, but this ConvDenoiser is unconditional (built with num_classes=None)")
        h = self.input_conv(x_t)  # (B, w, H, W)
        for block in self.down:
            h = block(h, emb)  # (B, w, H, W)
        skip = h
        h = self.downsample(h)  # (B, 2w, H/2, W/2)
        for block in self.middle:
            h = block(h, emb)  # (B, 2w, H/2, W/2)
        h = torch.cat([skip, self.upsample(h)], dim=1)  # (B, 2w, H, W): fine detail beside the coarse view
        for block in self.up:
            h = block(h, emb)  # (B, w, H, W)
        return self.output(h)  # (B, C, H, W): the predicted noise

    def sample_shape(self, n: int) -> tuple[int, int, int, int]:
        """The shape of a batch of ``n`` samples from this model, ``(n, C, H, W)``: the ``shape`` a sampler takes."""
        size = self.config["image_size"]
        return (check_int("n", n, minimum=1), self.config["channels"], size, size)

    def _label_indices(self, labels: torch.Tensor | None, x_t: torch.Tensor) -> torch.Tensor:
        """Row of ``label_embedding`` per image: the label, or ``K`` for "no label" (None or :data:`NO_LABEL`)."""
        K, B = self.config["num_classes"], x_t.shape[0]
        if labels is None:
            return torch.full((B,), K, dtype=torch.int64, device=x_t.device)
        if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64:
            got = f"a {labels.dtype} tensor" if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise TypeError(f"labels must be an int64 tensor of shape ({B},), got {got}")
        if labels.shape != (B,) or not bool(((labels >= NO_LABEL) & (labels < K)).all()):
            raise ValueError(
                f"labels must hold one class in [0, {K}) or {NO_LABEL} (no label) per image, shape ({B},); got "
                f"shape {tuple(labels.shape)} with values in [{int(labels.min())}, {int(labels.max())}]"
                if labels.numel()
                else f"labels must hold one class per image, shape ({B},), got an empty tensor"
            )
        return torch.where(labels == NO_LABEL, K, labels)

    def _check_input(self, x_t: torch.Tensor) -> None:
        expected = self.sample_shape(1)[1:]  # (C, H, W)
        if x_t.ndim != 4 or tuple(x_t.shape[1:]) != expected:
            hint = " (2-D points? an image model samples images: shape=model.sample_shape(n))" if x_t.ndim == 2 else ""
            raise ValueError(
                f"x_t must be a batch of images of shape (B, {', '.join(map(str, expected))}) for this ConvDenoiser, "
                f"got shape {tuple(x_t.shape)}{hint}"
            )


class ConvBlock(nn.Module):
    r"""A residual block that hears the timestep: ``x + conv(act(norm(conv(act(norm(x)))) * (1 + scale) + shift))``.

    ``scale`` and ``shift`` are a linear function of the timestep's embedding, one pair per channel (adaptive
    group normalisation, Dhariwal & Nichol 2021): the timestep sets how strongly each feature speaks, not only
    its offset. On the digits it raised the share of confidently classified samples from about 0.50 to 0.58 of
    the real rate at the same training cost (see :mod:`~diffusion_helpers.recipes`).

    Args:
        in_channels, out_channels: the feature channels in and out (a 1x1 conv matches them on the residual path).
        time_dim: the size of the timestep embedding.
        groups: GroupNorm's groups.

    Shapes: ``(B, in, H, W), (B, time_dim) -> (B, out, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, time_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_projection = nn.Linear(time_dim, 2 * out_channels)  # a scale and a shift per channel
        self.norm2 = nn.GroupNorm(groups, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.activation = nn.SiLU()
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.activation(self.norm1(x)))  # (B, out, H, W)
        scale, shift = self.time_projection(self.activation(emb))[:, :, None, None].chunk(2, dim=1)  # (B, out, 1, 1)
        h = self.norm2(h) * (1 + scale) + shift  # the timestep, the same at every pixel
        h = self.conv2(self.activation(h))  # (B, out, H, W)
        return self.skip(x) + h
