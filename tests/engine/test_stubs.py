"""The .pyi stubs of the compiled modules match what the build exports."""

import subprocess
import sys
from pathlib import Path

import pytest

COMPILED_MODULES = [f"pyconvx._engine.{name}" for name in
                    ("backward", "contract", "cpu", "direct", "microkernels", "pooling", "stage",
                     "taps", "unfold")]
COMPILED_MODULES.append("pyconvx.capi")


@pytest.mark.slow
def test_stubs_match_the_compiled_modules():
    pytest.importorskip("mypy")
    allowlist = Path(__file__).parent.parent / "stubtest_allowlist.txt"
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", *COMPILED_MODULES, "--allowlist", str(allowlist)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
