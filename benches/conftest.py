"""Collect ``bench_*.py`` here: ``.venv/bin/pytest benches --benchmark-enable``.

Without ``--benchmark-enable`` (the project default is ``--benchmark-disable``) each benchmark
body runs once, so the files double as a quick correctness check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def pytest_collect_file(file_path: Path, parent: Any) -> pytest.Module | None:
    # A file named on the command line is collected by pytest itself; only add the others.
    if parent.session.isinitpath(file_path):
        return None
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)  # type: ignore[no-any-return]
    return None
