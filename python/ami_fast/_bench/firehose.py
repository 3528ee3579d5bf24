"""A loopback AMI server that writes generated events as fast as the socket takes them.

Run in its own process (``python -m ami_fast._bench.firehose``) so the client under test has a
core to itself. It prints ``PORT <n>`` on stdout, then serves until stdin closes.

It speaks just enough AMI for a benchmark: banner, plain ``Login`` (any secret), MD5
``Challenge``/``Login``, ``Ping``, ``Logoff``, and two bench actions:

- ``Firehose`` with ``Count: N``: a Success response, then N events from the generated stream
  (repeated when N is larger than the stream), written with ``sendall`` in 1 MiB slices;
- ``BenchHold``: never answered (for memory per pending request).

Every other action gets a plain Success.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import threading

from .child import ChildServer
from .gen_stream import BANNER, generate

__all__ = ["FirehoseProcess", "main"]

SLICE = 1 << 20


class _Stream:
    def __init__(self, n_events: int, seed: int) -> None:
        self.data = generate(n_events, seed=seed, responses=False).data
        self.ends = [m.end() for m in re.finditer(b"\r\n\r\n", self.data)]

    def send(self, sock: socket.socket, count: int) -> None:
        view = memoryview(self.data)
        per_copy = len(self.ends)
        while count > 0:
            take = min(count, per_copy)
            stop = self.ends[take - 1]
            for start in range(0, stop, SLICE):
                sock.sendall(view[start : min(start + SLICE, stop)])
            count -= take


class _ActionReader:
    """Reads whole actions (blocks ending in an empty line) from a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def read(self) -> list[dict[str, str]] | None:
        """Block until at least one whole action arrived; None on EOF."""
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        *complete, self.buf = self.buf.split(b"\r\n\r\n")
        actions = []
        for block in complete:
            fields: dict[str, str] = {}
            for line in block.decode("utf-8", "replace").split("\r\n"):
                key, _, value = line.partition(":")
                fields.setdefault(key.strip().lower(), value.strip())
            if fields.get("action"):
                actions.append(fields)
        return actions


def _reply(action: dict[str, str], *lines: str) -> bytes:
    out = "Response: Success\r\n"
    if "actionid" in action:
        out += f"ActionID: {action['actionid']}\r\n"
    out += "".join(f"{line}\r\n" for line in lines)
    return (out + "\r\n").encode()


def _serve(sock: socket.socket, stream: _Stream) -> None:
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(BANNER)
        reader = _ActionReader(sock)
        try:
            while (actions := reader.read()) is not None:
                for action in actions:
                    name = action["action"].lower()
                    if name == "login":
                        sock.sendall(_reply(action, "Message: Authentication accepted"))
                    elif name == "challenge":
                        sock.sendall(_reply(action, "Challenge: 840309207"))
                    elif name == "ping":
                        sock.sendall(_reply(action, "Ping: Pong", "Timestamp: 1795687571.000000"))
                    elif name == "logoff":
                        goodbye = _reply(action, "Message: Thanks for all the fish.")
                        sock.sendall(goodbye.replace(b"Success", b"Goodbye", 1))
                        return
                    elif name == "firehose":
                        count = int(action.get("count", "0"))
                        sock.sendall(_reply(action, f"Message: {count} events follow"))
                        stream.send(sock, count)
                    elif name == "benchhold":
                        continue
                    else:
                        sock.sendall(_reply(action, "Message: OK"))
        except OSError:
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="distinct events generated")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    stream = _Stream(args.events, args.seed)
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    print(f"PORT {listener.getsockname()[1]}", flush=True)

    def accept_loop() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=_serve, args=(conn, stream), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    sys.stdin.read()  # the parent closes our stdin to stop us


class FirehoseProcess:
    """Starts the server in a child process; ``with FirehoseProcess() as fh: fh.port``."""

    def __init__(self, events: int = 100_000, seed: int = 2026) -> None:
        self.events = events
        self.seed = seed
        self.port = 0
        self._child = ChildServer(
            "ami_fast._bench.firehose", "PORT", "--events", str(events), "--seed", str(seed)
        )

    def __enter__(self) -> FirehoseProcess:
        self.port = int(self._child.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self._child.stop()


if __name__ == "__main__":
    main()
