"""Tests of diffusion_helpers.images: example image, loading, PIL <-> tensor in [-1, 1], image grids.

References: torchvision's ``to_tensor`` for the pixel scaling (Ho et al. 2020, Sec. 3.3: {0..255} -> [-1, 1]),
numpy slicing for the center crop, and the grid geometry computed by hand from the tile sizes.

Nothing here uses the network. The URL path of ``load_image`` is exercised against an ``http.server`` on
127.0.0.1 run in a background thread, and a guard (autouse fixture) makes any attempt to connect to a
non-loopback address fail the test.
"""

from __future__ import annotations

import http.server
import io
import ipaddress
import socket
import threading
import time

import matplotlib.cbook
import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms.functional import to_pil_image, to_tensor

from diffusion_helpers import example_image, image_grid, load_image, pil_to_tensor, tensor_to_pil

# ------------------------------------------------------------------------------------- network guards


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Refuse (and fail the test on) any connection to an address that is not loopback; ignore proxies."""
    for var in ["http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    attempts: list[object] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def allowed(address: object) -> bool:
        if isinstance(address, tuple):
            try:
                return ipaddress.ip_address(address[0]).is_loopback
            except ValueError:
                return False
        return True  # AF_UNIX paths are local

    def connect(self, address):
        if not allowed(address):
            attempts.append(address)
            raise OSError(f"test guard: no network, refused {address!r}")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not allowed(address):
            attempts.append(address)
            raise OSError(f"test guard: no network, refused {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield
    assert attempts == [], f"tried to reach a non-loopback address: {attempts}"


@pytest.fixture
def no_network(monkeypatch):
    """Every connection fails, loopback included: the machine is offline."""

    def refuse(self, address):
        raise OSError(f"offline: refused {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


# ------------------------------------------------------------------------------------ image helpers


def random_rgb(width: int, height: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, mode="RGB")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


# ------------------------------------------------------------------------------------ local http server


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes[path] = (status, body, mode)``; mode "length" sends Content-Length, "stream" does
    not (the body ends when the connection closes, HTTP/1.0), "truncated" announces more than it sends."""

    def do_GET(self):  # the name http.server dispatches to
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        status, body, mode = route
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", self.path)  # a redirect loop
        if mode == "length":
            self.send_header("Content-Length", str(len(body)))
        elif mode == "truncated":
            self.send_header("Content-Length", str(len(body) * 10))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the client hanging up early (e.g. after max_bytes) is expected here


@pytest.fixture(scope="module")
def server():
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    httpd.routes = {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = lambda path: f"http://127.0.0.1:{httpd.server_address[1]}{path}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def silent_server():
    """A server that accepts every connection, reads nothing, and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_hold():
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:  # the 0.1 s poll timed out, or the listener was closed
                continue

    thread = threading.Thread(target=accept_and_hold, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/image.png"
    stop.set()
    thread.join(timeout=5)
    listener.close()
    for connection in held:
        connection.close()
    assert held, "the client never connected: the timeout test would not have tested a silent server"


@pytest.fixture
def closed_port_url():
    """A loopback port with nothing listening: connecting is refused at once."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}/image.png"


# ------------------------------------------------------------------------------------------ example_image


def test_example_image_works_offline(no_network):
    image = example_image(64)
    assert isinstance(image, Image.Image)
    assert image.mode == "RGB" and image.size == (64, 64)
    assert pixels(image).std() > 20  # a photograph, not a blank canvas


def test_example_image_default_size():
    assert example_image().size == (128, 128)


def test_example_image_is_the_center_square_of_matplotlibs_grace_hopper():
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        original = pixels(Image.open(file))  # (600, 512, 3): taller than wide
    height, width, _ = original.shape
    top = (height - width) // 2
    expected = original[top : top + width]  # the center square; at its own size no resampling happens
    assert np.array_equal(pixels(example_image(width)), expected)


@pytest.mark.parametrize(
    ("size", "error"),
    [(0, ValueError), (4097, ValueError), (-5, ValueError), (64.0, TypeError), (True, TypeError), ("64", TypeError)],
)
def test_example_image_bad_size_names_the_argument(size, error):
    with pytest.raises(error, match=r"\bsize\b"):
        example_image(size)


# ------------------------------------------------------------------------------------- load_image (files)


def test_load_image_from_a_file_center_crops_and_resizes(tmp_path):
    wide = random_rgb(30, 20, seed=1)  # 30 wide, 20 high: the center square is columns 5..24
    path = tmp_path / "wide.png"
    wide.save(path)
    assert np.array_equal(pixels(load_image(path, size=20)), pixels(wide)[:, 5:25])
    assert np.array_equal(pixels(load_image(str(path), size=20)), pixels(wide)[:, 5:25])
    small = load_image(path, size=8)
    assert small.size == (8, 8) and small.mode == "RGB"


def test_load_image_converts_to_rgb(tmp_path):
    grey = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16), mode="L")
    path = tmp_path / "grey.png"
    grey.save(path)
    loaded = load_image(path, size=16)
    assert loaded.mode == "RGB"
    assert np.array_equal(pixels(loaded), np.repeat(np.asarray(grey)[:, :, None], 3, axis=2))


def test_load_image_missing_file_names_the_path(tmp_path):
    path = tmp_path / "no_such_picture.png"
    with pytest.raises(FileNotFoundError, match="no_such_picture.png"):
        load_image(path)


def test_load_image_text_file_is_a_value_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(ValueError, match="notes.png"):
        load_image(path)


def test_load_image_folder_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder"):
        load_image(tmp_path)


@pytest.mark.parametrize("source", [123, None, b"image.png", ["image.png"]])
def test_load_image_source_of_the_wrong_type(source):
    with pytest.raises(TypeError, match=r"\bsource\b"):
        load_image(source)


@pytest.mark.parametrize(("size", "error"), [(0, ValueError), (5000, ValueError), (32.5, TypeError)])
def test_load_image_bad_size_names_the_argument(tmp_path, size, error):
    path = tmp_path / "ok.png"
    random_rgb(4, 4).save(path)
    with pytest.raises(error, match=r"\bsize\b"):
        load_image(path, size=size)


def test_load_image_decompression_bomb_in_a_file(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    random_rgb(16, 16).save(path)  # 256 pixels
    assert load_image(path, size=16).size == (16, 16)  # fine under the normal limit
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ValueError, match="bomb.png"):
        load_image(path, size=16)


# --------------------------------------------------------------------------------- load_image (URLs)


def test_load_image_from_a_url(server):
    image = random_rgb(16, 16, seed=3)
    server.routes["/picture.png"] = (200, png_bytes(image), "length")
    assert np.array_equal(pixels(load_image(server.url("/picture.png"), size=16)), pixels(image))
    server.routes["/streamed.png"] = (200, png_bytes(image), "stream")  # no Content-Length
    assert np.array_equal(pixels(load_image(server.url("/streamed.png"), size=16)), pixels(image))


def test_load_image_url_that_is_not_an_image(server):
    server.routes["/page.html"] = (200, b"<html><body>not a picture</body></html>", "length")
    url = server.url("/page.html")
    with pytest.raises(ValueError, match="not an image"):
        load_image(url)


@pytest.mark.parametrize("mode", ["length", "stream"])
def test_load_image_url_larger_than_max_bytes(server, mode):
    body = png_bytes(random_rgb(64, 64, seed=4))
    server.routes[f"/large-{mode}.png"] = (200, body, mode)
    url = server.url(f"/large-{mode}.png")
    with pytest.raises(ValueError, match="max_bytes"):
        load_image(url, max_bytes=len(body) - 1)
    assert load_image(url, size=64, max_bytes=len(body)).size == (64, 64)  # exactly at the limit: accepted


def test_load_image_large_stream_stops_at_max_bytes(server):
    # 2 MB without Content-Length and a 1 kB limit: the download stops early, not after reading everything
    server.routes["/endless"] = (200, bytes(2 * 1024 * 1024), "stream")
    with pytest.raises(ValueError, match=r"larger than max_bytes=1024"):
        load_image(server.url("/endless"), max_bytes=1024)


@pytest.mark.parametrize(
    "max_pixels", [100, 200]
)  # 256 pixels: above 2x the limit (error), and between 1x and 2x (warning)
def test_load_image_url_decompression_bomb(server, monkeypatch, max_pixels):
    server.routes["/bomb.png"] = (200, png_bytes(random_rgb(16, 16)), "length")
    url = server.url("/bomb.png")
    assert load_image(url, size=16).size == (16, 16)  # fine under the normal limit
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", max_pixels)
    with pytest.raises(ValueError, match="too large"):
        load_image(url, size=16)


def test_load_image_url_http_404_is_a_value_error(server):
    url = server.url("/missing.png")
    with pytest.raises(ValueError, match="404"):
        load_image(url)


def test_load_image_url_that_never_answers_times_out_with_a_hint(silent_server):
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="example_image"):
        load_image(silent_server, timeout=0.5)
    assert time.monotonic() - start < 10


def test_load_image_url_connection_refused_says_what_to_do(closed_port_url):
    with pytest.raises(ConnectionError, match="example_image"):
        load_image(closed_port_url, timeout=2)


def test_load_image_url_cut_off_mid_download_is_a_connection_error(server):
    server.routes["/cut.png"] = (200, png_bytes(random_rgb(16, 16))[:40], "truncated")
    with pytest.raises(ConnectionError, match="example_image"):
        load_image(server.url("/cut.png"), timeout=2)


def test_load_image_url_redirect_loop_is_a_connection_error(server):
    server.routes["/loop"] = (302, b"", "length")
    with pytest.raises(ConnectionError, match="example_image"):
        load_image(server.url("/loop"), timeout=2)


@pytest.mark.parametrize("url", ["http://", "https://[::1"])
def test_load_image_malformed_url_is_a_value_error(url):
    with pytest.raises(ValueError, match="URL"):
        load_image(url)


# ------------------------------------------------------------------------------------------ pil_to_tensor


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "CMYK"])
def test_pil_to_tensor_equals_torchvision(mode):
    image = random_rgb(13, 7, seed=5).convert(mode)
    x = pil_to_tensor(image)
    assert x.dtype == torch.float32 and x.shape == (3, 7, 13)
    reference = to_tensor(image.convert("RGB")) * 2 - 1  # Ho et al. 2020, Sec. 3.3: [0, 255] -> [-1, 1]
    assert torch.equal(x, reference)


def test_pil_to_tensor_end_points():
    black = pil_to_tensor(Image.new("RGB", (2, 2), (0, 0, 0)))
    white = pil_to_tensor(Image.new("RGB", (2, 2), (255, 255, 255)))
    assert torch.equal(black, torch.full((3, 2, 2), -1.0)) and torch.equal(white, torch.full((3, 2, 2), 1.0))


@pytest.mark.parametrize("image", [np.zeros((4, 4, 3), dtype=np.uint8), torch.zeros(3, 4, 4), "image.png", None])
def test_pil_to_tensor_rejects_non_images_naming_the_argument(image):
    with pytest.raises(TypeError, match=r"\bimage\b"):
        pil_to_tensor(image)


# ------------------------------------------------------------------------------------------ tensor_to_pil


def every_byte_image() -> Image.Image:
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    return Image.fromarray(np.stack([values, values[::-1], values.T], axis=2), mode="RGB")  # each channel: 0..255


def test_round_trip_pil_tensor_pil_is_exact():
    for image in [every_byte_image(), random_rgb(31, 17, seed=6)]:
        assert np.array_equal(pixels(tensor_to_pil(pil_to_tensor(image))), pixels(image))


def test_tensor_to_pil_maps_each_value_to_the_nearest_pixel():
    x = torch.linspace(-1, 1, 3 * 20 * 20, dtype=torch.float64).reshape(3, 20, 20)
    image = tensor_to_pil(x)
    assert image.mode == "RGB" and image.size == (20, 20)
    expected = (x.numpy() + 1) * 127.5  # (3, H, W), pixel value before rounding
    assert np.abs(pixels(image).transpose(2, 0, 1) - expected).max() <= 0.5 + 1e-9


def test_tensor_to_pil_clamps_instead_of_wrapping_around():
    # ERRATA 5: the source post converted tensors in [0, 1] with to_pil_image, which computes mul(255).byte():
    # 1.3 became pixel 75 and -0.2 pixel 205. In this package's [-1, 1] convention those values are
    # 2 * 1.3 - 1 = 1.6 and 2 * -0.2 - 1 = -1.4: they must become 255 and 0.
    post = torch.tensor([1.3, -0.2]).reshape(1, 1, 2)  # [0, 1] convention
    ours = post * 2 - 1  # [-1, 1] convention
    assert pixels(tensor_to_pil(ours))[0].tolist() == [[255, 255, 255], [0, 0, 0]]
    # the same clamping for 1.3 itself, and values inside [-1, 1] are not touched by it
    x = torch.tensor([1.3, -1.2, 5.0, -7.0, -0.2, 0.0]).reshape(1, 1, 6)
    assert pixels(tensor_to_pil(x))[0, :, 0].tolist() == [255, 0, 255, 0, 102, 128]


def test_torchvisions_to_pil_image_would_wrap_around():
    """Shows that the clamping test above can fail: the unclamped conversion gives the ERRATA's 75 and 205."""
    if torch.tensor([331.5, -51.0]).to(torch.uint8).tolist() != [75, 205]:
        pytest.skip("this platform saturates float -> uint8 casts instead of wrapping")
    post = torch.tensor([1.3, -0.2]).reshape(1, 1, 2)
    assert np.asarray(to_pil_image(post)).reshape(-1).tolist() == [75, 205]
    assert pixels(tensor_to_pil(post * 2 - 1))[0, :, 0].tolist() != [75, 205]


def test_tensor_to_pil_single_channel_is_grey():
    x = torch.linspace(-1, 1, 16).reshape(1, 4, 4)
    out = pixels(tensor_to_pil(x))
    assert np.array_equal(out[:, :, 0], out[:, :, 1]) and np.array_equal(out[:, :, 1], out[:, :, 2])
    assert np.array_equal(out, pixels(tensor_to_pil(x.expand(3, 4, 4))))


def test_tensor_to_pil_accepts_float64_and_tensors_that_require_grad():
    x = torch.rand(3, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    expected = pixels(tensor_to_pil(x.float()))
    assert np.array_equal(pixels(tensor_to_pil(x)), expected)
    assert np.array_equal(pixels(tensor_to_pil(x.clone().requires_grad_(True))), expected)


@pytest.mark.parametrize(
    ("x", "error"),
    [
        (np.zeros((3, 4, 4)), TypeError),
        ([[0.0]], TypeError),
        (torch.zeros(3, 4, 4, dtype=torch.uint8), TypeError),
        (torch.zeros(4, 4), ValueError),
        (torch.zeros(2, 4, 4), ValueError),
        (torch.zeros(1, 3, 4, 4), ValueError),
        (torch.zeros(4, 4, 3), ValueError),
    ],
)
def test_tensor_to_pil_bad_input_names_the_argument(x, error):
    with pytest.raises(error, match=r"\bx\b"):
        tensor_to_pil(x)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_tensor_to_pil_rejects_non_finite_values(value):
    x = torch.zeros(3, 2, 2)
    x[1, 0, 1] = value
    with pytest.raises(ValueError, match=r"\bx\b.*NaN or inf"):
        tensor_to_pil(x)


# --------------------------------------------------------------------------------------------- image_grid


def tile(grid: Image.Image, index: int, ncols: int, width: int, height: int, padding: int) -> np.ndarray:
    row, col = divmod(index, ncols)
    left, top = col * (width + padding), row * (height + padding)
    return pixels(grid)[top : top + height, left : left + width]


def test_image_grid_never_drops_an_image():
    # ERRATA 4: 21 images in 20 columns must give 2 rows, the last image alone in the second one
    width, height, padding = 5, 4, 2
    images = [random_rgb(width, height, seed=i) for i in range(21)]
    grid = image_grid(images, ncols=20, padding=padding)
    assert grid.size == (20 * width + 19 * padding, 2 * height + 1 * padding)
    assert np.array_equal(tile(grid, 20, 20, width, height, padding), pixels(images[-1]))
    for i, image in enumerate(images):
        assert np.array_equal(tile(grid, i, 20, width, height, padding), pixels(image)), i


def test_image_grid_of_a_101_state_trajectory_has_6_rows_and_ends_with_the_last_state():
    images = torch.rand(101, 3, 2, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1  # (N, C, H, W)
    grid = image_grid(images, ncols=20, padding=1)
    assert grid.size == (20 * 3 + 19, 6 * 2 + 5)
    assert np.array_equal(tile(grid, 100, 20, 3, 2, 1), pixels(tensor_to_pil(images[100])))


def test_image_grid_padding_has_the_background_colour():
    images = [Image.new("RGB", (3, 3), (0, 0, 0))] * 4
    grid = pixels(image_grid(images, ncols=3, padding=2, background=(10, 200, 30)))
    assert grid.shape == (3 + 2 + 3, 3 * 3 + 2 * 2, 3)
    assert (grid[3:5] == (10, 200, 30)).all()  # the gap between the rows
    assert (grid[:3, 3:5] == (10, 200, 30)).all()  # a gap between columns
    assert (grid[5:, 3:] == (10, 200, 30)).all()  # the empty cells of the last row
    assert (grid[:3, :3] == 0).all()


def test_image_grid_defaults_to_one_row_and_caps_ncols():
    images = [random_rgb(4, 4, seed=i) for i in range(3)]
    assert image_grid(images, padding=0).size == (12, 4)
    assert image_grid(images, ncols=10, padding=0).size == (12, 4)
    assert image_grid(images, ncols=1, padding=0).size == (4, 12)


def test_image_grid_accepts_tensors_and_mixed_lists():
    x = torch.rand(4, 3, 3, 5, generator=torch.Generator().manual_seed(1)) * 2 - 1
    as_pils = [tensor_to_pil(v) for v in x]
    expected = pixels(image_grid(as_pils, ncols=2))
    assert np.array_equal(pixels(image_grid(x, ncols=2)), expected)
    assert np.array_equal(pixels(image_grid([x[0], as_pils[1], x[2], as_pils[3]], ncols=2)), expected)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"images": []}, ValueError, r"\bimages\b"),
        ({"images": [Image.new("RGB", (2, 2)), Image.new("RGB", (3, 2))]}, ValueError, r"images\[1\]"),
        ({"images": [Image.new("RGB", (2, 2)), np.zeros((2, 2, 3))]}, TypeError, r"images\[1\]"),
        ({"images": Image.new("RGB", (2, 2))}, TypeError, r"\bimages\b"),
        ({"images": "picture.png"}, TypeError, r"\bimages\b"),
        ({"images": torch.zeros(3, 2, 2)}, ValueError, r"\bN, C, H, W\b"),
        ({"images": [Image.new("RGB", (2, 2))], "ncols": 0}, ValueError, r"\bncols\b"),
        ({"images": [Image.new("RGB", (2, 2))], "ncols": 2.0}, TypeError, r"\bncols\b"),
        ({"images": [Image.new("RGB", (2, 2))], "padding": -1}, ValueError, r"\bpadding\b"),
        ({"images": [Image.new("RGB", (2, 2))], "padding": 1.5}, TypeError, r"\bpadding\b"),
    ],
)
def test_image_grid_bad_input(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        image_grid(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": None}, TypeError, "timeout"),
        ({"timeout": float("inf")}, ValueError, "timeout"),
        ({"max_bytes": 0}, ValueError, "max_bytes"),
        ({"max_bytes": 1.5}, TypeError, "max_bytes"),
    ],
)
def test_load_image_rejects_unbounded_download_limits(kwargs, error, name):
    # Checked before any connection: a download without a finite timeout or size cap is never started.
    with pytest.raises(error, match=name):
        load_image("http://127.0.0.1:9/never-contacted.png", **kwargs)
