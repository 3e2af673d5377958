"""Tests of diffusion_helpers.models: the MLP denoiser's shapes, its timestep embedding and its config."""

from __future__ import annotations

import math

import pytest
import torch

from diffusion_helpers import make_schedule
from diffusion_helpers.models import MLPDenoiser, SinusoidalEmbedding
from diffusion_helpers.sampling import ddpm_sample


def test_output_shape_and_dtype():
    model = MLPDenoiser()
    x_t, t = torch.randn(7, 2), torch.randint(1, 1001, (7,))
    eps = model(x_t, t)
    assert eps.shape == (7, 2) and eps.dtype == torch.float32
    three_d = MLPDenoiser(dim=3, num_timesteps=50, hidden=16, layers=1, time_dim=8)
    assert three_d(torch.randn(4, 3), torch.randint(1, 51, (4,))).shape == (4, 3)


def test_embedding_matches_its_formula():
    """[sin(w_j s), cos(w_j s)] with s = 1000 t / T and w_j = 10000^(-j/k), written out in Python floats."""
    T, dim = 200, 6
    embedding = SinusoidalEmbedding(dim, T)
    t = torch.tensor([1, 37, 200])
    got = embedding(t)
    k = dim // 2
    for row, step in enumerate(t.tolist()):
        s = 1000 * step / T
        frequencies = [10000 ** (-j / k) for j in range(k)]
        expected = [math.sin(w * s) for w in frequencies] + [math.cos(w * s) for w in frequencies]
        assert got[row].tolist() == pytest.approx(expected, abs=1e-5)


def test_embedding_tells_timesteps_apart_and_the_model_uses_t():
    embedding = SinusoidalEmbedding(32, 1000)
    e = embedding(torch.arange(1, 1001))  # (T, 32)
    distances = torch.cdist(e, e)
    assert float(distances[~torch.eye(1000, dtype=torch.bool)].min()) > 0.01  # no two timesteps look alike
    model = MLPDenoiser()
    x_t = torch.zeros(2, 2)
    out = model(x_t, torch.tensor([1, 1000]))
    assert not torch.allclose(out[0], out[1])


def test_config_rebuilds_the_same_architecture():
    model = MLPDenoiser(hidden=32, layers=2, time_dim=16, num_timesteps=100)
    assert model.config == {
        "dim": 2, "num_timesteps": 100, "hidden": 32, "layers": 2, "time_dim": 16, "activation": "relu"
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
    ],
)
def test_bad_configuration(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLPDenoiser(**kwargs)
