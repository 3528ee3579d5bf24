"""Chooses the parser implementation: the Rust extension, or the pure-Python twin.

``AMI_FAST_NO_EXTENSIONS=1`` forces the twin; a missing or broken extension falls back to it.
The choice is visible as ``ami_fast.IMPLEMENTATION`` (``"native"`` or ``"python"``).
"""

from __future__ import annotations

import os
from typing import Any

from . import _pyparser

NO_EXTENSIONS = os.environ.get("AMI_FAST_NO_EXTENSIONS", "") not in ("", "0")

native: Any = None
NATIVE_IMPORT_ERROR: ImportError | None = None
if not NO_EXTENSIONS:
    try:
        from . import _native as native
    except ImportError as exc:  # pragma: no cover - depends on the build
        NATIVE_IMPORT_ERROR = exc

IMPLEMENTATION = "native" if native is not None else "python"

ParserPy = _pyparser.Parser
ParserNative: Any = native.Parser if native is not None else None
encode_action_py = _pyparser.encode_action
encode_action_native: Any = native.encode_action if native is not None else None

Parser: Any = ParserNative if native is not None else ParserPy
encode_action: Any = encode_action_native if native is not None else encode_action_py
