"""The package's annotations pass mypy, and the public types are what they say.

mypy runs with the project's configuration (``[tool.mypy]`` in pyproject.toml:
strict) on the package and on ``tests/typing/check_public_api.py``, whose
``assert_type`` lines state the inferred types of the public functions and
whose ``# type: ignore`` lines are calls that must be refused.
"""

import subprocess
import sys
import typing
from pathlib import Path

import pytest

from pyconvx import _typing, backward, filters, ndimage, signal
from pyconvx._boundary import PADDING_MODES
from pyconvx._engine.plan import ALGORITHMS
from pyconvx._ndimage_support import MODES as NDIMAGE_MODES
from pyconvx._normalize import PADDING_STRINGS
from pyconvx.shapes import DATA_FORMATS

ROOT = Path(__file__).resolve().parents[2]
CHECKED_FILE = ROOT / "tests" / "typing" / "check_public_api.py"


@pytest.mark.slow
def test_mypy_passes_on_the_package_and_the_public_api_checks(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache"),
         "pyconvx", str(CHECKED_FILE.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("alias", "accepted"), [
    (_typing.PaddingMode, PADDING_MODES),
    (_typing.PaddingString, PADDING_STRINGS),
    (_typing.Algorithm, ALGORITHMS),
    (_typing.DataFormat, DATA_FORMATS),
    (_typing.SignalMode, signal.MODES),
    (_typing.SignalMethod, signal.METHODS),
    (_typing.SignalBoundary, tuple(signal.BOUNDARIES)),
    (_typing.FilterBoundary, tuple(filters.BOUNDARIES)),
    (_typing.SignalMode, filters.MODES),
    (_typing.GradientName, backward.NEEDS),
    (ndimage.NdimageMode, tuple(NDIMAGE_MODES)),
])
def test_each_literal_type_lists_the_strings_the_function_accepts(alias, accepted):
    assert sorted(typing.get_args(alias)) == sorted(accepted)
