"""Tests of the commands ``python -m diffusion_helpers.train`` and ``python -m diffusion_helpers.sample``.

One training run in a fresh interpreter, exactly as a reader types it (with ``--steps`` to keep it short);
the rest runs the modules in-process with :mod:`runpy`, which (unlike ``import diffusion_helpers.train``)
leaves ``diffusion_helpers.train``, the training function, in place.
"""

from __future__ import annotations

import runpy
import subprocess
import sys

import pytest
import torch

import diffusion_helpers as dh
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
