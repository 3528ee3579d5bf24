"""A benchmark server in a child process: it prints ``<TAG> <value>`` once ready and serves
until its stdin closes (so it also ends when the parent dies)."""

from __future__ import annotations

import subprocess
import sys

__all__ = ["ChildServer"]


class ChildServer:
    """``with ChildServer(module, "PORT") as s: s.value`` runs ``python -m module *args``."""

    def __init__(self, module: str, tag: str, *args: str) -> None:
        self._argv = [sys.executable, "-m", module, *args]
        self._tag = tag
        self.value = ""
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> str:
        self._proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith(self._tag + " "):
            self.stop()
            raise RuntimeError(f"{self._argv[2]} did not start: {line!r}")
        self.value = line.split()[1]
        return self.value

    def stop(self) -> None:
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
