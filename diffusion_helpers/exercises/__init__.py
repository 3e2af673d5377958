r"""Self-checking exercises: the package, not the student's cell, knows each expected value.

Presentation layer (imported on first use as ``dh.exercises``). Each exercise has a name ``"NN-slug"``
(``NN`` is its notebook's number) and a checker registered in ``diffusion_helpers/exercises/nbNN.py``,
which computes the expected value from the package's mathematics. The student's cell never contains
the expected value, so ``answer = expected`` is not an option. A wrong answer is told *why* where the
mistake is a typical one (off by one timestep, $\bar\alpha_T$ instead of $\sqrt{\bar\alpha_T}$, a
variance instead of a standard deviation, ...); otherwise it gets the exercise's hint, never the value.

Notebook convention (every notebook follows it; ``tests/test_exercises.py`` enforces it):

1. A markdown cell states the exercise and names it: ``**Exercise 01-sqrt-alpha-bar-T.** ...``
2. The student's cell ends with the check, and is committed unanswered (its output reads "not answered
   yet" and a hint)::

       answer = None  # your code here
       dh.exercises.check("01-sqrt-alpha-bar-T", answer)

3. The solution cell comes directly after it. It sets the answer and asserts the check, so that nbval
   proves every solution passes its checker::

       answer = float(schedule.sqrt_alpha_bars[-1])
       assert dh.exercises.check("01-sqrt-alpha-bar-T", answer)

   It is collapsed, source and output, in JupyterLab (cell metadata ``"jupyter": {"source_hidden": true,
   "outputs_hidden": true}``) and on the site (tags ``hide-input`` and ``hide-output``: one toggle for
   both). Do not set that metadata by hand: ``python scripts/mark_solutions.py notebooks/NN_x.ipynb``
   marks every solution cell (a code cell that calls ``exercises.check`` with an answer other than None).

Predict before you run: the student commits to a guess, then a later cell computes the truth in the
open, and ``reveal`` compares them::

    guess = None  # your guess, before you run the next cells
    dh.exercises.check("01-predict-std-x1000", guess)      # records the guess, reveals nothing
    ...                                                     # cells that compute and show the truth
    dh.exercises.reveal("01-predict-std-x1000")             # the truth, your guess, and why

A reveal cell is not a solution cell: it stays open.

Writing a checker (in ``nbNN.py``; the function returns the expected value)::

    @exercise(
        "01-sqrt-alpha-bar-T",
        hint="Eq. 4: the coefficient of x_0 in x_t is the square root of alpha_bar_t.",
        diagnoses=[mistake("That is alpha_bar_T itself; take its square root.", gives=lambda: ...)],
    )
    def sqrt_alpha_bar_T() -> float:
        return float(make_schedule("linear", 1000).sqrt_alpha_bars[-1])

Then add an independent computation of the expected value (a plain loop over the paper's formula, a closed
form) to ``INDEPENDENT`` in ``tests/test_exercises.py``, or to ``INDEPENDENT`` in a ``tests/test_exercises_nbNN.py``
of your own; the tests also feed every ``gives=`` mistake to the checker and require its message.

The kind of answer follows from the expected value's type: a ``float`` is compared with ``rtol`` and
``atol``; an ``int`` exactly (an answer one away is told so); a tensor, list or tuple element-wise after a
shape check; a ``str`` is a multiple-choice letter among ``choices``. :func:`prediction` registers a
predict-before-you-run exercise, whose tolerance is how close a good guess must be.
"""

from __future__ import annotations

import importlib
import math
import numbers
import pkgutil
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["Exercise", "Mistake", "Verdict", "check", "exercise", "get", "mistake", "names", "prediction", "reveal"]

_NAME = re.compile(r"^(\d\d)-[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")


@dataclass(frozen=True)
class Exercise:
    """One registered exercise: its name, the function computing the expected value, how to compare."""

    name: str
    expected: Callable[[], Any]
    hint: str
    rtol: float = 1e-5
    atol: float = 1e-8
    diagnoses: tuple[Mistake, ...] = ()
    explanation: str = ""
    choices: Mapping[str, str] = field(default_factory=dict)
    is_prediction: bool = False

    def matches(self, answer: Any, value: Any) -> bool:
        """Whether ``answer`` equals ``value`` the way this exercise compares (tolerances, shapes, letters)."""
        return _compare(answer, value, self)[0]


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` decided. Truthy when the answer is correct (``assert check(...)`` works).

    A notebook cell ending with ``check(...)`` shows the printed verdict only, not this object.
    """

    name: str
    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def _ipython_display_(self) -> None:  # the verdict is already printed
        pass


_REGISTRY: dict[str, Exercise] = {}
_GUESSES: dict[str, Any] = {}


def exercise(
    name: str,
    *,
    hint: str,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    diagnoses: Sequence[Mistake] = (),
    explanation: str = "",
    choices: Mapping[str, str] | None = None,
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register the decorated function as the checker of exercise ``name``; it returns the expected value.

    Args:
        name: ``"NN-slug"``, where ``NN`` is the notebook's number and the module is ``nbNN.py``.
        hint: printed when the answer is missing or wrong and no diagnosis recognises the mistake.
        rtol, atol: tolerances for numbers and tensors (``math.isclose`` / ``torch.allclose``).
        diagnoses: typical mistakes, each made by :func:`mistake`; the first that recognises a wrong answer
            explains it.
        explanation: printed after a correct answer (why it is right, what it means).
        choices: for a multiple-choice exercise, letter -> text; the expected value is a letter.

    Raises:
        ValueError: a malformed or already registered name, a name whose number is not its module's.
    """
    return _register(name, hint, rtol, atol, diagnoses, explanation, choices or {}, is_prediction=False)


def prediction(
    name: str,
    *,
    hint: str,
    explanation: str,
    rtol: float = 0.25,
    atol: float = 0.0,
    diagnoses: Sequence[Mistake] = (),
    choices: Mapping[str, str] | None = None,
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a predict-before-you-run exercise; the decorated function returns the truth.

    :func:`check` only records the guess; :func:`reveal` shows the truth, whether the guess was within
    ``rtol``/``atol`` of it (for a letter: equal), the diagnosis of a wrong guess, and ``explanation``.
    """
    return _register(name, hint, rtol, atol, diagnoses, explanation, choices or {}, is_prediction=True)


def mistake(
    message: str,
    *,
    gives: Callable[[], Any] | None = None,
    when: Callable[[Any], Any] | None = None,
    chose: str | None = None,
) -> Mistake:
    r"""A diagnosis: ``message`` if the answer is what a typical mistake produces.

    Args:
        message: what the student is told when the answer matches the mistake.
        gives: computes the value the mistake produces (e.g. $\bar\alpha_T$ where $\sqrt{\bar\alpha_T}$ is
            asked); the answer is recognised when it matches that value with the exercise's tolerances.
        when: a test of the answer itself (``lambda answer: answer < 0``).
        chose: for a multiple-choice exercise, the wrong letter (``"b"``); matched as the answer itself is,
            ignoring case and spaces. Give exactly one of ``gives``, ``when`` and ``chose``.

    Raises:
        TypeError: if not exactly one of ``gives``, ``when`` and ``chose`` is given.
    """
    if sum(option is not None for option in (gives, when, chose)) != 1:
        raise TypeError(
            "mistake() takes exactly one of gives= (the wrong value), when= (a test of the answer) or chose= (a "
            "wrong letter)"
        )
    return Mistake(message, gives=gives, when=when, chose=chose)


def check(name: str, answer: Any) -> Verdict:
    """Check ``answer`` to exercise ``name``, print the verdict, and return it (truthy when correct).

    ``None`` or ``...`` means not answered yet: a hint is printed, nothing is raised, so a notebook still
    runs top to bottom. For a prediction, the guess is recorded for :func:`reveal` and nothing is revealed.

    Raises:
        ValueError: if no exercise is called ``name`` (the message lists the names there are).
    """
    item = _lookup(name)
    if answer is None or answer is Ellipsis:
        _GUESSES.pop(name, None)
        what = "your guess" if item.is_prediction else "your answer"
        return _verdict(
            name, False, f"not answered yet. Replace None with {what} and run the cell again.\n  Hint: {item.hint}"
        )
    if item.is_prediction:
        problem = _shape_problem(answer, item)
        if problem:
            _GUESSES.pop(name, None)
            return _verdict(name, False, f"✗ {problem}")
        _GUESSES[name] = answer
        return _verdict(name, False, f"guess recorded ({_show(answer)}). Run the cells below to see the truth.")
    correct, problem = _compare(answer, item.expected(), item)
    if correct:
        return _verdict(name, True, "✓ correct" + (f". {item.explanation}" if item.explanation else ""))
    reason = problem or _diagnose(item, answer) or f"not yet. Hint: {item.hint}"
    return _verdict(name, False, f"✗ {reason}")


def reveal(name: str) -> Verdict:
    """Show the truth of prediction ``name``, the guess :func:`check` recorded, and why; truthy if it was close.

    Raises:
        ValueError: if ``name`` is unknown or not a prediction.
    """
    item = _lookup(name)
    if not item.is_prediction:
        raise ValueError(f"{name!r} is an exercise, not a prediction: check it with dh.exercises.check")
    truth = item.expected()
    lines = [f"the truth is {_show(truth)}."]
    correct = False
    if name not in _GUESSES:
        lines.append("You wrote no guess. Next time, commit to one before you look: that is where the learning is.")
    else:
        guess = _GUESSES[name]
        correct = _compare(guess, truth, item)[0]
        if correct:
            lines.append(f"Your guess {_show(guess)} is {_tolerance_words(item)} of it ✓")
        else:
            lines.append(f"Your guess {_show(guess)} is not {_tolerance_words(item)} of it ✗")
            diagnosis = _diagnose(item, guess)
            if diagnosis:
                lines.append(diagnosis)
    lines.append(f"Why: {item.explanation}")
    return _verdict(name, correct, "\n  ".join(lines))


def names() -> list[str]:
    """Every registered exercise's name, in order (imports every notebook's checker module)."""
    for module in _checker_modules():
        importlib.import_module(f"{__name__}.{module}")
    return sorted(_REGISTRY)


def get(name: str) -> Exercise:
    """The registered exercise called ``name`` (for tests and notebook authors).

    Raises:
        ValueError: if no exercise is called ``name``.
    """
    return _lookup(name)


# --- comparing answers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mistake:
    """A diagnosis made by :func:`mistake`: called with an answer, it returns its message or None."""

    message: str
    gives: Callable[[], Any] | None = None
    when: Callable[[Any], Any] | None = None
    chose: str | None = None

    def __call__(self, answer: Any, item: Exercise) -> str | None:
        if self.chose is not None:  # a wrong letter, read as the right one is (case and spaces ignored)
            return self.message if _compare(answer, self.chose, item)[0] else None
        if self.gives is not None:
            return self.message if _compare(answer, self.gives(), item)[0] else None
        try:
            return self.message if self.when(answer) else None  # type: ignore[misc]
        except Exception:  # a test written for one kind of answer must not crash on another
            return None


def _compare(answer: Any, expected: Any, item: Exercise) -> tuple[bool, str | None]:
    """(correct, a problem with the answer's form such as a wrong shape or type, or None)."""
    if isinstance(expected, str):
        letter = answer.strip().lower() if isinstance(answer, str) else None
        if letter not in item.choices:
            return False, f"answer with one of the letters {', '.join(repr(c) for c in item.choices)}, as a string"
        return letter == expected, None
    if isinstance(expected, bool):
        if not isinstance(answer, (bool, torch.Tensor)) and not hasattr(answer, "dtype"):
            return False, "answer True or False"
        return bool(answer) == expected, None
    if isinstance(expected, numbers.Integral):
        value = _as_number(answer)
        if value is None:
            return False, f"answer with a whole number, got {_describe(answer)}"
        if not float(value).is_integer():
            return False, f"answer with a whole number, got {value:g}"
        return int(value) == int(expected), None
    if isinstance(expected, numbers.Real):
        value = _as_number(answer)
        if value is None:
            return False, f"answer with a single number, got {_describe(answer)}"
        if not math.isfinite(value):
            return False, f"your answer is {value}; a NaN or inf usually means a division by zero or a log of 0"
        return math.isclose(value, float(expected), rel_tol=item.rtol, abs_tol=item.atol), None
    expected_t = torch.as_tensor(expected, dtype=torch.float64)
    try:
        answer_t = torch.as_tensor(answer, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return False, f"answer with a tensor (or a list of numbers), got {_describe(answer)}"
    if answer_t.shape != expected_t.shape:
        problem = f"expected shape {tuple(expected_t.shape)}, got {tuple(answer_t.shape)}"
        if answer_t.ndim == expected_t.ndim == 1 and abs(answer_t.shape[0] - expected_t.shape[0]) == 1:
            problem += ": one element too " + ("many" if answer_t.shape[0] > expected_t.shape[0] else "few")
        return False, problem
    if not torch.isfinite(answer_t).all():
        return False, "your answer contains NaN or inf: look for a division by zero or a log of 0"
    return bool(torch.allclose(answer_t, expected_t, rtol=item.rtol, atol=item.atol)), None


def _diagnose(item: Exercise, answer: Any) -> str | None:
    for diagnosis in item.diagnoses:
        message = diagnosis(answer, item)
        if message:
            return message
    if isinstance(answer, str) and answer.strip().lower() in item.choices:
        return None
    expected = item.expected()
    if isinstance(expected, numbers.Integral) and not isinstance(expected, bool):
        value = _as_number(answer)
        if value is not None and abs(value - int(expected)) == 1:
            return "off by one. Check where t starts (the paper's t = 1) and whether your loop stops one step early."
    return None


def _shape_problem(answer: Any, item: Exercise) -> str | None:
    """For a guess: only its form is checked when it is recorded (a letter among the choices, a number)."""
    if item.choices:
        if not isinstance(answer, str) or answer.strip().lower() not in item.choices:
            return f"guess with one of the letters {', '.join(repr(c) for c in item.choices)}, as a string"
        return None
    if _as_number(answer) is None:
        return f"guess a single number, got {_describe(answer)}"
    return None


def _as_number(answer: Any) -> float | None:
    if isinstance(answer, bool):
        return None
    if isinstance(answer, numbers.Real):
        return float(answer)
    if isinstance(answer, torch.Tensor) or hasattr(answer, "dtype"):  # a tensor or a numpy value
        try:
            tensor = torch.as_tensor(answer)
        except (TypeError, ValueError, RuntimeError):
            return None
        if tensor.numel() == 1 and not tensor.is_complex() and tensor.dtype != torch.bool:
            return float(tensor.reshape(()))
    return None


def _describe(answer: Any) -> str:
    if isinstance(answer, torch.Tensor):
        return f"a tensor of shape {tuple(answer.shape)}"
    return f"{type(answer).__name__} {answer!r}"[:80]


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value.strip().lower())
    number = _as_number(value)
    if number is not None:
        return f"{number:.4g}"
    return _describe(value)


def _tolerance_words(item: Exercise) -> str:
    if item.choices:
        return "the same"
    parts = []
    if item.rtol:
        parts.append(f"{100 * item.rtol:g} %")
    if item.atol:
        parts.append(f"{item.atol:g}")
    return "within " + " or ".join(parts)


def _verdict(name: str, correct: bool, message: str) -> Verdict:
    print(f"{name}: {message}")
    return Verdict(name, correct, message)


# --- the registry -----------------------------------------------------------------------------------------


def _register(
    name: str,
    hint: str,
    rtol: float,
    atol: float,
    diagnoses: Sequence[Mistake],
    explanation: str,
    choices: Mapping[str, str],
    *,
    is_prediction: bool,
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    match = _NAME.match(name) if isinstance(name, str) else None
    if match is None:
        raise ValueError(f"an exercise name is 'NN-words-with-dashes' (NN = the notebook's number), got {name!r}")
    if name in _REGISTRY:
        raise ValueError(f"exercise {name!r} is registered twice")
    if not hint:
        raise ValueError(f"exercise {name!r} needs a hint")
    if is_prediction and not explanation:
        raise ValueError(f"prediction {name!r} needs an explanation, shown when it is revealed")
    if rtol < 0 or atol < 0:
        raise ValueError(f"exercise {name!r}: rtol and atol must be >= 0")
    if not all(isinstance(diagnosis, Mistake) for diagnosis in diagnoses):
        raise TypeError(f"exercise {name!r}: make each diagnosis with mistake(message, gives=... or when=...)")
    choices = {letter.lower(): text for letter, text in choices.items()}

    def register(function: Callable[[], Any]) -> Callable[[], Any]:
        module = function.__module__.rsplit(".", 1)[-1]
        if module.startswith("nb") and module != f"nb{match.group(1)}":
            raise ValueError(f"exercise {name!r} belongs in nb{match.group(1)}.py, not {module}.py")
        _REGISTRY[name] = Exercise(
            name, function, hint, rtol, atol, tuple(diagnoses), explanation, choices, is_prediction
        )
        return function

    return register


def _checker_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if re.fullmatch(r"nb\d\d", m.name))


def _lookup(name: str) -> Exercise:
    if not isinstance(name, str):
        raise TypeError(f"name must be an exercise name (a string such as '01-sqrt-alpha-bar-T'), got {name!r}")
    if name not in _REGISTRY:
        module = f"nb{name[:2]}"
        if module in _checker_modules():
            importlib.import_module(f"{__name__}.{module}")
    if name not in _REGISTRY:
        raise ValueError(f"no exercise is called {name!r}; the exercises are: {', '.join(names())}")
    return _REGISTRY[name]
