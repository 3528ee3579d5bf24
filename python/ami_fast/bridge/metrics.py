"""Prometheus text metrics: a tiny histogram, the exposition writer and an HTTP endpoint.

``GET /metrics`` (any path answers) on the address of ``[bridge] metrics = "host:port"``
returns the text format (version 0.0.4), one series per server (label ``server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from bisect import bisect_left
from collections.abc import Callable, Iterable

__all__ = ["BUCKETS", "Histogram", "MetricsServer", "Sample", "render"]

logger = logging.getLogger("ami_fast.bridge")

# Publish latency buckets (seconds): from 1 ms on a healthy loopback broker to the 30 s of
# an outage the buffer rode out.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# (name, type, help, [(labels, value)]); histograms give their pre-expanded series.
Sample = tuple[str, str, str, list[tuple[dict[str, str], float]]]


class Histogram:
    """Cumulative-bucket histogram (observations in seconds)."""

    __slots__ = ("count", "counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(BUCKETS, value)] += 1
        self.count += 1
        self.sum += value

    def series(self, labels: dict[str, str]) -> Iterable[tuple[str, dict[str, str], float]]:
        running = 0
        for bound, n in zip((*BUCKETS, float("inf")), self.counts, strict=False):
            running += n
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            yield "_bucket", {**labels, "le": le}, float(running)
        yield "_sum", labels, self.sum
        yield "_count", labels, float(self.count)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def render(
    samples: Iterable[Sample], histograms: Iterable[tuple[str, str, list[tuple[dict[str, str], Histogram]]]]
) -> str:
    """The Prometheus text exposition of plain samples and histograms."""
    out: list[str] = []
    for name, kind, help_text, values in samples:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in values:
            out.append(f"{name}{_labels(labels)} {_number(value)}")
    for name, help_text, hists in histograms:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} histogram")
        for labels, hist in hists:
            for suffix, lab, value in hist.series(labels):
                out.append(f"{name}{suffix}{_labels(lab)} {_number(value)}")
    return "\n".join(out) + "\n"


class MetricsServer:
    """A minimal HTTP/1.0 server answering every GET with ``text()`` (loopback by default)."""

    def __init__(self, host: str, port: int, text: Callable[[], str]) -> None:
        self.host = host
        self.port = port
        self._text = text
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            method = request.split(b" ", 1)[0]
            if method not in (b"GET", b"HEAD"):
                writer.write(b"HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            else:
                body = self._text().encode()
                writer.write(
                    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + (body if method == b"GET" else b"")
                )
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
            pass
        except Exception:  # a bug in text() must not kill the endpoint
            logger.exception("bridge metrics endpoint failed")
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
