"""Tests of diffusion_helpers.plotting_images: each figure shows exactly the pixels it is given.

The grids are read back from the figure (the picture's array, its colour scale and interpolation, the labels'
places) and compared with the input; the histograms with numpy's; the row of predicted x_0 with Eq. 15
computed here in float64 from a hand-made linear schedule.
"""

from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import plotting_images as pi

T = 100


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """Ten 8 x 8 grey images, most pixels in [-1, 1] and some outside."""
    return 0.8 * torch.randn(10, 1, 8, 8, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def schedule() -> dh.NoiseSchedule:
    return dh.make_schedule("linear", T, beta_1=1e-3, beta_T=0.2)


@pytest.fixture(scope="module")
def trajectory() -> torch.Tensor:
    """A stand-in for ddpm_sample's (T + 1, B, 1, H, W): element [t] is t filled into 3 images of 5 x 4."""
    states = torch.arange(T + 1, dtype=torch.float32).view(-1, 1, 1, 1, 1) / T  # (T + 1, 1, 1, 1, 1)
    pattern = torch.randn(1, 3, 1, 5, 4, generator=torch.Generator().manual_seed(1))
    return states + 0.1 * pattern  # (T + 1, 3, 1, 5, 4)


def _picture(ax: plt.Axes) -> np.ndarray:
    (image,) = ax.get_images()
    return np.ma.filled(image.get_array().astype(float), np.nan)


def _tile(mosaic: np.ndarray, i: int, ncols: int, height: int, width: int, gap_rows: int = 1) -> np.ndarray:
    row, col = divmod(i, ncols)
    top, left = row * (height + gap_rows), col * (width + 1)
    return mosaic[top : top + height, left : left + width]


# ----------------------------------------------------------------------------------------------- grids


def test_the_grid_shows_every_image_pixel_for_pixel_on_one_grey_scale(images: torch.Tensor) -> None:
    before = plt.get_fignums()
    fig = pi.plot_image_grid(images, ncols=4, suptitle="ten")
    assert plt.get_fignums() == before  # not registered with pyplot
    (ax,) = fig.axes
    (image,) = ax.get_images()
    assert image.get_interpolation() == "nearest"
    assert image.get_cmap().name.startswith("gray")
    assert image.get_clim() == (-1.0, 1.0)
    assert not ax.get_xticks().size and not ax.get_yticks().size
    mosaic = _picture(ax)
    assert mosaic.shape == (3 * 8 + 2, 4 * 8 + 3)  # ceil(10 / 4) = 3 rows, one pixel between images
    for i in range(10):
        assert np.allclose(_tile(mosaic, i, 4, 8, 8), images[i, 0].clamp(-1, 1).double().numpy())
    assert np.isnan(_tile(mosaic, 10, 4, 8, 8)).all() and np.isnan(_tile(mosaic, 11, 4, 8, 8)).all()
    assert np.isnan(mosaic[8, :]).all() and np.isnan(mosaic[:, 8]).all()  # the gaps
    assert fig.texts[0].get_text() == "ten"


def test_the_grid_is_square_by_default_and_puts_each_label_under_its_image(images: torch.Tensor) -> None:
    labels = [f"{i}: 0.9" for i in range(9)]
    fig = pi.plot_image_grid(images[:9], labels, size=0.5, label_size=8)
    (ax,) = fig.axes
    mosaic = _picture(ax)
    texts = ax.texts
    assert [text.get_text() for text in texts] == labels
    gap = mosaic.shape[0] - 3 * 8  # 3 x 3: the rows of pixels between the images, twice
    assert gap % 2 == 0 and gap // 2 > 1  # room for the labels
    for i, text in enumerate(texts):
        row, col = divmod(i, 3)
        x, y = text.get_position()
        assert x == pytest.approx(col * 9 + 3.5)  # the image's centre column
        assert row * (8 + gap // 2) + 7.5 <= y <= row * (8 + gap // 2) + 8 + gap // 2  # below it, above the next
        assert np.allclose(_tile(mosaic, i, 3, 8, 8, gap_rows=gap // 2), images[i, 0].clamp(-1, 1).double().numpy())


def test_the_grid_rejects_bad_input(images: torch.Tensor) -> None:
    with pytest.raises(TypeError, match="images must be a tensor"):
        pi.plot_image_grid(images.numpy())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="floating"):
        pi.plot_image_grid(images.to(torch.uint8))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        pi.plot_image_grid(images[:, 0])
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        pi.plot_image_grid(images.expand(-1, 3, -1, -1))
    with pytest.raises(ValueError, match="NaN or inf"):
        pi.plot_image_grid(torch.full((2, 1, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="MAX_IMAGES"):
        pi.plot_image_grid(torch.zeros(pi.MAX_IMAGES + 1, 1, 2, 2))
    with pytest.raises(ValueError, match="labels has 3 entries for 10 images"):
        pi.plot_image_grid(images, ["a", "b", "c"])
    with pytest.raises(TypeError, match="labels"):
        pi.plot_image_grid(images, list(range(10)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ncols"):
        pi.plot_image_grid(images, ncols=0)
    with pytest.raises(ValueError, match="size"):
        pi.plot_image_grid(images, size=0)


# --------------------------------------------------------------------------------- samples side by side


def test_image_samples_show_the_first_images_over_histograms_of_every_pixel(images: torch.Tensor) -> None:
    data = torch.randint(0, 17, (50, 1, 8, 8), generator=torch.Generator().manual_seed(2)).float() / 8 - 1
    panels = {"raw": images, "clipped": images.clamp(-1, 1)}
    fig = pi.plot_image_samples(panels, reference=data, max_images=4, ncols=2, suptitle="s")
    grids, histograms = fig.axes[:2], fig.axes[2:]
    assert [ax.get_title() for ax in grids] == ["raw", "clipped"]
    for ax, x in zip(grids, panels.values()):
        mosaic = _picture(ax)
        assert mosaic.shape == (17, 17)
        for i in range(4):
            assert np.allclose(_tile(mosaic, i, 2, 8, 8), x[i, 0].clamp(-1, 1).double().numpy())
    for ax, x in zip(histograms, panels.values()):
        values = x.double().numpy().ravel()
        outside = np.mean(np.abs(values) > 1)
        assert ax.get_title() == f"{100 * outside:.1f}% of pixels outside [-1, 1]"
        bars = [patch.get_height() for patch in ax.patches[: len(pi._PIXEL_BINS) - 1]]
        expected, _ = np.histogram(np.clip(values, -2, 2), bins=pi._PIXEL_BINS)
        assert np.allclose(bars, expected / values.size)  # every pixel counted, as a share
        assert ax.get_yscale() == "log"
    assert histograms[1].get_title() == "0.0% of pixels outside [-1, 1]"
    # the digits' 17 grey levels are the centres of the bins
    centres = (pi._PIXEL_BINS[:-1] + pi._PIXEL_BINS[1:]) / 2
    assert np.allclose(centres[8:25], np.arange(17) / 8 - 1)
    assert "data" in histograms[0].get_legend_handles_labels()[1]
    assert len(pi.plot_image_samples(panels, histograms=False).axes) == 2


def test_image_samples_reject_bad_input(images: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="non-empty mapping"):
        pi.plot_image_samples({})
    with pytest.raises(ValueError, match="at most 6"):
        pi.plot_image_samples({str(i): images for i in range(7)})
    with pytest.raises(ValueError, match="pixels"):
        pi.plot_image_samples({"a": images, "b": images[:, :, :4]})
    with pytest.raises(ValueError, match="reference has images of"):
        pi.plot_image_samples({"a": images}, reference=images[:, :, :4])
    with pytest.raises(ValueError, match=r"panels\['a'\] contains NaN"):
        pi.plot_image_samples({"a": images * float("inf")})
    with pytest.raises(TypeError, match="histograms"):
        pi.plot_image_samples({"a": images}, histograms="yes")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ trajectories


def _alpha_bar(t: int) -> float:
    betas = [1e-3 + (s - 1) / (T - 1) * (0.2 - 1e-3) for s in range(1, T + 1)]
    return math.prod(1 - beta for beta in betas[:t])


def test_the_trajectory_strip_shows_x_t_and_the_networks_x0_at_each_frame(
    trajectory: torch.Tensor, schedule: dh.NoiseSchedule
) -> None:
    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.5 * x_t + t.view(-1, 1, 1, 1) / T  # any eps will do: the row must show Eq. 15 of it

    frames = [100, 40, 0]
    fig = pi.plot_image_trajectory(trajectory, frames, sample=2, model=model, schedule=schedule, suptitle="one")
    axes = fig.axes
    assert [ax.get_title() for ax in axes[:3]] == ["t = 100 (noise)", "t = 40", "t = 0 (sample)"]
    assert axes[0].get_ylabel() == "$x_t$" and axes[3].get_ylabel() == r"$\hat x_0$ predicted"
    for ax, t in zip(axes[:3], frames):
        assert np.allclose(_picture(ax), trajectory[t, 2, 0].clamp(-1, 1).double().numpy())
    for ax, t in zip(axes[3:], frames):
        x_t = trajectory[t, 2, 0].double().numpy()
        if t == 0:
            x0_hat = x_t  # the sample is its own x_0
        else:
            eps = 0.5 * x_t + t / T
            x0_hat = (x_t - math.sqrt(1 - _alpha_bar(t)) * eps) / math.sqrt(_alpha_bar(t))  # Eq. 15
        assert np.allclose(_picture(ax), np.clip(x0_hat, -1, 1), atol=1e-5)
    assert len(pi.plot_image_trajectory(trajectory, frames).axes) == 3  # without a model: one row


def test_the_trajectory_strip_reads_ddim_timesteps_and_single_samples(trajectory: torch.Tensor) -> None:
    timesteps = torch.tensor([0, 25, 50, 75, 100])
    ddim_like = trajectory[timesteps]  # (5, 3, 1, 5, 4): element [k] is x at t = timesteps[k]
    fig = pi.plot_image_trajectory(ddim_like, [100, 50, 0], timesteps=timesteps)
    assert [ax.get_title() for ax in fig.axes] == ["t = 100 (noise)", "t = 50", "t = 0 (sample)"]
    assert np.allclose(_picture(fig.axes[1]), trajectory[50, 0, 0].clamp(-1, 1).double().numpy())
    one = pi.plot_image_trajectory(trajectory[:, 1], [30])  # (T + 1, 1, H, W): one sample's trajectory
    assert np.allclose(_picture(one.axes[0]), trajectory[30, 1, 0].clamp(-1, 1).double().numpy())
    with pytest.raises(ValueError, match=r"t = 40, which the trajectory does not hold \(it holds t = 0, 25, 50"):
        pi.plot_image_trajectory(ddim_like, [40], timesteps=timesteps)


def test_the_trajectory_strip_rejects_bad_input(trajectory: torch.Tensor, schedule: dh.NoiseSchedule) -> None:
    with pytest.raises(ValueError, match=r"\(K, B, 1, H, W\)"):
        pi.plot_image_trajectory(trajectory[0, 0], [0])
    with pytest.raises(TypeError, match="floating"):
        pi.plot_image_trajectory(trajectory.long(), [0])
    with pytest.raises(ValueError, match="sample"):
        pi.plot_image_trajectory(trajectory, [0], sample=3)
    with pytest.raises(ValueError, match="timesteps must be 101 ints"):
        pi.plot_image_trajectory(trajectory, [0], timesteps=[0, 1])
    with pytest.raises(ValueError, match="together"):
        pi.plot_image_trajectory(trajectory, [0], model=lambda x, t: x)
    with pytest.raises(ValueError, match="frames is empty"):
        pi.plot_image_trajectory(trajectory, [])
    with pytest.raises(ValueError, match=r"model must return a finite tensor of x_t's shape"):
        pi.plot_image_trajectory(trajectory, [50], model=lambda x, t: x[..., :2], schedule=schedule)
    with pytest.raises(ValueError, match="NaN or inf"):
        pi.plot_image_trajectory(trajectory * float("nan"), [0])


def test_the_player_has_one_offline_jpeg_frame_per_timestep(trajectory: torch.Tensor) -> None:
    html = pi.image_trajectory_player(trajectory, [100, 0, 100], max_images=2, size=2.0)
    frames = re.findall(r'frames\[\d+\] = "([^"]*)"', html)
    assert len(frames) == 3
    assert frames[0] == frames[2] != frames[1]  # a frame shows its timestep's state, and only that
    assert "http" not in html and 'class="fa ' not in html and "data:image/jpeg;base64" in html
    with pytest.raises(ValueError, match="40"):
        pi.image_trajectory_player(trajectory, list(range(41)))
    with pytest.raises(ValueError, match="does not hold"):
        pi.image_trajectory_player(trajectory, [101])


# ------------------------------------------------------------------------------------------------ guidance


def test_the_guidance_tradeoff_draws_each_score_against_w_with_its_target() -> None:
    weights, ratios, confident = [0, 0.25, 0.5, 1, 2], [1.2, 1.12, 1.19, 1.34, 1.76], [0.87, 1.02, 1.14, 1.23, 1.26]
    figure = pi.plot_guidance_tradeoff(
        weights, torch.tensor(ratios), confident, no_label=(1.29, 0.29), suptitle="trade-off"
    )
    left, right = figure.axes
    for ax, scores, target, no_label in ((left, ratios, 1.3, 1.29), (right, confident, 0.9, 0.29)):
        curve, target_line, no_label_line = ax.get_lines()
        np.testing.assert_allclose(curve.get_xdata(), weights)
        np.testing.assert_allclose(curve.get_ydata(), scores)
        assert target_line.get_ydata()[0] == target and no_label_line.get_ydata()[0] == no_label
        assert ax.get_xlabel() == "guidance weight w"
    assert figure._suptitle.get_text() == "trade-off"
    assert len(pi.plot_guidance_tradeoff([0, 1], [1.0, 1.1], [0.8, 1.0]).axes[0].get_lines()) == 2  # no "no label"


def test_the_guidance_tradeoff_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="weights, ratios and confident must have one length, got weights 2, ratios 1"):
        pi.plot_guidance_tradeoff([0, 1], [1.0], [0.8, 1.0])
    with pytest.raises(ValueError, match="weights is empty"):
        pi.plot_guidance_tradeoff([], [], [])
    with pytest.raises(ValueError, match=r"weights\[1\] must be in \[0, inf\)"):
        pi.plot_guidance_tradeoff([0, -1], [1.0, 1.0], [0.8, 1.0])
    with pytest.raises(ValueError, match=r"ratios\[0\] must be a finite number"):
        pi.plot_guidance_tradeoff([0], [float("nan")], [0.8])
    with pytest.raises(TypeError, match="confident must be a sequence of numbers"):
        pi.plot_guidance_tradeoff([0], [1.0], "0.8")
    with pytest.raises(TypeError, match=r"ratios\[0\] must be a real number"):
        pi.plot_guidance_tradeoff([0], ["1.0"], [0.8])
    with pytest.raises(ValueError, match="no_label must be two numbers"):
        pi.plot_guidance_tradeoff([0], [1.0], [0.8], no_label=(1.0,))
    with pytest.raises(ValueError, match="ratio_target must be in"):
        pi.plot_guidance_tradeoff([0], [1.0], [0.8], ratio_target=0)


def test_the_module_is_lazily_imported_by_the_package() -> None:
    assert "plotting_images" in dh.__all__
    assert dh.plotting_images is pi
