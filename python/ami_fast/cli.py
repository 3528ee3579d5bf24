"""The ``ami-fast`` command line (also ``python -m ami_fast``).

Commands::

    ami-fast demo [--seconds 5] [--rate 3000]       the embedded call centre, live, no Asterisk needed
    ami-fast events [NAME ...] [--where K=V] [--fields A,B] [--count N]    events as JSON lines
    ami-fast action NAME [key=value ...] [--format json|table]
    ami-fast command "core show channels"
    ami-fast ping
    ami-fast simulate [--port 5038] [--rate 2000]   serve the simulator on loopback
    ami-fast bench [--full] [args...]               the benchmark comparison (quick by default)
    ami-fast bridge --config fleet.toml             a fleet's events into NATS JetStream (docs/fleets.md)

Connection: ``--url`` or the ``AMI_URL`` environment variable, e.g. ``ami:secret@127.0.0.1``
or ``tls://ami@pbx.example.com``. A URL with a user but no secret takes the secret from
``AMI_SECRET``, or asks for it (without echo) when stdin is a terminal, so the secret never has
to appear in the process list.

Exit codes (one line on stderr explains every failure):

====  =========================================================================
0     success
1     the server answered ``Response: Error`` (action error)
2     usage error: bad arguments, bad URL, CR/LF/NUL in a field (nothing sent)
3     connection refused, unreachable or lost
4     login failed (bad user or secret, ACL)
5     timeout (connect, login or response)
130   interrupted (Ctrl-C)
====  =========================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fnmatch
import getpass
import importlib
import io
import json
import os
import stat
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from .errors import (
    ActionError,
    ActionTimeoutError,
    AuthenticationError,
    InvalidActionError,
)

if TYPE_CHECKING:
    from .client import Client
    from .collection import Collection
    from .messages import Message, Response

__all__ = ["EXIT_ACTION", "EXIT_AUTH", "EXIT_CONNECT", "EXIT_TIMEOUT", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_ACTION = 1
EXIT_USAGE = 2
EXIT_CONNECT = 3
EXIT_AUTH = 4
EXIT_TIMEOUT = 5
EXIT_INTERRUPTED = 130

PROG = "ami-fast"


class CliError(Exception):
    """A failure with its exit code; ``main`` prints ``str(self)`` as the one stderr line."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# -- helpers ---------------------------------------------------------------------------------


def _err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def resolve_url(
    url: str | None, *, environ: dict[str, str] | None = None, stdin: TextIO | None = None
) -> str:
    """The URL to use: ``--url``, else ``AMI_URL``; a user without a secret gets the secret
    from ``AMI_SECRET`` or, when stdin is a terminal, from a prompt."""
    env = os.environ if environ is None else environ
    stdin = sys.stdin if stdin is None else stdin
    url = url or env.get("AMI_URL")
    if not url:
        raise CliError("no server given: pass --url (e.g. ami:secret@127.0.0.1) or set AMI_URL", EXIT_USAGE)
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, hostport = rest.rpartition("@")
    if at and ":" not in userinfo:
        secret = env.get("AMI_SECRET")
        if secret is None:
            if not (stdin is not None and stdin.isatty()):
                raise CliError(
                    f"the URL names user {userinfo!r} but no secret: set AMI_SECRET or run from a terminal",
                    EXIT_USAGE,
                )
            secret = getpass.getpass(f"AMI secret for {userinfo}: ")
        url = f"{scheme}{sep}{userinfo}:{quote(secret, safe='')}@{hostport}"
    from .url import parse_url

    try:
        parse_url(url)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    return url


def parse_assignments(items: Sequence[str]) -> list[tuple[str, str]]:
    """``key=value`` arguments (split at the first ``=``; a key may repeat)."""
    fields: list[tuple[str, str]] = []
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise CliError(f"expected key=value, got {item.split('=')[0]!r}...", EXIT_USAGE)
        fields.append((key, value))
    return fields


def message_dict(msg: Message | Collection) -> dict[str, Any]:
    """A message as a JSON-able dict, first field first (``Event``/``Response``)."""
    return dict(msg.get_fields())


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _table(rows: list[dict[str, Any]], out: TextIO) -> None:
    """A readable table: one column per key (in first-seen order), values cut at 40 chars."""
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)

    def cell(v: Any) -> str:
        text = ", ".join(v) if isinstance(v, list) else str(v)
        return text if len(text) <= 40 else text[:39] + "…"

    cells = [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip(), file=out)


def _print_fields(fields: dict[str, Any], out: TextIO) -> None:
    width = max((len(k) for k in fields), default=0)
    for key, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            print(f"{key.ljust(width)} : {v}", file=out)


async def _connect(args: argparse.Namespace, **options: Any) -> Client:
    from .factory import Factory

    factory = Factory(
        timeout=args.timeout, connect_timeout=args.timeout, login_timeout=args.timeout, **options
    )
    return await factory.create_client(args.url)


async def _run_with_client(
    args: argparse.Namespace, body: Callable[[Client], Awaitable[int]], **options: Any
) -> int:
    client = await _connect(args, **options)
    try:
        code = await body(client)
    except BaseException:
        client.close()
        await client.wait_closed()
        raise
    with contextlib.suppress(Exception):
        await client.end(timeout=args.timeout)
    return code


# -- commands --------------------------------------------------------------------------------


def cmd_ping(args: argparse.Namespace) -> int:
    async def body(client: Client) -> int:
        start = time.perf_counter()
        response = await client.request(client.create_action("Ping"))
        ms = (time.perf_counter() - start) * 1000
        pong = response.get_field_value("Ping") or response.name
        print(f"{pong} from {client.peer} in {ms:.2f} ms (AMI {client.version})")
        return EXIT_OK

    return asyncio.run(_run_with_client(args, body))


def cmd_command(args: argparse.Namespace) -> int:
    from .messages import Action

    try:
        Action("Command", {"Command": args.cli_command})  # refuse injection before connecting
    except InvalidActionError as exc:
        raise CliError(f"refused before sending: {exc}", EXIT_USAGE) from None

    async def body(client: Client) -> int:
        try:
            response = await client.request(client.create_action("Command", {"Command": args.cli_command}))
        except ActionError as exc:
            output = exc.command_output
            if output:
                print(output, file=sys.stderr)
            raise
        output = response.get_command_output()
        if output:
            print(output)
        return EXIT_OK

    return asyncio.run(_run_with_client(args, body))


def cmd_action(args: argparse.Namespace) -> int:
    from .messages import Action

    fields = parse_assignments(args.fields)
    try:
        Action(args.name, fields)  # refuse injection and bad syntax before connecting
    except InvalidActionError as exc:
        raise CliError(f"refused before sending: {exc}", EXIT_USAGE) from None
    fmt = args.format or ("table" if sys.stdout.isatty() else "json")

    async def body(client: Client) -> int:
        result = await client.request(client.create_action(args.name, fields))
        _print_result(result, fmt)
        return EXIT_OK

    return asyncio.run(_run_with_client(args, body))


def _print_result(result: Response | Collection, fmt: str) -> None:
    from .collection import Collection

    out = sys.stdout
    if isinstance(result, Collection):
        entries = [message_dict(e) for e in result]
        complete = result.get_complete_event()
        if fmt == "json":
            doc = {
                "response": message_dict(result),
                "events": entries,
                "complete": message_dict(complete) if complete is not None else None,
            }
            print(_json(doc), file=out)
            return
        _print_fields(message_dict(result), out)
        print(file=out)
        if entries:
            _table([{k: v for k, v in e.items()} for e in entries], out)
        else:
            print("(no entries)", file=out)
        if complete is not None:
            print(file=out)
            _print_fields(message_dict(complete), out)
        return
    if fmt == "json":
        print(_json(message_dict(result)), file=out)
    else:
        _print_fields(message_dict(result), out)
        output = result.get_command_output() if hasattr(result, "get_command_output") else None
        if output is not None and "Output" not in message_dict(result):
            print(output, file=out)


class _RateLine:
    """The live ``N events, R/s`` line on stderr (only when stderr is a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.total = 0
        self._last_t = time.monotonic()
        self._last_n = 0
        self._rate = 0.0

    def tick(self) -> None:
        self.total += 1
        if self.enabled:
            now = time.monotonic()
            if now - self._last_t >= 0.5:
                self._rate = (self.total - self._last_n) / (now - self._last_t)
                self._last_t, self._last_n = now, self.total
                sys.stderr.write(f"\r\x1b[K{self.total} events, {self._rate:,.0f}/s")
                sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write(f"\r\x1b[K{self.total} events\n")
            sys.stderr.flush()


def _on_pipe_reader_gone(out: TextIO, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` once when the reader of the pipe behind ``out`` goes away (the write
    end of a pipe is never readable, so the selector reports only that error); returns the
    undo. Does nothing for a terminal, a file or a loop without ``add_reader``."""
    try:
        fd = out.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return lambda: None
        loop = asyncio.get_running_loop()

        def fire() -> None:
            loop.remove_reader(fd)
            callback()

        loop.add_reader(fd, fire)
    except (OSError, ValueError, NotImplementedError, io.UnsupportedOperation):
        return lambda: None

    def undo() -> None:
        loop.remove_reader(fd)

    return undo


def cmd_events(args: argparse.Namespace) -> int:
    where = parse_assignments(args.where)
    fields = [f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None
    if args.count is not None and args.count < 1:
        raise CliError("--count must be at least 1", EXIT_USAGE)

    def selected(event: Message) -> bool:
        for key, pattern in where:
            values = event.get_field_values(key)
            if not any(fnmatch.fnmatchcase(v, pattern) for v in values):
                return False
        return True

    async def body(client: Client) -> int:
        rate = _RateLine(sys.stderr.isatty())
        out = sys.stdout
        seen = 0
        # A pipe is block-buffered: flush at most 50 ms after a line is written, so a quiet
        # server's events reach `| jq` promptly, without one write(2) per event in a flood.
        loop = asyncio.get_running_loop()
        flush_timer: asyncio.TimerHandle | None = None
        reader_gone = False

        def flush() -> None:
            nonlocal flush_timer, reader_gone
            flush_timer = None
            try:
                out.flush()
            except BrokenPipeError:
                reader_gone = True  # `| head` is done: raised from the loop below, never here

        # On a quiet server the next write may be minutes away: notice the reader leaving now.
        task = asyncio.current_task()

        def gone() -> None:
            nonlocal reader_gone
            reader_gone = True
            if task is not None:
                task.cancel()

        unwatch = _on_pipe_reader_gone(out, gone)
        try:
            async with client.events(*args.names) as stream:
                async for event in stream:
                    if reader_gone:
                        raise BrokenPipeError
                    if where and not selected(event):
                        continue
                    doc = message_dict(event)
                    if fields is not None:
                        doc = {"Event": event.name, **{k: doc[k] for k in fields if k in doc}}
                    out.write(_json(doc) + "\n")
                    seen += 1
                    rate.tick()
                    if args.count is not None and seen >= args.count:
                        return EXIT_OK
                    if flush_timer is None:
                        flush_timer = loop.call_later(0.05, flush)
        except asyncio.CancelledError:
            if reader_gone:
                raise BrokenPipeError from None
            raise
        finally:
            unwatch()
            if flush_timer is not None:
                flush_timer.cancel()
            out.flush()
            rate.done()
        reason = client.close_reason
        if reason is not None:
            raise CliError(f"connection lost: {reason}", EXIT_CONNECT)
        raise CliError("the server closed the connection", EXIT_CONNECT)

    return asyncio.run(_run_with_client(args, body))


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulator import Simulator

    async def serve() -> int:
        sim = Simulator(
            rate=args.rate, host=args.host, port=args.port, users={args.user: args.secret}, seed=args.seed
        )
        async with sim:
            print(f"serving a simulated Asterisk on {sim.url} at ~{args.rate:g} events/s", flush=True)
            print(f"try: AMI_URL={sim.url} {PROG} events --count 5", flush=True)
            if args.seconds is not None:
                await asyncio.sleep(args.seconds)
            else:
                await asyncio.Event().wait()
        return EXIT_OK

    return asyncio.run(serve())


def cmd_bench(args: argparse.Namespace) -> int:
    try:
        compare = importlib.import_module(f"{__package__}._bench.compare")
    except ImportError as exc:
        raise CliError(f"benchmarks not available in this installation ({exc})", EXIT_USAGE) from None
    argv = list(args.bench_args)
    if not args.full and "--quick" not in argv:
        argv.insert(0, "--quick")
    return int(compare.main(argv) or 0)


def cmd_demo(args: argparse.Namespace) -> int:
    from ._sim_demo import run_demo

    return run_demo(seconds=args.seconds, rate=args.rate, out=sys.stdout)


# -- argument parsing ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A fast Asterisk Manager Interface client: live demo, events, actions, simulator.",
        epilog="Exit codes: 0 ok, 1 action error, 2 usage, 3 connection, 4 login failed, 5 timeout.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    conn = argparse.ArgumentParser(add_help=False)
    conn.add_argument(
        "--url", help="server URL, e.g. ami:secret@127.0.0.1 or tls://ami@pbx:5039 (env AMI_URL)"
    )
    conn.add_argument(
        "--timeout", type=float, default=10.0, help="seconds for connect, login and each response"
    )

    p = sub.add_parser("demo", help="run the embedded call-centre simulator and watch it live")
    p.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    p.add_argument("--rate", type=float, default=3000.0, help="simulated events per second (default 3000)")
    p.set_defaults(func=cmd_demo, needs_url=False)

    p = sub.add_parser("events", parents=[conn], help="stream events as JSON lines")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these event names (case-insensitive)")
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=PATTERN",
        help="only events whose field matches (glob, e.g. Channel=PJSIP/*); repeatable",
    )
    p.add_argument("--fields", help="comma-separated fields to print (Event is always kept)")
    p.add_argument("--count", type=int, help="stop after this many events")
    p.set_defaults(func=cmd_events, needs_url=True)

    p = sub.add_parser("action", parents=[conn], help="send any action and print the answer")
    p.add_argument("name", metavar="NAME", help="the action, e.g. CoreShowChannels")
    p.add_argument("fields", nargs="*", metavar="KEY=VALUE", help="fields (a key may repeat)")
    p.add_argument("--format", choices=["json", "table"], help="default: table on a terminal, else json")
    p.set_defaults(func=cmd_action, needs_url=True)

    p = sub.add_parser("command", parents=[conn], help="run an Asterisk CLI command and print its output")
    p.add_argument("cli_command", metavar="CLI_COMMAND", help='e.g. "core show channels"')
    p.set_defaults(func=cmd_command, needs_url=True)

    p = sub.add_parser("ping", parents=[conn], help="ping the server and print the round trip")
    p.set_defaults(func=cmd_ping, needs_url=True)

    p = sub.add_parser("simulate", help="serve the simulated call centre on loopback")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5038, help="port (default 5038; 0 picks a free one)")
    p.add_argument("--rate", type=float, default=2000.0, help="events per second (default 2000)")
    p.add_argument("--user", default="ami", help="AMI user (default ami)")
    p.add_argument("--secret", default="amipass", help="its secret (default amipass)")
    p.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--seed", type=int, help="random seed, for a reproducible run")
    p.set_defaults(func=cmd_simulate, needs_url=False)

    p = sub.add_parser("bench", help="benchmark the parsers and the client (quick form by default)")
    p.add_argument("--full", action="store_true", help="the full-size run instead of --quick")
    # Any other argument goes to the benchmark runner (see `ami-fast bench --full -h`).
    p.set_defaults(func=cmd_bench, needs_url=False, bench_args=[])

    from .bridge.command import add_parser as add_bridge_parser

    add_bridge_parser(sub)
    return parser


def _classify(exc: BaseException) -> tuple[int, str]:
    """Exit code and one-line message for an exception escaping a command."""
    if isinstance(exc, CliError):
        return exc.code, str(exc)
    if isinstance(exc, AuthenticationError):
        return EXIT_AUTH, f"login failed: {exc.message or exc}"
    if isinstance(exc, InvalidActionError):
        return EXIT_USAGE, f"refused before sending: {exc}"
    if isinstance(exc, ActionError):
        return EXIT_ACTION, f"action error: {exc}"
    if isinstance(exc, (ActionTimeoutError, TimeoutError, asyncio.TimeoutError)):
        return EXIT_TIMEOUT, f"timeout: {exc}" if str(exc) else "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return EXIT_CONNECT, f"connection refused: {exc.strerror or exc}"
    if isinstance(exc, (ConnectionError, OSError)):
        return EXIT_CONNECT, f"connection failed: {exc}"
    if isinstance(exc, ValueError):
        return EXIT_USAGE, str(exc)
    raise exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "command", None) != "bench":
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.bench_args = extra
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.needs_url:
            args.url = resolve_url(args.url)
        return int(args.func(args))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output went away (`ami-fast events | head`): nothing to report.
        # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        code, message = _classify(exc)
        _err(message)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
