"""Parse benchmarks: every parser on the same 64 KiB chunks, two consumer patterns.

Consumer patterns (the same work for every parser):

- ``name``: a filtering consumer. Every message is produced, only its name is read, and the
  ``Hangup`` events are counted.
- ``fields``: every field of every message is materialised as Python ``str`` objects (``items()``
  for ami-fast; the eager parsers have already built them) and counted.

Each case returns ``(messages, n)`` where ``n`` is the Hangup count (``name``) or the field count
(``fields``), so the smoke test can check that every parser really parsed the stream.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .naive import NaiveParser
from .peers import PanoramiskParser, panoramisk_available

__all__ = ["ParseCase", "ParseResult", "cases", "measure"]

FILTER_NAME = "Hangup"

Runner = Callable[[list[bytes]], tuple[int, int]]
# A case that times itself (the raw Rust core runs in its own process): (messages, n, seconds).
TimedRunner = Callable[[list[bytes]], tuple[int, int, float]]


@dataclass(frozen=True)
class ParseCase:
    parser: str  # "native", "pure", "naive", "panoramisk", "rust-core" (see rust_core.py)
    pattern: str  # "name" or "fields"
    run: Runner | None = None
    timed: TimedRunner | None = None

    def measure_once(self, chunks: list[bytes]) -> tuple[int, int, float]:
        if self.timed is not None:
            return self.timed(chunks)
        assert self.run is not None
        start = time.perf_counter()
        messages, count = self.run(chunks)
        return messages, count, time.perf_counter() - start


@dataclass
class ParseResult:
    parser: str
    pattern: str
    messages: int
    count: int
    seconds: float  # median of the repetitions
    best_seconds: float
    msgs_per_s: float
    mb_per_s: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _ami_fast_name(parser_cls: Any) -> Runner:
    def run(chunks: list[bytes]) -> tuple[int, int]:
        feed = parser_cls().feed
        messages = hits = 0
        for data in chunks:
            batch = feed(data)
            messages += len(batch)
            for message in batch:
                if message.name == FILTER_NAME:
                    hits += 1
        return messages, hits

    return run


def _ami_fast_fields(parser_cls: Any) -> Runner:
    def run(chunks: list[bytes]) -> tuple[int, int]:
        feed = parser_cls().feed
        messages = fields = 0
        for data in chunks:
            batch = feed(data)
            messages += len(batch)
            for message in batch:
                fields += len(message.items())
        return messages, fields

    return run


def _naive_name(chunks: list[bytes]) -> tuple[int, int]:
    feed = NaiveParser().feed
    messages = hits = 0
    for data in chunks:
        batch = feed(data)
        messages += len(batch)
        for message in batch:
            if message.get("Event") == FILTER_NAME:
                hits += 1
    return messages, hits


def _naive_fields(chunks: list[bytes]) -> tuple[int, int]:
    feed = NaiveParser().feed
    messages = fields = 0
    for data in chunks:
        batch = feed(data)
        messages += len(batch)
        for message in batch:
            fields += len(message)  # the dict holds every (deduplicated) field already
    return messages, fields


def _panoramisk_name(chunks: list[bytes]) -> tuple[int, int]:
    feed = PanoramiskParser().feed
    messages = hits = 0
    for data in chunks:
        batch = feed(data)
        messages += len(batch)
        for message in batch:
            if message.get("Event") == FILTER_NAME:
                hits += 1
    return messages, hits


def _panoramisk_fields(chunks: list[bytes]) -> tuple[int, int]:
    feed = PanoramiskParser().feed
    messages = fields = 0
    for data in chunks:
        batch = feed(data)
        messages += len(batch)
        for message in batch:
            # Eager: every value is already a str (repeats as lists); minus its "content" key.
            fields += len(message) - 1
    return messages, fields


def cases(include: set[str] | None = None) -> list[ParseCase]:
    """Every available (parser, pattern) case; `include` restricts the parser names."""
    from .. import _pyparser, _select

    out: list[ParseCase] = []
    if _select.native is not None:
        out.append(ParseCase("native", "name", _ami_fast_name(_select.native.Parser)))
        out.append(ParseCase("native", "fields", _ami_fast_fields(_select.native.Parser)))
    out.append(ParseCase("pure", "name", _ami_fast_name(_pyparser.Parser)))
    out.append(ParseCase("pure", "fields", _ami_fast_fields(_pyparser.Parser)))
    out.append(ParseCase("naive", "name", _naive_name))
    out.append(ParseCase("naive", "fields", _naive_fields))
    if panoramisk_available():
        out.append(ParseCase("panoramisk", "name", _panoramisk_name))
        out.append(ParseCase("panoramisk", "fields", _panoramisk_fields))
    if include is not None:
        out = [c for c in out if c.parser in include]
    return out


def measure(
    case_list: list[ParseCase],
    chunks: list[bytes],
    *,
    repeat: int = 5,
    slow_repeat: int = 3,
    seed: int = 1,
) -> list[ParseResult]:
    """Time every case `repeat` times, interleaved in a random order, with the GC off.

    Interleaving spreads machine noise over all cases, so the ratios are fair even when the
    absolute numbers wander. Slow cases (more than a second a run) get `slow_repeat` runs.
    """
    total_bytes = sum(map(len, chunks))
    times: dict[int, list[float]] = {i: [] for i in range(len(case_list))}
    counts: dict[int, tuple[int, int]] = {}
    rng = random.Random(seed)
    order = list(range(len(case_list)))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for rep in range(repeat):
            rng.shuffle(order)
            for i in order:
                if rep >= slow_repeat and min(times[i]) > 1.0:
                    continue
                messages, count, seconds = case_list[i].measure_once(chunks)
                counts[i] = (messages, count)
                times[i].append(seconds)
                gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    results = []
    for i, case in enumerate(case_list):
        median = statistics.median(times[i])
        messages, count = counts[i]
        results.append(
            ParseResult(
                parser=case.parser,
                pattern=case.pattern,
                messages=messages,
                count=count,
                seconds=median,
                best_seconds=min(times[i]),
                msgs_per_s=messages / median,
                mb_per_s=total_bytes / median / 1e6,
            )
        )
    return results
