"""Lease: at most one bridge connected to a given Asterisk at any time (JetStream KV).

A key per server in a key-value bucket whose entries expire after ``ttl`` seconds. A bridge
may connect to the server only while it holds the key:

- ``acquire``: ``create`` the key with our owner id (succeeds only when it is absent, i.e.
  released or expired); otherwise wait and try again.
- ``renew`` every ``ttl / 4``: ``update`` with the last revision we wrote. A revision
  mismatch means another bridge took it over: we lost it.
- **Self-fencing**: when no renewal succeeded for ``fence`` (``0.6 * ttl``, well inside the
  expiry, as measured on our own monotonic clock) the holder treats the lease as lost and
  disconnects from Asterisk, before any other bridge can acquire it. So two bridges are never
  connected to one server at once and no event is read (and published) twice.
- ``release`` on a clean stop deletes the key so a standby takes over at once.

The cost: while the broker is unreachable for longer than the fence, the holder disconnects
from Asterisk (AMI has no replay, so events of that period are lost, and marked). Turn leases
off (``[bridge] lease = false``) to buffer through longer outages on a single bridge.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

__all__ = ["Lease", "open_bucket"]

logger = logging.getLogger("ami_fast.bridge")


async def open_bucket(js: Any, bucket: str, ttl: float) -> Any:
    """The KV bucket (created with history 1 and ``ttl`` when missing)."""
    from nats.js.errors import BucketNotFoundError, NotFoundError

    try:
        return await js.key_value(bucket)
    except (BucketNotFoundError, NotFoundError):
        pass
    from nats.js.api import KeyValueConfig

    return await js.create_key_value(KeyValueConfig(bucket=bucket, history=1, ttl=ttl))


class Lease:
    """One server's lease, held by ``owner``. See the module docstring."""

    def __init__(self, kv: Any, key: str, owner: str, ttl: float) -> None:
        self.kv = kv
        self.key = key
        self.owner = owner
        self.ttl = ttl
        self.renew_every = ttl / 4
        self.fence = ttl * 0.6
        self.revision: int | None = None
        self.renewed_at = 0.0  # monotonic time of the last successful create/update
        self.holder: str | None = None  # last seen holder (for logs and metrics)
        self.lost = 0

    @property
    def held(self) -> bool:
        return self.revision is not None and time.monotonic() - self.renewed_at < self.fence

    async def try_acquire(self) -> bool:
        """One attempt; ``True`` when we hold the lease now."""
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        start = time.monotonic()
        try:
            self.revision = await self.kv.create(self.key, self.owner.encode())
        except KeyWrongLastSequenceError:
            try:
                entry = await self.kv.get(self.key)
            except KeyNotFoundError:
                return False
            self.holder = (entry.value or b"").decode("utf-8", "replace")
            if self.holder != self.owner:
                return False
            self.revision = entry.revision  # ours from before (e.g. a broker reconnect)
        self.renewed_at = start
        self.holder = self.owner
        return True

    async def renew(self) -> bool:
        """Refresh the lease; ``False`` when another bridge holds it now. Broker errors
        propagate (the caller keeps trying until the fence)."""
        from nats.js.errors import KeyWrongLastSequenceError

        if self.revision is None:
            return False
        start = time.monotonic()
        try:
            self.revision = await self.kv.update(self.key, self.owner.encode(), last=self.revision)
        except KeyWrongLastSequenceError:
            self.revision = None
            self.lost += 1
            return False
        self.renewed_at = start
        return True

    async def release(self) -> None:
        if self.revision is None:
            return
        revision, self.revision = self.revision, None
        try:
            await asyncio.wait_for(self.kv.delete(self.key, last=revision), 2.0)
        except Exception as exc:  # it expires by itself anyway
            logger.debug("bridge lease %s: release failed: %r", self.key, exc)
