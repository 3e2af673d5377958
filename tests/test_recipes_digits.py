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


def test_digits_recipe_is_class_conditional_with_guidance():
    recipe = RECIPES["digits"]
    assert recipe["model"]["num_classes"] == 10  # the ten digits
    assert 0 < recipe["train"]["label_dropout"] < 1  # so the network also learns "no label", which guidance needs
    guidance = recipe["guidance"]
    assert isinstance(guidance, float) and guidance >= 0 and guidance == guidance  # a finite w >= 0
    assert recipe["clip_x0"] is True


def test_digits_recipe_trains_a_conditional_model_on_the_labels():
    model, _, losses, recipe = train_recipe("digits", steps=4, progress=False, seed=1)
    assert model.config["num_classes"] == 10 and recipe["guidance"] == RECIPES["digits"]["guidance"]
    assert losses.shape == (4,) and torch.isfinite(losses).all()
    x_t, t = torch.randn(3, 1, 8, 8), torch.tensor([1, 500, 1000])
    with torch.no_grad():
        by_label = [model(x_t, t, torch.full((3,), c, dtype=torch.int64)) for c in (0, 7)]
        no_label = model(x_t, t)
    # the labels reach the output, and "no label" is a third answer (the unconditional branch guidance subtracts)
    assert not torch.allclose(by_label[0], by_label[1]) and not torch.allclose(by_label[0], no_label)
    # it trained on the digits' labels: the embedding rows of the classes (0-9) move only when labels are given
    # (without them every image is "no label", row 10), and "no label" is trained too (label dropout)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)  # train_recipe's initial weights for seed 1
        untrained = build_model(RECIPES["digits"]["model"], torch.zeros(1, 1, 8, 8), 1000)
    moved = (model.label_embedding.weight - untrained.label_embedding.weight).abs().amax(dim=1)  # (11,)
    assert bool((moved > 0).all()), moved


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
    # what the sample command needs: the conditional model's classes and the recipe's guidance and clipping
    assert model.config["num_classes"] == 10
    assert meta["recipe"]["guidance"] == RECIPES["digits"]["guidance"] and meta["recipe"]["clip_x0"] is True


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
