r"""Checkers of notebook 07 (images: a digit model trained on a CPU): the pixel scaling, the digits' own
signal-to-noise ratio along a schedule, the clipped $\hat x_0$ step of the samplers, why the clip is
legitimate, and the guided noise of classifier-free guidance.

Each function returns the expected value, computed with the package (see ``exercises/__init__.py``).
"""

from __future__ import annotations

import functools
import math

import torch

from ..data import load_dataset
from ..guidance import classifier_free_guidance
from ..schedules import NoiseSchedule, make_schedule
from . import exercise, mistake, prediction

LEVELS = (0, 4, 12, 16)  # exercise 07-pixel-scale: grey levels of scikit-learn's digits (0 = background, 16 = ink)
MAX_LEVEL = 16
CLIP_T = 400  # exercise 07-clipped-eps: one pixel at this timestep of the cosine schedule (T = 1000) ...
CLIP_X_T = 1.5  # ... with this value of x_t ...
CLIP_EPS_HAT = 0.2  # ... and this predicted noise
GUIDED_EPS_C = 0.5  # exercise 07-guided-eps: one pixel's predicted noise with the label ...
GUIDED_EPS_U = 0.2  # ... and without it ("no label") ...
GUIDED_W = 2.0  # ... guided with this weight w


def _cosine() -> NoiseSchedule:
    return make_schedule("cosine", 1000)


def _levels(scale: float, shift: float) -> torch.Tensor:
    return torch.tensor(LEVELS, dtype=torch.float64) * scale + shift


@exercise(
    "07-pixel-scale",
    hint="The map is linear, x = a * level + b, and must send 0 to -1 and 16 to +1.",
    rtol=1e-6,
    diagnoses=[
        mistake("That is [0, 1]: divide by 8, not 16, and subtract 1.", gives=lambda: _levels(1 / MAX_LEVEL, 0.0)),
        mistake(
            "255 is the top of 8-bit pixels; these digits have 17 grey levels, 0 to 16.",
            gives=lambda: _levels(2 / 255, -1.0),
        ),
        mistake(
            "17 is the number of levels, but the top level is 16: divide by 16 / 2 = 8.",
            gives=lambda: _levels(2 / 17, -1.0),
        ),
        mistake(
            "The background (level 0) must become -1, not +1: the sign is flipped.", gives=lambda: _levels(-1 / 8, 1)
        ),
    ],
    explanation=(
        "x = level / 8 - 1: the background (0) is -1 and full ink (16) is +1, as load_dataset('digits') returns "
        "them, the range Ho et al. scale images to so that the data matches the N(0, I) start in size."
    ),
)
def pixel_scale() -> torch.Tensor:
    """The levels 0, 4, 12, 16 of the digits scaled linearly to [-1, 1]: level / 8 - 1."""
    return _levels(2 / MAX_LEVEL, -1.0)


@functools.cache
def _digit_variance() -> float:
    """The variance of every pixel value of the training split, pooled."""
    return float(load_dataset("digits", "train").double().var())


def _first_t_below_one(variance: float, schedule: NoiseSchedule | None = None, shift: int = 0) -> int:
    alpha_bars = (schedule or _cosine()).alpha_bars  # (T,): [t - 1] is timestep t
    snr = alpha_bars * variance / (1 - alpha_bars)
    return int(torch.nonzero(snr < 1)[0]) + 1 + shift


@exercise(
    "07-digit-snr",
    hint=(
        "x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps: the signal part has variance alpha_bar_t Var(x_0), "
        "the noise part 1 - alpha_bar_t. Var(x_0) is x0.var() of the training split."
    ),
    diagnoses=[
        mistake(
            "That is where SNR(t) = alpha_bar_t / (1 - alpha_bar_t) falls below 1: the schedule's SNR assumes data of "
            "variance 1. The digits' pixels vary less: multiply by Var(x_0).",
            gives=lambda: _first_t_below_one(1.0),
        ),
        mistake(
            "The signal's variance is alpha_bar_t Var(x_0), with the variance of x_0, not its standard deviation.",
            gives=lambda: _first_t_below_one(math.sqrt(_digit_variance())),
        ),
        mistake(
            "That uses the mean square of x_0, which counts the digits' average grey (the mean, -0.39) as signal; "
            "every digit shares it, so it tells the digits apart no better than noise does. Use the variance.",
            gives=lambda: _first_t_below_one(float((load_dataset("digits", "train").double() ** 2).mean())),
        ),
        mistake(
            "That is the linear schedule's answer; the exercise asks for the cosine schedule.",
            gives=lambda: _first_t_below_one(_digit_variance(), make_schedule("linear", 1000)),
        ),
        mistake(
            "Off by one timestep: element [t - 1] of alpha_bars is timestep t.",
            gives=lambda: _first_t_below_one(_digit_variance(), shift=-1),
        ),
    ],
    explanation=(
        "t = 407: the digits' pixels have variance 0.57, not 1, so their signal drowns earlier than the "
        "schedule's SNR(t) says (t = 497). The sampler has to decide which digit it draws well before t = T/2; "
        "notebook 03's lesson in a new form: what a schedule does depends on the data's scale."
    ),
)
def digit_snr() -> int:
    """The first t of the cosine schedule (T = 1000) at which alpha_bar_t Var(x_0) / (1 - alpha_bar_t) < 1."""
    return _first_t_below_one(_digit_variance())


def _implied_eps(x0_hat: float, t: int = CLIP_T, squared: bool = False) -> float:
    alpha_bar_t = _cosine().alpha_bar(t)
    signal = alpha_bar_t if squared else math.sqrt(alpha_bar_t)
    return (CLIP_X_T - signal * x0_hat) / math.sqrt(1 - alpha_bar_t)


def _x0_hat(t: int = CLIP_T) -> float:
    alpha_bar_t = _cosine().alpha_bar(t)
    return (CLIP_X_T - math.sqrt(1 - alpha_bar_t) * CLIP_EPS_HAT) / math.sqrt(alpha_bar_t)  # Eq. 15


@exercise(
    "07-clipped-eps",
    hint=(
        "Three lines: x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t) (Eq. 15); clamp it to "
        "[-1, 1]; then eps = (x_t - sqrt(alpha_bar_t) x0_clipped) / sqrt(1 - alpha_bar_t), Eq. 4 solved for eps."
    ),
    rtol=1e-4,
    diagnoses=[
        mistake(
            "That is the network's eps_hat unchanged: x0_hat here is above 1, so the clamp changes it, and the "
            "noise it implies changes with it.",
            when=lambda answer: abs(float(answer) - CLIP_EPS_HAT) < 1e-6,
        ),
        mistake(
            "That is the clamped x0_hat itself; the sampler needs the noise it implies (Eq. 4 solved for eps).",
            when=lambda answer: abs(float(answer) - 1.0) < 1e-6,
        ),
        mistake(
            "That is x0_hat before the clamp, (x_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t).",
            gives=lambda: _x0_hat(),
        ),
        mistake(
            "x_0 enters x_t scaled by sqrt(alpha_bar_t), not alpha_bar_t.",
            gives=lambda: _implied_eps(1.0, squared=True),
        ),
        mistake(
            "Off by one timestep: element [t - 1] of alpha_bars is timestep t.",
            gives=lambda: _implied_eps(1.0, CLIP_T + 1),
        ),
    ],
    explanation=(
        "x0_hat = 1.72 is clamped to 1, and the noise that explains x_t with x_0 = 1 is 1.17 instead of 0.2: the "
        "step then moves towards a legal image. This is the line `if clip_x0:` of ddpm_sample and ddim_sample."
    ),
)
def clipped_eps() -> float:
    """The noise implied by the clamped x0_hat for x_t = 1.5, eps_hat = 0.2 at t = 400 (cosine, T = 1000)."""
    return _implied_eps(max(-1.0, min(1.0, _x0_hat())))


@exercise(
    "07-clip-legit",
    hint='A letter: "a", "b", "c" or "d". Where can the best x0_hat lie, if every image is in [-1, 1]?',
    choices={
        "a": "the best estimate E[x_0 | x_t] averages images whose pixels all lie in [-1, 1], so it lies there too; "
        "clamping a prediction into [-1, 1] moves each pixel closer to every possible x_0",
        "b": "the samples are clamped when they are shown anyway, so clamping earlier changes nothing",
        "c": "clamping makes the sampler's noise smaller, so the steps are more stable",
        "d": "the network was trained on clamped targets, so it expects clamped inputs",
    },
    diagnoses=[
        mistake(
            "Clamping early does change the samples: each step uses the clamped x0_hat, so the path changes, not only "
            "the final picture. The notebook's two grids differ in more than their brightest pixels.",
            chose="b",
        ),
        mistake(
            "The implied noise can grow (exercise 07-clipped-eps: 0.2 became 1.17); the clamp is about where x_0 can "
            "lie, not the size of the noise.",
            chose="c",
        ),
        mistake(
            "The network is trained on x_t and eps (Algorithm 1); nothing is clamped in training, and x_t is not "
            "in [-1, 1].",
            chose="d",
        ),
    ],
    explanation=(
        "[-1, 1] per pixel is a convex set that holds every training image, so it holds their average "
        "E[x_0 | x_t] too; clamping is the projection onto it, which never moves a prediction away from any point of "
        "the set. It uses a fact about the data the network may not have learned exactly. It is not free: for data "
        "that can leave [-1, 1] (latents, audio) it would be wrong, and it makes the sampler no longer the exact "
        "reverse of the forward process the network was trained on."
    ),
)
def clip_legit() -> str:
    """Why clipping x0_hat to [-1, 1] is legitimate for data in [-1, 1]: (a)."""
    return "a"


@prediction(
    "07-predict-kept",
    hint='A letter: "a", "b", "c" or "d".',
    choices={
        "a": "about t = 200: beyond that the digits' SNR is below 5, and their strokes drown",
        "b": "about t = 400, where the digits' SNR crosses 1",
        "c": "about t = 650, where the digits' SNR is about 0.2",
        "d": "all the way to t = T: the network recovers a digit from any noise",
    },
    diagnoses=[
        mistake(
            "The strokes do blur by then, but which digit it is survives: a blurred 3 is still a 3, and the network "
            "brings back a 3.",
            when=lambda guess: guess.strip().lower() in ("a", "b"),
        ),
        mistake(
            "At t = T the digit is gone (sqrt(alpha_bar_T) = 5e-5): the network makes a digit up, and it is the "
            "right one about one time in ten, chance.",
            chose="d",
        ),
    ],
    explanation=(
        "measured, half of the digits are still the same digit after noising to about t = 650 and denoising, where "
        "the digits' SNR is about 0.2: the noise's amplitude is twice the digit's. A digit's identity is its "
        "coarsest feature and survives far more noise than its strokes; beyond that the network invents a digit. "
        "The same noise level comes at another t under another schedule (about t = 360 under the linear one): compare "
        "schedules by SNR, not by t."
    ),
)
def predict_kept() -> str:
    """Up to which t a noised test digit comes back as itself half of the time (the digits model, cosine): (c)."""
    return "c"


def _guided(eps_c: float, eps_u: float, scale_c: float, scale_u: float) -> float:
    return scale_c * eps_c - scale_u * eps_u


@exercise(
    "07-guided-eps",
    hint="Eq. 6: (1 + w) times the prediction with the label, minus w times the prediction without it.",
    diagnoses=[
        mistake(
            "That is only the push w (eps_c - eps_u); guidance adds it to eps_c, the prediction with the label.",
            gives=lambda: _guided(GUIDED_EPS_C, GUIDED_EPS_U, GUIDED_W, GUIDED_W),
        ),
        mistake(
            "The two predictions are swapped: the one with the label gets the weight 1 + w, the one without it -w.",
            gives=lambda: _guided(GUIDED_EPS_U, GUIDED_EPS_C, 1 + GUIDED_W, GUIDED_W),
        ),
        mistake(
            "That is the guidance-scale convention, eps_u + s (eps_c - eps_u), with s = 2. In Eq. 6 the weight "
            "w = 2 is the scale s = 1 + w = 3: libraries such as diffusers count from the unconditional model.",
            gives=lambda: _guided(GUIDED_EPS_C, GUIDED_EPS_U, GUIDED_W, GUIDED_W - 1),
        ),
        mistake(
            "The sign of the second term: guidance moves away from the prediction without the label, so it is "
            "subtracted.",
            gives=lambda: GUIDED_EPS_C * (1 + GUIDED_W) + GUIDED_W * GUIDED_EPS_U,
        ),
    ],
    explanation=(
        "(1 + w) eps_c - w eps_u = 3 x 0.5 - 2 x 0.2 = 1.1: the step goes past the prediction with the label (0.5), "
        "away from the one without it (0.2), by w times their difference. This is the last line of "
        "classifier_free_guidance. Libraries such as diffusers write it as eps_u + s (eps_c - eps_u) with the "
        "guidance scale s = 1 + w."
    ),
)
def guided_eps() -> float:
    """Eq. 6 for eps_c = 0.5, eps_u = 0.2, w = 2, through the package's classifier_free_guidance."""

    def two_predictions(x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return torch.full_like(x_t, GUIDED_EPS_U if labels is None else GUIDED_EPS_C)  # a stand-in network

    guided = classifier_free_guidance(two_predictions, torch.zeros(1, dtype=torch.int64), GUIDED_W)
    return float(guided(torch.zeros(1, 1, dtype=torch.float64), torch.ones(1, dtype=torch.int64)))
