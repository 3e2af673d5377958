"""Tests of diffusion_helpers.training (Algorithm 1, checkpoints) and diffusion_helpers.recipes.

Training runs are tiny (small networks, short schedules, a few hundred steps) so that each test takes at most
a few seconds; the recipe's real quality is measured by ``benchmarks/bench_training.py``.
"""

from __future__ import annotations

import pickle

import pytest
import torch

from diffusion_helpers import ddpm_sample, make_schedule, q_sample
from diffusion_helpers.data import held_out_sets, load_dataset
from diffusion_helpers.metrics import noise_floor_ratio
from diffusion_helpers.models import MLPDenoiser
from diffusion_helpers.recipes import PLAIN_RECIPE, RECIPES, train_recipe
from diffusion_helpers.training import load_checkpoint, save_checkpoint, train

T = 100


@pytest.fixture(scope="module")
def schedule():
    return make_schedule("linear", T, beta_1=1e-3, beta_T=0.2)


def small_model(seed: int = 0) -> MLPDenoiser:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLPDenoiser(num_timesteps=T, hidden=32, layers=2, time_dim=8)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_one_step_is_algorithm_1(schedule):
    """One step with lr -> 0 leaves the weights; the loss it reports is ||eps - eps_theta(x_t, t)||^2 computed
    from the same random numbers drawn in the documented order (indices, t, eps)."""
    data = load_dataset("moons", n=1000)
    model = small_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = train(model, data, schedule, steps=1, batch_size=64, lr=1e-12, generator=seeded(3), progress=False)
    g = seeded(3)
    x0 = data[torch.randint(1000, (64,), generator=g)]
    t = torch.randint(1, T + 1, (64,), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    reference = small_model()
    reference.load_state_dict(before)
    with torch.no_grad():
        expected = (eps - reference(q_sample(x0, t, schedule, noise=eps), t)).pow(2).mean()
    assert losses.shape == (1,)
    assert float(losses[0]) == pytest.approx(float(expected), rel=1e-6)


def test_loss_falls(schedule):
    data = load_dataset("moons", n=5000)
    model = small_model()
    losses = train(model, data, schedule, steps=400, batch_size=256, lr=3e-3, generator=seeded(), progress=False)
    assert losses.shape == (400,) and torch.isfinite(losses).all()
    assert float(losses[-50:].mean()) < 0.8 * float(losses[:50].mean())


def test_short_training_beats_the_untrained_model(schedule):
    data = load_dataset("eight_gaussians", n=5000)
    held_out = held_out_sets("eight_gaussians", count=3, n=1000)

    def ratio(model) -> float:
        samples = ddpm_sample(model, schedule, (1000, 2), generator=seeded(1))
        return noise_floor_ratio(samples, held_out, projections=64, generator=seeded(2)).ratio

    model = small_model()
    untrained = ratio(model)
    train(model, data, schedule, steps=600, batch_size=256, lr=3e-3, generator=seeded(), progress=False)
    trained = ratio(model)
    # untrained: the samples fly far off (ratio in the thousands); 600 small steps: a few times the floor
    assert trained < 10 and trained < 0.01 * untrained, (trained, untrained)


def test_deterministic_for_a_seed(schedule):
    data = load_dataset("moons", n=2000)
    runs = []
    for _ in range(2):
        model = small_model()
        losses = train(
            model,
            data,
            schedule,
            steps=50,
            batch_size=32,
            lr=1e-3,
            generator=seeded(9),
            progress=False,
            lr_schedule="cosine",
            ema_decay=0.9,
        )
        runs.append((losses, model.state_dict()))
    assert torch.equal(runs[0][0], runs[1][0])
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    other = train(small_model(), data, schedule, steps=50, batch_size=32, lr=1e-3, generator=seeded(10), progress=False)
    assert not torch.equal(other, runs[0][0])


def test_ema_is_the_moving_average_of_the_weights(schedule):
    """With ema_decay d the model ends with theta_bar_N, theta_bar_1 = theta_1, theta_bar_k = d theta_bar_(k-1) +
    (1 - d) theta_k, where theta_k are the weights of the same run without averaging (recorded by a callback)."""
    data, d, steps = load_dataset("moons", n=500), 0.8, 6
    trajectory = []
    train(
        small_model(),
        data,
        schedule,
        steps=steps,
        batch_size=16,
        lr=1e-2,
        generator=seeded(4),
        progress=False,
        callback=lambda step, model: trajectory.append({k: v.clone() for k, v in model.state_dict().items()}),
        callback_every=1,
    )
    assert len(trajectory) == steps
    averaged = dict(trajectory[0])
    for weights in trajectory[1:]:
        averaged = {k: d * averaged[k] + (1 - d) * weights[k] for k in averaged}
    model = small_model()
    train(model, data, schedule, steps=steps, batch_size=16, lr=1e-2, generator=seeded(4), progress=False, ema_decay=d)
    for key, value in model.state_dict().items():
        assert torch.allclose(value, averaged[key], atol=1e-6), key


def test_callback_steps(schedule):
    calls = []
    train(
        small_model(),
        load_dataset("moons", n=100),
        schedule,
        steps=5,
        batch_size=4,
        lr=1e-3,
        generator=seeded(),
        progress=False,
        callback=lambda step, model: calls.append((step, model.training)),
        callback_every=2,
    )
    assert calls == [(2, True), (4, True), (5, False)]


def test_train_bad_input(schedule):
    data = load_dataset("moons", n=100)
    kwargs = {"steps": 2, "batch_size": 4, "lr": 1e-3, "generator": None, "progress": False}
    cases = [
        ({"model": lambda x, t: x}, TypeError, "model must be a torch.nn.Module"),
        ({"data": data.long()}, TypeError, "data must be a floating-point tensor"),
        ({"data": torch.zeros(5)}, ValueError, r"data must be a \(N, ...\) tensor"),
        ({"data": torch.full((5, 2), float("nan"))}, ValueError, "data must be finite"),
        ({"schedule": "linear"}, TypeError, "schedule must be a NoiseSchedule"),
        ({"steps": 0}, ValueError, "steps must be an int in"),
        ({"batch_size": 1.5}, TypeError, "batch_size must be an int"),
        ({"lr": 0.0}, ValueError, "lr must be in"),
        ({"lr_schedule": "linear"}, ValueError, "lr_schedule must be one of 'constant', 'cosine'"),
        ({"ema_decay": 1.0}, ValueError, "ema_decay must be in"),
        ({"generator": 0}, TypeError, "generator must be a torch.Generator"),
        ({"callback": 3}, TypeError, "callback must be callable"),
        ({"device": "gpu0"}, ValueError, "device must be"),
    ]
    for change, error, match in cases:
        args = {"model": small_model(), "data": data, "schedule": schedule, **kwargs, **change}
        with pytest.raises(error, match=match):
            train(args.pop("model"), args.pop("data"), args.pop("schedule"), **args)


# ------------------------------------------------------------------------------------------------ checkpoints


@pytest.fixture
def checkpoint(tmp_path, schedule):
    model = small_model(seed=5)
    path = save_checkpoint(
        tmp_path / "run" / "checkpoint.pt", model, schedule, recipe={"lr": 1e-3, "tags": ["a"]}, seconds=1.5
    )
    return path, model


def test_checkpoint_round_trip(checkpoint, schedule):
    path, model = checkpoint
    loaded, loaded_schedule, meta = load_checkpoint(path)
    assert type(loaded) is MLPDenoiser and loaded.config == model.config and not loaded.training
    assert loaded_schedule == schedule
    assert meta == {"recipe": {"lr": 1e-3, "tags": ["a"]}, "seconds": 1.5}
    x_t, t = torch.randn(9, 2), torch.randint(1, T + 1, (9,))
    assert torch.equal(loaded(x_t, t), model(x_t, t))
    # the same samples from both
    a = ddpm_sample(model, schedule, (20, 2), generator=seeded(0))
    b = ddpm_sample(loaded, loaded_schedule, (20, 2), generator=seeded(0))
    assert torch.equal(a, b)
    # plain data only: it loads without pickle's code path
    assert isinstance(torch.load(path, weights_only=True), dict)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at .*nothing\.pt"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_truncated_and_garbage_checkpoints(checkpoint, tmp_path):
    path, _ = checkpoint
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint\n" * 10)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    for bad in (truncated, garbage, empty):
        with pytest.raises(ValueError, match=f"{bad.name}' is not a readable checkpoint"):
            load_checkpoint(bad)


class Payload:
    """A class a pickle would import and build: weights_only loading must refuse it."""

    def __reduce__(self):
        return (print, ("code ran while loading",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_code_is_never_run(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "diffusion_helpers.checkpoint/1", "payload": Payload()}, path)
    with pytest.raises(ValueError, match="is not a readable checkpoint"):
        load_checkpoint(path)
    assert "code ran" not in capsys.readouterr().out
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError, match="is not a readable checkpoint"):
        load_checkpoint(path)
    assert "code ran" not in capsys.readouterr().out


def test_not_a_checkpoint_of_this_package(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(small_model().state_dict(), path)  # weights only: no configuration, no schedule
    with pytest.raises(ValueError, match=r"weights\.pt' is not a diffusion_helpers checkpoint"):
        load_checkpoint(path)
    torch.save([1, 2, 3], path)
    with pytest.raises(ValueError, match="is not a diffusion_helpers checkpoint"):
        load_checkpoint(path)


def test_checkpoint_from_another_model(checkpoint):
    path, _ = checkpoint
    content = torch.load(path, weights_only=True)
    content["model_config"]["hidden"] = 64  # the weights are of a 32-wide model
    torch.save(content, path)
    with pytest.raises(ValueError, match=r"checkpoint\.pt' is from another model"):
        load_checkpoint(path)
    content["model_class"] = "UNet"
    torch.save(content, path)
    with pytest.raises(ValueError, match="unknown model class 'UNet'"):
        load_checkpoint(path)


def test_save_bad_input(tmp_path, schedule):
    with pytest.raises(TypeError, match="model must be one of MLPDenoiser"):
        save_checkpoint(tmp_path / "a.pt", torch.nn.Linear(2, 2), schedule)
    with pytest.raises(TypeError, match="schedule must be a NoiseSchedule"):
        save_checkpoint(tmp_path / "a.pt", small_model(), "linear")
    with pytest.raises(TypeError, match=r"meta\['when'\] must be plain data"):
        save_checkpoint(tmp_path / "a.pt", small_model(), schedule, when=object())
    with pytest.raises(TypeError, match=r"meta\['recipe'\]\['f'\] must be plain data"):
        save_checkpoint(tmp_path / "a.pt", small_model(), schedule, recipe={"f": len})
    assert not (tmp_path / "a.pt").exists()


# ---------------------------------------------------------------------------------------------------- recipes


def test_recipes_cover_every_data_set_and_run(tmp_path):
    assert set(RECIPES) == {"swiss_roll", "moons", "eight_gaussians", "checkerboard", "digits"}
    _, schedule, losses, recipe = train_recipe("moons", steps=20, progress=False, seed=3)
    assert losses.shape == (20,) and recipe["train"]["steps"] == 20 and recipe["seed"] == 3
    assert len(schedule) == RECIPES["moons"]["schedule"]["num_timesteps"]
    assert RECIPES["moons"]["train"]["steps"] != 20  # the shared recipe is not changed by an override
    _, _, losses_again, _ = train_recipe("moons", steps=20, progress=False, seed=3)
    assert torch.equal(losses, losses_again)
    # the global generator is untouched by the seeded initialisation
    state = torch.random.get_rng_state()
    train_recipe("moons", recipe=PLAIN_RECIPE, steps=2, progress=False)
    assert torch.equal(state, torch.random.get_rng_state())
    with pytest.raises(ValueError, match="unknown data set 'spiral'"):
        train_recipe("spiral")
