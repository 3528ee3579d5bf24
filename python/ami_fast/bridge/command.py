"""The ``ami-fast bridge --config fleet.toml [--servers a,b]`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

__all__ = ["add_parser", "cmd_bridge"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bridge", help="publish a fleet's events into NATS JetStream (needs ami-fast[nats])")
    p.add_argument(
        "--config", required=True, metavar="FILE", help="the fleet's TOML file (see docs/fleets.md)"
    )
    p.add_argument(
        "--servers", metavar="ID,ID", help="only these servers of the file (split a fleet across processes)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=cmd_bridge, needs_url=False)


def cmd_bridge(args: argparse.Namespace) -> int:
    from ..cli import EXIT_USAGE, CliError
    from .bridge import Bridge
    from .config import load_config

    try:
        import nats  # noqa: F401
    except ImportError:
        raise CliError("the bridge needs nats-py: pip install 'ami-fast[nats]'", EXIT_USAGE) from None

    config = load_config(args.config)
    if args.servers:
        config = config.only([s.strip() for s in args.servers.split(",") if s.strip()])
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    async def run() -> int:
        bridge = Bridge(config)
        await bridge.start()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await bridge.stop()
        return 0 if not bridge.lost_at_stop else 1

    return asyncio.run(run())
