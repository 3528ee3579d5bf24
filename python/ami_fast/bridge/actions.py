"""Actions through the broker: request-reply on ``<prefix>.actions.<server>``.

Request (JSON)::

    {"action": "QueueStatus", "fields": {"Queue": "support"}, "timeout": 10}

``fields`` may also be a list of ``[key, value]`` pairs (repeated keys, e.g. ``Variable``).
Reply (JSON), always one message:

- ``{"ok": true, "response": [[k, v], ...]}`` for a plain response;
- for an event list also ``"events": [[[k, v], ...], ...]``, ``"complete": [[k, v], ...]``
  (or ``null``) and ``"partial": false``;
- ``{"ok": false, "error": "...", "type": "ActionError", "response": [...]}`` on failure
  (``type`` is the exception class: ``ActionError``, ``ActionTimeoutError``,
  ``InvalidActionError``, ``NotConnected``, ``Refused``, ``BadRequest``, ``Busy``).

The bridge logs in by itself: ``Login``, ``Logoff``, ``Challenge``, ``Events`` and ``Filter``
are refused, and so are ``GetConfig``, ``GetConfigJSON``, ``UpdateConfig`` and ``CreateConfig``
(manager.conf holds every AMI secret in clear), so no credential ever crosses the broker; a
server's ``actions_allow``/``actions_deny`` globs narrow the rest. Only the lease holder subscribes
(queue group ``ami-bridge``), so each request is executed once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from ..collection import Collection
from ..errors import ActionError, AmiError
from ..messages import Message

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.aio.msg import Msg

    from .link import Link

__all__ = ["ActionService"]

logger = logging.getLogger("ami_fast.bridge")

QUEUE_GROUP = "ami-bridge"


def _pairs(msg: Message | None) -> list[tuple[str, str]] | None:
    return None if msg is None else msg.items()


def result_json(result: Any) -> dict[str, Any]:
    if isinstance(result, Collection):
        return {
            "ok": True,
            "response": result.response.items(),
            "events": [e.items() for e in result],
            "complete": _pairs(result.complete_event),
            "partial": result.partial,
        }
    return {"ok": True, "response": result.items()}


def _error(kind: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": text, "type": kind, **extra}


def _fields(raw: Any) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list) and all(isinstance(p, list) and len(p) == 2 for p in raw):
        pairs = [(p[0], p[1]) for p in raw]
    else:
        raise ValueError("fields must be an object or a list of [key, value] pairs")
    out: list[tuple[str, str]] = []
    for k, v in pairs:
        if not isinstance(k, str) or not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise ValueError("field keys must be strings and values strings or numbers")
        out.append((k, v if isinstance(v, str) else str(v)))
    return out


class ActionService:
    """Serves one server's action subject while its link holds the lease."""

    def __init__(
        self, nc: NatsClient, subject: str, link: Link, *, timeout: float, max_concurrent: int
    ) -> None:
        self.nc = nc
        self.subject = subject
        self.link = link
        self.timeout = timeout
        self.max_concurrent = max_concurrent
        self._sub: Any = None
        self._want = False
        self._lock = asyncio.Lock()
        self._running: set[asyncio.Task[None]] = set()
        self.requests = 0
        self.failures = 0
        self.refused = 0

    @property
    def active(self) -> bool:
        return self._sub is not None

    async def set_active(self, active: bool) -> None:
        """Subscribe (``True``) or unsubscribe; calls may overlap, the last one wins."""
        self._want = active
        async with self._lock:
            if self._want and self._sub is None:
                self._sub = await self.nc.subscribe(self.subject, queue=QUEUE_GROUP, cb=self._on_request)
            elif not self._want and self._sub is not None:
                sub, self._sub = self._sub, None
                try:
                    await sub.unsubscribe()
                except Exception as exc:
                    logger.debug("bridge actions %s: unsubscribe failed: %r", self.subject, exc)

    async def start(self) -> None:
        await self.set_active(True)

    async def stop(self) -> None:
        await self.set_active(False)
        for task in list(self._running):
            task.cancel()

    async def _on_request(self, msg: Msg) -> None:
        if not msg.reply:
            return  # a publish, not a request: nobody to answer
        if len(self._running) >= self.max_concurrent:
            self.refused += 1
            await self._reply(msg, _error("Busy", f"more than {self.max_concurrent} actions in progress"))
            return
        task = asyncio.get_running_loop().create_task(self._handle(msg))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _handle(self, msg: Msg) -> None:
        self.requests += 1
        try:
            answer = await self._execute(msg.data)
        except Exception as exc:  # never leave a requester without a reply
            logger.exception("bridge actions %s: request failed", self.subject)
            answer = _error(type(exc).__name__, str(exc))
        if not answer.get("ok"):
            self.failures += 1
        await self._reply(msg, answer)

    async def _execute(self, data: bytes) -> dict[str, Any]:
        try:
            request = json.loads(data)
            if not isinstance(request, dict):
                raise ValueError("the request must be a JSON object")
            name = request.get("action")
            if not isinstance(name, str) or not name:
                raise ValueError('missing "action" (the action name)')
            fields = _fields(request.get("fields"))
            timeout = request.get("timeout", self.timeout)
            if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
                raise ValueError('"timeout" must be a positive number of seconds')
        except ValueError as exc:  # includes JSONDecodeError
            self.refused += 1
            return _error("BadRequest", str(exc))
        if not self.link.server.action_allowed(name):
            self.refused += 1
            return _error("Refused", f"action {name!r} is not allowed through the bridge")
        client = self.link.client
        if client is None or client.closed:
            return _error("NotConnected", f"the bridge is not connected to {self.link.server.id} right now")
        try:
            action = client.create_action(name, fields)
            result = await client.request(action, timeout=min(float(timeout), self.timeout))
        except ActionError as exc:
            return _error(type(exc).__name__, exc.message or str(exc), response=exc.response.items())
        except (AmiError, TimeoutError, asyncio.TimeoutError) as exc:
            return _error(type(exc).__name__, str(exc))
        return result_json(result)

    async def _reply(self, msg: Msg, answer: dict[str, Any]) -> None:
        try:
            await self.nc.publish(msg.reply, json.dumps(answer).encode())
        except Exception as exc:
            logger.warning("bridge actions %s: could not reply: %r", self.subject, exc)
