"""`ami_fast.IMPLEMENTATION`: the native parser when built, the twin when forced or missing."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT, needs_native

# Prints what a fresh interpreter chose; a blocked `_native` import stands for a missing build.
PROBE = """
import sys
if sys.argv[1] == "block":
    sys.modules["ami_fast._native"] = None  # makes `from . import _native` raise ImportError
import ami_fast, ami_fast._select as s
print(ami_fast.IMPLEMENTATION, ami_fast.Parser is ami_fast.ParserPy, s.NATIVE_IMPORT_ERROR is not None)
"""


def _probe(mode: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "AMI_FAST_NO_EXTENSIONS"}
    environ["PYTHONPATH"] = str(ROOT / "python")
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=environ, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@needs_native
def test_native_is_chosen_when_built() -> None:
    assert _probe("plain") == "native False False"


def test_no_extensions_forces_the_twin() -> None:
    assert _probe("plain", AMI_FAST_NO_EXTENSIONS="1") == "python True False"


def test_no_extensions_zero_keeps_the_default() -> None:
    expected = "native" if _native_built() else "python"
    assert _probe("plain", AMI_FAST_NO_EXTENSIONS="0").split()[0] == expected


def test_missing_native_module_falls_back_visibly() -> None:
    # The import failure is kept (not swallowed) and the twin is the active Parser.
    assert _probe("block") == "python True True"


def _native_built() -> bool:
    return any((ROOT / "python" / "ami_fast").glob("_native*.so"))
