"""The naive pure-Python AMI parser most hand-written clients use: the baseline to beat.

Split the stream on the empty line, decode, ``partition`` each line into a dict. It is fast,
but wrong on repeated keys (``ChanVariable``: the last one wins) and on a bare ``Key:``; it is
here only to show what plain Python costs.
"""

from __future__ import annotations

__all__ = ["NaiveParser"]


class NaiveParser:
    def __init__(self) -> None:
        self._tail = b""

    def feed(self, data: bytes) -> list[dict[str, str]]:
        parts = (self._tail + data).split(b"\r\n\r\n")
        self._tail = parts.pop()
        out = []
        for part in parts:
            message = {}
            for line in part.decode("utf-8", "surrogateescape").split("\r\n"):
                key, _, value = line.partition(": ")
                message[key] = value
            out.append(message)
        return out
