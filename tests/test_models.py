"""Tests of diffusion_helpers.models: the denoisers' shapes, timestep embeddings, configs and errors.

ConvDenoiser's block is checked against the same computation written with torch.nn.functional.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from diffusion_helpers import make_schedule
from diffusion_helpers.models import ConvBlock, ConvDenoiser, MLPDenoiser, SinusoidalEmbedding
from diffusion_helpers.reverse import predict_x0
from diffusion_helpers.sampling import ddpm_sample, gaussian_eps_model


def test_output_shape_and_dtype():
    model = MLPDenoiser()
    x_t, t = torch.randn(7, 2), torch.randint(1, 1001, (7,))
    eps = model(x_t, t)
    assert eps.shape == (7, 2) and eps.dtype == torch.float32
    three_d = MLPDenoiser(dim=3, num_timesteps=50, hidden=16, layers=1, time_dim=8, x_frequencies=3)
    assert three_d(torch.randn(4, 3), torch.randint(1, 51, (4,))).shape == (4, 3)
    raw = MLPDenoiser(x_frequencies=0)  # the plain MLP on raw coordinates
    assert raw.input_layer.in_features == 2 + 32 and raw(torch.randn(3, 2), torch.tensor([1, 2, 3])).shape == (3, 2)


def test_embeddings_match_their_formulas():
    """Written out in Python floats: the timestep's waves sin/cos(w_j 1000 t / T) with w_j = 10000^(-j/k), and
    each coordinate's waves sin/cos(30 r_j x) with r_j = 100^(-j/k)."""
    T = 200
    model = MLPDenoiser(num_timesteps=T, time_dim=6, x_frequencies=2)
    t = torch.tensor([1, 37, 200])
    got = model.time_embedding(t)
    for row, step in enumerate(t.tolist()):
        w = [10000 ** (-j / 3) * 1000 / T for j in range(3)]
        expected = [math.sin(wj * step) for wj in w] + [math.cos(wj * step) for wj in w]
        assert got[row].tolist() == pytest.approx(expected, abs=1e-5)
    x = torch.tensor([[0.3, -0.7]])
    w = [30.0, 30.0 / 10]  # 30 * 100^(-j/2)
    sines = [math.sin(wj * v) for v in (0.3, -0.7) for wj in w]
    cosines = [math.cos(wj * v) for v in (0.3, -0.7) for wj in w]
    assert model.x_embedding(x)[0].tolist() == pytest.approx(sines + cosines, abs=1e-5)
    assert model.input_layer.in_features == 2 + 2 * 2 * 2 + 6
    assert SinusoidalEmbedding(0, 1.0, 10.0)(x).shape == (1, 0)  # no waves: the raw coordinates only


def test_embedding_tells_timesteps_apart_and_the_model_uses_t():
    e = MLPDenoiser().time_embedding(torch.arange(1, 1001))  # (T, 32)
    distances = torch.cdist(e, e)
    assert float(distances[~torch.eye(1000, dtype=torch.bool)].min()) > 0.01  # no two timesteps look alike
    model = MLPDenoiser()
    x_t = torch.zeros(2, 2)
    out = model(x_t, torch.tensor([1, 1000]))
    assert not torch.allclose(out[0], out[1])


def test_config_rebuilds_the_same_architecture():
    model = MLPDenoiser(hidden=32, layers=2, time_dim=16, num_timesteps=100)
    assert model.config == {
        "dim": 2,
        "num_timesteps": 100,
        "hidden": 32,
        "layers": 2,
        "time_dim": 16,
        "x_frequencies": 8,
        "activation": "relu",
        "data_std": None,
        "schedule": None,
    }
    assert isinstance(MLPDenoiser(activation="silu").activation, torch.nn.SiLU)
    twin = MLPDenoiser(**model.config)
    twin.load_state_dict(model.state_dict())  # same parameter names and shapes
    x_t, t = torch.randn(5, 2), torch.randint(1, 101, (5,))
    assert torch.equal(model(x_t, t), twin(x_t, t))
    # small enough to read and to sample with on a laptop: the default has about 40k parameters
    assert sum(p.numel() for p in MLPDenoiser().parameters()) < 60_000


def test_fits_the_sampler_contract():
    schedule = make_schedule("linear", 20, beta_1=1e-3, beta_T=0.2)
    model = MLPDenoiser(num_timesteps=20, hidden=8, layers=1, time_dim=4)
    x = ddpm_sample(model, schedule, (10, 2), generator=torch.Generator().manual_seed(0))
    assert x.shape == (10, 2) and torch.isfinite(x).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dim": 0}, ValueError, "dim must be an int in"),
        ({"hidden": 2.5}, TypeError, "hidden must be an int"),
        ({"layers": 0}, ValueError, "layers must be an int in"),
        ({"time_dim": 7}, ValueError, "time_dim must be even"),
        ({"num_timesteps": 0}, ValueError, "num_timesteps must be an int in"),
        ({"activation": "tanh"}, ValueError, "activation must be one of 'relu', 'silu'"),
        ({"x_frequencies": -1}, ValueError, "x_frequencies must be an int in"),
    ],
)
def test_bad_configuration(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLPDenoiser(**kwargs)


# ---- MLPDenoiser(data_std=...): the correction to the Gaussian guess ---------------------------------------------


def corrected_and_plain(T=50, sigma_d=0.5):
    """An MLP in the correction form, and the plain MLP with the same weights (whose output is its F)."""
    schedule = make_schedule("cosine", T)
    torch.manual_seed(0)
    model = MLPDenoiser(num_timesteps=T, hidden=16, layers=2, time_dim=8, data_std=sigma_d, schedule=schedule)
    plain = MLPDenoiser(num_timesteps=T, hidden=16, layers=2, time_dim=8)
    plain.load_state_dict(model.state_dict())  # the same parameters: the schedule is not in the state
    return model, plain, schedule


def test_correction_form_with_zero_output_is_the_exact_gaussian_predictor():
    model, _, schedule = corrected_and_plain()
    torch.nn.init.zeros_(model.output_layer.weight)
    torch.nn.init.zeros_(model.output_layer.bias)
    x_t, t = 3 * torch.randn(200, 2, generator=torch.Generator().manual_seed(1)), torch.arange(1, 201) % 50 + 1
    expected = gaussian_eps_model(schedule, 0.0, 0.5)(x_t.double(), t)  # the reference, in float64
    assert torch.allclose(model(x_t, t).double(), expected, atol=1e-5)


def test_correction_form_adds_the_scaled_network_output_and_bounds_its_effect_on_x0():
    model, plain, schedule = corrected_and_plain()
    x_t, t = torch.randn(500, 2, generator=torch.Generator().manual_seed(2)), torch.arange(500) % 50 + 1
    alpha_bar_t = schedule.alpha_bars[t - 1][:, None]  # float64, independent of the model's buffer
    v_t = alpha_bar_t * 0.25 + 1 - alpha_bar_t
    eps_gaussian = gaussian_eps_model(schedule, 0.0, 0.5)(x_t.double(), t)
    with torch.no_grad():
        correction, eps = plain(x_t, t).double(), model(x_t, t).double()  # F, and the model's eps
    assert torch.allclose(eps, eps_gaussian + 0.5 * (alpha_bar_t / v_t).sqrt() * correction, atol=1e-5)
    # Eq. 15: F moves x0-hat by at most sigma_d |F|, even at t = T where sqrt(alpha_bar_T) is tiny
    x0_hat = predict_x0(x_t.double(), t, eps, schedule)
    x0_gaussian = predict_x0(x_t.double(), t, eps_gaussian, schedule)
    assert ((x0_hat - x0_gaussian).abs() <= 0.5 * correction.abs() + 1e-4).all()
    assert schedule.alpha_bar(50) < 1e-6  # (the cosine schedule's last step: a plain output's error x 1000+)


def test_correction_form_rebuilds_from_its_config_and_checkpoints(tmp_path):
    from diffusion_helpers.training import load_checkpoint, save_checkpoint

    model, _, schedule = corrected_and_plain()
    assert model.config["data_std"] == 0.5 and model.config["schedule"]["name"] == "cosine"
    assert set(model.state_dict()) == set(MLPDenoiser(num_timesteps=50, hidden=16, layers=2, time_dim=8).state_dict())
    twin = MLPDenoiser(**model.config)  # the schedule comes back from its state_dict()
    twin.load_state_dict(model.state_dict())
    x_t, t = torch.randn(5, 2), torch.tensor([1, 10, 25, 49, 50])
    assert torch.equal(model(x_t, t), twin(x_t, t))
    loaded, loaded_schedule, _ = load_checkpoint(save_checkpoint(tmp_path / "c.pt", model, schedule))
    assert torch.equal(loaded(x_t, t), model(x_t, t)) and loaded_schedule == schedule


def test_a_config_without_the_correction_keys_still_builds_the_plain_mlp():
    old_config = {
        "dim": 2,
        "num_timesteps": 100,
        "hidden": 32,
        "layers": 2,
        "time_dim": 16,
        "x_frequencies": 8,
        "activation": "relu",
    }  # a checkpoint saved before data_std existed
    model = MLPDenoiser(**old_config)
    assert model.config["data_std"] is None and not hasattr(model, "alpha_bars")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"data_std": 0.5}, ValueError, "data_std needs the schedule"),
        ({"data_std": 0.0, "schedule": make_schedule("cosine", 1000)}, ValueError, "data_std must be"),
        ({"data_std": "0.5", "schedule": make_schedule("cosine", 1000)}, TypeError, "data_std must be a real number"),
        ({"data_std": 0.5, "schedule": make_schedule("cosine", 100)}, ValueError, "schedule has T = 100 steps"),
        ({"data_std": 0.5, "schedule": "cosine"}, TypeError, "schedule must be a NoiseSchedule"),
    ],
)
def test_bad_correction_configuration(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLPDenoiser(**kwargs)


# ---- ConvDenoiser ------------------------------------------------------------------------------------------------


def small_conv(**kwargs) -> ConvDenoiser:
    torch.manual_seed(0)
    return ConvDenoiser(**{"width": 8, "time_dim": 8, "groups": 4, "num_timesteps": 50, **kwargs})


def test_conv_output_shape_and_sample_shape():
    model = small_conv()
    x_t, t = torch.randn(5, 1, 8, 8), torch.randint(1, 51, (5,))
    eps = model(x_t, t)
    assert eps.shape == (5, 1, 8, 8) and eps.dtype == torch.float32
    assert model.sample_shape(7) == (7, 1, 8, 8)
    rgb = small_conv(channels=3, image_size=16)
    assert rgb(torch.randn(2, 3, 16, 16), torch.tensor([1, 50])).shape == (2, 3, 16, 16)
    assert rgb.sample_shape(1) == (1, 3, 16, 16)


def test_conv_uses_t_and_every_pixel():
    model = small_conv()
    x_t = torch.zeros(2, 1, 8, 8)
    out = model(x_t, torch.tensor([1, 50]))
    assert not torch.allclose(out[0], out[1])
    # a change in one corner pixel reaches the opposite corner (the receptive field covers the image)
    x = torch.zeros(1, 1, 8, 8, requires_grad=True)
    model(x, torch.tensor([10]))[0, 0, 7, 7].backward()
    assert float(x.grad[0, 0, 0, 0].abs()) > 0


def test_conv_block_matches_its_formula():
    """x + conv2(silu(gn2(conv1(silu(gn1(x)))) (1 + scale) + shift)), (scale, shift) = W silu(emb) + b, in F."""
    torch.manual_seed(1)
    block = ConvBlock(4, 8, time_dim=6, groups=2)
    x, emb = torch.randn(3, 4, 5, 5), torch.randn(3, 6)
    h = F.silu(F.group_norm(x, 2, block.norm1.weight, block.norm1.bias))
    h = F.conv2d(h, block.conv1.weight, block.conv1.bias, padding=1)
    projected = F.silu(emb) @ block.time_projection.weight.T + block.time_projection.bias  # (3, 16)
    scale, shift = projected[:, :8, None, None], projected[:, 8:, None, None]
    h = F.silu(F.group_norm(h, 2, block.norm2.weight, block.norm2.bias) * (1 + scale) + shift)
    h = F.conv2d(h, block.conv2.weight, block.conv2.bias, padding=1)
    expected = F.conv2d(x, block.skip.weight, block.skip.bias) + h
    torch.testing.assert_close(block(x, emb), expected)
    same = ConvBlock(4, 4, time_dim=6, groups=2)
    assert isinstance(same.skip, torch.nn.Identity)


def test_conv_time_embedding_is_the_sinusoidal_one():
    model = small_conv(num_timesteps=200, time_dim=8)
    t = torch.tensor([3, 150])
    torch.testing.assert_close(model.time_embedding[0](t), SinusoidalEmbedding(4, 1000 / 200, 10_000)(t))


def test_conv_config_rebuilds_the_same_architecture_and_checkpoints_it(tmp_path):
    from diffusion_helpers.training import load_checkpoint, save_checkpoint

    model = small_conv()
    assert model.config == {
        "channels": 1,
        "image_size": 8,
        "num_timesteps": 50,
        "width": 8,
        "time_dim": 8,
        "groups": 4,
        "blocks": 2,
        "num_classes": None,
    }
    twin = ConvDenoiser(**model.config)
    twin.load_state_dict(model.state_dict())
    x_t, t = torch.randn(4, 1, 8, 8), torch.randint(1, 51, (4,))
    assert torch.equal(model(x_t, t), twin(x_t, t))
    schedule = make_schedule("cosine", 50)
    path = save_checkpoint(tmp_path / "c.pt", model, schedule, dataset="digits")
    loaded, loaded_schedule, meta = load_checkpoint(path)
    assert len(loaded_schedule) == 50
    assert type(loaded) is ConvDenoiser and loaded.config == model.config and meta == {"dataset": "digits"}
    assert torch.equal(loaded(x_t, t), model(x_t, t))


def test_conv_fits_the_sampler_contract():
    schedule = make_schedule("linear", 20, beta_1=1e-3, beta_T=0.2)
    model = small_conv(num_timesteps=20)
    x = ddpm_sample(model, schedule, model.sample_shape(6), generator=torch.Generator().manual_seed(0))
    assert x.shape == (6, 1, 8, 8) and torch.isfinite(x).all()


def test_conv_asked_for_2d_points_says_so():
    model = small_conv()
    with pytest.raises(ValueError, match=r"x_t must be a batch of images of shape \(B, 1, 8, 8\).*2-D points"):
        model(torch.randn(10, 2), torch.randint(1, 51, (10,)))
    schedule = make_schedule("linear", 50)
    with pytest.raises(ValueError, match="2-D points"):
        ddpm_sample(model, schedule, (10, 2))
    with pytest.raises(ValueError, match=r"got shape \(3, 3, 8, 8\)"):
        model(torch.randn(3, 3, 8, 8), torch.tensor([1, 2, 3]))  # wrong channels
    with pytest.raises(ValueError, match=r"got shape \(3, 1, 16, 16\)"):
        model(torch.randn(3, 1, 16, 16), torch.tensor([1, 2, 3]))  # wrong size


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"channels": 0}, ValueError, "channels must be an int in"),
        ({"image_size": 7}, ValueError, "image_size must be even"),
        ({"width": 12, "groups": 8}, ValueError, "width must be a multiple of groups"),
        ({"time_dim": 7}, ValueError, "time_dim must be even"),
        ({"width": 2.0}, TypeError, "width must be an int"),
        ({"num_timesteps": 0}, ValueError, "num_timesteps must be an int in"),
    ],
)
def test_conv_bad_configuration(kwargs, error, match):
    with pytest.raises(error, match=match):
        ConvDenoiser(**kwargs)
