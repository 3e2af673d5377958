"""Tests of diffusion_helpers._checks, the argument checks every public function relies on.

The contract (module docstring): ``TypeError`` for a value of the wrong type, ``ValueError`` for a value of
the right type outside the allowed range, and every message names the argument.

The package-level promises of ``__init__.py`` (importing it pulls in neither matplotlib, ipywidgets nor
requests, seeds no random generator and changes no matplotlib setting) are checked at the end, in fresh
interpreters, since the test session itself has long imported all of those.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from diffusion_helpers._checks import check_float, check_float_tensor, check_int, check_noise

# ---------------------------------------------------------------------------------------------- check_int


@pytest.mark.parametrize("value", [0, 1, 7, np.int64(7), np.int32(-3), torch.tensor(5).item()])
def test_check_int_accepts_integers_and_returns_a_python_int(value):
    result = check_int("n", value)
    assert result == int(value)
    assert type(result) is int


@pytest.mark.parametrize("value", [True, False, 1.0, 2.5, "3", None, [1], torch.tensor(3), float("nan")])
def test_check_int_rejects_non_integers_with_a_type_error_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"^my_arg must be an int"):
        check_int("my_arg", value)


def test_check_int_bounds_are_inclusive():
    assert check_int("n", 1, minimum=1, maximum=3) == 1
    assert check_int("n", 3, minimum=1, maximum=3) == 3
    with pytest.raises(ValueError, match=r"^my_arg must be an int in \[1, 3\], got 0$"):
        check_int("my_arg", 0, minimum=1, maximum=3)
    with pytest.raises(ValueError, match=r"^my_arg must be an int in \[1, 3\], got 4$"):
        check_int("my_arg", 4, minimum=1, maximum=3)


def test_check_int_one_sided_bounds():
    with pytest.raises(ValueError, match=r"my_arg must be an int in \[1, inf\)"):
        check_int("my_arg", -2, minimum=1)
    with pytest.raises(ValueError, match=r"my_arg must be an int in \(-inf, 9\]"):
        check_int("my_arg", 10, maximum=9)
    assert check_int("n", -(10**30)) == -(10**30)  # no bound, no limit


@settings(deadline=None, max_examples=60)
@given(value=st.integers(-1000, 1000), low=st.integers(-500, 500), width=st.integers(0, 500))
def test_check_int_accepts_exactly_the_closed_interval(value, low, width):
    high = low + width
    if low <= value <= high:
        assert check_int("n", value, minimum=low, maximum=high) == value
    else:
        with pytest.raises(ValueError, match=r"^n must be"):
            check_int("n", value, minimum=low, maximum=high)


# -------------------------------------------------------------------------------------------- check_float


@pytest.mark.parametrize("value", [0.5, 1, np.float64(0.25), np.float32(0.75), np.int64(0)])
def test_check_float_accepts_real_numbers_and_returns_a_python_float(value):
    result = check_float("x", value)
    assert result == float(value)
    assert type(result) is float


@pytest.mark.parametrize("value", [True, "0.5", None, 1j, [0.5], torch.tensor(0.5)])
def test_check_float_rejects_non_reals_with_a_type_error_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"^my_arg must be a real number"):
        check_float("my_arg", value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_check_float_rejects_non_finite_values_naming_the_argument(value):
    with pytest.raises(ValueError, match=r"^my_arg must be a finite number"):
        check_float("my_arg", value)
    # even without any bound
    with pytest.raises(ValueError, match=r"^my_arg must be a finite number in \(-inf, inf\)"):
        check_float("my_arg", value, low=None, high=None)


def test_check_float_open_and_closed_ends():
    with pytest.raises(ValueError, match=r"^b must be in \(0, 1\), got 0$"):
        check_float("b", 0.0, low=0.0, high=1.0)
    with pytest.raises(ValueError, match=r"^b must be in \(0, 1\), got 1$"):
        check_float("b", 1.0, low=0.0, high=1.0)
    assert check_float("b", 0.0, low=0.0, high=1.0, low_inclusive=True) == 0.0
    assert check_float("b", 1.0, low=0.0, high=1.0, high_inclusive=True) == 1.0
    with pytest.raises(ValueError, match=r"^b must be in \[0, 1\], got -0.1$"):
        check_float("b", -0.1, low=0.0, high=1.0, low_inclusive=True, high_inclusive=True)


@settings(deadline=None, max_examples=80)
@given(value=st.floats(-2.0, 3.0), low_inclusive=st.booleans(), high_inclusive=st.booleans())
def test_check_float_accepts_exactly_the_interval(value, low_inclusive, high_inclusive):
    low, high = 0.0, 1.0
    inside = (low < value or (low_inclusive and value == low)) and (value < high or (high_inclusive and value == high))
    kwargs = {"low": low, "high": high, "low_inclusive": low_inclusive, "high_inclusive": high_inclusive}
    if inside:
        assert check_float("v", value, **kwargs) == value
    else:
        with pytest.raises(ValueError, match=r"^v must be in"):
            check_float("v", value, **kwargs)


# ------------------------------------------------------------------------------------- check_float_tensor


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_check_float_tensor_returns_floating_tensors_unchanged(dtype):
    x = torch.zeros(2, 3, dtype=dtype)
    assert check_float_tensor("x0", x) is x


@pytest.mark.parametrize("value", [np.zeros(3), [0.0, 1.0], 0.5, None])
def test_check_float_tensor_rejects_non_tensors_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"^x0 must be a torch.Tensor"):
        check_float_tensor("x0", value)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int32, torch.int64, torch.bool, torch.complex64])
def test_check_float_tensor_rejects_other_dtypes_naming_the_argument_and_the_dtype(dtype):
    with pytest.raises(TypeError, match=r"^x0 must be a floating-point tensor .*" + str(dtype).replace(".", r"\.")):
        check_float_tensor("x0", torch.zeros(3, dtype=dtype))


# -------------------------------------------------------------------------------------------- check_noise


def test_check_noise_accepts_a_tensor_like_the_data():
    like = torch.zeros(2, 3)
    noise = torch.ones(2, 3)
    assert check_noise(noise, like) is noise


def test_check_noise_wrong_shape_is_a_value_error_naming_the_argument_and_both_shapes():
    with pytest.raises(ValueError, match=r"^noise must have the shape of the data \(2, 3\), got \(3, 2\)$"):
        check_noise(torch.zeros(3, 2), torch.zeros(2, 3))


def test_check_noise_wrong_dtype_is_a_type_error_naming_the_argument():
    with pytest.raises(TypeError, match=r"^noise must have the data's dtype torch.float32, got torch.float64$"):
        check_noise(torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3))
    with pytest.raises(TypeError, match=r"^noise must be a floating-point tensor"):
        check_noise(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3))
    with pytest.raises(TypeError, match=r"^noise must be a torch.Tensor"):
        check_noise(np.zeros((2, 3)), torch.zeros(2, 3))


def test_check_noise_wrong_device_is_a_value_error_naming_the_argument():
    # The meta device stands in for a GPU: it exists on every machine.
    with pytest.raises(ValueError, match=r"^noise must be on the data's device cpu, got meta$"):
        check_noise(torch.zeros(2, 3, device="meta"), torch.zeros(2, 3))


def test_check_noise_uses_the_given_name():
    with pytest.raises(ValueError, match=r"^eps must have the shape"):
        check_noise(torch.zeros(1), torch.zeros(2), name="eps")


# ------------------------------------------------------------------------ the package's import contract

# One fresh interpreter (importing torch costs seconds) runs every probe and prints a JSON report:
# 1. which of the heavy modules are loaded before and after ``import diffusion_helpers``;
# 2. whether the import changed torch's, numpy's or Python's random state;
# 3. with matplotlib loaded first, whether importing the package again (its modules dropped from
#    sys.modules, so their code runs anew) or calling ``example_image`` changes any rcParam;
# 4. whether matplotlib and requests do show up once the functions that need them ran: the probe of 1.
#    can see them, so its empty answer means something.
_PROBE = """
import importlib, json, random, sys
import numpy as np
import torch

heavy = ("matplotlib", "ipywidgets", "requests")
loaded = lambda: sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
report = {"heavy_before": loaded()}

torch.manual_seed(1234); np.random.seed(1234); random.seed(1234)
torch_state, np_state, py_state = torch.get_rng_state().clone(), np.random.get_state(), random.getstate()
initial_seed = torch.initial_seed()
rng_unchanged = lambda: {
    "torch": bool(torch.equal(torch_state, torch.get_rng_state())) and torch.initial_seed() == initial_seed,
    "numpy": all(np.array_equal(a, b) for a, b in zip(np_state, np.random.get_state())),
    "python": py_state == random.getstate(),
}

import diffusion_helpers
report["heavy_after_import"] = loaded()
report["rng_after_import"] = rng_unchanged()

import matplotlib
rc_before = {k: repr(v) for k, v in matplotlib.rcParams.items()}
for name in [m for m in sys.modules if m == "diffusion_helpers" or m.startswith("diffusion_helpers.")]:
    del sys.modules[name]
diffusion_helpers = importlib.import_module("diffusion_helpers")
report["reimported"] = diffusion_helpers.__dict__.get("_LAZY_SUBMODULES") is not None
diffusion_helpers.example_image(8)
try:
    diffusion_helpers.images._download("http://", timeout=0.1, max_bytes=10)  # malformed: loads requests only
except (ValueError, ConnectionError):  # which of the two depends on whether the machine has a network
    pass
rc_after = {k: repr(v) for k, v in matplotlib.rcParams.items()}
report["rcparams_changed"] = sorted(k for k in rc_before if rc_before[k] != rc_after.get(k))
report["heavy_after_use"] = loaded()
report["rng_after_use"] = rng_unchanged()
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def import_report() -> dict:
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_pulls_in_neither_matplotlib_nor_ipywidgets_nor_requests(import_report):
    assert import_report["heavy_before"] == [], "loaded before the import: the check would prove nothing"
    assert import_report["heavy_after_import"] == []


def test_the_lazy_import_probe_can_see_matplotlib_and_requests(import_report):
    assert import_report["heavy_after_use"] == ["matplotlib", "requests"]


def test_import_does_not_touch_random_generators(import_report):
    assert import_report["rng_after_import"] == {"torch": True, "numpy": True, "python": True}
    # neither does the example image (nor a failed download)
    assert import_report["rng_after_use"] == {"torch": True, "numpy": True, "python": True}


def test_import_does_not_change_matplotlib_rcparams(import_report):
    assert import_report["reimported"]
    assert import_report["rcparams_changed"] == []
