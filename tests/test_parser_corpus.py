"""Both parsers against the real Asterisk 22 recordings and the hand-made edge-case corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    CORPUS,
    NATIVE_IMPL,
    Impl,
    comparable,
    needs_native,
    run_chunks,
    split_random,
    splits,
    trace_chunks,
)

RECORDINGS = sorted(p for p in (CORPUS / "asterisk22").glob("*.bin") if not p.name.endswith(".sent.bin"))
CASES = sorted((CORPUS / "cases").glob("*.ami"))


def _meta(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(path.with_name(path.stem + ".chunks.json").read_text())
    return meta


def _rx_chunks(path: Path) -> list[bytes]:
    """The recording cut at its original recv() boundaries."""
    data = path.read_bytes()
    chunks = []
    pos = 0
    for direction, _, size in _meta(path)["chunks"]:
        if direction == "rx":
            chunks.append(data[pos : pos + size])
            pos += size
    assert pos == len(data), "chunk sizes must cover the recording exactly"
    return chunks


def test_corpus_is_complete() -> None:
    # The copy in tests/ must match the shared corpus file list (README included).
    assert len(RECORDINGS) == 8
    assert (CORPUS / "asterisk22" / "README.md").is_file()
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_recording_content(parser_impl: Impl, path: Path) -> None:
    meta = _meta(path)
    data = path.read_bytes()
    parser = parser_impl.Parser()
    items = parser.feed(data)
    assert parser.version == "11.0.0"
    assert parser.buffered == 0
    assert parser.feed_eof() == []
    assert not [i for i in items if isinstance(i, Exception)]
    assert len(items) == meta["messages"]
    events = {m.name for m in items if m.kind == "event"}
    assert events == set(meta["events"])
    assert all(type(m).__name__ in ("Event", "Response") for m in items)
    # Every byte after the banner belongs to exactly one message, in order.
    assert b"".join(m.raw for m in items) == data[len(meta["banner"]) + 2 :]


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_recording_chunkings_agree(parser_impl: Impl, path: Path) -> None:
    data = path.read_bytes()
    whole = run_chunks(parser_impl, [data])
    assert run_chunks(parser_impl, _rx_chunks(path)) == whole
    for name, chunks in splits(data, seeds=2):
        assert run_chunks(parser_impl, chunks) == whole, name


def test_recording_details(parser_impl: Impl) -> None:
    # Spot checks of real content, from the corpus README.
    data = (CORPUS / "asterisk22" / "09_originate_async_local.bin").read_bytes()
    items = parser_impl.Parser().feed(data)
    originate = [m for m in items if m.name == "OriginateResponse"]
    assert len(originate) == 1
    assert type(originate[0]).__name__ == "Event"
    assert originate[0].get_field_value("response") == "Success"
    test_events = [m for m in items if m.name == "TestEvent"]
    assert any(m.get_field_values("State").count("CallIDChange") == 2 for m in test_events)

    data = (CORPUS / "asterisk22" / "04_command.bin").read_bytes()
    responses = [m for m in parser_impl.Parser().feed(data) if m.kind == "response"]
    outputs = [
        r.get_command_output() for r in responses if r.get_field_value("Message") == "Command output follows"
    ]
    assert any(o and "No such command" in o for o in outputs)
    assert any(o and "\n\n" in o for o in outputs) or any(o == "" for o in outputs)


@needs_native
@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_recording_native_equals_python(path: Path) -> None:
    from conftest import PYTHON_IMPL

    assert NATIVE_IMPL is not None
    data = path.read_bytes()
    for chunks in ([data], _rx_chunks(path), split_random(data, 7, 300)):
        assert trace_chunks(NATIVE_IMPL, chunks) == trace_chunks(PYTHON_IMPL, chunks)


# -- hand-made cases --------------------------------------------------------------------------


def _expected(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The JSON expectations in the shape of conftest.comparable()."""

    def b(text: str) -> bytes:
        return text.encode("utf-8", "surrogateescape")

    out: list[tuple[Any, ...]] = []
    for e in doc["expected"]:
        if e["type"] == "error":
            raw = None if e["raw"] is None else b(e["raw"])
            out.append(("error", e["class"], e["text"], e["offset"], b(e["excerpt"]), e["action_id"], raw))
        else:
            out.append(
                (
                    e["class"],
                    e["kind"],
                    e["name"],
                    e["action_id"],
                    [tuple(p) for p in e["items"]],
                    e["extra_lines"],
                    b(e["raw"]),
                    e["command_output"],
                )
            )
    return out


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case(parser_impl: Impl, path: Path) -> None:
    doc = json.loads(path.with_suffix(".json").read_text())
    data = path.read_bytes()
    expected = _expected(doc)
    for name, chunks in splits(data, seeds=4):
        parser = parser_impl.Parser(**doc["options"])
        got = []
        for chunk in chunks:
            got.extend(comparable(i) for i in parser.feed(chunk))
        assert parser.version == doc["version"], name
        got.extend(comparable(i) for i in parser.feed_eof())
        assert got == expected, f"{path.stem} fed {name}"
        assert parser.buffered == 0
        assert parser.version is None  # feed_eof() resets


@needs_native
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case_native_equals_python_per_feed(path: Path) -> None:
    from conftest import PYTHON_IMPL

    assert NATIVE_IMPL is not None
    doc = json.loads(path.with_suffix(".json").read_text())
    data = path.read_bytes()
    for _, chunks in splits(data, seeds=4):
        assert trace_chunks(NATIVE_IMPL, chunks, **doc["options"]) == trace_chunks(
            PYTHON_IMPL, chunks, **doc["options"]
        )
