"""Differential fuzzing: random bytes, random chunkings, both parsers, identical results.

Each input is AMI-shaped pieces, random bytes and point mutations, fed with random limits and
strictness. Checks, per input:

1. the native parser and the pure twin give the same per-feed trace (items, ``buffered``,
   ``version``) for the same chunking;
2. each gives the same items for a different chunking (whole, byte by byte, random);
3. nothing raises, and ``buffered`` stays within the size limits.

A failing input is written to ``tests/corpus/regressions/`` (the Rust fuzz input format: a
6-byte header, then the stream) and replayed by ``test_regression_corpus`` forever after.

CI runs a bounded pass (``AMI_FAST_FUZZ_ITERATIONS``, default 1500, seeded by
``AMI_FAST_FUZZ_SEED``); raise the count for a long local run.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import NATIVE_IMPL, PYTHON_IMPL, Impl, comparable, needs_native, split_random

REGRESSIONS = Path(__file__).resolve().parent / "corpus" / "regressions"
ITERATIONS = int(os.environ.get("AMI_FAST_FUZZ_ITERATIONS", "1500"))
SEED = int(os.environ.get("AMI_FAST_FUZZ_SEED", "20240607"))

PIECES: list[bytes] = [
    b"Asterisk Call Manager/11.0.0\r\n",
    b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/1-0001\r\nUniqueid: 1.2\r\n\r\n",
    b"Response: Success\r\nActionID: a-1\r\nMessage: ok\r\n\r\n",
    b"Response: Error\r\nActionID: a-2\r\nMessage: Permission denied\r\n\r\n",
    b"Response: Success\r\nActionID: c-1\r\nOutput: line 1\r\nOutput: line 2\r\n\r\n",
    b"Response: Follows\r\nPrivilege: Command\r\nActionID: f-1\r\n",
    b"Response: follows\nActionID: f-2\n",
    b"body line: 1\nbody\n",
    b"--END COMMAND--\r\n\r\n",
    b"--END COMMAND--\n\n",
    b"--END COMMAND--",
    b"Event: X\nK:v\nK: w\n\n",
    b"Event: Y\r\nno colon here\r\nKey:\r\nKey :  spaced\r\n\r\n",
    b"EventList: start\r\n",
    b"EventList: Complete\r\nListItems: 3\r\n",
    b"Action: Ping\r\nActionID: p\r\n\r\n",
    b"ActionID: first\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b":",
    b"\x00",
    b"\xff\xfe\xc3",
    b"caf\xc3\xa9: \xe2\x82\xac\r\n",
    b"Manager/",
]


def random_input(rng: random.Random) -> bytes:
    out = bytearray(rng.randbytes(6))
    for _ in range(rng.randint(1, 24)):
        roll = rng.random()
        if roll < 0.1:
            out += rng.randbytes(rng.randint(0, 30))
        elif roll < 0.17:
            out += bytes([rng.choice(b"Ax:\r\n ")]) * rng.randint(50, 400)  # hit the size limits
        elif roll < 0.2:
            out += b"".join(b"F%d: v\r\n" % i for i in range(rng.randint(1, 20)))  # hit max_fields
        else:
            out += rng.choice(PIECES)
    for _ in range(rng.randint(0, 3)):
        if len(out) > 6:
            out[rng.randrange(6, len(out))] = rng.randrange(256)
    return bytes(out)


def decode(data: bytes) -> tuple[dict[str, Any], bytes, int]:
    """The fuzz input format shared with rust/fuzz: header -> parser options, stream, seed."""
    if len(data) < 6:
        return {}, data, 1
    h, stream = data[:6], data[6:]
    options: dict[str, Any] = {}
    if h[0] & 1 == 0:
        options = {
            "max_message_bytes": 64 + h[1],
            "max_fields": 1 + (h[2] & 15),
            "max_follows_bytes": 64 + h[3],
        }
    options["strict"] = bool(h[0] & 2)
    return options, stream, (h[4] << 8 | h[5]) | 1


def trace(impl: Impl, chunks: list[bytes], options: dict[str, Any]) -> list[Any]:
    parser = impl.Parser(**options)
    cap = max(options.get("max_message_bytes", 1 << 20), options.get("max_follows_bytes", 8 << 20)) + 2
    out: list[Any] = []
    for chunk in chunks:
        out.append(([comparable(i) for i in parser.feed(chunk)], parser.buffered, parser.version))
        assert parser.buffered <= cap, f"{impl.name}: buffered {parser.buffered} over {cap}"
    out.append(([comparable(i) for i in parser.feed_eof()], parser.buffered, parser.version))
    return out


def items_of(t: list[Any]) -> list[Any]:
    return [item for step in t for item in step[0]]


def check(data: bytes, *, chunk_independence: bool = True) -> None:
    options, stream, seed = decode(data)
    impls = [PYTHON_IMPL] if NATIVE_IMPL is None else [PYTHON_IMPL, NATIVE_IMPL]
    chunkings = {
        "whole": [stream],
        "bytes": [stream[i : i + 1] for i in range(len(stream))],
        "random": split_random(stream, seed, 97),
        "random_small": split_random(stream, seed + 1, 5),
    }
    reference: list[Any] | None = None
    for name, chunks in chunkings.items():
        traces = [trace(impl, chunks, options) for impl in impls]
        if len(traces) == 2:
            assert traces[0] == traces[1], f"native and python differ ({name} chunking)"
        items = items_of(traces[0])
        if reference is None:
            reference = items
        elif chunk_independence:
            assert items == reference, f"{name} chunking differs from one chunk"


def save_regression(data: bytes) -> Path:
    REGRESSIONS.mkdir(parents=True, exist_ok=True)
    path = REGRESSIONS / f"fuzz-{hashlib.sha1(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    return path


def test_random_inputs_both_parsers_agree() -> None:
    rng = random.Random(SEED)
    for n in range(ITERATIONS):
        data = random_input(rng)
        try:
            check(data)
        except Exception as exc:
            path = save_regression(data)
            raise AssertionError(f"input #{n} failed ({exc}); kept as {path}") from exc


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    header=st.binary(min_size=6, max_size=6),
    parts=st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=24)), max_size=20),
)
def test_hypothesis_streams_both_parsers_agree(header: bytes, parts: list[bytes]) -> None:
    data = header + b"".join(parts)
    try:
        check(data)
    except Exception:
        save_regression(data)
        raise


REGRESSION_FILES = sorted(REGRESSIONS.glob("*.bin")) if REGRESSIONS.exists() else []


@pytest.mark.parametrize("path", REGRESSION_FILES, ids=[p.name for p in REGRESSION_FILES])
def test_regression_corpus_parsers_agree(path: Path) -> None:
    check(path.read_bytes(), chunk_independence=False)


@pytest.mark.parametrize(
    "path",
    REGRESSION_FILES,
    ids=[p.name for p in REGRESSION_FILES],
)
def test_regression_corpus_is_chunking_independent(path: Path) -> None:
    options, stream, seed = decode(path.read_bytes())
    whole = items_of(trace(PYTHON_IMPL, [stream], options))
    for chunks in ([stream[i : i + 1] for i in range(len(stream))], split_random(stream, seed, 7)):
        assert items_of(trace(PYTHON_IMPL, chunks, options)) == whole


def test_the_checker_can_fail() -> None:
    # A broken "parser" that drops the last item must be caught by the comparison.
    class Lossy:
        def __init__(self, **kw: Any) -> None:
            self._p = PYTHON_IMPL.Parser(**kw)
            self.buffered = 0
            self.version = None

        def feed(self, data: bytes) -> list[Any]:
            return self._p.feed(data)[:-1]

        def feed_eof(self) -> list[Any]:
            return self._p.feed_eof()

    lossy = Impl("lossy", Lossy, None)
    stream = PIECES[1] * 3
    assert items_of(trace(lossy, [stream], {})) != items_of(trace(PYTHON_IMPL, [stream], {}))


@needs_native
def test_native_is_present_for_the_differential_run() -> None:
    assert NATIVE_IMPL is not None
