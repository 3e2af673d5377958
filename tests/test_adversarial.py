"""Adversarial tests of the presentation layer (issue 10): hundreds of generated inputs, none of which may hang,
allocate without bound, leak an exception other than TypeError/ValueError, or be silently changed.

Each property says what must hold for *every* input hypothesis draws, good or bad:

- ``load_image`` of any bytes in a file, and of any string that is not an http(s) URL, returns a square RGB
  image or raises FileNotFoundError/ValueError naming the source, quickly (nothing here uses the network);
- ``pil_to_tensor`` of an image in any Pillow mode gives ``(3, H, W)`` in [-1, 1] or a ValueError;
- ``image_grid`` and the plotting functions given any value for an argument either work or raise a
  TypeError/ValueError that names the argument, and never build more than their limits;
- ``ScheduleExplorer.set`` either shows exactly what was asked (the schedule equals ``make_schedule`` of it)
  or raises and changes nothing; ``TimestepScrubber.draw`` draws ``x_t`` for t in [0, T] or raises.
"""

from __future__ import annotations

import io
import socket
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import diffusion_helpers as dh
from diffusion_helpers import images, plotting
from diffusion_helpers.widgets import ScheduleExplorer, TimestepScrubber

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def offline():
    """No test here may open a connection: any attempt fails the test."""
    with pytest.MonkeyPatch.context() as patch:

        def refuse(self, address):
            raise AssertionError(f"tried to connect to {address!r}")

        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        yield


# Any Python value a student might pass by mistake, including huge numbers, NaN, strings and containers.
ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(max_magnitude=10),
    st.text(max_size=6),
    st.binary(max_size=6),
    st.lists(st.floats(-2, 2), max_size=4),
    st.tuples(st.integers(-5, 300), st.integers(-5, 300), st.integers(-5, 300)),
    st.dictionaries(st.text(max_size=3), st.integers(-3, 3), max_size=2),
    st.sampled_from(
        [torch.zeros(3, 2, 2), torch.zeros(2, 2, dtype=torch.int64), np.zeros(3), Image.new("RGB", (2, 2)), object()]
    ),
)

MODES = ["1", "L", "P", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "I", "I;16", "I;16B", "F", "LA", "PA"]
MODES += ["La", "RGBa"]  # Pillow's premultiplied-alpha modes
BYTES_PER_PIXEL = {"1": 1 / 8, "I": 4, "F": 4, "I;16": 2, "I;16B": 2, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2}


def random_image(mode: str, width: int, height: int, data: bytes) -> Image.Image:
    per_pixel = BYTES_PER_PIXEL.get(mode, 4 if mode in ("RGBA", "RGBX", "CMYK", "RGBa") else 3)
    if mode == "1":
        size = ((width + 7) // 8) * height
    else:
        size = int(width * height * per_pixel)
    raw = (data * (size // max(len(data), 1) + 1))[:size] if data else bytes(size)
    return Image.frombytes(mode, (width, height), raw)


# ----------------------------------------------------------------------------------------------------- images


@FAST
@given(mode=st.sampled_from(MODES), width=st.integers(1, 9), height=st.integers(1, 9), data=st.binary(max_size=64))
def test_pil_to_tensor_of_any_mode(mode, width, height, data):
    image = random_image(mode, width, height, data)
    try:
        x = dh.pil_to_tensor(image)
    except ValueError as error:
        assert mode in ("I", "F"), f"{mode}: {error}"  # only images without a defined range are refused
        return
    assert x.shape == (3, height, width) and x.dtype == torch.float32
    assert torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1


def image_file_bytes(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


_VALID_FILES = [
    image_file_bytes(Image.new("RGB", (6, 4), (10, 200, 30)), "PNG"),
    image_file_bytes(Image.new("RGB", (6, 4), (10, 200, 30)), "JPEG"),
    image_file_bytes(Image.new("P", (6, 4)), "GIF"),
    image_file_bytes(Image.new("RGB", (6, 4)), "BMP"),
    image_file_bytes(Image.new("RGBA", (6, 4)), "TIFF"),
    image_file_bytes(Image.new("RGB", (6, 4)), "WEBP"),
    image_file_bytes(Image.new("L", (6, 4)), "PPM"),
    image_file_bytes(Image.new("RGB", (6, 4)), "ICO"),
]


@st.composite
def damaged_files(draw) -> bytes:
    """A valid image file with bytes flipped, cut, or inserted: what a broken download or disk gives."""
    data = bytearray(draw(st.sampled_from(_VALID_FILES)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert"]))
        position = draw(st.integers(0, len(data) - 1)) if data else 0
        if kind == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[position:]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(damaged_files(), st.binary(max_size=200)))
def test_load_image_of_any_file_is_an_image_or_a_value_error(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("files") / "picture.img"
    path.write_bytes(data)
    start = time.process_time()
    try:
        image = dh.load_image(path, size=5)
    except ValueError as error:
        assert "picture.img" in str(error)
    else:
        assert image.mode == "RGB" and image.size == (5, 5)
    assert time.process_time() - start < 5


@FAST
@given(
    scheme=st.sampled_from(["ftp", "file", "FILE", "gopher", "data", "s3", "mailto", "ws", "httpx", "git+ssh"]),
    rest=st.text(max_size=20),
)
def test_load_image_never_fetches_other_schemes(scheme, rest):
    with pytest.raises(ValueError, match=r"http:// and https://"):
        dh.load_image(f"{scheme}:{rest}")


@FAST
@given(source=st.text(max_size=40))
def test_load_image_of_any_string_raises_only_documented_errors(source):
    if source.lower().startswith(("http:", "https:")):
        return  # a URL would be fetched: the deadline and schemes are tested in test_images.py with a local server
    try:
        dh.load_image(source, size=4)
    except (FileNotFoundError, ValueError):
        pass


@FAST
@given(ncols=ANYTHING, padding=ANYTHING, background=ANYTHING)
def test_image_grid_of_any_arguments(ncols, padding, background):
    tiles = [Image.new("RGB", (3, 2))] * 3
    try:
        grid = dh.image_grid(tiles, ncols, padding=padding, background=background)
    except (TypeError, ValueError) as error:
        assert any(name in str(error) for name in ("ncols", "padding", "background", "MAX_GRID_PIXELS")), error
        return
    columns = min(ncols, 3)
    rows = -(-3 // columns)
    assert grid.size == (columns * 3 + (columns - 1) * padding, rows * 2 + (rows - 1) * padding)
    assert grid.size[0] * grid.size[1] <= images.MAX_GRID_PIXELS


@FAST
@given(
    shape=st.lists(st.integers(0, 5), min_size=0, max_size=5),
    dtype=st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, torch.uint8, torch.bool]),
    fill=st.floats(allow_nan=True, allow_infinity=True),
)
def test_tensor_to_pil_of_any_tensor(shape, dtype, fill):
    if dtype.is_floating_point:
        x = torch.full(shape, fill, dtype=torch.float64).to(dtype)
    else:
        x = torch.zeros(shape, dtype=dtype)
    try:
        image = dh.tensor_to_pil(x)
    except (TypeError, ValueError) as error:
        assert "x" in str(error)
        return
    assert image.mode == "RGB" and image.size == (shape[2], shape[1])


# --------------------------------------------------------------------------------------------------- plotting

_X = torch.zeros(3, 4, 4)
_S = dh.make_schedule("linear", 10)
PLOTS = {  # function -> (a valid call's arguments, the arguments to replace one at a time)
    "show_images": ({"images": [_X, _X], "titles": ["a", "b"], "ncols": 1, "size": 1.0}, None),
    "show_trajectory": ({"trajectory": torch.zeros(3, 3, 2, 2), "timesteps": [0, 2], "ncols": 2}, None),
    "plot_pixel_histograms": ({"states": {0: _X}, "bins": 10}, None),
    "plot_schedules": ({"schedules": {"a": _S}, "quantities": ("betas",), "mark_t": 3}, None),
    "plot_moment_check": ({"timesteps": [1, 2], "expected": ([0.0, 0.0], [1.0, 1.0]), "estimates": {}}, None),
    "plot_timings": ({"sizes": [1, 2], "seconds": {"a": [0.1, 0.2]}}, None),
    "show_chain": ({"states": [_X, _X], "labels": ["a", "b"], "arrow_label": "q", "size": 1.0}, None),
    "plot_curves": ({"curves": {"a": [1.0, 2.0]}, "timesteps": [1, 2], "log_y": False}, None),
    "plot_normal_fits": ({"samples": {"a": (_X, 1.0)}, "bins": 10}, None),
}
ARGUMENTS = [(function, argument) for function, (kwargs, _) in PLOTS.items() for argument in kwargs]


@pytest.mark.parametrize(("function", "argument"), ARGUMENTS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=ANYTHING)
def test_plotting_given_any_value_for_one_argument(function, argument, value):
    kwargs = {**PLOTS[function][0], argument: value}
    start = time.process_time()
    try:
        fig = getattr(plotting, function)(**kwargs)
    except (TypeError, ValueError) as error:
        named = argument in str(error) or (argument in ("images", "states") and "x must" in str(error))
        assert named, f"{function}({argument}={value!r}): {error}"
    else:
        assert len(fig.axes) <= 2 * plotting.MAX_PANELS
    assert time.process_time() - start < 5


# ---------------------------------------------------------------------------------------------------- widgets


def mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    """A valid value 4 times in 5, else anything: so that many calls set several controls successfully."""
    return st.integers(0, 4).flatmap(lambda k: valid if k else ANYTHING)


_CONTROL_VALUES = {
    "name": mostly(st.sampled_from(dh.SCHEDULE_NAMES)),
    "num_timesteps": mostly(st.one_of(st.integers(1, 3000), st.integers(-10, 200_000))),
    "beta_1": mostly(st.floats(1e-7, 0.05)),
    "beta_T": mostly(st.floats(1e-4, 0.9999)),
    "s": mostly(st.floats(0, 1)),
    "max_beta": mostly(st.floats(0.01, 0.9999)),
    "zero_terminal_snr": mostly(st.booleans()),
    "t": mostly(st.integers(0, 3000)),
}

_EXPLORER: list[ScheduleExplorer] = []


def small_explorer() -> ScheduleExplorer:
    if not _EXPLORER:  # one for all examples: set() must leave it consistent whatever came before
        _EXPLORER.append(ScheduleExplorer(torch.zeros(3, 8, 8), num_timesteps=50, num_images=2))
    return _EXPLORER[0]


def explorer_state(explorer: ScheduleExplorer) -> tuple:
    return {key: c.value for key, c in explorer.controls.items()}, explorer.schedule, explorer.output.outputs


@settings(max_examples=200, deadline=None)
@given(values=st.fixed_dictionaries({}, optional={**_CONTROL_VALUES, "beta": ANYTHING}))  # beta: not a control
def test_explorer_set_shows_what_was_asked_or_changes_nothing(values):
    explorer = small_explorer()
    before = explorer_state(explorer)
    try:
        explorer.set(**values)
    except (TypeError, ValueError):
        assert explorer_state(explorer) == before
        return
    shown = {key: control.value for key, control in explorer.controls.items()}
    for key, value in values.items():
        assert shown[key] == value, key  # not rounded, not clamped (an int 0 for s is shown as 0.0 == 0)
    T = shown["num_timesteps"]
    expected_t = values["t"] if "t" in values else min(before[0]["t"], T)
    assert shown["t"] == expected_t
    params = {key: shown[key] for key in dh.schedules.SCHEDULE_PARAMETERS[shown["name"]]}
    expected = dh.make_schedule(shown["name"], T, zero_terminal_snr=shown["zero_terminal_snr"], **params)
    assert torch.equal(explorer.schedule.betas, expected.betas)


@settings(max_examples=100, deadline=None)
@given(t=ANYTHING)
def test_scrubber_draws_only_timesteps_it_has(t):
    scrubber = scrubber_for_tests()
    try:
        scrubber.draw(t)
    except (TypeError, ValueError) as error:
        assert "t" in str(error)
        return
    assert isinstance(t, int) and 0 <= t <= 4
    assert scrubber._ax_image.get_title() == f"$x_{{{t}}}$"


_SCRUBBER: list[TimestepScrubber] = []


def scrubber_for_tests() -> TimestepScrubber:
    if not _SCRUBBER:
        trajectory = dh.forward_trajectory(
            torch.zeros(3, 4, 4), dh.make_schedule("linear", 4), generator=torch.Generator().manual_seed(0)
        )
        _SCRUBBER.append(TimestepScrubber(trajectory))
    return _SCRUBBER[0]
