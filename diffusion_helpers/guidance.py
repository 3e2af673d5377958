r"""Classifier-free guidance (Ho & Salimans 2022): sampling a class-conditional model towards its label.

A class-conditional noise predictor $\varepsilon_\theta(x_t, t, c)$ is trained like any other (Algorithm 1), on
pairs of an image and its label $c$, except that now and then the label is replaced by "no label" $\varnothing$
(:func:`~diffusion_helpers.train` with ``labels`` and ``label_dropout``). The one network then knows both
$\varepsilon_\theta(x_t, t, c)$ and $\varepsilon_\theta(x_t, t, \varnothing)$. Guidance samples with

$$\tilde\varepsilon_\theta(x_t, t, c) = (1 + w)\,\varepsilon_\theta(x_t, t, c)
  - w\,\varepsilon_\theta(x_t, t, \varnothing) \qquad\text{(Ho \& Salimans 2022, Eq. 6)}.$$

Since $\varepsilon = -\sqrt{1-\bar\alpha_t}\,\nabla_{x_t}\log p(x_t)$, this is the noise of the density
$p(x_t \mid c)^{1+w}\,p(x_t)^{-w} \propto p(x_t \mid c)\,p(c \mid x_t)^{w}$: the conditional density, tilted
towards images that the model's own implicit classifier $p(c \mid x_t)$ is sure of. $w = 0$ samples the
conditional model as it is; larger $w$ trades variety for images that look more clearly like their class.

:func:`classifier_free_guidance` returns an ordinary ``model(x_t, t) -> eps``, so both samplers
(:func:`~diffusion_helpers.ddpm_sample`, :func:`~diffusion_helpers.ddim_sample`) run it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._checks import check_float, check_generator, check_int
from .models import NO_LABEL

__all__ = ["classifier_free_guidance", "random_labels"]


def classifier_free_guidance(
    model: Callable[..., torch.Tensor], labels: torch.Tensor, w: float
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    r"""Guided: $\tilde\varepsilon = (1 + w)\,\varepsilon(x_t, t, c) - w\,\varepsilon(x_t, t, \varnothing)$, Eq. 6.

    Args:
        model: a class-conditional model, ``model(x_t, t, labels) -> eps`` with ``labels=None`` meaning "no
            label" (e.g. ``ConvDenoiser(num_classes=10)`` trained with labels).
        labels: ``(B,)`` int64, the class $c$ of each sample to draw; the samplers' batch must have ``B`` images.
        w: the guidance weight, >= 0: 0 is the conditional model, 1 already sharpens a lot.

    Returns:
        ``guided(x_t, t) -> eps``, the samplers' model contract. With $w = 0$ it calls the model once per step,
        otherwise twice (with the labels and without).

    Raises:
        TypeError: labels that are not an int64 tensor, a model that is not callable.
        ValueError: labels that are not 1-D (or hold "no label"), a negative ``w``.
    """
    if not callable(model):
        raise TypeError(f"model must be callable as model(x_t, t, labels), got {type(model).__name__}")
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64:
        got = f"a {labels.dtype} tensor" if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise TypeError(f"labels must be an int64 tensor of shape (B,), one class per sample, got {got}")
    if labels.ndim != 1 or labels.numel() == 0 or bool((labels == NO_LABEL).any()):
        raise ValueError(
            f"labels must be a non-empty 1-D tensor of classes (no {NO_LABEL}: guidance needs a label), "
            f"got shape {tuple(labels.shape)}"
        )
    w = check_float("w", w, low=0.0, low_inclusive=True)

    def guided(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if x_t.shape[0] != labels.shape[0]:
            raise ValueError(f"x_t holds {x_t.shape[0]} images but labels {labels.shape[0]}: give one label per image")
        c = labels.to(x_t.device)
        eps_c = model(x_t, t, c)  # $\varepsilon_\theta(x_t, t, c)$
        if w == 0:
            return eps_c
        eps_u = model(x_t, t, None)  # $\varepsilon_\theta(x_t, t, \varnothing)$
        return (1 + w) * eps_c - w * eps_u  # Eq. 6

    return guided


def random_labels(n: int, num_classes: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""``n`` classes drawn uniformly from ``{0, ..., num_classes - 1}``: the labels of an unconditional-looking sample.

    Drawing $c \sim p(c)$ and then $x \sim p(x \mid c)$ samples $p(x) = \sum_c p(c)\,p(x \mid c)$; the digits'
    ten classes are equally common (174 to 183 of each in the training split), so $p(c)$ is uniform.

    Raises:
        ValueError, TypeError: ``n`` or ``num_classes`` < 1, a generator that is not a ``torch.Generator``.
    """
    n = check_int("n", n, minimum=1)
    num_classes = check_int("num_classes", num_classes, minimum=1)
    check_generator(generator)
    return torch.randint(num_classes, (n,), generator=generator)
