"""pytest-benchmark: every parser and consumer pattern on the same generated chunks.

``.venv/bin/pytest benches/bench_parse.py --benchmark-enable``. Compare the rows of one run;
``benches/compare.py`` prints the ratios.
"""

from __future__ import annotations

from typing import Any

import pytest

from ami_fast._bench import parse
from ami_fast._bench.gen_stream import GeneratedStream, chunk, generate

MESSAGES = 20_000
CASES = parse.cases()


@pytest.fixture(scope="module")
def stream() -> GeneratedStream:
    return generate(MESSAGES)


@pytest.fixture(scope="module")
def chunks(stream: GeneratedStream) -> list[bytes]:
    return chunk(stream.data)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parser}-{c.pattern}" for c in CASES])
def test_parse(benchmark: Any, case: parse.ParseCase, stream: GeneratedStream, chunks: list[bytes]) -> None:
    benchmark.group = f"parse-{case.pattern}"
    benchmark.extra_info["bytes"] = len(stream.data)
    benchmark.extra_info["messages"] = stream.messages
    assert case.run is not None
    messages, count = benchmark(case.run, chunks)
    assert messages == stream.messages
    if case.pattern == "name":
        assert count == stream.names[parse.FILTER_NAME]
    else:
        assert 0 < count <= stream.fields
