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
import os
import socket
import struct
import threading
import time
import zlib

import matplotlib.cbook
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps
from torchvision.transforms.functional import to_pil_image, to_tensor

from diffusion_helpers import example_image, image_grid, images, load_image, pil_to_tensor, tensor_to_pil

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


@pytest.fixture
def slow_server():
    """Answers every request one byte every 50 ms, forever: ``url("headers")`` drips the status line and headers,
    ``url("body")`` sends the headers at once, then drips a body it announces as 1 MB."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()
    served: list[socket.socket] = []

    def drip(connection: socket.socket) -> None:
        request = connection.recv(65536).decode("latin-1")
        head = b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n"
        if "/body" in request:
            connection.sendall(head + b"Content-Length: 1000000\r\n\r\n")
            pending = iter(lambda: b"x", None)  # the body: "x" forever
        else:
            pending = iter(head + b"X-Slow: " + b"a" * 60000)  # a header that never ends in time
        for byte in pending:
            if stop.wait(0.05):
                break
            try:
                connection.sendall(byte if isinstance(byte, bytes) else bytes([byte]))
            except OSError:  # the client hung up
                break
        connection.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection = listener.accept()[0]
            except OSError:
                continue
            served.append(connection)
            threading.Thread(target=drip, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield lambda kind: f"http://127.0.0.1:{listener.getsockname()[1]}/{kind}"
    stop.set()
    thread.join(timeout=5)
    listener.close()
    assert served, "the client never connected: the deadline test would not have tested a slow server"


def png_bytes_raw(levels: np.ndarray, colour_type: int, bit_depth: int = 16) -> bytes:
    """A PNG written by hand (RFC 2083), independent of Pillow's encoder: ``levels`` (H, W, C) unsigned ints."""
    height, width = levels.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    rows = b"".join(b"\x00" + row.astype(dtype).tobytes() for row in levels.reshape(height, -1))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


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
    with pytest.raises(FileNotFoundError, match=r"no_such_picture\.png"):
        load_image(path)


def test_load_image_text_file_is_a_value_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(ValueError, match=r"notes\.png"):
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
    with pytest.raises(ValueError, match=r"bomb\.png"):
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


# ------------------------------------------------------------- load_image: an overall deadline (issue 10)


@pytest.mark.parametrize("kind", ["headers", "body"])
def test_load_image_slow_server_hits_the_overall_deadline(slow_server, kind):
    # One byte every 50 ms never trips a per-read timeout of 0.5 s: only a deadline on the whole download ends it.
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=r"within timeout=0\.5 s") as error:
        load_image(slow_server(kind), timeout=0.5)
    elapsed = time.monotonic() - start
    assert 0.45 <= elapsed < 3, elapsed  # the deadline, plus scheduling slack on a busy machine
    assert "example_image" in str(error.value)


def test_load_image_deadline_stops_the_download_thread(slow_server):
    with pytest.raises(ConnectionError):
        load_image(slow_server("body"), timeout=0.3)
    deadline = time.monotonic() + 5
    while any(t.name == "load_image download" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "load_image download" for t in threading.enumerate()), "the download thread lingers"


def test_load_image_deadline_counts_the_whole_download_not_each_read(server, monkeypatch):
    # A download of many quick reads that together take longer than the timeout is refused.
    image = random_rgb(16, 16, seed=9)
    server.routes["/quick.png"] = (200, png_bytes(image), "length")
    import urllib3.response

    real_read1 = urllib3.response.HTTPResponse.read1

    def slow_read1(self, *args, **kwargs):
        time.sleep(0.2)
        return real_read1(self, 10) if args or kwargs else real_read1(self)

    monkeypatch.setattr(urllib3.response.HTTPResponse, "read1", slow_read1)
    with pytest.raises(ConnectionError, match=r"timeout=0\.5 s"):
        load_image(server.url("/quick.png"), timeout=0.5)


# ------------------------------------------------------------------- load_image: which strings are URLs


@pytest.mark.parametrize(
    "source",
    [
        "ftp://example.com/a.png",
        "file:///etc/hostname",
        "FILE://localhost/a.png",
        "gopher://x",
        "data:image/png;base64,AA",
        "s3://bucket/key.png",
        "javascript:alert(1)",
    ],
)
def test_load_image_other_url_schemes_are_refused_naming_http_and_https(source):
    with pytest.raises(ValueError, match=r"http:// and https://") as error:
        load_image(source)
    assert "scheme" in str(error.value) and "no image file" not in str(error.value)


def test_load_image_a_file_whose_name_looks_like_a_scheme_is_still_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    random_rgb(4, 4).save(tmp_path / "notes:v2.png", format="PNG")
    assert load_image("notes:v2.png", size=4).size == (4, 4)
    # a drive letter is not a scheme
    with pytest.raises(FileNotFoundError, match="C:/pictures"):
        load_image("C:/pictures/a.png")


@pytest.mark.parametrize("url", ["HTTP://127.0.0.1:{port}/x.png", "Https://127.0.0.1:{port}/x.png"])
def test_load_image_http_schemes_are_case_insensitive(url, closed_port_url):
    port = closed_port_url.split(":")[2].split("/")[0]
    with pytest.raises(ConnectionError, match="example_image"):
        load_image(url.format(port=port), timeout=2)


@pytest.mark.parametrize("url", ["http:example.com", "http://127.0.0.1:99999/a.png", "http://[::1/a.png", "https://"])
def test_load_image_malformed_http_urls_are_value_errors(url):
    with pytest.raises(ValueError, match="URL"):
        load_image(url, timeout=2)


# ---------------------------------------------------------------- load_image: a file's size is capped


def test_load_image_refuses_a_large_file_before_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    with path.open("wb") as file:
        file.truncate(3 * 2**30)  # a sparse 3 GB file: costs no disk, and no memory unless read
    monkeypatch.setattr(type(path), "read_bytes", lambda self: pytest.fail("read the whole file"))
    start = time.process_time()
    with pytest.raises(ValueError, match=rf"3221225472 bytes, more than max_bytes={images.DEFAULT_MAX_BYTES}"):
        load_image(path)
    assert time.process_time() - start < 1.0


def test_load_image_file_at_the_size_limit(tmp_path):
    path = tmp_path / "small.png"
    data = png_bytes(random_rgb(8, 8, seed=2))
    path.write_bytes(data)
    assert load_image(path, size=8, max_bytes=len(data)).size == (8, 8)
    with pytest.raises(ValueError, match=rf"max_bytes={len(data) - 1}"):
        load_image(path, size=8, max_bytes=len(data) - 1)


def test_load_image_file_that_reports_no_size_is_still_capped():
    # /proc files report size 0 and can be read on: the cap counts the bytes actually read
    path = "/proc/self/maps"
    if not os.path.isfile(path) or os.stat(path).st_size != 0:
        pytest.skip("needs a Linux /proc file that reports size 0")
    with pytest.raises(ValueError, match="larger than max_bytes=100"):
        load_image(path, max_bytes=100)


# ------------------------------------------------------------------------- decoding as a viewer shows it


def ramp16(height: int = 16, width: int = 24) -> np.ndarray:
    """Every 16-bit level range covered: 0, 65535, and values that round both ways when scaled to 8 bits."""
    levels = np.linspace(0, 65535, height * width).round().astype(np.uint16).reshape(height, width)
    levels[0, :4] = [0, 128, 129, 65535]  # 128/257 rounds to 0, 129/257 to 1
    return levels


def expected_8bit(levels: np.ndarray) -> np.ndarray:
    return np.floor(levels.astype(np.float64) * 255 / 65535 + 0.5).astype(np.uint8)  # nearest 8-bit level


def test_16_bit_grey_png_is_scaled_not_clipped_to_white(tmp_path):
    levels = ramp16()
    path = tmp_path / "grey16.png"
    path.write_bytes(png_bytes_raw(levels[:, :, None], colour_type=0))
    assert Image.open(path).mode.startswith("I")  # Pillow decodes it as a 16-bit (or 32-bit) integer image
    loaded = pixels(load_image(path, size=16))  # the center 16x16 square, at its own size
    expected = expected_8bit(levels)[:, 4:20]
    assert np.array_equal(loaded, np.repeat(expected[:, :, None], 3, axis=2))
    assert loaded.mean() < 200  # not the white picture convert("RGB") gave


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_pil_to_tensor_scales_16_bit_levels(mode):
    levels = ramp16()
    byte_order = {"I;16": "<u2", "I;16B": ">u2", "I": "<i4"}[mode]  # (Pillow's own convert to I;16B clips)
    image = Image.frombytes(mode, (24, 16), levels.astype(byte_order).tobytes())
    assert image.mode == mode
    x = pil_to_tensor(image)
    reference = torch.from_numpy(expected_8bit(levels)).double() / 255 * 2 - 1  # Sec. 3.3, from 8-bit levels
    assert x.shape == (3, 16, 24) and torch.allclose(x.double(), reference.expand(3, -1, -1), atol=1e-6)


def test_16_bit_rgb_and_grey_alpha_pngs(tmp_path):
    rng = np.random.default_rng(0)
    rgb16 = rng.integers(0, 65536, size=(8, 8, 3)).astype(np.uint16)
    path = tmp_path / "rgb16.png"
    path.write_bytes(png_bytes_raw(rgb16, colour_type=2))
    # Pillow keeps the high byte of each 16-bit level: within one 8-bit step of the exact scaling
    assert np.abs(pixels(load_image(path, size=8)).astype(int) - expected_8bit(rgb16)).max() <= 1
    grey_alpha = np.stack([rgb16[..., 0], np.full((8, 8), 65535, np.uint16)], axis=2)  # opaque
    path = tmp_path / "la16.png"
    path.write_bytes(png_bytes_raw(grey_alpha, colour_type=4))
    expected = np.repeat(expected_8bit(rgb16[..., 0])[:, :, None], 3, axis=2)
    assert np.abs(pixels(load_image(path, size=8)).astype(int) - expected).max() <= 1


@pytest.mark.parametrize(
    ("image", "pattern"),
    [
        (Image.fromarray(np.array([[-5, 10]], dtype=np.int32)), r"values in \[-5, 10\]"),
        (Image.fromarray(np.array([[0, 70000]], dtype=np.int32)), r"\[0, 65535\]"),
        (Image.fromarray(np.array([[0.0, 0.5]], dtype=np.float32)), "mode F"),
    ],
)
def test_images_without_a_defined_range_are_refused(tmp_path, image, pattern):
    with pytest.raises(ValueError, match=pattern):
        pil_to_tensor(image)
    path = tmp_path / "odd.tiff"
    image.save(path)
    with pytest.raises(ValueError, match=r"odd\.tiff"):
        load_image(path)


EXIF_ORIENTATIONS = {  # EXIF tag 274 -> what a viewer does to the stored (H, W, 3) pixels
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),  # rotate 90 degrees clockwise: a phone held upright
    7: lambda a: np.rot90(a, -1)[::-1],
    8: lambda a: np.rot90(a, 1),
}


@pytest.mark.parametrize("orientation", sorted(EXIF_ORIENTATIONS))
def test_load_image_applies_the_exif_orientation(tmp_path, orientation):
    stored = random_rgb(30, 20, seed=orientation)  # 30 wide, 20 high
    exif = Image.Exif()
    exif[274] = orientation
    path = tmp_path / f"phone-{orientation}.png"
    stored.save(path, exif=exif)
    upright = np.ascontiguousarray(EXIF_ORIENTATIONS[orientation](pixels(stored)))
    height, width = upright.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    assert np.array_equal(pixels(load_image(path, size=side)), upright[top : top + side, left : left + side])


def test_transparent_pixels_are_composited_on_white_not_black(tmp_path):
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)  # hidden colour black everywhere
    rgba[0, 0] = (200, 100, 0, 255)  # opaque
    rgba[0, 1] = (0, 0, 0, 0)  # transparent
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black
    rgba[1] = (10, 20, 30, 64)
    image = Image.fromarray(rgba, mode="RGBA")
    alpha = rgba[..., 3:].astype(float) / 255
    white = rgba[..., :3] * alpha + 255 * (1 - alpha)  # "over" compositing on white
    shown = np.asarray(tensor_to_pil(pil_to_tensor(image))).astype(int)
    assert np.abs(shown - white).max() <= 1
    assert shown[0, 1].tolist() == [255, 255, 255]
    path = tmp_path / "logo.png"
    image.save(path)
    red = rgba[..., :3] * alpha + np.array([255, 0, 0]) * (1 - alpha)
    loaded = pixels(load_image(path, size=2, background=(255, 0, 0))).astype(int)
    assert np.abs(loaded - red[:, :2]).max() <= 1  # center square: columns 0..1 of 3 (left = 0)


@pytest.mark.parametrize("mode", ["LA", "PA", "La", "RGBa", "RGBA"])
def test_every_alpha_mode_is_composited(mode):
    bands = len(mode)
    image = Image.frombytes(mode, (2, 2), bytes(4 * bands))  # every band 0: black and fully transparent
    assert (pil_to_tensor(image) == 1).all(), mode  # white, not black


def test_palette_and_colour_key_transparency_are_composited(tmp_path):
    palette = Image.new("P", (2, 1))
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.putpixel((0, 0), 0)
    palette.putpixel((1, 0), 1)
    palette.info["transparency"] = 0  # palette entry 0 (black) is transparent
    path = tmp_path / "palette.png"
    palette.save(path, transparency=0)
    assert pixels(load_image(path, size=1))[0, 0].tolist() == [255, 255, 255]
    assert pil_to_tensor(Image.open(path))[:, 0, 1].tolist() == [-1.0, 1.0, -1.0]
    keyed = Image.new("RGB", (1, 1), (0, 0, 0))
    path = tmp_path / "keyed.png"
    keyed.save(path, transparency=(0, 0, 0))  # a tRNS colour key
    assert pixels(load_image(path, size=1))[0, 0].tolist() == [255, 255, 255]


@pytest.mark.parametrize(
    ("mode", "tolerance"), [("1", None), ("L", 0), ("P", 0), ("CMYK", 0), ("YCbCr", 3), ("HSV", 6)]
)
def test_other_modes_decode_to_the_same_picture(tmp_path, mode, tolerance):
    original = random_rgb(12, 12, seed=7)
    if mode == "1":
        original = original.convert("1").convert("RGB")  # black and white survive exactly
        tolerance = 0
    converted = original.convert(mode)
    expected = pixels(converted.convert("RGB")) if mode in ("L", "P") else pixels(original)
    assert np.abs(pixels(tensor_to_pil(pil_to_tensor(converted))).astype(int) - expected).max() <= tolerance
    if mode in ("1", "L", "P", "CMYK"):  # the modes a file can hold losslessly
        path = tmp_path / f"image-{mode}.tiff"
        converted.save(path)
        assert np.abs(pixels(load_image(path, size=12)).astype(int) - expected).max() <= tolerance


@pytest.mark.parametrize(
    "error",
    [
        NotImplementedError("codec"),
        AttributeError("no attr"),
        struct.error("bad"),
        IndexError("i"),
        KeyError("k"),
        TypeError("t"),
        ZeroDivisionError("z"),
        EOFError("eof"),
        OSError("io"),
    ],
)
def test_decoder_crashes_become_value_errors_naming_the_source(tmp_path, monkeypatch, error):
    path = tmp_path / "broken.png"
    random_rgb(4, 4).save(path)

    def crash(*args, **kwargs):
        raise error

    monkeypatch.setattr(Image.Image, "load", crash)
    with pytest.raises(ValueError, match=rf"broken\.png is not an image Pillow can read \({type(error).__name__}"):
        load_image(path)


def test_broken_exif_is_a_value_error(tmp_path, monkeypatch):
    path = tmp_path / "exif.png"
    random_rgb(4, 4).save(path)
    monkeypatch.setattr(ImageOps, "exif_transpose", lambda image: (_ for _ in ()).throw(SyntaxError("bad EXIF")))
    with pytest.raises(ValueError, match=r"exif\.png .*SyntaxError"):
        load_image(path)


# ------------------------------------------------------------------------------ image_grid: bounded output


def test_image_grid_refuses_a_huge_grid_before_allocating():
    start = time.process_time()
    with pytest.raises(ValueError, match=rf"MAX_GRID_PIXELS={images.MAX_GRID_PIXELS}.*padding=100000000"):
        image_grid([Image.new("RGB", (2, 2))] * 2, padding=10**8)
    assert time.process_time() - start < 0.5
    assert image_grid([Image.new("RGB", (2, 2))], padding=10**8).size == (2, 2)  # one image: no padding at all


def test_image_grid_pixel_limit_is_inclusive(monkeypatch):
    monkeypatch.setattr(images, "MAX_GRID_PIXELS", (2 + 3 + 2) * 2)  # two 2x2 tiles, 3 pixels apart
    assert image_grid([Image.new("RGB", (2, 2))] * 2, padding=3).size == (7, 2)
    with pytest.raises(ValueError, match="MAX_GRID_PIXELS"):
        image_grid([Image.new("RGB", (2, 2))] * 2, padding=4)


def test_image_grid_composites_transparent_and_scales_16_bit_items():
    transparent = Image.new("RGBA", (2, 2), (0, 0, 0, 0))
    grey16 = Image.fromarray(np.full((2, 2), 65535, dtype=np.uint16))
    assert (pixels(image_grid([transparent, grey16], padding=0)) == 255).all()


@pytest.mark.parametrize(
    ("background", "error"),
    [((256, 0, 0), ValueError), ((0, 0), TypeError), ("white", TypeError), ((0.5, 0, 0), TypeError), (None, TypeError)],
)
def test_background_colour_is_checked(background, error, tmp_path):
    with pytest.raises(error, match="background"):
        image_grid([Image.new("RGB", (2, 2))], background=background)
    path = tmp_path / "ok.png"
    random_rgb(2, 2).save(path)
    with pytest.raises(error, match="background"):
        load_image(path, background=background)
