"""Tests of diffusion_helpers.metrics: the sliced Wasserstein distance and its noise-floor ratio.

References, independent of the package's sort-and-integrate code:
- W_1 in 1-D as the area between the two empirical CDFs, int |F_a(x) - F_b(x)| dx (scipy's formula), for any sizes;
- W_p for small sets by brute force: the best of all matchings (every permutation), after repeating the points
  of a (n points) and of b (m points) until both have lcm(n, m), which leaves both distributions unchanged;
- closed forms for Gaussians: W_2(N(m1, s1^2), N(m2, s2^2)) = sqrt((m1 - m2)^2 + (s1 - s2)^2) in 1-D, and for a
  shift d in 2-D, SW_2 = |d| / sqrt(2) and SW_1 = 2 |d| / pi (averages of |d . theta|^p over the circle).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from diffusion_helpers.data import held_out_sets, load_dataset
from diffusion_helpers.metrics import (
    NoiseFloorRatio,
    classify_digits,
    confident_digits,
    image_noise_floor_ratio,
    noise_floor_ratio,
    random_directions,
    sliced_wasserstein,
)

X_AXIS = torch.tensor([[1.0, 0.0]], dtype=torch.float64)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def ref_w1_cdf(a: np.ndarray, b: np.ndarray) -> float:
    """int |F_a - F_b| dx over the merged sorted values (the empirical CDFs are constant in between)."""
    values = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), values[:-1], side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), values[:-1], side="right") / len(b)
    return float(np.sum(np.abs(cdf_a - cdf_b) * np.diff(values)))


def ref_wp_brute_force(a: list[float], b: list[float], p: int) -> float:
    """min over all matchings of the repeated sets (lcm(n, m) points each): the definition of optimal transport."""
    size = math.lcm(len(a), len(b))
    a_rep = [x for x in a for _ in range(size // len(a))]
    b_rep = [y for y in b for _ in range(size // len(b))]
    best = min(sum(abs(x - y) ** p for x, y in zip(a_rep, perm)) for perm in itertools.permutations(b_rep))
    return (best / len(a_rep)) ** (1 / p)


def as_points(values) -> torch.Tensor:
    """1-D values as points on the x-axis of the plane, (n, 2) float64."""
    v = torch.as_tensor(values, dtype=torch.float64)
    return torch.stack([v, torch.zeros_like(v)], dim=1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-10, 10, allow_nan=False, width=32), min_size=1, max_size=40),
    st.lists(st.floats(-10, 10, allow_nan=False, width=32), min_size=1, max_size=40),
)
def test_w1_matches_the_cdf_formula_for_any_sizes(a, b):
    got = sliced_wasserstein(as_points(a), as_points(b), projections=X_AXIS, p=1)
    assert got == pytest.approx(ref_w1_cdf(np.array(a), np.array(b)), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(("n", "m"), [(5, 5), (2, 3), (3, 2), (1, 4), (4, 1), (2, 4)])
@pytest.mark.parametrize("p", [1, 2])
def test_wp_matches_brute_force_transport(n, m, p):
    g = seeded(n * 10 + m + p)
    for _ in range(3):
        a, b = torch.randn(n, generator=g).tolist(), (torch.randn(m, generator=g) + 0.5).tolist()
        got = sliced_wasserstein(as_points(a), as_points(b), projections=X_AXIS, p=p)
        assert got == pytest.approx(ref_wp_brute_force(a, b, p), rel=1e-9)


def test_one_dimensional_gaussians_closed_form():
    g = seeded(1)
    n = 400_000
    a = torch.randn(n, 1, generator=g, dtype=torch.float64)
    b = 0.3 + 1.5 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    got = sliced_wasserstein(a, b, projections=torch.ones(1, 1, dtype=torch.float64))
    # W_2 = sqrt(0.3^2 + 0.5^2) = 0.583; sampling error of order 1/sqrt(n) relative
    assert got == pytest.approx(math.hypot(0.3, 0.5), rel=0.01)


@pytest.mark.parametrize(("p", "factor"), [(2, 1 / math.sqrt(2)), (1, 2 / math.pi)])
def test_shifted_gaussians_in_the_plane(p, factor):
    """Projected on theta, a shift d moves every quantile by d . theta; averaged over the circle that gives
    |d| / sqrt(2) for SW_2 and 2 |d| / pi for SW_1."""
    g = seeded(2)
    a = torch.randn(20_000, 2, generator=g, dtype=torch.float64)
    b = torch.randn(20_000, 2, generator=g, dtype=torch.float64) + torch.tensor([0.6, -0.8], dtype=torch.float64)
    # evenly spaced directions over the half circle: the average over theta without Monte-Carlo noise
    angles = torch.arange(90, dtype=torch.float64) * math.pi / 90
    directions = torch.stack([angles.cos(), angles.sin()], dim=1)
    assert sliced_wasserstein(a, b, projections=directions, p=p) == pytest.approx(1.0 * factor, rel=0.02)
    # random directions: the same within their own noise
    assert sliced_wasserstein(a, b, projections=300, p=p, generator=seeded(3)) == pytest.approx(factor, rel=0.06)


def test_symmetric_zero_for_identical_and_directions_reused():
    a, b = load_dataset("moons", n=2000), load_dataset("moons", split="test", n=2000)
    directions = random_directions(64, 2, generator=seeded(0))
    assert sliced_wasserstein(a, b, projections=directions) == sliced_wasserstein(b, a, projections=directions)
    assert sliced_wasserstein(a, a, projections=directions) == 0
    # the same directions from the same seed: the same value
    assert sliced_wasserstein(a, b, generator=seeded(5)) == sliced_wasserstein(a, b, generator=seeded(5))
    # invariant to the order of the points
    assert sliced_wasserstein(a.flip(0), b, projections=directions) == pytest.approx(
        sliced_wasserstein(a, b, projections=directions), rel=1e-12
    )


def test_random_directions_are_unit_and_uniform():
    d = random_directions(20_000, 2, generator=seeded(0))
    assert d.shape == (20_000, 2) and torch.allclose(d.norm(dim=1), torch.ones(20_000, dtype=torch.float64))
    angles = torch.atan2(d[:, 1], d[:, 0])
    counts = torch.histc(angles, bins=8, min=-math.pi, max=math.pi)
    assert (counts / 20_000 - 1 / 8).abs().max() < 0.015


def test_noise_floor_ratio_is_about_one_for_data_and_large_for_wrong_samples():
    sets = held_out_sets("swiss_roll", count=5, n=2000)
    fresh = load_dataset("swiss_roll", split="test", n=2000, generator=seeded(11))
    score = noise_floor_ratio(fresh, sets, projections=64, generator=seeded(0))
    assert isinstance(score, NoiseFloorRatio)
    assert score.ratio == pytest.approx(score.distance / score.floor)
    # data against data: 1 up to the draw's noise (about +-0.25 for one set of samples)
    assert 0.6 < score.ratio < 1.6
    shrunk = 0.9 * fresh  # 10% too narrow: clearly distinguishable at 2,000 points
    assert noise_floor_ratio(shrunk, sets, projections=64, generator=seeded(0)).ratio > 1.8
    # the floor is the mean distance between pairs (k, k + 1), computed with the same directions
    directions = random_directions(64, 2, generator=seeded(0))
    floor = sum(sliced_wasserstein(sets[k], sets[(k + 1) % 5], projections=directions) for k in range(5)) / 5
    assert score.floor == pytest.approx(floor, rel=1e-12)


def test_floor_of_two_held_out_sets_is_one_pair():
    sets = held_out_sets("moons", count=2, n=500)
    directions = random_directions(32, 2, generator=seeded(0))
    score = noise_floor_ratio(sets[0], sets, projections=directions)
    assert score.floor == pytest.approx(sliced_wasserstein(sets[0], sets[1], projections=directions))


def test_bad_input():
    a = torch.zeros(10, 2)
    with pytest.raises(TypeError, match=r"a must be a torch\.Tensor"):
        sliced_wasserstein([[0.0, 0.0]], a)
    with pytest.raises(TypeError, match="floating-point"):
        sliced_wasserstein(a, torch.zeros(10, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"b must be a \(n, D\) tensor"):
        sliced_wasserstein(a, torch.zeros(10))
    with pytest.raises(ValueError, match="same number of coordinates"):
        sliced_wasserstein(a, torch.zeros(10, 3))
    with pytest.raises(ValueError, match="a must be finite"):
        sliced_wasserstein(torch.full((3, 2), math.nan), a)
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        sliced_wasserstein(a, a, p=3)
    with pytest.raises(ValueError, match="projections must be an int in"):
        sliced_wasserstein(a, a, projections=0)
    with pytest.raises(TypeError, match="projections must be an int"):
        sliced_wasserstein(a, a, projections=1.5)
    with pytest.raises(ValueError, match="unit vectors"):
        sliced_wasserstein(a, a, projections=torch.ones(4, 2))
    with pytest.raises(ValueError, match=r"a \(P, 2\) tensor"):
        sliced_wasserstein(a, a, projections=torch.ones(4, 3))
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        sliced_wasserstein(a, a, generator=1)
    with pytest.raises(TypeError, match="held_out must be a list"):
        noise_floor_ratio(a, a)
    with pytest.raises(ValueError, match="at least 2 sets"):
        noise_floor_ratio(a, [a])
    with pytest.raises(ValueError, match=r"held_out\[1\] must have the shape and device of samples"):
        noise_floor_ratio(a, [a, torch.zeros(5, 2)])
    with pytest.raises(ValueError, match="noise floor is 0"):
        noise_floor_ratio(a + 1, [a, a])


# ---- images: issue 8's protocol and the digit classifier -----------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    train, train_labels = load_dataset("digits", "train", labels=True)
    test, test_labels = load_dataset("digits", "test", labels=True)
    return train, train_labels, test, test_labels


def test_image_ratio_matches_its_definition(digits):
    """Recomputed with sliced_wasserstein on the same directions and the same training subsets."""
    train, _, test, _ = digits
    samples = (train[:1077] + 0.3 * torch.randn(1077, 1, 8, 8, generator=seeded(2))).clamp(-1, 1)  # 3 x 359
    got = image_noise_floor_ratio(samples, test, train, sets=3, generator=seeded(5))
    g = seeded(5)
    directions = random_directions(256, 64, generator=g)
    subsets = [train[torch.randperm(1438, generator=g)[:359]] for _ in range(3)]
    sample_sets = samples.split(359)
    distance = sum(sliced_wasserstein(s.flatten(1), test.flatten(1), projections=directions) for s in sample_sets)
    floor = sum(sliced_wasserstein(r.flatten(1), test.flatten(1), projections=directions) for r in subsets)
    assert got.distance == pytest.approx(distance / 3, rel=1e-6)
    assert got.floor == pytest.approx(floor / 3, rel=1e-6)
    assert got.ratio == pytest.approx(distance / floor, rel=1e-6)


def test_image_ratio_is_about_one_for_real_digits_and_large_for_noise(digits):
    train, _, test, _ = digits
    g = seeded(0)
    real = torch.cat([train[torch.randperm(1438, generator=g)[:359]] for _ in range(5)])  # training digits as samples
    assert abs(image_noise_floor_ratio(real, test, train, generator=seeded(1)).ratio - 1) < 0.1
    noise = torch.rand(1795, 1, 8, 8, generator=g) * 2 - 1
    assert image_noise_floor_ratio(noise, test, train, generator=seeded(1)).ratio > 5
    # the held-out digits themselves are at distance 0
    assert image_noise_floor_ratio(test.repeat(5, 1, 1, 1), test, train, generator=seeded(1)).distance == 0
    # averages of two digits (a blurry model) are far from the data
    blurred = (real + real.roll(1, dims=0)) / 2
    assert image_noise_floor_ratio(blurred, test, train, generator=seeded(1)).ratio > 1.5


def test_image_ratio_bad_input(digits):
    train, _, test, _ = digits
    with pytest.raises(ValueError, match=r"samples must hold sets x len\(held_out\) = 5 x 359 = 1795 images"):
        image_noise_floor_ratio(train[:359], test, train)
    with pytest.raises(ValueError, match="same size"):
        image_noise_floor_ratio(torch.zeros(1795, 1, 4, 4), test, train)
    with pytest.raises(ValueError, match="train must hold at least len"):
        image_noise_floor_ratio(train[:359], test, train[:100], sets=1)
    with pytest.raises(TypeError, match="samples must be a floating-point tensor"):
        image_noise_floor_ratio(torch.zeros(1795, 1, 8, 8, dtype=torch.long), test, train)
    with pytest.raises(ValueError, match="sets must be an int in"):
        image_noise_floor_ratio(train[:359], test, train, sets=0)
    with pytest.raises(ValueError, match="samples must be finite"):
        image_noise_floor_ratio(torch.full((359, 1, 8, 8), float("nan")), test, train, sets=1)


def test_classifier_matches_scikit_learn_fitted_here(digits):
    """The package's classifier = scikit-learn's defaults on pixels in [0, 1], fitted independently here."""
    from sklearn.linear_model import LogisticRegression

    train, train_labels, test, test_labels = digits
    pixels = ((train.flatten(1).double() + 1) / 2).numpy()  # (1438, 64) in [0, 1]
    reference = LogisticRegression(max_iter=1000).fit(pixels, train_labels.numpy())
    p = reference.predict_proba(((test.flatten(1).double() + 1) / 2).numpy())  # (359, 10)
    assert (p.argmax(1) == test_labels.numpy()).mean() > 0.95  # a good classifier: 97% on held-out digits
    confident = p.max(1) > 0.9
    result = confident_digits(test)
    assert result.rate == pytest.approx(confident.mean(), abs=1e-12)
    assert result.real_rate == result.rate and result.ratio == 1.0
    assert result.classes == tuple(range(10))
    expected_counts = np.bincount(p.argmax(1)[confident], minlength=10)
    assert result.counts == tuple(int(c) for c in expected_counts)
    assert 0.7 < result.real_rate < 0.85  # as the docstring says (77%)


def test_classifier_judges_samples(digits):
    train, train_labels, test, _ = digits
    ones = train[train_labels == 1]
    result = confident_digits(ones)
    assert result.classes == (1,) and result.rate > 0.5  # sure of them, and all ones: one class only
    noise = torch.rand(359, 1, 8, 8, generator=seeded(0)) * 2 - 1
    assert confident_digits(noise).ratio < 0.2
    blurred = (test + test.roll(1, dims=0)) / 2  # averages of two digits
    assert confident_digits(blurred).ratio < 0.6
    assert confident_digits(test * 3) == confident_digits((test * 3).clamp(-1, 1))  # clamped first, as when shown


def test_classifier_bad_input():
    with pytest.raises(ValueError, match=r"samples must be digit images of shape \(N, 1, 8, 8\), got shape \(5, 64\)"):
        confident_digits(torch.zeros(5, 64))
    with pytest.raises(TypeError, match="samples must be a floating-point tensor"):
        confident_digits(torch.zeros(5, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="threshold must be in"):
        confident_digits(torch.zeros(5, 1, 8, 8), threshold=1.0)
    with pytest.raises(ValueError, match="finite"):
        confident_digits(torch.full((5, 1, 8, 8), float("inf")))


def test_classify_digits_is_the_classifiers_probabilities(digits):
    """classify_digits = predict_proba of a classifier fitted here on pixels in [0, 1], for images clamped first."""
    from sklearn.linear_model import LogisticRegression

    train, train_labels, test, test_labels = digits
    pixels = ((train.flatten(1).double() + 1) / 2).numpy()  # (1438, 64) in [0, 1]
    reference = LogisticRegression(max_iter=1000).fit(pixels, train_labels.numpy())
    wild = test * 3  # pixels far outside [-1, 1]: clamped, as when shown
    p = classify_digits(wild)
    assert p.dtype == torch.float64 and p.shape == (len(test), 10)
    expected = reference.predict_proba(((wild.clamp(-1, 1).flatten(1).double() + 1) / 2).numpy())
    torch.testing.assert_close(p, torch.from_numpy(expected), rtol=0, atol=1e-9)
    torch.testing.assert_close(p.sum(1), torch.ones(len(test), dtype=torch.float64))
    assert (classify_digits(test).argmax(1) == test_labels).double().mean() > 0.95


def test_classify_digits_bad_input():
    with pytest.raises(ValueError, match=r"images must be digit images of shape \(N, 1, 8, 8\), got shape \(5, 64\)"):
        classify_digits(torch.zeros(5, 64))
    with pytest.raises(ValueError, match=r"images must be digit images .* got shape \(0, 1, 8, 8\)"):
        classify_digits(torch.zeros(0, 1, 8, 8))
    with pytest.raises(TypeError, match="images must be a floating-point tensor"):
        classify_digits(torch.zeros(5, 1, 8, 8, dtype=torch.int64))
    with pytest.raises(TypeError, match="images must be"):
        classify_digits(np.zeros((5, 1, 8, 8)))
    with pytest.raises(ValueError, match="images must be finite"):
        classify_digits(torch.full((5, 1, 8, 8), float("nan")))
