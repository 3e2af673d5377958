"""Tests of diffusion_helpers.notebook: the source shown is the package's, and the checks can fail."""

from __future__ import annotations

import inspect

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import notebook


def test_show_source_shows_the_package_code() -> None:
    code = notebook.show_source(dh.q_sample)
    assert code.data == inspect.getsource(dh.q_sample)
    assert "def q_sample(" in code.data
    with pytest.raises(TypeError, match="obj"):
        notebook.show_source(len)


def test_check_accepts_right_and_rejects_wrong_answers(capsys: pytest.CaptureFixture[str]) -> None:
    schedule = dh.make_schedule("linear", 10)
    assert notebook.check(None, 1.0, name="alpha_bar") is False
    assert "not answered yet" in capsys.readouterr().out
    assert notebook.check(schedule.alpha_bar(5), schedule.alpha_bar(5)) is True
    assert "✓" in capsys.readouterr().out
    assert notebook.check(schedule.alpha_bar(5) * 1.01, schedule.alpha_bar(5)) is False
    assert "✗" in capsys.readouterr().out
    assert notebook.check(schedule.betas, schedule.betas) is True
    assert notebook.check(schedule.betas[:3], schedule.betas) is False
    assert notebook.check(torch.zeros(10), schedule.betas) is False
    assert notebook.check("linear", "linear") is True
