"""Tests of diffusion_helpers.data: the 2-D data sets, their scale, labels, splits and reproducibility.

The scale is checked against the module's promise (standard deviation DATA_STD per coordinate, centred,
roughly in [-1, 1]); the swiss roll's shape against its definition (radius = angle, recovered from the points).
"""

from __future__ import annotations

import math

import pytest
import torch

from diffusion_helpers import data
from diffusion_helpers.data import (
    DATA_STD,
    DATASET_NAMES,
    DIGITS_SPLIT_SIZES,
    IMAGE_DATASETS,
    held_out_sets,
    load_dataset,
)

POINT_DATASETS = [name for name in DATASET_NAMES if name not in IMAGE_DATASETS]


@pytest.mark.parametrize("name", POINT_DATASETS)
def test_shape_dtype_and_scale(name):
    x = load_dataset(name, n=200_000)
    assert x.shape == (200_000, 2) and x.dtype == torch.float32
    # centred, with the promised RMS standard deviation (sampling error ~ 0.5 / sqrt(2e5) ~ 0.001)
    assert x.mean(0).abs().max() < 0.01
    assert abs(float(x.double().var(0).mean().sqrt()) - DATA_STD) < 0.01
    # roughly in [-1, 1]: most points inside (the moons, wider than tall, reach +-1.4 horizontally)
    assert float((x.abs() <= 1).all(1).double().mean()) > 0.85
    assert float(x.abs().max()) < 1.8


@pytest.mark.parametrize("name", POINT_DATASETS)
def test_reproducible_and_splits_differ(name):
    a, b = load_dataset(name, n=500), load_dataset(name, n=500)
    assert torch.equal(a, b)
    assert not torch.equal(a, load_dataset(name, split="test", n=500))
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    assert torch.equal(load_dataset(name, n=300, generator=g1), load_dataset(name, n=300, generator=g2))
    assert not torch.equal(load_dataset(name, n=300, generator=g1), a[:300])  # the generator advanced


def test_default_size():
    assert load_dataset("moons").shape == (10_000, 2)


@pytest.mark.parametrize(
    ("name", "num_labels"), [("swiss_roll", 3), ("moons", 2), ("eight_gaussians", 8), ("checkerboard", 8)]
)
def test_labels(name, num_labels):
    x, labels = load_dataset(name, n=40_000, labels=True)
    assert torch.equal(x, load_dataset(name, n=40_000))  # asking for labels does not change the points
    assert labels.shape == (40_000,) and labels.dtype == torch.int64
    counts = labels.bincount(minlength=num_labels)
    assert len(counts) == num_labels
    # every label about equally likely (each half-turn of the roll has the same share of the angle)
    assert (counts.double() / 40_000 - 1 / num_labels).abs().max() < 0.02


def test_swiss_roll_is_a_spiral_of_radius_equal_to_angle():
    """Undo the scaling and check radius = angle on the noise-free centre line, half-turn by half-turn."""
    x, half_turn = load_dataset("swiss_roll", n=50_000, labels=True)
    mean_y = 2 / (3 * math.pi)
    std = math.sqrt((9.75 * math.pi**2 - 4 - mean_y**2 + 0.5) / 2)
    raw = x.double() * (std / DATA_STD) + torch.tensor([2.0, mean_y], dtype=torch.float64)
    radius = raw.norm(dim=1)
    # the angle is 3 pi / 2 + pi * half_turn + (the polar angle measured from there); with noise 0.5, the radius
    # lies within a few tenths of it, and between 1.5 pi - 1.5 and 4.5 pi + 1.5 overall
    assert float(radius.min()) > 1.5 * math.pi - 2.0 and float(radius.max()) < 4.5 * math.pi + 2.0
    polar = torch.atan2(raw[:, 1], raw[:, 0])  # in (-pi, pi]
    angle = 1.5 * math.pi + torch.remainder(polar - 1.5 * math.pi, 2 * math.pi)  # in [1.5 pi, 3.5 pi)
    angle = torch.where(angle + 2 * math.pi - radius < radius - angle, angle + 2 * math.pi, angle)  # second turn
    assert float((radius - angle).abs().median()) < 0.5
    assert torch.equal(half_turn.unique(), torch.tensor([0, 1, 2]))


def test_eight_gaussians_components_sit_on_the_circle():
    x, component = load_dataset("eight_gaussians", n=16_000, labels=True)
    raw = x.double() * (math.sqrt(0.51) / DATA_STD)
    for k in range(8):
        centre = raw[component == k].mean(0)
        expected = torch.tensor([math.cos(k * math.pi / 4), math.sin(k * math.pi / 4)], dtype=torch.float64)
        assert torch.allclose(centre, expected, atol=0.02)


def test_checkerboard_only_black_squares():
    x = load_dataset("checkerboard", n=20_000).double() * (4 / math.sqrt(12) / DATA_STD)  # back to [-2, 2]^2
    cells = torch.floor(x + 2).long()  # column, row in 0..3
    assert int(cells.min()) >= 0 and int(cells.max()) <= 3
    assert bool(((cells[:, 0] + cells[:, 1]) % 2 == 0).all())


def test_held_out_sets():
    sets = held_out_sets("moons", count=3, n=1000)
    assert len(sets) == 3 and all(s.shape == (1000, 2) for s in sets)
    assert not torch.equal(sets[0], sets[1])
    train = load_dataset("moons", n=3000)
    for s in sets:  # no test point is a training point (both coordinates equal)
        assert not (s[:, None, :] == train[None, :, :]).all(dim=2).any()
    with pytest.raises(ValueError, match="count"):
        held_out_sets("moons", count=1)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown data set 'swissroll'; valid names are: swiss_roll, moons"):
        load_dataset("swissroll")
    with pytest.raises(TypeError, match="name must be a string"):
        load_dataset(3)
    with pytest.raises(ValueError, match="n must be an int in \\[1, inf\\), got 0"):
        load_dataset("moons", n=0)
    with pytest.raises(ValueError, match="got -5"):
        load_dataset("moons", n=-5)
    with pytest.raises(TypeError, match="n must be an int"):
        load_dataset("moons", n=10.0)
    with pytest.raises(ValueError, match="unknown split 'validation'; valid splits are: train, test"):
        load_dataset("moons", split="validation")
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        load_dataset("moons", generator=0)
    with pytest.raises(TypeError, match="labels must be True or False"):
        load_dataset("moons", labels="yes")


def test_registry_is_the_public_list():
    assert set(DATASET_NAMES) == set(data._LOADERS) | set(IMAGE_DATASETS)
    assert IMAGE_DATASETS == ("digits",)
    assert data.SPLITS == ("train", "test")


# ---- the digits ------------------------------------------------------------------------------------------------


def _sklearn_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return torch.from_numpy(bunch.images), torch.from_numpy(bunch.target)  # (1797, 8, 8) float64 0..16, (1797,)


@pytest.mark.parametrize("split", ["train", "test"])
def test_digits_shape_range_and_size(split):
    x, labels = load_dataset("digits", split, labels=True)
    size = DIGITS_SPLIT_SIZES[split]
    assert x.shape == (size, 1, 8, 8) and x.dtype == torch.float32
    assert labels.shape == (size,) and labels.dtype == torch.int64
    assert float(x.min()) == -1.0 and float(x.max()) == 1.0  # 0 -> -1 and 16 -> 1 exactly
    # 17 grey levels 0..16, mapped to the multiples of 1/8 in [-1, 1]
    assert torch.equal((x + 1) * 8, ((x + 1) * 8).round())
    assert torch.equal(labels.unique(), torch.arange(10))


def test_digits_split_sizes_and_stratification():
    assert DIGITS_SPLIT_SIZES == {"train": 1438, "test": 359}
    assert sum(DIGITS_SPLIT_SIZES.values()) == 1797  # every image in one split
    _, all_labels = _sklearn_digits()
    _, test_labels = load_dataset("digits", "test", labels=True)
    # 20% of each digit held out, rounded
    expected = torch.tensor([round(0.2 * int(c)) for c in all_labels.bincount()])
    assert torch.equal(test_labels.bincount(minlength=10), expected)


def test_digits_splits_are_disjoint_by_index_and_match_sklearn():
    """By index (the split's record), and against scikit-learn's images scaled independently here."""
    indices = data._digits_split_indices()
    train_index, test_index = indices["train"], indices["test"]
    assert len(set(train_index.tolist()) & set(test_index.tolist())) == 0
    assert sorted(train_index.tolist() + test_index.tolist()) == list(range(1797))
    images, targets = _sklearn_digits()
    for split, index in indices.items():
        x, labels = load_dataset("digits", split, labels=True)
        assert torch.equal(x[:, 0].double(), images[index] / 16 * 2 - 1)
        assert torch.equal(labels, targets[index])
    # no image of the test split appears in the training split (the 1,797 images are all distinct)
    train, test = load_dataset("digits", "train").flatten(1), load_dataset("digits", "test").flatten(1)
    assert not (test[:, None, :] == train[None, :, :]).all(dim=2).any()


def test_digits_first_n_random_n_and_determinism():
    full = load_dataset("digits", "train")
    assert torch.equal(load_dataset("digits", "train", n=100), full[:100])
    assert torch.equal(load_dataset("digits", "train"), full)  # the same on every call
    full[0] = 5.0  # a caller changing its copy changes nothing for the next caller
    assert float(load_dataset("digits", "train").max()) == 1.0
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a, b = load_dataset("digits", "test", n=50, generator=g1), load_dataset("digits", "test", n=50, generator=g2)
    assert torch.equal(a, b) and not torch.equal(a, load_dataset("digits", "test", n=50))
    test = load_dataset("digits", "test").flatten(1)
    picked = a.flatten(1)
    matches = (picked[:, None, :] == test[None, :, :]).all(dim=2)  # (50, 359)
    assert bool((matches.sum(1) == 1).all()) and len(set(matches.float().argmax(1).tolist())) == 50  # no repeats


def test_digits_bad_input():
    too_many = "n must be at most 359 for digits: the 'test' split holds 359 images, got 360"
    with pytest.raises(ValueError, match=too_many):
        load_dataset("digits", "test", n=360)
    with pytest.raises(ValueError, match="n must be an int in \\[1, inf\\), got 0"):
        load_dataset("digits", n=0)
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        load_dataset("digits", split="valid")
    with pytest.raises(TypeError, match="labels must be True or False"):
        load_dataset("digits", labels=1)
    with pytest.raises(ValueError, match="one fixed test split"):
        held_out_sets("digits")


def test_digits_without_sklearn_says_how_to_install(monkeypatch):
    import sys

    data._digits_split.cache_clear()
    data._digits_split_indices.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import fails as if not installed
    try:
        with pytest.raises(ModuleNotFoundError, match="pip install scikit-learn"):
            load_dataset("digits")
    finally:
        monkeypatch.undo()
        data._digits_split.cache_clear()
        data._digits_split_indices.cache_clear()
