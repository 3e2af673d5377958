"""Tests of the digits recipe: the recipe names its network class, train_recipe builds it, the command runs it.

The recipe's quality (the noise-floor ratio, the classifier's confident share, the time) is measured by
``benchmarks/bench_digits.py``, not here: a full run takes a minute.
"""

from __future__ import annotations

import runpy
import sys

import pytest
import torch

from diffusion_helpers.models import ConvDenoiser, MLPDenoiser
from diffusion_helpers.recipes import PLAIN_RECIPE, RECIPES, build_model, train_recipe
from diffusion_helpers.training import load_checkpoint


def test_build_model_reads_the_class_and_sizes_it_for_the_data():
    digits = torch.zeros(4, 1, 8, 8)
    conv = build_model({"class": "ConvDenoiser", "width": 16, "groups": 4}, digits, 100)
    assert type(conv) is ConvDenoiser and conv.config["image_size"] == 8 and conv.config["channels"] == 1
    assert conv.config["num_timesteps"] == 100 and conv.config["width"] == 16
    # recipes written before the conv net name no class: the MLP, as before
    mlp = build_model(PLAIN_RECIPE["model"], torch.zeros(4, 2), 1000)
    assert type(mlp) is MLPDenoiser and mlp.config["dim"] == 2
    assert "class" not in PLAIN_RECIPE["model"]  # not changed by the call


def test_build_model_bad_input():
    with pytest.raises(ValueError, match=r"a ConvDenoiser trains on \(N, C, H, H\) square images.*\(4, 2\)"):
        build_model({"class": "ConvDenoiser"}, torch.zeros(4, 2), 100)
    with pytest.raises(ValueError, match=r"a MLPDenoiser trains on \(N, D\) points.*\(4, 1, 8, 8\)"):
        build_model({"class": "MLPDenoiser"}, torch.zeros(4, 1, 8, 8), 100)
    unknown = "unknown model class 'UNet' in the recipe; valid classes are: MLPDenoiser, ConvDenoiser"
    with pytest.raises(ValueError, match=unknown):
        build_model({"class": "UNet"}, torch.zeros(4, 1, 8, 8), 100)


def test_digits_recipe_trains_a_conv_net_reproducibly():
    assert RECIPES["digits"]["model"]["class"] == "ConvDenoiser"
    model, schedule, losses, recipe = train_recipe("digits", steps=3, progress=False, seed=2)
    assert type(model) is ConvDenoiser and not model.training
    assert model.sample_shape(5) == (5, 1, 8, 8) and len(schedule) == RECIPES["digits"]["schedule"]["num_timesteps"]
    assert losses.shape == (3,) and recipe["dataset"] == "digits" and recipe["seed"] == 2
    _, _, losses_again, _ = train_recipe("digits", steps=3, progress=False, seed=2)
    assert torch.equal(losses, losses_again)


def test_train_command_on_digits(tmp_path, capsys):
    old_argv, old_threads = sys.argv, torch.get_num_threads()
    sys.argv = ["diffusion_helpers.train", "digits", "--out", str(tmp_path), "--steps", "2", "--quiet"]
    try:
        runpy.run_module("diffusion_helpers.train", run_name="__main__")
    except SystemExit as exit_:
        assert not exit_.code
    finally:
        sys.argv = old_argv
        torch.set_num_threads(old_threads)
    out = capsys.readouterr().out
    assert "ConvDenoiser" in out and "MLP" not in out
    model, _, meta = load_checkpoint(tmp_path / "checkpoint.pt")
    assert type(model) is ConvDenoiser and meta["recipe"]["dataset"] == "digits"


def test_train_command_refuses_the_plain_recipe_for_digits(tmp_path, capsys):
    old_argv = sys.argv
    sys.argv = ["diffusion_helpers.train", "digits", "--out", str(tmp_path), "--recipe", "plain"]
    try:
        with pytest.raises(SystemExit) as exit_:
            runpy.run_module("diffusion_helpers.train", run_name="__main__")
    finally:
        sys.argv = old_argv
    assert exit_.value.code == 2
    assert "--recipe plain is the 2-D baseline (an MLP on points); drop it for digits" in capsys.readouterr().err
