"""Independent computations of notebook 07's exercises, read by tests/test_exercises.py (which runs the checks).

Plain Python from the papers' formulas: the cosine schedule's alpha_bar(t) = f(t) / f(0) of Nichol & Dhariwal
(its clip at 0.999 changes only t = T), Eq. 4 and Eq. 15 of Ho et al. The only package function used is the
data loader, for the training split whose pixel variance the SNR exercise needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from diffusion_helpers import load_dataset


def _cosine_alpha_bar(t: int, T: int = 1000, s: float = 0.008) -> float:
    f = lambda u: math.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    return f(t) / f(0)


def _first_t_digit_snr_below_one() -> int:
    pixels = load_dataset("digits", "train").double().flatten().tolist()
    mean = sum(pixels) / len(pixels)
    variance = sum((p - mean) ** 2 for p in pixels) / (len(pixels) - 1)
    t = 1
    while _cosine_alpha_bar(t) * variance / (1 - _cosine_alpha_bar(t)) >= 1:
        t += 1
    return t


def _clipped_eps() -> float:
    alpha_bar = _cosine_alpha_bar(400)
    x0_hat = (1.5 - math.sqrt(1 - alpha_bar) * 0.2) / math.sqrt(alpha_bar)  # Eq. 15
    x0_clipped = min(1.0, max(-1.0, x0_hat))
    return (1.5 - math.sqrt(alpha_bar) * x0_clipped) / math.sqrt(1 - alpha_bar)  # Eq. 4 solved for eps


INDEPENDENT: dict[str, Callable[[], Any]] = {
    "07-pixel-scale": lambda: torch.tensor([level / 8 - 1 for level in (0, 4, 12, 16)], dtype=torch.float64),
    "07-digit-snr": _first_t_digit_snr_below_one,
    "07-clipped-eps": _clipped_eps,
    # the reason is argued in the notebook; the clamp as a projection is checked there on the model's predictions
    "07-clip-legit": lambda: "a",
    # a measurement: notebook 07 noises the test digits to t = 100, ..., 1000, denoises them, and asserts (c)
    "07-predict-kept": lambda: "c",
    "07-guided-eps": lambda: (1 + 2.0) * 0.5 - 2.0 * 0.2,  # Ho & Salimans 2022, Eq. 6
}


def test_clamping_never_moves_a_value_away_from_any_point_of_the_interval() -> None:
    """The fact behind 07-clip-legit: |clamp(x) - y| <= |x - y| for every y in [-1, 1]."""
    x = 3 * torch.randn(2000, generator=torch.Generator().manual_seed(0))
    y = 2 * torch.rand(2000, generator=torch.Generator().manual_seed(1)) - 1
    assert ((x.clamp(-1, 1) - y).abs() <= (x - y).abs() + 1e-7).all()


WHEN_MISTAKES = {  # the wrong answers that each when= or chose= diagnosis of notebook 07 is written for
    "07-clipped-eps": [0.2, 1.0],
    "07-clip-legit": ["b", "c", "d"],
    "07-predict-kept": ["a", "b", "d"],
}


def test_every_when_diagnosis_of_notebook_07_fires_on_its_mistake() -> None:
    from diffusion_helpers import exercises

    for name, wrong_answers in WHEN_MISTAKES.items():
        item = exercises.get(name)
        messages = {d.message for d in item.diagnoses if d.when is not None or d.chose is not None}
        fired = set()
        for wrong in wrong_answers:
            assert not item.matches(wrong, item.expected())
            message = exercises._diagnose(item, wrong)
            assert message in messages, f"{name}: {wrong!r} gets {message!r}"
            fired.add(message)
        assert fired == messages, f"{name}: a when= or chose= diagnosis is never exercised"
    assert {
        n
        for n in exercises.names()
        if n.startswith("07-") and any(d.when or d.chose for d in exercises.get(n).diagnoses)
    } == set(WHEN_MISTAKES)
