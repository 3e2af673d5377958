r"""Tests of class-conditional models and classifier-free guidance (diffusion_helpers.guidance).

The guided noise of Eq. 6 is checked against an independent computation: on a 1-D mixture of two Gaussian
classes everything is exact, and $-\sqrt{1-\bar\alpha_t}\,\nabla_{x_t}\log\big(p(x_t\mid c)^{1+w}\,p(x_t)^{-w}\big)$
is computed with autograd from ``torch.distributions`` log-densities. Conditional training is checked for the
documented order of its random numbers, for the share of dropped labels, and end to end on two classes.
"""

from __future__ import annotations

import math

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import classifier_free_guidance, ddpm_sample, make_schedule, q_sample, random_labels
from diffusion_helpers.models import NO_LABEL, ConvDenoiser
from diffusion_helpers.sampling import gaussian_eps_model
from diffusion_helpers.training import load_checkpoint, save_checkpoint, train

T = 100
MEANS, STDS, WEIGHTS = (-1.5, 1.0), (0.3, 0.5), (0.3, 0.7)  # class 0 and class 1 of the 1-D mixture


@pytest.fixture(scope="module")
def schedule():
    return make_schedule("cosine", T)


def mixture_model(schedule):
    r"""The exact $\varepsilon(x_t, t, c)$ and $\varepsilon(x_t, t, \varnothing)$ of the mixture, (B, 1).

    Per class the exact noise is :func:`gaussian_eps_model`'s; without a label it is the posterior-weighted
    average $\sum_c p(c \mid x_t)\,\varepsilon_c(x_t)$, with $p(c \mid x_t) \propto \pi_c\,N(x_t; \sqrt{\bar\alpha_t}
    \mu_c, \bar\alpha_t\sigma_c^2 + 1 - \bar\alpha_t)$.
    """
    per_class = [gaussian_eps_model(schedule, m, s) for m, s in zip(MEANS, STDS)]
    alpha_bars = torch.cat([torch.ones(1, dtype=torch.float64), schedule.alpha_bars])

    def model(x_t, t, labels=None):
        eps = torch.stack([m(x_t, t) for m in per_class])  # (2, B, 1)
        ab = alpha_bars[t].view(-1, 1)
        log_joint = torch.stack(
            [
                math.log(p) + torch.distributions.Normal(ab.sqrt() * m, (ab * s**2 + 1 - ab).sqrt()).log_prob(x_t)
                for m, s, p in zip(MEANS, STDS, WEIGHTS)
            ]
        )  # (2, B, 1): log pi_c + log p(x_t | c)
        unconditional = (log_joint.softmax(dim=0) * eps).sum(dim=0)
        if labels is None:
            return unconditional
        picked = eps.gather(0, labels.clamp(min=0).view(1, -1, 1)).squeeze(0)
        return torch.where((labels == NO_LABEL).view(-1, 1), unconditional, picked)

    return model


def log_density(x_t, ab, c=None):
    """log p(x_t | c), or log p(x_t) if c is None, of the mixture noised to alpha_bar_t = ab."""
    parts = [
        math.log(p) + torch.distributions.Normal(ab.sqrt() * m, (ab * s**2 + 1 - ab).sqrt()).log_prob(x_t)
        for m, s, p in zip(MEANS, STDS, WEIGHTS)
    ]
    if c is None:
        return torch.logsumexp(torch.stack(parts), dim=0)
    return parts[c] - math.log(WEIGHTS[c])


@pytest.mark.parametrize("w", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("c", [0, 1])
@pytest.mark.parametrize("t", [5, 50, 95])
def test_guided_noise_is_the_score_of_the_tilted_density(schedule, w, c, t):
    r"""Eq. 6 equals $-\sqrt{1-\bar\alpha_t}\,\nabla\log(p(x_t\mid c)^{1+w} p(x_t)^{-w})$, by autograd."""
    x_t = torch.linspace(-3, 3, 41, dtype=torch.float64).view(-1, 1)
    guided = classifier_free_guidance(mixture_model(schedule), torch.full((41,), c), w)
    eps = guided(x_t, torch.full((41,), t))
    ab = schedule.alpha_bars[t - 1]
    x = x_t.clone().requires_grad_(True)
    tilted = (1 + w) * log_density(x, ab, c) - w * log_density(x, ab)
    (score,) = torch.autograd.grad(tilted.sum(), x)
    torch.testing.assert_close(eps, -(1 - ab).sqrt() * score, rtol=1e-9, atol=1e-9)


def test_no_guidance_is_the_conditional_model_called_once(schedule):
    calls = []
    exact = mixture_model(schedule)

    def counting(x_t, t, labels=None):
        calls.append(labels)
        return exact(x_t, t, labels)

    labels = torch.tensor([0, 1, 1])
    x_t, t = torch.randn(3, 1, dtype=torch.float64), torch.full((3,), 40)
    eps = classifier_free_guidance(counting, labels, 0.0)(x_t, t)
    assert len(calls) == 1 and torch.equal(calls[0], labels)
    torch.testing.assert_close(eps, exact(x_t, t, labels))
    classifier_free_guidance(counting, labels, 1.0)(x_t, t)
    assert len(calls) == 3 and calls[2] is None  # with w > 0: once with the labels, once without


def test_one_class_is_not_changed_by_guidance(schedule):
    """With a single class p(x | c) = p(x): the tilt p(c | x)^w is constant and guidance changes nothing."""
    exact = gaussian_eps_model(schedule, 0.7, 0.4)
    x_t, t = torch.randn(5, 1, dtype=torch.float64), torch.full((5,), 30)
    eps = classifier_free_guidance(lambda x, s, labels=None: exact(x, s), torch.zeros(5, dtype=torch.int64), 3.0)
    torch.testing.assert_close(eps(x_t, t), exact(x_t, t))


def test_unguided_sampling_draws_each_class(schedule):
    """w = 0 with DDPM samples p(x | c): each class's mean and spread, Monte Carlo (4,000 samples per class)."""
    n = 4000
    labels = torch.cat([torch.zeros(n, dtype=torch.int64), torch.ones(n, dtype=torch.int64)])
    guided = classifier_free_guidance(mixture_model(schedule), labels, 0.0)
    x = ddpm_sample(
        guided, schedule, (2 * n, 1), dtype=torch.float64, generator=torch.Generator().manual_seed(0), progress=False
    )
    for c in (0, 1):
        drawn = x[labels == c, 0]
        # standard errors: s / sqrt(n) <= 0.008 for the mean, s / sqrt(2 n) <= 0.006 for the std
        assert float(drawn.mean()) == pytest.approx(MEANS[c], abs=0.04)
        assert float(drawn.std()) == pytest.approx(STDS[c], abs=0.03)


def test_guidance_sharpens_towards_the_class(schedule):
    """Guidance pushes samples away from the other class: with w = 3 fewer class-1 samples stray below 0."""
    n = 4000
    labels = torch.ones(n, dtype=torch.int64)
    strays = []
    for w in (0.0, 3.0):
        guided = classifier_free_guidance(mixture_model(schedule), labels, w)
        x = ddpm_sample(
            guided, schedule, (n, 1), dtype=torch.float64, generator=torch.Generator().manual_seed(1), progress=False
        )
        strays.append(float((x < 0).double().mean()))
    assert strays[1] < strays[0]


def test_guidance_bad_input(schedule):
    model = mixture_model(schedule)
    with pytest.raises(TypeError, match="model must be callable"):
        classifier_free_guidance("net", torch.tensor([0]), 1.0)
    with pytest.raises(TypeError, match="labels must be an int64 tensor"):
        classifier_free_guidance(model, torch.tensor([0.0]), 1.0)
    with pytest.raises(TypeError, match="labels must be an int64 tensor"):
        classifier_free_guidance(model, [0, 1], 1.0)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        classifier_free_guidance(model, torch.zeros(2, 2, dtype=torch.int64), 1.0)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        classifier_free_guidance(model, torch.zeros(0, dtype=torch.int64), 1.0)
    with pytest.raises(ValueError, match="guidance needs a label"):
        classifier_free_guidance(model, torch.tensor([0, NO_LABEL]), 1.0)
    with pytest.raises(ValueError, match=r"w must be in \[0, inf\)"):
        classifier_free_guidance(model, torch.tensor([0]), -0.5)
    with pytest.raises(TypeError, match="w must be a real number"):
        classifier_free_guidance(model, torch.tensor([0]), "strong")
    guided = classifier_free_guidance(model, torch.tensor([0, 1]), 1.0)
    with pytest.raises(ValueError, match="x_t holds 3 images but labels 2"):
        guided(torch.zeros(3, 1, dtype=torch.float64), torch.full((3,), 10))
    # the samplers report a batch of the wrong size in their own words
    with pytest.raises(ValueError, match="labels"):
        ddpm_sample(guided, schedule, (3, 1), progress=False)


def test_random_labels():
    labels = random_labels(20_000, 10, generator=torch.Generator().manual_seed(0))
    assert labels.dtype == torch.int64 and labels.shape == (20_000,)
    counts = labels.bincount(minlength=10)
    assert len(counts) == 10 and int(counts.min()) > 1800  # 2,000 expected each, standard deviation 42
    torch.testing.assert_close(labels, random_labels(20_000, 10, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="n must be"):
        random_labels(0, 10)
    with pytest.raises(ValueError, match="num_classes must be"):
        random_labels(5, 0)
    with pytest.raises(TypeError, match="generator"):
        random_labels(5, 10, generator=0)


# ---- the class-conditional ConvDenoiser -------------------------------------------------------------------------


def conditional_conv(**kwargs) -> ConvDenoiser:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ConvDenoiser(**{"width": 8, "time_dim": 8, "groups": 4, "num_timesteps": 50, "num_classes": 3, **kwargs})


def test_conditional_conv_hears_the_label():
    model = conditional_conv()
    with torch.no_grad():  # a fresh label embedding is random, so each label gives a different output
        model.label_embedding.weight.normal_()
    x_t, t = torch.randn(4, 1, 8, 8), torch.tensor([1, 10, 20, 50])
    outputs = [model(x_t, t, torch.full((4,), c)) for c in range(3)]
    assert not torch.allclose(outputs[0], outputs[1]) and not torch.allclose(outputs[1], outputs[2])
    none = model(x_t, t)
    torch.testing.assert_close(none, model(x_t, t, torch.full((4,), NO_LABEL)))
    torch.testing.assert_close(none, model(x_t, t, None))
    # each image hears its own label: a mixed batch equals the rows of the single-label batches
    mixed = model(x_t, t, torch.tensor([0, 2, NO_LABEL, 1]))
    for i, out in enumerate([outputs[0][0], outputs[2][1], none[2], outputs[1][3]]):
        torch.testing.assert_close(mixed[i], out)


def test_unconditional_conv_is_unchanged_and_refuses_labels():
    model = conditional_conv(num_classes=None)
    assert not hasattr(model, "label_embedding") and model.config["num_classes"] is None
    with pytest.raises(ValueError, match="unconditional"):
        model(torch.zeros(2, 1, 8, 8), torch.tensor([1, 2]), torch.tensor([0, 1]))


def test_a_conv_config_saved_before_labels_builds_the_unconditional_net(tmp_path):
    """Digit checkpoints saved before num_classes existed hold a config without it: they still load."""
    model = conditional_conv(num_classes=None)
    old_config = {key: value for key, value in model.config.items() if key != "num_classes"}
    rebuilt = ConvDenoiser(**old_config)
    rebuilt.load_state_dict(model.state_dict())
    assert rebuilt.config["num_classes"] is None and not hasattr(rebuilt, "label_embedding")
    x_t, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 9])
    torch.testing.assert_close(rebuilt(x_t, t), model(x_t, t))


def test_conditional_conv_bad_labels():
    model = conditional_conv()
    x_t, t = torch.zeros(2, 1, 8, 8), torch.tensor([1, 2])
    with pytest.raises(ValueError, match=r"one class in \[0, 3\) or -1"):
        model(x_t, t, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"one class in \[0, 3\) or -1"):
        model(x_t, t, torch.tensor([-2, 0]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        model(x_t, t, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="empty"):
        model(x_t, t, torch.zeros(0, dtype=torch.int64))
    with pytest.raises(TypeError, match="int64"):
        model(x_t, t, torch.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="int64"):
        model(x_t, t, [0, 1])
    with pytest.raises(ValueError, match="num_classes"):
        conditional_conv(num_classes=0)


def test_conditional_checkpoint_round_trip(tmp_path):
    model, schedule = conditional_conv().eval(), make_schedule("cosine", 50)
    path = save_checkpoint(tmp_path / "c.pt", model, schedule)
    loaded, _, _ = load_checkpoint(path)
    assert loaded.config["num_classes"] == 3
    x_t, t, labels = torch.randn(3, 1, 8, 8), torch.tensor([5, 6, 7]), torch.tensor([2, 0, NO_LABEL])
    torch.testing.assert_close(loaded(x_t, t, labels), model(x_t, t, labels))


# ---- conditional training (Ho & Salimans 2022, Algorithm 1) -----------------------------------------------------


def test_one_conditional_step_draws_in_the_documented_order():
    """The loss of one step is ||eps - eps_theta(x_t, t, c)||^2 with the labels dropped by a uniform draw made
    after the indices, t and eps (so the unconditional run's random numbers are unchanged)."""
    schedule = make_schedule("cosine", 50)
    data, labels = dh.load_dataset("digits", "train", n=200, labels=True)
    model = conditional_conv(num_classes=10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = train(
        model, data, schedule, steps=1, batch_size=32, lr=1e-12, generator=torch.Generator().manual_seed(3),
        progress=False, labels=labels, label_dropout=0.5,
    )  # fmt: skip
    g = torch.Generator().manual_seed(3)
    index = torch.randint(200, (32,), generator=g)
    t = torch.randint(1, 51, (32,), generator=g)
    eps = torch.randn(data[index].shape, generator=g)
    dropped = torch.rand(32, generator=g) < 0.5
    c = labels[index].masked_fill(dropped, NO_LABEL)
    assert 0 < int(dropped.sum()) < 32
    reference = conditional_conv(num_classes=10)
    reference.load_state_dict(before)
    with torch.no_grad():
        expected = (eps - reference(q_sample(data[index], t, schedule, noise=eps), t, c)).pow(2).mean()
    assert float(losses[0]) == pytest.approx(float(expected), rel=1e-6)


def test_labels_are_dropped_at_the_given_rate():
    """A model that records what it hears: about label_dropout of the labels are "no label", the rest are the
    labels of the images drawn (each image's pixels hold its class, so the model can check)."""
    heard, mismatched = [], []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x_t, t, labels=None):
            heard.append(labels.clone())
            kept = labels != NO_LABEL
            mismatched.append(int((self.classes[kept] != labels[kept]).sum()))
            return x_t * self.weight

    schedule = make_schedule("cosine", 10)
    labels = torch.arange(300) % 3
    data = labels.double().view(-1, 1, 1, 1).expand(300, 1, 2, 2).float().clone()
    recorder = Recorder()
    original_q_sample = dh.training.q_sample

    def spying_q_sample(x0, t, schedule, noise):  # note each batch's classes before the noise hides them
        recorder.classes = x0[:, 0, 0, 0].round().long()
        return original_q_sample(x0, t, schedule, noise=noise)

    dh.training.q_sample = spying_q_sample
    try:
        train(
            recorder, data, schedule, steps=100, batch_size=100, lr=1e-3, generator=torch.Generator().manual_seed(0),
            progress=False, labels=labels, label_dropout=0.3,
        )  # fmt: skip
    finally:
        dh.training.q_sample = original_q_sample
    share = float((torch.cat(heard) == NO_LABEL).double().mean())
    assert share == pytest.approx(0.3, abs=0.02)  # 10,000 draws: standard deviation 0.005
    assert sum(mismatched) == 0


def test_conditional_training_learns_the_classes():
    """Two classes of flat images (-0.5 and +0.5): after a short training, guided samples of each label land
    on their class, while the "no label" model draws both classes."""
    schedule = make_schedule("cosine", 50)
    labels = torch.arange(400) % 2
    data = (labels.float() - 0.5).view(-1, 1, 1, 1).expand(400, 1, 8, 8).clone()
    data = data + 0.05 * torch.randn(data.shape, generator=torch.Generator().manual_seed(0))
    model = conditional_conv(num_classes=2)
    train(
        model, data, schedule, steps=300, batch_size=64, lr=3e-3, generator=torch.Generator().manual_seed(0),
        progress=False, labels=labels, label_dropout=0.2,
    )  # fmt: skip
    asked = torch.arange(200) % 2
    guided = classifier_free_guidance(model, asked, 1.0)
    shape, clip = (200, 1, 8, 8), {"clip_x0": True, "progress": False}
    means = ddpm_sample(guided, schedule, shape, generator=torch.Generator().manual_seed(1), **clip).mean(dim=(1, 2, 3))
    assert float(means[asked == 0].mean()) == pytest.approx(-0.5, abs=0.15)
    assert float(means[asked == 1].mean()) == pytest.approx(0.5, abs=0.15)
    assert float(((means > 0).long() == asked).double().mean()) > 0.95
    unlabelled = ddpm_sample(model, schedule, shape, generator=torch.Generator().manual_seed(1), **clip)
    assert 0.05 < float((unlabelled.mean(dim=(1, 2, 3)) > 0).double().mean()) < 0.95  # a weak branch: 1 step in 5


def test_conditional_training_bad_input():
    schedule = make_schedule("cosine", 10)
    data = torch.zeros(6, 1, 8, 8)
    model = conditional_conv(num_classes=2)
    run = dict(steps=1, batch_size=2, lr=1e-3, generator=None, progress=False)
    with pytest.raises(TypeError, match="labels must be an int64 tensor"):
        train(model, data, schedule, labels=torch.zeros(6), **run)
    with pytest.raises(ValueError, match=r"one class >= 0 per data point, shape \(6,\)"):
        train(model, data, schedule, labels=torch.zeros(5, dtype=torch.int64), **run)
    with pytest.raises(ValueError, match="one class >= 0"):
        train(model, data, schedule, labels=torch.full((6,), -1), **run)
    with pytest.raises(ValueError, match=r"label_dropout must be in \[0, 1\)"):
        train(model, data, schedule, labels=torch.zeros(6, dtype=torch.int64), label_dropout=1.0, **run)
