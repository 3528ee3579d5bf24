"""Shared fixtures: both parser implementations, and helpers to compare their output."""

from __future__ import annotations

import importlib
import os
import random
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "python") not in sys.path:
    # Works without an installed package (the extension, when built, lands in python/ami_fast).
    sys.path.insert(0, str(ROOT / "python"))

from ami_fast import _pyparser  # noqa: E402
from ami_fast.errors import ProtocolError  # noqa: E402
from ami_fast.testing import FakeAsterisk  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "corpus"


def _load_native() -> tuple[Any, str]:
    if os.environ.get("AMI_FAST_NO_EXTENSIONS", "") not in ("", "0"):
        return None, "AMI_FAST_NO_EXTENSIONS is set"
    try:
        return importlib.import_module("ami_fast._native"), ""
    except ImportError as exc:
        return None, f"ami_fast._native is not built ({exc})"


NATIVE, NATIVE_MISSING = _load_native()


@dataclass(frozen=True)
class Impl:
    """One parser implementation: its Parser class and encoder."""

    name: str
    Parser: Any
    encode_action: Any


PYTHON_IMPL = Impl("python", _pyparser.Parser, _pyparser.encode_action)
NATIVE_IMPL = Impl("native", NATIVE.Parser, NATIVE.encode_action) if NATIVE is not None else None

needs_native = pytest.mark.skipif(NATIVE is None, reason=NATIVE_MISSING or "native present")


@pytest.fixture(params=["native", "python"])
def parser_impl(request: pytest.FixtureRequest) -> Impl:
    """Each test runs against the Rust extension and the pure twin."""
    if request.param == "native":
        if NATIVE_IMPL is None:
            pytest.skip(NATIVE_MISSING)
        return NATIVE_IMPL
    return PYTHON_IMPL


@pytest.fixture
async def srv() -> AsyncIterator[FakeAsterisk]:
    """A ``FakeAsterisk`` (user ``ami``/``amipass``) with a short failed-login delay."""
    async with FakeAsterisk(auth_failure_delay=0.01) as server:
        yield server


def all_impls() -> list[Impl]:
    """The implementations available now (the twin always; native when built)."""
    return [PYTHON_IMPL] if NATIVE_IMPL is None else [PYTHON_IMPL, NATIVE_IMPL]


def comparable(item: Any) -> tuple[Any, ...]:
    """A message or error as a plain tuple, so two implementations can be compared with ==."""
    if isinstance(item, BaseException):
        assert isinstance(item, ProtocolError), f"unexpected exception type {type(item)!r}"
        return (
            "error",
            type(item).__name__,
            str(item),
            item.offset,
            item.excerpt,
            item.action_id,
            item.raw,
        )
    output = item.get_command_output() if item.kind == "response" else None
    return (
        type(item).__name__,
        item.kind,
        item.name,
        item.action_id,
        item.items(),
        item.extra_lines,
        item.raw,
        output,
    )


def run_chunks(impl: Impl, chunks: list[bytes], eof: bool = True, **kwargs: Any) -> list[tuple[Any, ...]]:
    """Feed ``chunks`` to a fresh parser; the comparable results, then ``feed_eof()``'s."""
    parser = impl.Parser(**kwargs)
    out: list[tuple[Any, ...]] = []
    for chunk in chunks:
        out.extend(comparable(item) for item in parser.feed(chunk))
    if eof:
        out.extend(comparable(item) for item in parser.feed_eof())
    return out


def trace_chunks(impl: Impl, chunks: list[bytes], **kwargs: Any) -> list[Any]:
    """Per-feed trace: results, ``buffered`` and ``version`` after each call, then EOF."""
    parser = impl.Parser(**kwargs)
    trace: list[Any] = []
    for chunk in chunks:
        items = [comparable(item) for item in parser.feed(chunk)]
        trace.append((items, parser.buffered, parser.version))
    trace.append(([comparable(item) for item in parser.feed_eof()], parser.buffered, parser.version))
    return trace


def split_whole(data: bytes) -> list[bytes]:
    return [data]


def split_bytes(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def split_random(data: bytes, seed: int, max_piece: int = 64) -> list[bytes]:
    rng = random.Random(seed)
    pieces = []
    pos = 0
    while pos < len(data):
        step = rng.randint(1, max_piece)
        pieces.append(data[pos : pos + step])
        pos += step
    return pieces


def splits(data: bytes, seeds: int = 3) -> Iterator[tuple[str, list[bytes]]]:
    """The chunkings every stream is checked with: whole, byte by byte, random (seeded)."""
    yield "whole", split_whole(data)
    yield "bytes", split_bytes(data)
    for seed in range(seeds):
        yield f"random{seed}", split_random(data, seed)
