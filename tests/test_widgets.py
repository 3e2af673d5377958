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
    timesteps = [*dh.timesteps_to_show(200, 4), 37]
    x0 = dh.pil_to_tensor(explorer_image := dh.example_image(32))
    del explorer_image
    expected = dh.q_sample(
        x0.expand(len(timesteps), *x0.shape),
        torch.tensor(timesteps),
        dh.make_schedule("cosine", 200),
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


def test_explorer_reports_invalid_slider_settings_instead_of_crashing(explorer: ScheduleExplorer) -> None:
    # A student dragging the sliders can reach beta_1 > beta_T: the readout says so and the figure stays.
    explorer.controls["beta_1"].value = 0.009
    good = explorer.schedule
    explorer.controls["beta_T"].value = 0.002
    assert "Invalid settings" in explorer.readout.value
    assert "needs beta_1 &lt;= beta_T, got beta_1=0.009 &gt; beta_T=0.002" in explorer.readout.value  # escaped
    assert explorer.schedule is good  # the last valid schedule stays on screen


def test_explorer_set_refuses_what_the_schedule_refuses(explorer: ScheduleExplorer) -> None:
    with pytest.raises(ValueError, match="needs beta_1 <= beta_T"):
        explorer.set(beta_1=0.009, beta_T=0.002)
    with pytest.raises(TypeError, match="unknown control"):
        explorer.set(beta_max=0.1)
    with pytest.raises(ValueError, match=r"beta_T must be in \(0, 1\)"):
        explorer.set(beta_T=1.5)
    with pytest.raises(ValueError, match="num_timesteps must be at least num_images - 1 = 3"):
        explorer.set(num_timesteps=2)
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
    with pytest.raises(ValueError, match="name must be one of"):
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


# --------------------------------------------------- what was asked is what is shown, or an error (issue 10)


def _state(explorer: ScheduleExplorer) -> tuple:
    """Everything set() could change: the controls (values and ranges), the schedule, the picture shown."""
    controls = {
        key: (c.value, getattr(c, "min", None), getattr(c, "max", None)) for key, c in explorer.controls.items()
    }
    return controls, explorer.schedule, explorer.output.outputs, explorer.readout.value


def test_explorer_keeps_every_value_it_is_given(image: Image.Image) -> None:
    # Each of these used to be changed without a word: T = 5 became 10, beta_T = 0.9 became 0.5, max_beta was dropped.
    explorer = ScheduleExplorer(image, num_timesteps=5, num_images=4)
    assert len(explorer.schedule) == 5 and explorer.controls["num_timesteps"].value == 5
    explorer.set(beta_T=0.9)
    assert explorer.schedule.params["beta_T"] == 0.9 and explorer.controls["beta_T"].value == 0.9
    explorer.set(beta_T=0.9999, beta_1=1e-7)  # beyond the sliders' ranges: they widen instead of clamping
    assert explorer.schedule.params == {"beta_1": 1e-7, "beta_T": 0.9999}
    assert explorer.controls["beta_T"].value == 0.9999 and explorer.controls["beta_1"].value == 1e-7
    cosine = ScheduleExplorer(image, name="cosine", num_timesteps=300, max_beta=0.6, s=0.5, num_images=4)
    assert torch.equal(cosine.schedule.betas, dh.make_schedule("cosine", 300, max_beta=0.6, s=0.5).betas)
    assert cosine.schedule.betas.max() == 0.6 and cosine.controls["max_beta"].value == 0.6
    large = ScheduleExplorer(image, num_timesteps=5000, t=4321, num_images=4)
    assert len(large.schedule) == 5000 and large.controls["t"].value == 4321
    assert large.controls["num_timesteps"].max >= 5000


def test_explorer_sliders_read_the_schedule_parameter_table(explorer: ScheduleExplorer) -> None:
    for parameters in dh.schedules.SCHEDULE_PARAMETERS.values():
        for key, spec in parameters.items():
            slider = explorer.controls[key]
            low, high = (
                (math.log10(spec.slider_low), math.log10(spec.slider_high))
                if spec.log_slider
                else (spec.slider_low, spec.slider_high)
            )
            assert (slider.min, slider.max) == pytest.approx((low, high)), key
            assert slider.value == spec.default, key
    explorer.set(name="cosine")
    shown = {key for key in ("beta_1", "beta_T", "s", "max_beta") if explorer.controls[key].layout.display is None}
    assert shown == {"s", "max_beta"}


def test_explorer_checks_t_against_the_new_T(explorer: ScheduleExplorer) -> None:
    explorer.set(num_timesteps=100, t=50)
    explorer.set(num_timesteps=1000, t=800)  # t = 800 is beyond the old T = 100, within the new one
    assert explorer.controls["t"].value == 800 and len(explorer.schedule) == 1000
    with pytest.raises(ValueError, match=r"t must be an int in \[0, 1000\], got 5000"):
        explorer.set(t=5000)
    with pytest.raises(ValueError, match=r"t must be an int in \[0, 50\], got 800"):
        explorer.set(num_timesteps=50, t=800)
    explorer.set(num_timesteps=50)  # t not given: it follows T down
    assert explorer.controls["t"].value == 50


@pytest.mark.parametrize(
    ("values", "error", "pattern"),
    [
        ({"t": 5.7}, TypeError, r"\bt must be an int"),
        ({"t": "5"}, TypeError, r"\bt\b"),
        ({"t": -1}, ValueError, r"\bt\b"),
        ({"t": True}, TypeError, r"\bt\b"),
        ({"num_timesteps": 2.5}, TypeError, r"\bnum_timesteps\b"),
        ({"num_timesteps": 10**9}, ValueError, r"\bnum_timesteps\b.*100000"),
        ({"name": 5}, ValueError, r"\bname\b"),
        ({"name": ["linear"]}, ValueError, r"\bname\b"),
        ({"zero_terminal_snr": "no"}, TypeError, r"\bzero_terminal_snr\b"),
        ({"zero_terminal_snr": 1}, TypeError, r"\bzero_terminal_snr\b"),
        ({"beta_T": "0.1"}, TypeError, r"\bbeta_T\b"),
        ({"beta_T": float("nan")}, ValueError, r"\bbeta_T\b"),
        ({"beta_1": 0.0}, ValueError, r"\bbeta_1\b"),
        ({"s": -0.1}, ValueError, r"\bs\b"),
        ({"max_beta": 1.0}, ValueError, r"\bmax_beta\b"),
        ({"beta_T": 0.05, "t": 10**6}, ValueError, r"\bt\b"),  # the valid half is not applied either
        ({"name": "cosine", "max_beta": 2.0}, ValueError, r"\bmax_beta\b"),
        ({"zero_terminal_snr": True, "num_timesteps": 3, "t": 4}, ValueError, r"\bt\b"),
        ({"T": 100}, TypeError, r"unknown control T"),
    ],
)
def test_explorer_set_refuses_and_changes_nothing(explorer: ScheduleExplorer, values, error, pattern) -> None:
    before = _state(explorer)
    with pytest.raises(error, match=pattern):
        explorer.set(**values)
    assert _state(explorer) == before


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"image": None}, TypeError, r"\bimage\b"),
        ({"image": "picture.png"}, TypeError, r"\bimage\b"),
        ({"image": torch.zeros(3, 8, 8, dtype=torch.uint8)}, TypeError, r"\bimage\b"),
        ({"image": torch.zeros(8, 8)}, ValueError, r"\bimage\b"),
        ({"image": torch.zeros(4, 8, 8)}, ValueError, r"\bimage\b"),
        ({"image": torch.zeros(3, 0, 8)}, ValueError, r"\bimage\b"),
        ({"image": torch.zeros(3, 4096, 8)}, ValueError, r"MAX_IMAGE_SIDE=512"),
        ({"image": torch.full((3, 8, 8), float("nan"))}, ValueError, r"\bimage\b.*NaN"),
        ({"num_timesteps": 5, "t": 6}, ValueError, r"\bt\b"),
        ({"num_timesteps": 1000, "t": 5000}, ValueError, r"\bt\b"),
        ({"t": 2.5}, TypeError, r"\bt\b"),
        ({"num_timesteps": 0}, ValueError, r"\bnum_timesteps\b"),
        ({"num_timesteps": 4}, ValueError, r"num_timesteps must be at least num_images - 1 = 5"),
        ({"seed": -1}, ValueError, r"\bseed\b"),
        ({"seed": 0.5}, TypeError, r"\bseed\b"),
        ({"num_images": 13}, ValueError, r"\bnum_images\b"),
        ({"beta_max": 0.1}, TypeError, r"unknown control beta_max"),
        ({"zero_terminal_snr": "yes"}, TypeError, r"\bzero_terminal_snr\b"),
        ({"name": "cosine", "s": float("inf")}, ValueError, r"\bs\b"),
    ],
)
def test_explorer_constructor_refuses_clearly(kwargs, error, pattern) -> None:
    kwargs = {"image": torch.zeros(3, 8, 8), **kwargs}
    with pytest.raises(error, match=pattern):
        ScheduleExplorer(**kwargs)


def test_explorer_accepts_grey_and_pil_images_of_any_mode() -> None:
    grey = ScheduleExplorer(torch.zeros(1, 8, 8), num_timesteps=20, num_images=2)
    assert grey.schedule is not None
    transparent = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    assert ScheduleExplorer(transparent, num_timesteps=20, num_images=2).schedule is not None


def test_explorer_draw_checks_its_arguments(explorer: ScheduleExplorer) -> None:
    with pytest.raises(TypeError, match=r"\bschedule\b"):
        explorer.draw("linear", 3)
    with pytest.raises(ValueError, match=r"\bt\b"):
        explorer.draw(dh.make_schedule("linear", 50), 51)
    with pytest.raises(ValueError, match=r"num_timesteps must be at least"):
        explorer.draw(dh.make_schedule("linear", 2), 1)


def test_explorer_players_check_every_frame_first(explorer: ScheduleExplorer) -> None:
    before = _state(explorer)
    for call, error, pattern in [
        (lambda: explorer.to_jshtml("beta_T", []), ValueError, r"MAX_FRAMES"),
        (lambda: explorer.to_jshtml("beta_T", [0.01] * 201), ValueError, r"MAX_FRAMES=200"),
        (lambda: explorer.to_jshtml("beta_T", [0.01, 1.5]), ValueError, r"frames\[1\]: beta_T"),
        (lambda: explorer.to_jshtml("t", [10, 5000]), ValueError, r"frames\[1\]: t must be"),
        (lambda: explorer.to_jshtml("beta_T", 0.01), TypeError, r"\bvalues\b"),
        (lambda: explorer.to_jshtml(["beta_T"], [0.01]), ValueError, r"\bcontrol\b"),
        (lambda: explorer.to_jshtml("beta_T", [0.01], interval_ms=0), ValueError, r"\binterval_ms\b"),
        (lambda: explorer.to_jshtml_frames([{"beta_T": 0.01}, 5]), TypeError, r"frames\[1\]"),
        (lambda: explorer.to_jshtml_frames({"beta_T": 0.01}), TypeError, r"\bframes\b"),
        (lambda: explorer.to_jshtml_frames([{"gamma": 1}]), TypeError, r"frames\[0\]: unknown control gamma"),
    ]:
        with pytest.raises(error, match=pattern):
            call()
        assert _state(explorer) == before
    html = explorer.to_jshtml("beta_T", torch.tensor([0.01, 0.02], dtype=torch.float64))
    assert len(re.findall(r"frames\[\d+\] = ", html)) == 2
    assert _state(explorer)[:2] == before[:2]  # the same controls and schedule afterwards


def test_scrubber_refuses_timesteps_outside_the_trajectory(image: Image.Image) -> None:
    trajectory = dh.forward_trajectory(
        dh.pil_to_tensor(image), dh.make_schedule("linear", 10), generator=torch.Generator().manual_seed(0)
    )
    scrubber = TimestepScrubber(trajectory)
    for t, error in [(99, ValueError), (11, ValueError), (-1, ValueError), (2.0, TypeError), (True, TypeError)]:
        with pytest.raises(error, match=r"\bt\b"):
            scrubber.draw(t)
    assert scrubber._ax_image.get_title() == "$x_{0}$"  # nothing was drawn
    scrubber.draw(10)
    assert scrubber._ax_image.get_title() == "$x_{10}$"
    with pytest.raises(ValueError, match="MAX_FRAMES"):
        scrubber.to_jshtml([])
    with pytest.raises(ValueError, match="MAX_FRAMES=200"):
        scrubber.to_jshtml([0] * 201)
    with pytest.raises(TypeError, match=r"\btimesteps\b"):
        scrubber.to_jshtml(5)


@pytest.mark.parametrize(
    ("trajectory", "t", "error", "pattern"),
    [
        ([torch.zeros(3, 4, 4)] * 2, 0, TypeError, r"\btrajectory\b"),
        (torch.zeros(2, 3, 4, 4, dtype=torch.uint8), 0, TypeError, r"\btrajectory\b"),
        (torch.zeros(1, 3, 4, 4), 0, ValueError, r"T >= 1"),
        (torch.zeros(2, 4, 4, 4), 0, ValueError, r"C = 1 or 3"),
        (torch.full((2, 3, 4, 4), float("inf")), 0, ValueError, r"NaN or inf"),
        (torch.zeros(2, 3, 4, 4), 2, ValueError, r"\bt\b"),
        (torch.zeros(2, 3, 4, 4), 1.0, TypeError, r"\bt\b"),
    ],
)
def test_scrubber_constructor_refuses_clearly(trajectory, t, error, pattern) -> None:
    with pytest.raises(error, match=pattern):
        TimestepScrubber(trajectory, t=t)
