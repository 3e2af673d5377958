"""Tests of diffusion_helpers.widgets: the controls drive the mathematics, and the pictures follow."""

from __future__ import annotations

import base64
import io
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image

import diffusion_helpers as dh
from diffusion_helpers.widgets import ScheduleExplorer, TimestepScrubber


def _shown_png(widget_output) -> np.ndarray:
    (output,) = widget_output.outputs
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"]))))


@pytest.fixture(scope="module")
def image() -> Image.Image:
    return dh.example_image(32)


@pytest.fixture()
def explorer(image: Image.Image) -> ScheduleExplorer:
    return ScheduleExplorer(image, num_timesteps=200, num_images=4)


def test_explorer_shows_the_controls_schedule(explorer: ScheduleExplorer) -> None:
    assert explorer.schedule is not None
    assert torch.equal(explorer.schedule.betas, dh.make_schedule("linear", 200).betas)
    before = _shown_png(explorer.output)
    explorer.set(beta_T=0.05)
    assert explorer.schedule.params["beta_T"] == pytest.approx(0.05)
    assert not np.array_equal(before, _shown_png(explorer.output))
    assert "dh-explorer" in explorer.widget._dom_classes
    assert "dh-beta-T" in explorer.controls["beta_T"]._dom_classes


def test_explorer_images_are_q_sample_with_fixed_noise(explorer: ScheduleExplorer) -> None:
    explorer.set(name="cosine", t=37)
    timesteps = dh.spaced_timesteps(200, 4) + [37]
    x0 = dh.pil_to_tensor(explorer_image := dh.example_image(32))
    del explorer_image
    expected = dh.q_sample(
        x0.expand(len(timesteps), *x0.shape), torch.tensor(timesteps), dh.make_schedule("cosine", 200),
        noise=torch.randn((len(timesteps), *x0.shape), generator=torch.Generator().manual_seed(0)),
    )
    for shown, x in zip(explorer._images, expected):
        assert np.array_equal(np.asarray(shown.get_array()), np.asarray(dh.tensor_to_pil(x)))
    assert [ax.get_title() for ax in explorer._image_axes] == [f"t = {t}" for t in timesteps]


def test_explorer_shows_only_the_schedule_s_own_parameters(explorer: ScheduleExplorer) -> None:
    explorer.set(name="cosine")
    assert explorer.controls["s"].layout.display is None
    assert explorer.controls["beta_T"].layout.display == "none"
    explorer.set(name="sigmoid", s=0.1)  # s is ignored by the sigmoid schedule
    assert explorer.schedule.name == "sigmoid" and "s" not in explorer.schedule.params
    assert explorer.controls["beta_T"].layout.display is None


def test_explorer_t_follows_T_and_zero_terminal_snr(explorer: ScheduleExplorer) -> None:
    explorer.set(t=200)
    explorer.set(num_timesteps=100)
    assert explorer.controls["t"].max == 100 and explorer.controls["t"].value == 100
    assert len(explorer.schedule) == 100
    explorer.set(zero_terminal_snr=True)
    assert explorer.schedule.zero_terminal_snr and explorer.schedule.alpha_bar(100) == 0.0
    assert "✓" in explorer.readout.value


def test_explorer_reports_invalid_settings_instead_of_crashing(explorer: ScheduleExplorer) -> None:
    good = explorer.schedule
    explorer.set(beta_1=0.009, beta_T=0.002)
    assert "Invalid settings" in explorer.readout.value
    assert "needs beta_1 &lt;= beta_T, got beta_1=0.009 &gt; beta_T=0.002" in explorer.readout.value  # escaped
    assert explorer.schedule is good  # the last valid schedule stays on screen
    with pytest.raises(TypeError, match="unknown control"):
        explorer.set(beta_max=0.1)
    # a slider would clamp these silently; set() says so instead
    with pytest.raises(ValueError, match=r"beta_T must be in \[0.001, 0.5\]"):
        explorer.set(beta_T=0.9)
    with pytest.raises(ValueError, match="num_timesteps"):
        explorer.set(num_timesteps=5)
    with pytest.raises(ValueError, match="name must be one of"):
        explorer.set(name="exponential")


def test_explorer_readout_numbers(explorer: ScheduleExplorer) -> None:
    explorer.set(name="linear", beta_1=1e-4, beta_T=0.02, num_timesteps=100, t=50)
    alpha_bar_50 = math.prod(1 - b for b in np.linspace(1e-4, 0.02, 100)[:50])
    assert f"{math.sqrt(alpha_bar_50):.4f}" in explorer.readout.value
    assert "✗" in explorer.readout.value  # T = 100 with this range does not reach noise


def test_explorer_player_has_one_frame_per_value_and_restores_the_control(explorer: ScheduleExplorer) -> None:
    html = explorer.to_jshtml("beta_T", [0.01, 0.02, 0.04])
    assert len(re.findall(r"frames\[\d+\] = ", html)) == 3
    # offline: matplotlib's template links an icon font from a CDN; the player must not
    assert "http" not in html and 'class="fa ' not in html and "▶" in html
    assert "data:image/jpeg;base64" in html  # JPEG frames keep the embedded player small
    assert explorer.controls["beta_T"].value == pytest.approx(0.02)
    with pytest.raises(ValueError, match="control"):
        explorer.to_jshtml("beta", [0.1])


def test_explorer_rejects_bad_arguments(image: Image.Image) -> None:
    with pytest.raises(ValueError, match="unknown schedule name"):
        ScheduleExplorer(image, name="exponential")
    with pytest.raises(ValueError, match="num_images"):
        ScheduleExplorer(image, num_images=1)


def test_scrubber_shows_the_trajectory_state_and_its_histogram(image: Image.Image) -> None:
    schedule = dh.make_schedule("linear", 50)
    trajectory = dh.forward_trajectory(dh.pil_to_tensor(image), schedule, generator=torch.Generator().manual_seed(3))
    scrubber = TimestepScrubber(trajectory)
    first = _shown_png(scrubber.output)
    scrubber.slider.value = 50
    assert not np.array_equal(first, _shown_png(scrubber.output))
    assert np.array_equal(np.asarray(scrubber._image.get_array()), np.asarray(dh.tensor_to_pil(trajectory[50])))
    counts, edges = np.histogram(trajectory[50].double().numpy(), bins=np.linspace(-4, 4, 81))
    heights = np.array([bar.get_height() for bar in scrubber._bars])
    assert np.allclose(heights, counts / (trajectory[50].numel() * np.diff(edges)))
    html = scrubber.to_jshtml([0, 25, 50])
    assert len(re.findall(r"frames\[\d+\] = ", html)) == 3
    with pytest.raises(ValueError, match="timesteps"):
        scrubber.to_jshtml([0, 51])
    with pytest.raises(ValueError, match="trajectory"):
        TimestepScrubber(trajectory[0])


def test_widgets_display_their_controls_and_output(explorer: ScheduleExplorer, monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    explorer._ipython_display_()
    assert shown == [explorer.widget] and explorer.output in explorer.widget.children
