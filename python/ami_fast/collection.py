"""Collection: the result of a list action (``EventList: start`` ... ``EventList: Complete``).

A Collection wraps the list's Response (it is not a subclass of the parser's Response class)
and holds the entry events in arrival order plus the complete event. The Response read API
is delegated to the wrapped response, so code written for a plain Response keeps working,
and ``isinstance(collection, ami_fast.Response)`` holds (virtual subclass).

``len()`` and iteration cover the **entry events**, not the response's fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .messages import Event, Response

__all__ = ["Collection"]


class Collection:
    """The entries of an event list, with the response that opened it and the event that ended it.

    Flags:
        complete: the list ended normally (``EventList: Complete`` or the legacy end event).
        cancelled: the list ended with ``EventList: cancelled``.
        partial: the list never ended (connection closed, timeout, item cap); the entries
            received so far are kept.
        list_items: the ``ListItems`` count announced by the complete event, or ``None``.
        list_items_mismatch: ``ListItems`` was present and differs from ``len(self)``.
    """

    __slots__ = ("_entries", "cancelled", "complete", "complete_event", "list_items", "partial", "response")

    def __init__(self, response: Response) -> None:
        self.response = response
        self._entries: list[Event] = []
        self.complete_event: Event | None = None
        self.complete = False
        self.cancelled = False
        self.partial = False
        self.list_items: int | None = None

    # -- the list -----------------------------------------------------------------------

    def get_entry_events(self) -> list[Event]:
        """The entry events in arrival order (a fresh list)."""
        return list(self._entries)

    @property
    def entries(self) -> list[Event]:
        return list(self._entries)

    def get_complete_event(self) -> Event | None:
        """The event that ended the list, or ``None`` if it never arrived."""
        return self.complete_event

    @property
    def finished(self) -> bool:
        return self.complete or self.cancelled

    @property
    def list_items_mismatch(self) -> bool:
        return self.list_items is not None and self.list_items != len(self._entries)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        # A Collection is a result even when empty; truthiness must not depend on len().
        return True

    def __getitem__(self, key: Any) -> Any:
        """``coll[i]`` is an entry event; ``coll["Key"]`` a field of the response."""
        if isinstance(key, (int, slice)):
            return self._entries[key]
        return self.response[key]

    # -- internal API for AmiConnection -------------------------------------------------

    def _append(self, event: Event) -> None:
        self._entries.append(event)

    # -- the Response read API, delegated -----------------------------------------------

    @property
    def kind(self) -> str:
        return self.response.kind

    @property
    def name(self) -> str | None:
        return self.response.name

    @property
    def action_id(self) -> str | None:
        return self.response.action_id

    @property
    def raw(self) -> bytes:
        return self.response.raw

    @property
    def extra_lines(self) -> list[str]:
        return self.response.extra_lines

    @property
    def command_output(self) -> str | None:
        return self.response.get_command_output()

    def get_action_id(self) -> str | None:
        return self.response.action_id

    def get_field_value(self, key: str) -> str | None:
        return self.response.get_field_value(key)

    def get_field_values(self, key: str) -> list[str]:
        return self.response.get_field_values(key)

    def get_all(self, key: str) -> list[str]:
        return self.response.get_field_values(key)

    def get_field_variables(self, key: str) -> dict[str, str]:
        return self.response.get_field_variables(key)

    def get_fields(self) -> dict[str, str | list[str]]:
        return self.response.get_fields()

    def to_dict(self) -> dict[str, str | list[str]]:
        return self.response.get_fields()

    def items(self) -> list[tuple[str, str]]:
        return self.response.items()

    def keys(self) -> list[str]:
        return self.response.keys()

    def get(self, key: str, default: Any = None) -> Any:
        return self.response.get(key, default)

    def get_command_output(self) -> str | None:
        return self.response.get_command_output()

    def __contains__(self, key: object) -> bool:
        return key in self.response

    def __repr__(self) -> str:
        state = "complete" if self.complete else "cancelled" if self.cancelled else "open"
        if self.partial:
            state = "partial"
        return f"<Collection ActionID={self.action_id} entries={len(self._entries)} {state}>"


def _register() -> None:
    # messages.Response is an ABC; registering makes isinstance(coll, Response) hold without
    # inheriting from the parser's concrete class.
    from . import messages

    register = getattr(messages.Response, "register", None)
    if register is not None:
        register(Collection)


_register()
