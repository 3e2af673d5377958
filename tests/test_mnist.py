"""Tests of the optional MNIST loader, all offline: a failing download, and a cache of tiny fake files.

No test here touches the network: torchvision's download function is replaced in every test that could
reach it (a download that fails, or one that fails the test if it is called at all).
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
import torchvision.datasets.mnist

from diffusion_helpers import DATASET_NAMES, load_dataset, mnist
from diffusion_helpers.mnist import MNIST_FOLDER_VARIABLE, load_mnist, mnist_folder


def write_idx(path: Path, array: torch.Tensor) -> None:
    """Write a uint8 tensor in the idx format of MNIST's files: magic 0x08 (ubyte), the rank, the sizes (big-endian)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.numpy().tobytes())


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second guard: any socket connection in these tests fails the test instead of reaching the network."""

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail(f"a test of the MNIST loader tried to reach the network: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)  # every connection by name starts here
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def fake_cache(tmp_path: Path) -> Path:
    """A cache folder holding the four MNIST files, with 3 training and 2 test images of 28 x 28."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train_images = torch.zeros(3, 28, 28, dtype=torch.uint8)
    train_images[1] = 255  # image 1 white: 1.0; image 2 grey 51: 51 / 127.5 - 1 = -0.6
    train_images[2] = 51
    write_idx(raw / "train-images-idx3-ubyte", train_images)
    write_idx(raw / "train-labels-idx1-ubyte", torch.tensor([7, 1, 4], dtype=torch.uint8))
    write_idx(raw / "t10k-images-idx3-ubyte", torch.full((2, 28, 28), 255, dtype=torch.uint8))
    write_idx(raw / "t10k-labels-idx1-ubyte", torch.tensor([0, 9], dtype=torch.uint8))
    return tmp_path


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """torchvision's download fails as it does offline; returns the socket timeouts it was called with."""
    timeouts: list[float | None] = []

    def fail(url: str, *args: object, **kwargs: object) -> None:
        timeouts.append(socket.getdefaulttimeout())
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets.mnist, "download_and_extract_archive", fail)
    return timeouts


def test_reads_a_cached_copy_scaled_to_minus_one_one(fake_cache: Path, no_download: list) -> None:
    images, labels = load_mnist("train", folder=fake_cache, labels=True)
    assert images.shape == (3, 1, 28, 28) and images.dtype == torch.float32
    assert images[0].eq(-1).all() and images[1].eq(1).all()
    assert torch.allclose(images[2], torch.tensor(51 / 127.5 - 1))
    assert labels.tolist() == [7, 1, 4] and labels.dtype == torch.int64
    test = load_mnist("test", folder=fake_cache)
    assert test.shape == (2, 1, 28, 28) and test.eq(1).all()
    assert load_mnist("train", n=2, folder=fake_cache).shape == (2, 1, 28, 28)
    # n images at random, without replacement, reproducibly for a seed
    picked = load_mnist("train", n=3, generator=torch.Generator().manual_seed(0), folder=fake_cache, labels=True)[1]
    assert sorted(picked.tolist()) == [1, 4, 7]
    assert no_download == []  # read from the cache: no download tried


def test_the_folder_comes_from_the_environment(fake_cache: Path, no_download: list, monkeypatch) -> None:
    monkeypatch.setenv(MNIST_FOLDER_VARIABLE, str(fake_cache))
    assert mnist_folder() == fake_cache
    assert load_mnist("test").shape == (2, 1, 28, 28)
    monkeypatch.delenv(MNIST_FOLDER_VARIABLE)
    assert mnist_folder() == Path.home() / ".cache" / "diffusion_helpers"


def test_load_dataset_reads_it_but_does_not_list_it(fake_cache: Path, no_download: list, monkeypatch) -> None:
    monkeypatch.setenv(MNIST_FOLDER_VARIABLE, str(fake_cache))
    images, labels = load_dataset("mnist", "test", labels=True)
    assert images.shape == (2, 1, 28, 28) and labels.tolist() == [0, 9]
    assert "mnist" not in DATASET_NAMES  # what iterates over the data sets (tests, recipes) stays offline


def test_offline_says_what_happened_and_what_to_do(tmp_path: Path, no_download: list) -> None:
    previous = socket.getdefaulttimeout()
    with pytest.raises(ConnectionError) as error:
        load_mnist("train", folder=tmp_path, timeout=7.5)
    message = str(error.value)
    assert "could not download MNIST" in message and "no internet?" in message
    assert "downloading train-images-idx3-ubyte.gz (<urlopen error [Errno -3] Temporary failure" in message
    assert "load_dataset('digits')" in message and "scikit-learn" in message
    assert str(tmp_path / "MNIST" / "raw") in message and "train-images-idx3-ubyte" in message
    assert MNIST_FOLDER_VARIABLE in message
    assert no_download and set(no_download) == {7.5}  # every attempt ran with the timeout ...
    assert socket.getdefaulttimeout() == previous  # ... and the process's default is back


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "validation"}, ValueError, "valid splits are: train, test"),
        ({"split": 1}, TypeError, "split must be a string"),
        ({"n": 0}, ValueError, r"n must be an int in \[1, inf\)"),
        ({"split": "test", "n": 10_001}, ValueError, "at most 10000 for mnist"),
        ({"n": 2.0}, TypeError, "n must be an int"),
        ({"timeout": 0}, ValueError, "timeout must be in"),
        ({"labels": "yes"}, TypeError, "labels must be True or False"),
        ({"generator": 0}, TypeError, "generator must be a torch.Generator"),
    ],
)
def test_bad_input_fails_before_any_download(tmp_path: Path, no_download: list, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        load_mnist(folder=tmp_path, **kwargs)
    assert no_download == []


def test_the_module_imports_no_torchvision_until_called() -> None:
    assert "torchvision" not in vars(mnist)
