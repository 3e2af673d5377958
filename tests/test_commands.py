"""Tests of the commands ``python -m diffusion_helpers.train`` and ``python -m diffusion_helpers.sample``.

One training run in a fresh interpreter, exactly as a reader types it (with ``--steps`` to keep it short);
the rest runs the modules in-process with :mod:`runpy`, which (unlike ``import diffusion_helpers.train``)
leaves ``diffusion_helpers.train``, the training function, in place.
"""

from __future__ import annotations

import runpy
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import diffusion_helpers as dh
from diffusion_helpers.models import ConvDenoiser
from diffusion_helpers.training import load_checkpoint


def run_command(module: str, *args: str) -> int:
    """Run ``python -m diffusion_helpers.<module> args`` in this process; return its exit code."""
    old_argv, old_threads = sys.argv, torch.get_num_threads()
    sys.argv = [f"diffusion_helpers.{module}", *args]
    try:
        runpy.run_module(f"diffusion_helpers.{module}", run_name="__main__")
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        sys.argv = old_argv
        torch.set_num_threads(old_threads)  # the commands set their own thread count (--threads)
    return 0


def test_train_then_sample_end_to_end(tmp_path):
    run = tmp_path / "run"
    samples = tmp_path / "out" / "samples.pt"
    python = [sys.executable, "-m"]
    trained = subprocess.run(
        [*python, "diffusion_helpers.train", "moons", "--out", str(run), "--steps", "30", "--seed", "1", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert trained.returncode == 0, trained.stderr
    assert "training on moons" in trained.stdout and "saved" in trained.stdout
    model, schedule, meta = load_checkpoint(run / "checkpoint.pt")
    assert meta["recipe"]["dataset"] == "moons" and meta["recipe"]["seed"] == 1
    assert meta["recipe"]["train"]["steps"] == 30 and len(schedule) == meta["recipe"]["schedule"]["num_timesteps"]
    # the sampling command in this process (a second fresh interpreter would only add its start-up time)
    assert run_command("sample", str(run), "--n", "50", "--seed", "2", "--out", str(samples), "--quiet") == 0
    x = torch.load(samples, weights_only=True)
    assert x.shape == (50, 2) and torch.isfinite(x).all()
    # the same samples as the sampler gives with the checkpoint's model and the same seed
    expected = dh.ddpm_sample(
        model, schedule, (50, 2), variance=meta["recipe"]["variance"], generator=torch.Generator().manual_seed(2)
    )
    assert torch.equal(x, expected)


@pytest.mark.parametrize("module", ["train", "sample"])
def test_help(module, capsys):
    assert run_command(module, "--help") == 0
    out = capsys.readouterr().out
    assert f"python -m diffusion_helpers.{module}" in out
    assert all(option in out for option in ("--out", "--seed", "--device", "--threads"))


def test_train_in_process_keeps_the_function(tmp_path, capsys):
    assert run_command("train", "eight_gaussians", "--out", str(tmp_path), "--steps", "5", "--quiet") == 0
    assert (tmp_path / "checkpoint.pt").is_file()
    assert callable(dh.train) and dh.train.__module__ == "diffusion_helpers.training"
    assert (
        run_command(
            "sample",
            str(tmp_path / "checkpoint.pt"),
            "--n",
            "3",
            "--out",
            str(tmp_path / "s.pt"),
            "--variance",
            "beta_tilde",
            "--quiet",
        )
        == 0
    )
    assert "sigma_t^2 = beta_tilde" in capsys.readouterr().out


def test_bad_arguments(tmp_path, capsys):
    assert run_command("train", "spiral", "--out", str(tmp_path)) == 2
    assert "invalid choice: 'spiral'" in capsys.readouterr().err
    assert run_command("train", "moons") == 2
    assert "--out" in capsys.readouterr().err
    assert run_command("train", "moons", "--out", str(tmp_path), "--steps", "0") == 2
    assert "steps must be an int in [1, inf), got 0" in capsys.readouterr().err
    assert run_command("train", "moons", "--out", str(tmp_path), "--device", "gpu0", "--steps", "1") == 2
    assert "device must be" in capsys.readouterr().err
    assert run_command("sample", str(tmp_path / "missing"), "--n", "5", "--out", str(tmp_path / "s.pt")) == 2
    assert "no checkpoint at" in capsys.readouterr().err
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "checkpoint.pt").write_bytes(b"garbage")
    assert run_command("sample", str(tmp_path / "broken"), "--n", "5", "--out", str(tmp_path / "s.pt")) == 2
    assert "is not a readable checkpoint" in capsys.readouterr().err
    assert run_command("sample", str(tmp_path / "broken"), "--n", "0", "--out", str(tmp_path / "s.pt")) == 2
    assert "--n must be at least 1" in capsys.readouterr().err
    assert run_command("train", "moons", "--out", str(tmp_path), "--threads", "0") == 2
    assert "--threads must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "s.pt").exists()


# --- the sample command's samplers, outputs and usage errors (issue 8) ---------------------------------------

T_TINY = 40  # a short schedule keeps DDPM at 40 network calls


def tiny_checkpoint(folder, model: torch.nn.Module, data: torch.Tensor):
    """A checkpoint of ``model`` trained for 3 steps on ``data`` with a linear schedule of T_TINY steps."""
    schedule = dh.make_schedule("linear", T_TINY)
    generator = torch.Generator().manual_seed(0)
    dh.train(model, data, schedule, steps=3, batch_size=16, lr=1e-3, generator=generator, progress=False)
    return dh.save_checkpoint(folder / "checkpoint.pt", model, schedule, recipe={"variance": "beta"})


@pytest.fixture(scope="module")
def points_run(tmp_path_factory):
    """A folder holding a 2-D checkpoint (MLPDenoiser)."""
    folder = tmp_path_factory.mktemp("points")
    tiny_checkpoint(folder, dh.MLPDenoiser(num_timesteps=T_TINY, hidden=16, layers=1), dh.load_dataset("moons", n=64))
    return folder


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A folder holding an image checkpoint (ConvDenoiser on the 8 x 8 digits)."""
    folder = tmp_path_factory.mktemp("digits")
    tiny_checkpoint(folder, ConvDenoiser(num_timesteps=T_TINY, width=8, groups=4), dh.load_dataset("digits", n=64))
    return folder


def test_ddim_writes_what_ddim_sample_gives(points_run, tmp_path, capsys):
    out = tmp_path / "ddim.pt"
    args = ["--n", "20", "--sampler", "ddim", "--steps", "7", "--eta", "0.5", "--spacing", "linspace", "--seed", "3"]
    assert run_command("sample", str(points_run), *args, "--out", str(out), "--quiet") == 0
    assert "ddim, 7 of T = 40 steps (linspace), eta = 0.5" in capsys.readouterr().out
    model, schedule, _ = load_checkpoint(points_run / "checkpoint.pt")
    expected = dh.ddim_sample(
        model, schedule, (20, 2), steps=7, eta=0.5, spacing="linspace", generator=torch.Generator().manual_seed(3)
    )
    assert torch.equal(torch.load(out, weights_only=True), expected)


def test_ddim_defaults_and_clip_x0(points_run, tmp_path, capsys):
    out = tmp_path / "clipped.pt"
    assert run_command("sample", str(points_run), "--n", "9", "--sampler", "ddim", "--clip-x0", "--out", str(out)) == 2
    assert "--steps must be at most T = 40" in capsys.readouterr().err  # the default 50 steps > T of this model
    args = ["--n", "9", "--sampler", "ddim", "--steps", "40", "--clip-x0", "--quiet"]
    assert run_command("sample", str(points_run), *args, "--out", str(out)) == 0
    assert "(trailing), eta = 0, x_0 clipped" in capsys.readouterr().out
    model, schedule, _ = load_checkpoint(points_run / "checkpoint.pt")
    generator = torch.Generator().manual_seed(0)
    expected = dh.ddim_sample(model, schedule, (9, 2), steps=40, clip_x0=True, generator=generator)
    assert torch.equal(torch.load(out, weights_only=True), expected)


def test_clip_x0_defaults_to_the_recipe(points_run, tmp_path, capsys):
    model, schedule, _ = load_checkpoint(points_run / "checkpoint.pt")
    recipe = {"variance": "beta", "clip_x0": True}  # as the digits recipe
    dh.save_checkpoint(tmp_path / "run" / "checkpoint.pt", model, schedule, recipe=recipe)
    args = ["--n", "6", "--sampler", "ddim", "--steps", "8", "--quiet"]
    assert run_command("sample", str(tmp_path / "run"), *args, "--out", str(tmp_path / "recipe.pt")) == 0
    assert "x_0 clipped" in capsys.readouterr().out
    assert run_command("sample", str(tmp_path / "run"), *args, "--no-clip-x0", "--out", str(tmp_path / "no.pt")) == 0
    assert "x_0 clipped" not in capsys.readouterr().out
    for clip_x0, name in ((True, "recipe.pt"), (False, "no.pt")):
        generator = torch.Generator().manual_seed(0)
        expected = dh.ddim_sample(model, schedule, (6, 2), steps=8, clip_x0=clip_x0, generator=generator)
        assert torch.equal(torch.load(tmp_path / name, weights_only=True), expected)


def test_ddpm_clip_x0(points_run, tmp_path):
    out = tmp_path / "ddpm.pt"
    args = ["--n", "5", "--clip-x0", "--seed", "4", "--quiet"]
    assert run_command("sample", str(points_run), *args, "--out", str(out)) == 0
    model, schedule, _ = load_checkpoint(points_run / "checkpoint.pt")
    expected = dh.ddpm_sample(model, schedule, (5, 2), clip_x0=True, generator=torch.Generator().manual_seed(4))
    assert torch.equal(torch.load(out, weights_only=True), expected)


def test_image_samples_as_a_tensor_and_as_a_picture_grid(digits_run, tmp_path):
    tensor, picture = tmp_path / "digits.pt", tmp_path / "grid" / "digits.png"
    args = ["--n", "10", "--sampler", "ddim", "--steps", "5", "--quiet"]
    assert run_command("sample", str(digits_run), *args, "--out", str(tensor)) == 0
    x = torch.load(tensor, weights_only=True)
    assert x.shape == (10, 1, 8, 8) and torch.isfinite(x).all()
    assert run_command("sample", str(digits_run), *args, "--out", str(picture)) == 0
    with Image.open(picture) as image:
        # 10 images: 4 columns, 3 rows; each 8 x 8 image enlarged x4 to 32 x 32, 2 px of border around each
        assert image.size == (4 * (32 + 2) + 2, 3 * (32 + 2) + 2)
        pixels = torch.tensor(np.array(image.convert("L")), dtype=torch.float32)
    border = round(0.8 * 255)
    assert pixels[0].eq(border).all() and pixels[:, 0].eq(border).all()  # the light frame
    # each enlarged pixel is a 4 x 4 block of one grey (nearest neighbour: no smoothing)
    first = pixels[2:34, 2:34]
    assert torch.equal(first, first[::4, ::4].repeat_interleave(4, 0).repeat_interleave(4, 1))
    # the grid shows the same samples: the first tile is the first image, [-1, 1] -> [0, 255]
    expected = ((x[0, 0].clamp(-1, 1) + 1) / 2 * 255 + 0.5).clamp(0, 255).floor()
    assert (first[::4, ::4] - expected).abs().max() <= 1


def test_help_lists_the_samplers_and_their_options(capsys):
    assert run_command("sample", "--help") == 0
    out = capsys.readouterr().out
    assert all(word in out for word in ("ddim", "ddpm", "--steps", "--eta", "--spacing", "--clip-x0", ".png", ".pt"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "0"], "--n must be at least 1"),
        (["--out", "{tmp}/s.jpg"], "unknown file type '.jpg'; end it in .pt (a tensor) or .png"),
        (["--out", "{tmp}/samples"], "unknown file type '(no suffix)'"),
        (["--eta", "0.5"], "--eta applies to --sampler ddim only"),
        (["--steps", "10"], "--steps applies to --sampler ddim only"),
        (["--spacing", "leading"], "--spacing applies to --sampler ddim only"),
        (["--sampler", "ddim", "--variance", "beta"], "--variance applies to --sampler ddpm only"),
        (["--sampler", "ddim", "--steps", "0"], "--steps must be at least 1"),
        (["--sampler", "ddim", "--steps", "41"], "--steps must be at most T = 40, the checkpoint's"),
        (["--sampler", "ddim", "--eta", "-0.1"], "--eta must be a number in [0, 1]"),
        (["--sampler", "ddim", "--eta", "1.5"], "--eta must be a number in [0, 1]"),
        (["--sampler", "ddim", "--eta", "nan"], "--eta must be a number in [0, 1]"),
        (["--sampler", "ddim", "--spacing", "even"], "invalid choice: 'even'"),
        (["--sampler", "dpm"], "invalid choice: 'dpm'"),
        (["--out", "{tmp}/s.png"], "2-D samples cannot be written as a picture; use .pt"),
        (["--n", "1025", "--out", "{tmp}/s.png"], "too many for one picture grid (at most 1024)"),
    ],
)
def test_usage_errors_name_the_option_and_what_to_do(points_run, tmp_path, capsys, args, message):
    args = [arg.format(tmp=tmp_path) for arg in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "s.pt")]
    if "--n" not in args:
        args += ["--n", "3"]
    assert run_command("sample", str(points_run), *args, "--quiet") == 2
    err = capsys.readouterr().err
    assert message in err and "usage: python -m diffusion_helpers.sample" in err
    assert list(tmp_path.iterdir()) == []  # nothing written


# --- a class-conditional checkpoint: --guidance, --label (classifier-free guidance, Ho & Salimans 2022) -------


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    """A folder holding a class-conditional ConvDenoiser (10 classes) whose recipe samples with guidance 0.5."""
    folder = tmp_path_factory.mktemp("conditional")
    model = ConvDenoiser(num_timesteps=T_TINY, width=8, groups=4, num_classes=10)
    data, labels = dh.load_dataset("digits", n=64, labels=True)
    schedule = dh.make_schedule("linear", T_TINY)
    generator = torch.Generator().manual_seed(0)
    dh.train(model, data, schedule, steps=3, batch_size=16, lr=1e-3, generator=generator, progress=False, labels=labels)
    recipe = {"variance": "beta", "clip_x0": True, "guidance": 0.5}
    dh.save_checkpoint(folder / "checkpoint.pt", model, schedule, recipe=recipe)
    return folder


def guided_ddim(folder, labels: torch.Tensor, w: float, seed: int, steps: int = 5) -> torch.Tensor:
    """What the command should write: DDIM (clipped, as the recipe says) on the guided model, noise from ``seed``."""
    model, schedule, _ = load_checkpoint(folder / "checkpoint.pt")
    guided = dh.classifier_free_guidance(model, labels, w)
    generator = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the command by default: a conv's sums are grouped by thread, so bits depend on it
    try:
        return dh.ddim_sample(guided, schedule, (len(labels), 1, 8, 8), steps=steps, clip_x0=True, generator=generator)
    finally:
        torch.set_num_threads(threads)


DDIM_5 = ["--sampler", "ddim", "--steps", "5", "--quiet"]


def test_conditional_default_random_labels_and_the_recipes_guidance(conditional_run, tmp_path, capsys):
    out, again = tmp_path / "a.pt", tmp_path / "b.pt"
    assert run_command("sample", str(conditional_run), "--n", "12", "--seed", "2", *DDIM_5, "--out", str(out)) == 0
    assert "; guidance w = 0.5, labels uniformly random (seed 2))" in capsys.readouterr().out
    # the labels come from their own generator seeded with --seed; the sampler's noise from another one
    labels = dh.random_labels(12, 10, generator=torch.Generator().manual_seed(2))
    x = torch.load(out, weights_only=True)
    assert torch.equal(x, guided_ddim(conditional_run, labels, 0.5, seed=2))
    # reproducible for a seed, different for another
    assert run_command("sample", str(conditional_run), "--n", "12", "--seed", "2", *DDIM_5, "--out", str(again)) == 0
    assert torch.equal(torch.load(again, weights_only=True), x)
    assert run_command("sample", str(conditional_run), "--n", "12", "--seed", "3", *DDIM_5, "--out", str(again)) == 0
    assert not torch.allclose(torch.load(again, weights_only=True), x)


def test_label_conditions_the_samples(conditional_run, tmp_path, capsys):
    samples = {}
    for label in (3, 5):
        out = tmp_path / f"{label}.pt"
        args = ["--n", "6", "--seed", "1", "--label", str(label), "--guidance", "1", *DDIM_5]
        assert run_command("sample", str(conditional_run), *args, "--out", str(out)) == 0
        assert f"; guidance w = 1, every sample of class {label})" in capsys.readouterr().out
        samples[label] = torch.load(out, weights_only=True)
        expected = guided_ddim(conditional_run, torch.full((6,), label, dtype=torch.int64), 1.0, seed=1)
        assert torch.equal(samples[label], expected)
    # the same noise (same seed) steered towards two classes: the label changes the samples
    assert (samples[3] - samples[5]).abs().max() > 1e-3


def test_guidance_option_overrides_the_recipe(conditional_run, tmp_path, capsys):
    unguided, guided = tmp_path / "w0.pt", tmp_path / "w.pt"
    args = ["--n", "8", *DDIM_5]
    assert run_command("sample", str(conditional_run), *args, "--guidance", "0", "--out", str(unguided)) == 0
    assert "guidance w = 0," in capsys.readouterr().out
    assert run_command("sample", str(conditional_run), *args, "--out", str(guided)) == 0
    labels = dh.random_labels(8, 10, generator=torch.Generator().manual_seed(0))
    x0 = torch.load(unguided, weights_only=True)
    assert torch.equal(x0, guided_ddim(conditional_run, labels, 0.0, seed=0))
    assert (x0 - torch.load(guided, weights_only=True)).abs().max() > 1e-4  # w = 0 vs the recipe's 0.5


def test_guidance_defaults_to_zero_when_the_recipe_names_none(conditional_run, tmp_path, capsys):
    model, schedule, _ = load_checkpoint(conditional_run / "checkpoint.pt")
    dh.save_checkpoint(tmp_path / "run" / "checkpoint.pt", model, schedule, recipe={"clip_x0": True})
    assert run_command("sample", str(tmp_path / "run"), "--n", "4", *DDIM_5, "--out", str(tmp_path / "s.pt")) == 0
    assert "; guidance w = 0, labels uniformly random (seed 0))" in capsys.readouterr().out
    labels = dh.random_labels(4, 10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.load(tmp_path / "s.pt", weights_only=True), guided_ddim(conditional_run, labels, 0.0, 0))


def test_ddpm_samples_the_guided_model(conditional_run, tmp_path):
    out = tmp_path / "ddpm.pt"
    args = ["--n", "4", "--seed", "5", "--label", "7", "--quiet"]
    assert run_command("sample", str(conditional_run), *args, "--out", str(out)) == 0
    model, schedule, _ = load_checkpoint(conditional_run / "checkpoint.pt")
    guided = dh.classifier_free_guidance(model, torch.full((4,), 7, dtype=torch.int64), 0.5)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the command by default (see guided_ddim)
    try:
        generator = torch.Generator().manual_seed(5)
        expected = dh.ddpm_sample(guided, schedule, (4, 1, 8, 8), clip_x0=True, generator=generator)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(torch.load(out, weights_only=True), expected)


def test_png_grid_of_random_labels_is_sorted_by_label(conditional_run, tmp_path, capsys):
    tensor, picture = tmp_path / "s.pt", tmp_path / "s.png"
    args = ["--n", "12", "--seed", "4", *DDIM_5]
    assert run_command("sample", str(conditional_run), *args, "--out", str(tensor)) == 0
    assert run_command("sample", str(conditional_run), *args, "--out", str(picture)) == 0
    assert "labels uniformly random (seed 4), sorted by label)" in capsys.readouterr().out
    labels = dh.random_labels(12, 10, generator=torch.Generator().manual_seed(4))
    assert len(labels.unique()) > 1  # otherwise sorting shows nothing
    x = torch.load(tensor, weights_only=True)[torch.argsort(labels, stable=True)]  # the .pt keeps the drawn order
    with Image.open(picture) as image:
        pixels = torch.tensor(np.array(image.convert("L")), dtype=torch.float32)
    columns = 4  # 12 images: 4 columns of 32 + 2 px tiles
    for i in range(12):
        row, column = divmod(i, columns)
        tile = pixels[2 + 34 * row : 34 + 34 * row : 4, 2 + 34 * column : 34 + 34 * column : 4]  # (8, 8)
        expected = ((x[i, 0].clamp(-1, 1) + 1) / 2 * 255 + 0.5).clamp(0, 255).floor()
        assert (tile - expected).abs().max() <= 1, f"tile {i}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--guidance", "-0.5"], "--guidance must be a number >= 0"),
        (["--guidance", "nan"], "--guidance must be a number >= 0"),
        (["--guidance", "inf"], "--guidance must be a number >= 0"),
        (["--label", "10"], "--label must be a class in [0, 10), i.e. 0 to 9 for this checkpoint; got 10"),
        (["--label", "-1"], "--label must be a class in [0, 10), i.e. 0 to 9 for this checkpoint; got -1"),
        (["--label", "three"], "argument --label: invalid int value: 'three'"),
    ],
)
def test_conditional_usage_errors(conditional_run, tmp_path, capsys, args, message):
    assert run_command("sample", str(conditional_run), "--n", "3", *args, "--out", str(tmp_path / "s.pt")) == 2
    err = capsys.readouterr().err
    assert message in err and "usage: python -m diffusion_helpers.sample" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", [["--guidance", "0.5"], ["--label", "2"]])
@pytest.mark.parametrize("run", ["points_run", "digits_run"])
def test_guidance_and_label_refused_for_an_unconditional_checkpoint(run, option, request, tmp_path, capsys):
    folder = request.getfixturevalue(run)
    assert run_command("sample", str(folder), "--n", "3", *option, "--out", str(tmp_path / "s.pt"), "--quiet") == 2
    err = capsys.readouterr().err
    assert f"{option[0]} applies to a class-conditional checkpoint only" in err and "drop it" in err
    assert list(tmp_path.iterdir()) == []


def test_unconditional_summary_says_nothing_of_guidance(digits_run, tmp_path, capsys):
    assert run_command("sample", str(digits_run), "--n", "3", *DDIM_5, "--out", str(tmp_path / "s.pt")) == 0
    assert "guidance" not in capsys.readouterr().out


def test_help_lists_guidance_and_label(capsys):
    assert run_command("sample", "--help") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--guidance W" in out and "--label C" in out and "sorted by label" in out


def test_train_digits_then_sample_guided_end_to_end(tmp_path, capsys):
    """The digits recipe through both commands: a conditional checkpoint that carries the guidance to sample with."""
    run = tmp_path / "run"
    assert run_command("train", "digits", "--out", str(run), "--steps", "3", "--quiet") == 0
    assert "conditioned on 10 classes" in capsys.readouterr().out
    model, _, meta = load_checkpoint(run / "checkpoint.pt")
    assert model.config["num_classes"] == 10 and meta["recipe"]["guidance"] == dh.RECIPES["digits"]["guidance"]
    out = tmp_path / "digits.png"
    args = ["--n", "20", "--sampler", "ddim", "--steps", "4", "--quiet"]
    assert run_command("sample", str(run), *args, "--out", str(out)) == 0
    w = dh.RECIPES["digits"]["guidance"]
    summary = f"x_0 clipped; guidance w = {w:g}, labels uniformly random (seed 0), sorted by label)"
    assert summary in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.size == (5 * 34 + 2, 4 * 34 + 2)
