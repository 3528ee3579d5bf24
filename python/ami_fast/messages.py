"""Public message types.

``Message``, ``Event`` and ``Response`` are abstract: the parser (native or pure twin) makes
the instances, and both implementations count as subclasses, so
``isinstance(msg, ami_fast.Event)`` works whichever parser is active. ``Action`` is concrete:
what the client sends.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Action", "Event", "FieldValue", "Message", "Response"]


class Message(ABC):
    """One AMI message: ordered ``(key, value)`` fields, keys ASCII case-insensitive."""

    __slots__ = ()

    @property
    @abstractmethod
    def kind(self) -> str:
        """``"event"``, ``"response"``, ``"action"`` or ``"unknown"``."""

    @property
    @abstractmethod
    def name(self) -> str | None:
        """Value of the first field (event name, response status, action name)."""

    @property
    @abstractmethod
    def action_id(self) -> str | None:
        """Value of the first ``ActionID`` field."""

    @property
    @abstractmethod
    def raw(self) -> bytes:
        """The message's exact bytes."""

    @property
    @abstractmethod
    def extra_lines(self) -> list[str]:
        """Colon-less lines, in order."""

    @abstractmethod
    def get_field_value(self, key: str) -> str | None: ...

    @abstractmethod
    def get_field_values(self, key: str) -> list[str]: ...

    @abstractmethod
    def get_all(self, key: str) -> list[str]: ...

    @abstractmethod
    def get_field_variables(self, key: str) -> dict[str, str]: ...

    @abstractmethod
    def get_fields(self) -> dict[str, str | list[str]]: ...

    @abstractmethod
    def to_dict(self) -> dict[str, str | list[str]]: ...

    @abstractmethod
    def items(self) -> list[tuple[str, str]]: ...

    @abstractmethod
    def keys(self) -> list[str]: ...

    @abstractmethod
    def get_action_id(self) -> str | None: ...

    @abstractmethod
    def get(self, key: str, default: str | None = None) -> str | None: ...

    @abstractmethod
    def __getitem__(self, key: str) -> str: ...

    @abstractmethod
    def __contains__(self, key: object) -> bool: ...

    @abstractmethod
    def __len__(self) -> int: ...


class Event(Message):
    """A message whose first field is ``Event``."""

    __slots__ = ()

    @abstractmethod
    def get_name(self) -> str | None: ...


class Response(Message):
    """A message whose first field is ``Response``."""

    __slots__ = ()

    @abstractmethod
    def get_command_output(self) -> str | None:
        """Command output: legacy ``Follows`` body, or the ``Output`` values joined by LF."""

    @property
    @abstractmethod
    def command_output(self) -> str | None: ...


# Imported after the ABCs on purpose: _pymessages subclasses them (see the note there).
from ._pymessages import FieldLookup, ascii_fold  # noqa: E402

FieldValue = str | int | None | list[Any] | tuple[Any, ...] | Mapping[str, Any]


def _scalar(key: str, value: object) -> str | None:
    # bool is refused: "yes"/"true"/"1"/"on" all exist in AMI; the caller must choose.
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"field {key!r}: bool values are ambiguous in AMI; pass 'yes'/'no' or 'true'/'false'")
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"field {key!r}: unsupported value type {type(value).__name__}")


def _expand(
    fields: Mapping[str, FieldValue] | Iterable[tuple[str, FieldValue]] | None,
) -> list[tuple[str, str]]:
    """Flatten user fields to wire pairs: None dropped, lists repeated, dicts as k=v lines."""
    if fields is None:
        return []
    pairs: Iterable[tuple[str, FieldValue]] = fields.items() if isinstance(fields, Mapping) else fields
    out: list[tuple[str, str]] = []
    for pair in pairs:
        key, value = pair
        if not isinstance(key, str):
            raise TypeError(f"field keys must be str, not {type(key).__name__}")
        if isinstance(value, Mapping):
            for name, item in value.items():
                if not isinstance(name, str):
                    raise TypeError(f"field {key!r}: variable names must be str")
                text = _scalar(key, item)
                if text is not None:
                    out.append((key, f"{name}={text}"))
        elif isinstance(value, (list, tuple)):
            for item in value:
                text = _scalar(key, item)
                if text is not None:
                    out.append((key, text))
        else:
            text = _scalar(key, value)
            if text is not None:
                out.append((key, text))
    return out


class Action(FieldLookup, Message):
    """An action to send: ``Action("Originate", {"Channel": "...", "Variable": {"A": "1"}})``.

    Values: ``str``; ``int`` (as decimal); ``None`` (field dropped); a list or tuple (one line
    per item); a mapping (one ``name=value`` line per item, e.g. ``Variable``). ``bool`` and
    other types raise ``TypeError``. The action is validated and encoded here, by the active
    encoder, so an injection attempt raises ``InvalidActionError`` before anything is written.
    ``items()`` starts with ``("Action", name)``, like the parsed form of the same bytes.
    """

    __slots__ = ("_first", "_items", "_name", "_serialized")

    def __init__(
        self,
        name: str,
        fields: Mapping[str, FieldValue] | Iterable[tuple[str, FieldValue]] | None = None,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"action name must be str, not {type(name).__name__}")
        self._init(name, _expand(fields))

    def _init(self, name: str, pairs: list[tuple[str, str]]) -> None:
        from ._select import encode_action  # late: _select imports this module's package

        self._serialized: bytes = encode_action(name, pairs)
        self._name = name
        self._items = [("Action", name), *pairs]
        first: dict[str, str] = {}
        for key, value in self._items:
            first.setdefault(ascii_fold(key), value)
        self._first = first

    @classmethod
    def _from_pairs(cls, name: str, pairs: list[tuple[str, str]]) -> Action:
        action = cls.__new__(cls)
        action._init(name, pairs)
        return action

    def _pairs(self) -> list[tuple[str, str]]:
        return self._items

    def _index(self) -> dict[str, str]:
        return self._first

    @property
    def kind(self) -> str:
        return "action"

    @property
    def name(self) -> str:
        return self._name

    @property
    def action_id(self) -> str | None:
        return self._first.get("actionid")

    def get_action_id(self) -> str | None:
        return self.action_id

    @property
    def raw(self) -> bytes:
        return self._serialized

    @property
    def extra_lines(self) -> list[str]:
        return []

    def get_message_serialized(self) -> bytes:
        """The wire bytes: ``Action: name``, one line per field, an empty line; CRLF."""
        return self._serialized

    def with_action_id(self, action_id: str) -> Action:
        """A copy whose only ActionID is ``action_id`` (in place of the first one, else first)."""
        pairs = self._items[1:]
        out: list[tuple[str, str]] = []
        placed = False
        for key, value in pairs:
            if ascii_fold(key) == "actionid":
                if not placed:
                    out.append((key, action_id))
                    placed = True
            else:
                out.append((key, value))
        if not placed:
            out.insert(0, ("ActionID", action_id))
        return Action._from_pairs(self._name, out)

    def __repr__(self) -> str:
        action_id = self.action_id
        text = f"<Action {self._name}"
        if action_id is not None:
            text += f" ActionID={action_id}"
        return text + f" fields={len(self._items)}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return type(other).__name__ == "Action" and self._serialized == other.raw

    def __hash__(self) -> int:
        return hash(("Action", self._serialized))


def _register_native() -> None:
    # The native classes cannot inherit from Python ABCs; registering them makes isinstance work.
    if os.environ.get("AMI_FAST_NO_EXTENSIONS", "") not in ("", "0"):
        return
    try:
        from . import _native
    except ImportError:
        return
    for abc_class, attr in ((Message, "Message"), (Event, "Event"), (Response, "Response")):
        native_class = getattr(_native, attr, None)
        if native_class is not None:
            abc_class.register(native_class)


_register_native()
