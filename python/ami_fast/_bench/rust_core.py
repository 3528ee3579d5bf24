"""The raw Rust core on the same bytes, via the ``benches/parse.rs`` program (no Python).

Available in a source checkout with ``cargo``: the program is built once (``cargo bench
--no-run``, the release profile) and given the generated stream in a temporary file; it cuts it
into the same 64 KiB chunks and times ``Framer::feed`` with a counting sink.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["RustCore", "find_checkout", "run_rust_core"]


def find_checkout() -> Path | None:
    """The source tree holding the Rust core (editable install or the current directory)."""
    for base in (Path(__file__).resolve().parents[3], Path.cwd()):
        if (base / "rust" / "core" / "Cargo.toml").is_file() and (base / "benches" / "parse.rs").is_file():
            return base
    return None


def _build(checkout: Path) -> Path:
    out = subprocess.run(
        ["cargo", "bench", "-p", "ami-fast-core", "--bench", "parse", "--no-run", "--message-format=json"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    for line in out.stdout.splitlines():
        if not line.startswith("{"):
            continue
        msg = json.loads(line)
        target = msg.get("target", {}).get("name")
        if msg.get("reason") == "compiler-artifact" and target == "parse" and msg.get("executable"):
            return Path(msg["executable"])
    raise RuntimeError("cargo did not report the bench executable")


class RustCore:
    """The built program plus the stream in a temporary file; ``run`` times one pass.

    Used as a self-timed parse case, so the core is measured interleaved with the Python
    parsers (same noise) rather than at another moment.
    """

    def __init__(self, exe: Path, data: bytes) -> None:
        self.exe = exe
        self.size = len(data)
        self._file = tempfile.NamedTemporaryFile(suffix=".ami")  # noqa: SIM115 - closed in close()
        self._file.write(data)
        self._file.flush()

    @classmethod
    def create(cls, data: bytes) -> RustCore | None:
        """None when there is no checkout or no cargo; raises when the build fails."""
        checkout = find_checkout()
        if checkout is None or shutil.which("cargo") is None:
            return None
        return cls(_build(checkout), data)

    def measure(self, repeat: int) -> dict[str, Any]:
        out = subprocess.run(
            [str(self.exe), self._file.name, str(repeat)],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    def run(self, chunks: list[bytes]) -> tuple[int, int, float]:
        """One timed pass (median of 3 inside the program) over the same bytes as `chunks`."""
        assert sum(map(len, chunks)) == self.size, "the core must parse the very same bytes"
        result = self.measure(3)
        return int(result["messages"]), int(result["hits"]), float(result["median_s"])

    def close(self) -> None:
        self._file.close()


def run_rust_core(data: bytes, repeat: int = 10) -> dict[str, Any] | None:
    """Messages/s of the raw core on `data`; None when there is no checkout or no cargo."""
    core = RustCore.create(data)
    if core is None:
        return None
    try:
        return core.measure(repeat)
    finally:
        core.close()
