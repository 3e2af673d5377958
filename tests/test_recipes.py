"""Tests of diffusion_helpers.recipes for the 2-D data sets: the recipe's network in correction form.

(The digits' recipe is tested in test_recipes_digits.py.)
"""

from __future__ import annotations

import pytest
import torch

from diffusion_helpers import ddim_sample, gaussian_eps_model, load_checkpoint, save_checkpoint
from diffusion_helpers.data import DATA_STD, IMAGE_DATASETS
from diffusion_helpers.models import MLPDenoiser
from diffusion_helpers.recipes import PLAIN_RECIPE, RECIPES, build_model, train_recipe
from diffusion_helpers.schedules import make_schedule


def test_every_2d_recipe_learns_the_correction_to_the_gaussian_guess_of_its_data():
    for name, recipe in RECIPES.items():
        if name not in IMAGE_DATASETS:
            assert recipe["model"]["data_std"] == DATA_STD == 0.5, name
    assert "data_std" not in PLAIN_RECIPE["model"]  # the baseline of issue 7 stays plain


def test_build_model_hands_the_schedule_to_the_mlp_and_refuses_to_guess_it():
    schedule = make_schedule("cosine", 100)
    model = build_model(RECIPES["moons"]["model"], torch.zeros(4, 2), 100, schedule=schedule)
    assert isinstance(model, MLPDenoiser) and model.config["data_std"] == 0.5
    assert torch.equal(model.alpha_bars, schedule.alpha_bars.float())
    with pytest.raises(ValueError, match="data_std needs the schedule"):
        build_model(RECIPES["moons"]["model"], torch.zeros(4, 2), 100)


def test_an_untrained_corrected_mlp_with_zero_output_samples_like_the_exact_gaussian_predictor():
    # the starting point the correction form gives the network: DDIM (eta = 0) from the same noise gives the
    # samples of the exact predictor of N(0, 0.5^2) data, through t = T of the cosine schedule (alpha_bar_T = 2e-9)
    schedule = make_schedule("cosine", 1000)
    model = build_model(RECIPES["swiss_roll"]["model"], torch.zeros(4, 2), 1000, schedule=schedule)
    torch.nn.init.zeros_(model.output_layer.weight)
    torch.nn.init.zeros_(model.output_layer.bias)
    x = ddim_sample(model, schedule, (5_000, 2), steps=50, generator=torch.Generator().manual_seed(0))
    exact = gaussian_eps_model(schedule, 0.0, 0.5)
    reference = ddim_sample(exact, schedule, (5_000, 2), steps=50, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(x, reference, atol=1e-4)
    assert ((x.std(0) / 0.5 - 1).abs() < 0.05).all()  # N(0, 0.5^2), up to 50 steps' discretisation (about 3%)


def test_train_recipe_checkpoint_round_trip_keeps_the_correction_form(tmp_path):
    model, schedule, losses, recipe = train_recipe("moons", steps=20, progress=False)
    assert recipe["model"]["data_std"] == 0.5 and len(losses) == 20
    assert model.config["schedule"]["name"] == schedule.name == "cosine"
    loaded, loaded_schedule, _ = load_checkpoint(save_checkpoint(tmp_path / "m.pt", model, schedule, recipe=recipe))
    x_t, t = torch.randn(8, 2), torch.tensor([1, 2, 10, 100, 500, 900, 999, 1000])
    with torch.no_grad():
        assert torch.equal(loaded(x_t, t), model(x_t, t))
    assert loaded_schedule == schedule
