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


# Per-batch counters: called once a chunk, so the per-message loop stays inline in each one.
def _hits_by_attr(batch: list[Any]) -> int:
    hits = 0
    for message in batch:
        if message.name == FILTER_NAME:
            hits += 1
    return hits


def _hits_by_key(batch: list[Any]) -> int:
    hits = 0
    for message in batch:
        if message.get("Event") == FILTER_NAME:
            hits += 1
    return hits


def _fields_by_items(batch: list[Any]) -> int:
    fields = 0
    for message in batch:
        fields += len(message.items())
    return fields


def _fields_by_len(batch: list[Any]) -> int:
    fields = 0
    for message in batch:
        fields += len(message)  # the dict holds every (deduplicated) field already
    return fields


def _fields_panoramisk(batch: list[Any]) -> int:
    fields = 0
    for message in batch:
        # Eager: every value is already a str (repeats as lists); minus its "content" key.
        fields += len(message) - 1
    return fields


def _runner(parser_cls: Any, count: Callable[[list[Any]], int]) -> Runner:
    def run(chunks: list[bytes]) -> tuple[int, int]:
        feed = parser_cls().feed
        messages = counted = 0
        for data in chunks:
            batch = feed(data)
            messages += len(batch)
            counted += count(batch)
        return messages, counted

    return run


def cases(include: set[str] | None = None) -> list[ParseCase]:
    """Every available (parser, pattern) case; `include` restricts the parser names."""
    from .. import _pyparser, _select

    # parser name -> (class, name counter, fields counter)
    table: dict[str, tuple[Any, Callable[[list[Any]], int], Callable[[list[Any]], int]]] = {}
    if _select.native is not None:
        table["native"] = (_select.native.Parser, _hits_by_attr, _fields_by_items)
    table["pure"] = (_pyparser.Parser, _hits_by_attr, _fields_by_items)
    table["naive"] = (NaiveParser, _hits_by_key, _fields_by_len)
    if panoramisk_available():
        table["panoramisk"] = (PanoramiskParser, _hits_by_key, _fields_panoramisk)
    return [
        ParseCase(parser, pattern, _runner(cls, count))
        for parser, (cls, name_count, fields_count) in table.items()
        if include is None or parser in include
        for pattern, count in (("name", name_count), ("fields", fields_count))
    ]


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
