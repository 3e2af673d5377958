"""Tests of diffusion_helpers.exercises: every expected value against an independent computation, every
diagnosis on the mistake it describes (and never on the right answer), and the notebook convention."""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF

from diffusion_helpers import example_image, exercises
from diffusion_helpers.exercises import cells

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Each exercise's expected value, computed without the package's code for it: plain-Python loops over the
# paper's formulas, torchvision for the image, closed forms.


def _linear_betas(T: int, beta_1: float = 1e-4, beta_T: float = 0.02) -> list[float]:
    return [beta_1 + (t - 1) / (T - 1) * (beta_T - beta_1) for t in range(1, T + 1)]


def _image(size: int = 128) -> np.ndarray:
    # the picture itself is the package's (its crop is tested in test_images); the scaling is torchvision's
    return (TF.to_tensor(example_image(size)) * 2 - 1).double().numpy()  # (3, size, size) in [-1, 1]


def _first(predicate: Callable[[int], bool], start: int = 1) -> int:
    t = start
    while not predicate(t):
        t += 1
    return t


def _amplitude(t: int, betas: list[float]) -> float:
    return math.sqrt(math.prod(1 - b for b in betas[:t]))


def _pixel_variances() -> list[float]:
    v, values = float(_image().var(ddof=1)), []
    for beta in _linear_betas(1000):
        v = (1 - beta) * v + beta  # Var(sqrt(alpha) X + sqrt(beta) Z) for independent X, Z
        values.append(v)
    return values


def _x1_by_hand() -> torch.Tensor:
    eps_1 = torch.randn((3, 128, 128), generator=torch.Generator().manual_seed(7))
    return math.sqrt(1 - 1e-4) * torch.from_numpy(_image()) + math.sqrt(1e-4) * eps_1.double()


def _cosine_alpha_bar(t: int, T: int = 1000, s: float = 0.008) -> float:
    f = lambda u: math.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    return f(t) / f(0)


def _linear_snr(t: int) -> float:
    alpha_bar = _amplitude(t, _linear_betas(1000)) ** 2
    return alpha_bar / (1 - alpha_bar)


def _leak_letter() -> str:
    shift = lambda size: abs(_image(size).mean()) * math.sqrt(_image(size).size)  # noqa: E731  (alpha_bar_T fixed)
    return {1: "a", 2: "b", 4: "c"}[round(shift(256) / shift(128))]


INDEPENDENT: dict[str, Callable[[], Any]] = {
    "00-pixel-to-x": lambda: 2 * 200 / 255 - 1,
    "00-x-to-pixels": lambda: (math.floor((0.3 + 1) * 127.5 + 0.5), 255),
    "01-x1-by-hand": _x1_by_hand,
    "01-predict-half-way": lambda: _amplitude(500, _linear_betas(1000)),
    "01-mean-halves": lambda: _first(lambda t: _amplitude(t, _linear_betas(1000)) <= 0.5),
    "01-std-crosses": lambda: _first(lambda t: math.sqrt(_pixel_variances()[t - 1]) > 0.9, start=300),
    "01-var-recursion": lambda: torch.tensor(_pixel_variances(), dtype=torch.float64),
    "01-sqrt-alpha-bar-T": lambda: _amplitude(1000, _linear_betas(1000)),
    "02-predict-merged-std": lambda: math.sqrt(0.6 * (1 - 0.7) + (1 - 0.6)),
    "02-alpha-bar-toy": lambda: 0.9 * 0.8 * 0.7,
    "02-half-amplitude-t": lambda: _first(lambda t: _amplitude(t, _linear_betas(1000)) < 0.5),
    "02-var-x250": lambda: 1 - _amplitude(250, _linear_betas(1000)) ** 2,
    "02-mean-x250": lambda: 0.8 * _amplitude(250, _linear_betas(1000)),
    "03-predict-T100": lambda: _amplitude(100, _linear_betas(100)),
    "03-predict-leak-resolution": _leak_letter,
    "03-smallest-T": lambda: _first(lambda T: _amplitude(T, _linear_betas(T)) < 0.01, start=800),
    "03-smallest-beta-T": lambda: next(
        b / 100 for b in range(1, 51) if _amplitude(100, _linear_betas(100, beta_T=b / 100)) <= 0.01
    ),
    "03-betas-from-alpha-bar": lambda: torch.tensor(
        [1 - (1 - 0.999 * t / 1000) / (1 - 0.999 * (t - 1) / 1000) for t in range(1, 1001)], dtype=torch.float64
    ),
    "03-snr-ratio": lambda: _cosine_alpha_bar(500) / (1 - _cosine_alpha_bar(500)) / _linear_snr(500),
}


def _other_notebooks_independent() -> dict[str, Callable[[], Any]]:
    """Notebooks written elsewhere may keep their independent computations in tests/test_exercises_nbNN.py."""
    found: dict[str, Callable[[], Any]] = {}
    for path in sorted(Path(__file__).parent.glob("test_exercises_nb[0-9][0-9].py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.update(getattr(module, "INDEPENDENT", {}))
    return found


INDEPENDENT.update(_other_notebooks_independent())


def test_every_exercise_has_an_independent_computation() -> None:
    missing = sorted(set(exercises.names()) - set(INDEPENDENT))
    assert not missing, f"add an independent computation to INDEPENDENT (here or in test_exercises_nbNN.py): {missing}"
    assert sorted(INDEPENDENT) == exercises.names()


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_the_expected_value_matches_an_independent_computation(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    item = exercises.get(name)
    independent = INDEPENDENT[name]()
    assert item.matches(independent, item.expected())
    if item.is_prediction:
        exercises.check(name, independent)
        assert exercises.reveal(name)
        assert "✓" in capsys.readouterr().out
    else:
        verdict = exercises.check(name, independent)
        assert verdict and verdict.correct
        assert "✓ correct" in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
def test_each_diagnosis_fires_on_its_mistake_and_not_on_the_right_answer(name: str) -> None:
    item = exercises.get(name)
    right = item.expected()
    for diagnosis in item.diagnoses:
        assert diagnosis(right, item) is None, f"{name}: a diagnosis fires on the right answer"
        if diagnosis.gives is not None:
            wrong = diagnosis.gives()
            assert not item.matches(wrong, right), f"{name}: the 'mistake' {wrong!r} is the right answer"
            assert exercises._diagnose(item, wrong) == diagnosis.message, f"{name}: {diagnosis.message!r} is shadowed"


# A wrong answer for each diagnosis that tests the answer (when=) rather than naming the wrong value (gives=).
WHEN_MISTAKES: dict[str, list[Any]] = {
    "01-predict-half-way": [0.5],
    "03-predict-T100": [0.05],
    "03-smallest-T": [917, 915],
    "03-smallest-beta-T": [0.17],
}


@pytest.mark.parametrize("name", sorted(WHEN_MISTAKES))
def test_diagnoses_that_test_the_answer_fire_on_their_mistakes(name: str) -> None:
    item = exercises.get(name)
    tests = [d for d in item.diagnoses if d.when is not None]
    assert tests, f"{name} has no when= diagnosis"
    fired = set()
    for wrong in WHEN_MISTAKES[name]:
        assert not item.matches(wrong, item.expected())
        message = exercises._diagnose(item, wrong)
        assert message in {d.message for d in tests}, f"{name}: {wrong!r} gets {message!r}"
        fired.add(message)
    assert fired == {d.message for d in tests}


def test_every_when_diagnosis_of_notebooks_00_to_03_is_exercised() -> None:
    with_tests = {n for n in exercises.names() if n[:2] <= "03" and any(d.when for d in exercises.get(n).diagnoses)}
    assert with_tests == set(WHEN_MISTAKES)


@pytest.mark.parametrize("name", sorted(INDEPENDENT))
@pytest.mark.parametrize("unanswered", [None, ...])
def test_none_means_not_answered_yet(name: str, unanswered: Any, capsys: pytest.CaptureFixture[str]) -> None:
    verdict = exercises.check(name, unanswered)
    assert not verdict
    out = capsys.readouterr().out
    assert "not answered yet" in out and exercises.get(name).hint in out


def test_an_unknown_name_is_a_clear_error_that_lists_the_names() -> None:
    with pytest.raises(ValueError, match=r"no exercise is called '01-no-such'.*00-pixel-to-x"):
        exercises.check("01-no-such", 1.0)
    with pytest.raises(ValueError, match="no exercise is called 'nonsense'"):
        exercises.check("nonsense", 1.0)
    with pytest.raises(TypeError, match="name must be an exercise name"):
        exercises.check(3, 1.0)  # type: ignore[arg-type]


def test_a_wrong_answer_is_told_why_but_never_the_expected_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert not exercises.check("00-pixel-to-x", 200 / 255)
    out = capsys.readouterr().out
    assert "[0, 1]" in out and f"{2 * 200 / 255 - 1:.3f}"[:5] not in out
    assert not exercises.check("00-pixel-to-x", 0.123)
    out = capsys.readouterr().out
    assert "Hint:" in out and "0.568" not in out


# --------------------------------------------------------------------------------- the framework itself


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, exercises.Exercise]:
    """A scratch registry, so that the exercises registered here do not leak into the package's."""
    scratch = dict(exercises._REGISTRY)
    monkeypatch.setattr(exercises, "_REGISTRY", scratch)
    monkeypatch.setattr(exercises, "_GUESSES", {})
    return scratch


def test_numbers_tensors_integers_and_letters(registry: dict, capsys: pytest.CaptureFixture[str]) -> None:
    exercises.exercise("99-number", hint="h", rtol=1e-3)(lambda: 0.5)
    exercises.exercise("99-tensor", hint="h")(lambda: torch.arange(4.0))
    exercises.exercise("99-integer", hint="h")(lambda: 7)
    exercises.exercise("99-letter", hint="h", choices={"a": "one", "B": "two"}, explanation="because")(lambda: "b")
    assert exercises.check("99-number", 0.5004)
    assert exercises.check("99-number", torch.tensor(0.5))  # a 0-d tensor is a number
    assert not exercises.check("99-number", 0.6)
    assert not exercises.check("99-number", float("nan"))
    assert "NaN" in capsys.readouterr().out
    assert not exercises.check("99-number", torch.zeros(3))
    assert "single number" in capsys.readouterr().out
    assert exercises.check("99-tensor", [0, 1, 2, 3])
    assert not exercises.check("99-tensor", torch.arange(5.0))
    assert "one element too many" in capsys.readouterr().out
    assert not exercises.check("99-tensor", "abc")
    assert exercises.check("99-integer", 7) and exercises.check("99-integer", 7.0)
    assert not exercises.check("99-integer", 7.5)
    assert not exercises.check("99-integer", 8)
    assert "off by one" in capsys.readouterr().out
    assert not exercises.check("99-integer", True)
    assert exercises.check("99-letter", " B ")
    assert "because" in capsys.readouterr().out
    assert not exercises.check("99-letter", "c")
    assert "'a', 'b'" in capsys.readouterr().out


def test_diagnoses_by_value_and_by_test(registry: dict, capsys: pytest.CaptureFixture[str]) -> None:
    exercises.exercise(
        "99-sqrt",
        hint="the square root",
        diagnoses=[
            exercises.mistake("squared", gives=lambda: 0.25),
            exercises.mistake("negative", when=lambda answer: answer < 0),
            exercises.mistake("crashes on a tensor", when=lambda answer: answer.nonexistent),
        ],
    )(lambda: 0.5)
    assert not exercises.check("99-sqrt", 0.25)
    assert "✗ squared" in capsys.readouterr().out
    assert not exercises.check("99-sqrt", -0.5)
    assert "✗ negative" in capsys.readouterr().out
    assert not exercises.check("99-sqrt", 0.7)  # no diagnosis recognises it: the hint, and no crash
    assert "the square root" in capsys.readouterr().out
    with pytest.raises(TypeError, match="exactly one"):
        exercises.mistake("m")
    with pytest.raises(TypeError, match="exactly one"):
        exercises.mistake("m", gives=lambda: 1, when=lambda a: True)
    with pytest.raises(TypeError, match="exactly one"):
        exercises.mistake("m", when=lambda a: True, chose="b")


def test_diagnosis_of_a_wrong_letter(registry: dict, capsys: pytest.CaptureFixture[str]) -> None:
    exercises.exercise(
        "99-choice",
        hint="h",
        choices={"a": "right", "b": "tempting", "c": "other"},
        diagnoses=[exercises.mistake("b is tempting because", chose="b")],
    )(lambda: "a")
    assert not exercises.check("99-choice", " B ")  # read as the right answer is: case and spaces ignored
    assert "b is tempting because" in capsys.readouterr().out
    assert not exercises.check("99-choice", "c")
    assert "b is tempting" not in capsys.readouterr().out
    assert not exercises.check("99-choice", 3)  # not a letter: no crash, no diagnosis
    assert "b is tempting" not in capsys.readouterr().out


def test_predict_before_you_run(registry: dict, capsys: pytest.CaptureFixture[str]) -> None:
    exercises.prediction(
        "99-guess",
        hint="think",
        explanation="since",
        rtol=0.2,
        diagnoses=[exercises.mistake("that is the variance", gives=lambda: 0.04)],
    )(lambda: 0.2)
    exercises.check("99-guess", None)
    assert not exercises.reveal("99-guess")
    out = capsys.readouterr().out
    assert "no guess" in out and "0.2" in out and "since" in out
    assert not exercises.check("99-guess", 0.23)  # recording is not being right: nothing is revealed yet
    out = capsys.readouterr().out
    assert "recorded" in out and "0.2 " not in out
    assert exercises.reveal("99-guess")
    assert "within 20 %" in capsys.readouterr().out
    exercises.check("99-guess", 0.04)
    assert not exercises.reveal("99-guess")
    assert "that is the variance" in capsys.readouterr().out
    assert not exercises.check("99-guess", "a lot")
    assert "single number" in capsys.readouterr().out
    exercises.exercise("99-plain", hint="h")(lambda: 1.0)
    with pytest.raises(ValueError, match="not a prediction"):
        exercises.reveal("99-plain")


def test_registration_refuses_bad_names_and_duplicates(registry: dict) -> None:
    with pytest.raises(ValueError, match="NN-words"):
        exercises.exercise("sqrt alpha", hint="h")
    exercises.exercise("99-once", hint="h")(lambda: 1.0)
    with pytest.raises(ValueError, match="twice"):
        exercises.exercise("99-once", hint="h")
    with pytest.raises(ValueError, match="hint"):
        exercises.exercise("99-nohint", hint="")
    with pytest.raises(ValueError, match="explanation"):
        exercises.prediction("99-noexplain", hint="h", explanation="")


def test_a_verdict_is_truthy_when_correct_and_shows_nothing_itself() -> None:
    assert exercises.Verdict("x", True, "m") and not exercises.Verdict("x", False, "m")
    assert exercises.Verdict("x", True, "m")._ipython_display_() is None


# --------------------------------------------------------------------------------- the notebook convention


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _text_output(cell: dict) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_exercises_follow_the_convention(path: Path) -> None:
    notebook = _cells(path)
    code = [cell for cell in notebook if cell["cell_type"] == "code"]
    for index, cell in enumerate(code):
        source = "".join(cell["source"])
        if cells.is_solution_cell(cell):
            assert cells.is_collapsed(cell), f"{path.name}: run scripts/mark_solutions.py; not collapsed:\n{source}"
        for name in cells.student_check_names(cell):
            item = exercises.get(name)
            assert "= None" in source, f"{path.name}: the committed exercise {name} must be unanswered"
            assert f"{name}: not answered yet" in _text_output(cell), f"{path.name}: {name} committed answered"
            if not item.is_prediction:
                following = code[index + 1] if index + 1 < len(code) else {}
                assert cells.is_solution_cell(following), f"{path.name}: no solution cell right after {name}"
                assert name in "".join(following["source"]), f"{path.name}: the solution after {name} checks another"
                assert f"{name}: ✓ correct" in _text_output(following)


def test_every_exercise_is_used_in_a_notebook_with_a_solution_or_a_reveal() -> None:
    sources = "\n".join("".join(c["source"]) for path in NOTEBOOKS for c in _cells(path) if c["cell_type"] == "code")
    for name in exercises.names():
        if exercises.get(name).is_prediction:
            assert f'dh.exercises.reveal("{name}")' in sources, f"prediction {name} is never revealed"
        else:
            assert f'assert dh.exercises.check("{name}"' in sources, f"exercise {name} has no solution cell"
