"""Message types of the pure-Python parser twin (see docs/parser-contract.md, "Message API").

A parsed message keeps its own bytes and decodes its fields only when first asked: a consumer
that reads just ``name`` never pays for the fields, one that reads a few fields pays a byte
search for each, and the first call that needs them all splits the message once: on CRLF, each
line looked up in a shared cache of ``(key, value)`` pairs when the message is plain, by the
exact line-by-line rules otherwise.
``FieldLookup`` holds the whole lookup API over a list of ``(key, value)`` pairs, so
``messages.Action`` reuses it.
"""

from __future__ import annotations

import re

__all__ = ["Event", "FieldLookup", "Message", "Response", "ascii_fold", "decode"]

_MISSING = object()


def decode(data: bytes) -> str:
    """Decode wire bytes losslessly (the contract's single decoding rule)."""
    return data.decode("utf-8", "surrogateescape")


def ascii_fold(text: str) -> str:
    """Fold A-Z to a-z and nothing else (``str.lower`` would also fold non-ASCII letters)."""
    if text.isascii():
        return text.lower()
    # bytes.lower() touches ASCII only; surrogateescape makes the round trip exact.
    return text.encode("utf-8", "surrogateescape").lower().decode("utf-8", "surrogateescape")


class FieldLookup:
    """Case-insensitive, order-keeping lookups over ``(key, value)`` pairs.

    Subclasses provide ``_pairs()`` (every pair, in line order) and ``_index()``
    (ASCII-folded key -> first value).
    """

    __slots__ = ()

    def _pairs(self) -> list[tuple[str, str]]:  # pragma: no cover - always overridden
        raise NotImplementedError

    def _index(self) -> dict[str, str]:  # pragma: no cover - always overridden
        raise NotImplementedError

    def get_field_value(self, key: str) -> str | None:
        """First value of ``key`` (ASCII case-insensitive), or ``None``."""
        return self._index().get(ascii_fold(key))

    def get_field_values(self, key: str) -> list[str]:
        """Every value of ``key``, in line order."""
        folded = ascii_fold(key)
        if folded.isascii():
            # str.lower equals the ASCII fold on ASCII keys; a non-ASCII key never matches an
            # ASCII one (but may lower to one, e.g. the Kelvin sign), hence the isascii() test.
            return [v for k, v in self._pairs() if k.lower() == folded and k.isascii()]
        return [v for k, v in self._pairs() if ascii_fold(k) == folded]

    def get_all(self, key: str) -> list[str]:
        return self.get_field_values(key)

    def get_field_variables(self, key: str) -> dict[str, str]:
        """Values of ``key`` as ``name=value`` pairs; no ``=`` gives ``""``; later names win."""
        result: dict[str, str] = {}
        for value in self.get_field_values(key):
            name, _, val = value.partition("=")
            result[name] = val
        return result

    def get_fields(self) -> dict[str, str | list[str]]:
        """Fields grouped case-insensitively under the first spelling; lists when repeated."""
        result: dict[str, str | list[str]] = {}
        spelling: dict[str, str] = {}
        for key, value in self._pairs():
            folded = ascii_fold(key)
            first = spelling.get(folded)
            if first is None:
                spelling[folded] = key
                result[key] = value
            else:
                current = result[first]
                if isinstance(current, list):
                    current.append(value)
                else:
                    result[first] = [current, value]
        return result

    def to_dict(self) -> dict[str, str | list[str]]:
        return self.get_fields()

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs())

    def keys(self) -> list[str]:
        return [k for k, _ in self._pairs()]

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.get_field_value(key)
        return default if value is None else value

    def __getitem__(self, key: str) -> str:
        value = self.get_field_value(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get_field_value(key) is not None

    def __len__(self) -> int:
        return len(self._pairs())


# The fast split, for text whose every LF has its CR: one match per line, key up to the first
# ":", one optional space, value up to the CRLF. Then no match attempt can fail, so each starts
# where the last one ended and nothing is rescanned (a failing attempt would retry from every
# later position: quadratic). A colon-less line does not fail either: its "key" runs on to the
# next colon, which the sentinel guarantees, and the count check in _parse_lines catches it.
_find_fields = re.compile(r"([^:]*): ?([^\n]*)\r\n").findall
_SENTINEL = ":\r\n"
_NO_EXTRA: tuple[str, ...] = ()
# Lookups answered by byte searches before the fields are split once and indexed: a search
# costs about a sixth of split + index, so a consumer reading a handful of fields never splits.
_MAX_PROBES = 8


def _parse_lines(text: str) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """Split decoded header text (each line ending in LF) into fields and colon-less lines."""
    lines = text.count("\n")
    if lines == text.count("\r\n"):
        # Common case: with every LF preceded by CR, each match starts where the last one ended
        # and ends at a line end, so lines + 1 matches means one per line (plus the sentinel).
        items: list[tuple[str, str]] = _find_fields(text + _SENTINEL)
        if len(items) == lines + 1:
            items.pop()
            return items, _NO_EXTRA
        split = text.split("\r\n")
    else:
        split = [line[:-1] if line[-1:] == "\r" else line for line in text.split("\n")]
    split.pop()  # the text ends with a line end: the last piece is ""
    parts = [line.partition(":") for line in split]
    items = [(key, value.removeprefix(" ")) for key, sep, value in parts if sep]
    return items, tuple([key for key, sep, _ in parts if not sep])


class _PairCache(dict[bytes, tuple[str, str]]):
    """Field line (bytes, no line end) -> its ``(key, value)`` pair; bounded, shared by all messages.

    Short lines repeat from message to message (``Privilege: call,all``, ``ChannelStateDesc: Up``,
    the ``Channel``/``Uniqueid`` lines of every event of a call), so most lookups hit: one C-level
    dict probe instead of a decode, a partition and a new tuple. The native core keeps the same
    kind of cache (rust/py/pairs.rs). Longer lines hold mostly unique values: not kept.
    """

    __slots__ = ()

    def __missing__(self, line: bytes) -> tuple[str, str]:
        key, sep, value = line.decode("utf-8", "surrogateescape").partition(":")
        if not sep or b"\n" in line:
            # A colon-less line (the exact path records it) or a bare LF (more than one line):
            # the caller takes the exact path for the whole message.
            raise KeyError(line)
        pair = (key, value.removeprefix(" "))
        if len(line) <= _CACHED_LINE:
            if len(self) >= _CACHE_SIZE:
                self.clear()  # crude but bounded; a busy stream refills it in a few messages
            self[line] = pair
        return pair


_CACHED_LINE = 64  # bytes: long enough for a BridgeUniqueid line
_CACHE_SIZE = 4096  # lines
_pair_cache = _PairCache()
_pair_of = _pair_cache.__getitem__


def _first_index(items: list[tuple[str, str]]) -> dict[str, str]:
    """Folded key -> first value; built from the end so the first occurrence wins."""
    if "".join([k for k, _ in items]).isascii():
        return {k.lower(): v for k, v in reversed(items)}
    return {ascii_fold(k): v for k, v in reversed(items)}


# The public ABCs import nothing from here but FieldLookup, which is defined above; importing
# them now works whichever of the two modules is imported first.
from .messages import Event as _AbcEvent  # noqa: E402
from .messages import Message as _AbcMessage  # noqa: E402
from .messages import Response as _AbcResponse  # noqa: E402


class Message(FieldLookup, _AbcMessage):
    """A parsed message (kind ``"action"`` or ``"unknown"``); base of Event and Response."""

    __slots__ = ("_action_id", "_extra", "_first", "_head", "_items", "_kind", "_name", "_probes", "_raw")

    def __init__(self, raw: bytes, head: int, kind: str, name: str | None) -> None:
        self._raw = raw
        self._head = head  # raw[:head] holds the field lines (for Follows: the header lines)
        self._kind = kind
        self._name = name
        self._action_id: object = _MISSING
        self._items: list[tuple[str, str]] | None = None  # decoded on first use
        self._first: dict[str, str] | None = None
        self._probes = 0  # lookups answered by a byte search so far

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def name(self) -> str | None:
        return self._name

    def _pairs(self) -> list[tuple[str, str]]:
        items = self._items
        if items is None:
            items = self._split()
        return items

    def _split(self) -> list[tuple[str, str]]:
        raw = self._raw
        head = self._head
        if head > 2 and raw[head - 2] == 13:
            # The last line ends in CRLF: split on CRLF and look each line up. A line that is not
            # a plain field (no colon, or a bare LF inside) raises KeyError: the exact split below.
            try:
                items = list(map(_pair_of, raw[: head - 2].split(b"\r\n")))
            except KeyError:
                pass
            else:
                self._extra = _NO_EXTRA
                self._items = items
                return items
        items, self._extra = _parse_lines(raw[:head].decode("utf-8", "surrogateescape"))
        self._items = items
        return items

    def items(self) -> list[tuple[str, str]]:
        # Overridden only to save a call on the hottest accessor.
        items = self._items
        if items is None:
            items = self._split()
        return items.copy()

    def _index(self) -> dict[str, str]:
        first = self._first
        if first is None:
            first = self._first = _first_index(self._pairs())
        return first

    def get_field_value(self, key: str) -> str | None:
        """First value of ``key`` (ASCII case-insensitive), or ``None``."""
        if self._items is None and self._probes < _MAX_PROBES:
            # A consumer that reads a few fields pays a byte search each, not the whole split.
            try:
                needle = key.encode("utf-8", "surrogateescape").lower()
            except UnicodeEncodeError:
                pass  # not a key any line can hold: let the index path answer as always
            else:
                self._probes += 1
                return self._search(needle)
        return self._index().get(ascii_fold(key))

    def _search(self, needle: bytes) -> str | None:
        """Value of the first field line whose key, ASCII-lowered, is ``needle`` (bytes)."""
        if b":" in needle or b"\n" in needle:
            return None  # a key ends at the first colon and never spans lines
        raw = self._raw
        # Past the field lines is only the empty line (no colon, so no match can reach it),
        # except for Follows, whose body must not be searched.
        text = raw if len(raw) - self._head <= 2 else raw[: self._head]
        lowered = text.lower()  # bytes.lower folds A-Z only: the contract's ASCII fold
        needle += b":"
        if lowered.startswith(needle):
            start = len(needle)
        else:
            start = lowered.find(b"\n" + needle)
            if start < 0:
                return None
            start += len(needle) + 1
        end = text.index(b"\n", start)
        if end > start and text[end - 1] == 13:  # one CR before the LF belongs to the line end
            end -= 1
        if text[start] == 32:  # exactly one leading space is dropped (start == end: a CR/LF)
            start += 1
        return text[start:end].decode("utf-8", "surrogateescape")

    @property
    def raw(self) -> bytes:
        return self._raw

    @property
    def action_id(self) -> str | None:
        value = self._action_id
        if value is _MISSING:
            value = self._action_id = self._find_action_id()
        return value  # type: ignore[return-value]

    def _find_action_id(self) -> str | None:
        if self._items is None:
            return self._search(b"actionid")  # cheaper than decoding every field
        return self._index().get("actionid")

    def get_action_id(self) -> str | None:
        return self.action_id

    @property
    def extra_lines(self) -> list[str]:
        self._pairs()
        return list(self._extra)

    def __repr__(self) -> str:
        action_id = self.action_id
        parts = [type(self).__name__]
        if self.name is not None:
            parts.append(self.name)
        if action_id is not None:
            parts.append(f"ActionID={action_id}")
        parts.append(f"fields={len(self)}")
        return "<" + " ".join(parts) + ">"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _AbcMessage):
            return NotImplemented
        return type(self).__name__ == type(other).__name__ and self._raw == other.raw

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._raw))


class Event(Message, _AbcEvent):
    """A message whose first field is ``Event``."""

    __slots__ = ()

    def get_name(self) -> str | None:
        return self.name


class Response(Message, _AbcResponse):
    """A message whose first field is ``Response``; may carry command output."""

    __slots__ = ("_output",)

    def __init__(self, raw: bytes, head: int, kind: str, name: str | None, output: str | None = None) -> None:
        super().__init__(raw, head, kind, name)
        self._output = output  # the legacy (Follows) body text, else None

    def get_command_output(self) -> str | None:
        if self._output is not None:
            return self._output
        values = self.get_field_values("Output")
        return "\n".join(values) if values else None

    @property
    def command_output(self) -> str | None:
        return self.get_command_output()
