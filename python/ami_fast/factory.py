"""Factory: URL -> connected, logged-in :class:`~ami_fast.client.Client`; and ``connect()``.

Login (when the URL has ``user:secret@``):

- ``auth_type="md5"``: ``Challenge`` (AuthType MD5), then ``Login`` with
  ``Key = md5(challenge + secret)``; the secret never crosses the link.
- ``auth_type="plain"``: ``Login`` with ``Secret``.
- ``auth_type=None`` (default): **MD5 over plain TCP** (a sniffer must not see the secret),
  **plain over TLS** (the link is encrypted; one round trip less). Use ``"plain"`` for
  proxies that do not implement ``Challenge``.

The Login response is the readiness signal (never ``FullyBooted``, which is absent with
``Events: off`` or without ``system`` read). A failed login raises ``AuthenticationError`` and
the socket is closed. Secrets never appear in any repr, log line or exception text.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl as _ssl
import warnings
from collections.abc import Callable, Generator, Sequence
from types import TracebackType
from typing import Any, Literal

from .client import Client
from .errors import ActionError, ActionTimeoutError, AuthenticationError, ConnectionLostError
from .url import AmiUrl, parse_url

__all__ = ["Factory", "connect"]

logger = logging.getLogger("ami_fast.factory")

AuthType = Literal["md5", "plain"]
EventsMask = bool | str | Sequence[str] | None


def events_header(events: EventsMask) -> str | None:
    """The login ``Events`` value: ``None`` = server default (the user's read classes)."""
    if events is None:
        return None
    if events is True:
        return "on"
    if events is False:
        return "off"
    if isinstance(events, str):
        return events
    return ",".join(events)


class Factory:
    """Makes connected (and, with credentials, logged-in) clients.

    Args:
        ssl: an ``ssl.SSLContext`` for ``tls://`` URLs (a CA file, a client certificate, or
            explicitly no verification). Default: ``ssl.create_default_context()``, which
            verifies the server's certificate and host name. Passing one with a ``tcp://`` URL
            is a ``ValueError`` (say ``tls://``).
        server_hostname: the name to verify the certificate against (default: the URL host).
        tls_verify: ``False`` turns certificate *and* host name checks off for ``tls://``
            (the link is then open to a man in the middle); it warns (``RuntimeWarning`` and
            a log line), as does an ``ssl`` context that does not verify.
        connect_timeout: seconds for the TCP (and TLS) connection; ``TimeoutError`` after it.
        login_timeout: seconds for Challenge and Login; ``ActionTimeoutError`` after it.
        timeout: the client's default request timeout.
        events: the login ``Events`` mask: ``None`` (server default), ``True``/``False``
            (``on``/``off``), a string (``"call,user"``) or a list of classes.
        auth_type: ``"md5"``, ``"plain"`` or ``None`` (see the module docstring).
        local_addr: ``(host, port)`` to bind the local end to.
        on_event: an event callback attached before login, so no early event is missed.
        **client_options: passed to :class:`~ami_fast.client.Client` (``list_timeout``,
            ``dispatch_queue``, ``overflow``, ``ping_interval``, ...).
    """

    def __init__(
        self,
        *,
        ssl: _ssl.SSLContext | None = None,
        server_hostname: str | None = None,
        tls_verify: bool = True,
        connect_timeout: float | None = 10.0,
        login_timeout: float | None = 10.0,
        timeout: float | None = 10.0,
        events: EventsMask = None,
        auth_type: AuthType | None = None,
        local_addr: tuple[str, int] | None = None,
        on_event: Callable[..., Any] | None = None,
        **client_options: Any,
    ) -> None:
        if auth_type is not None and auth_type not in ("md5", "plain"):
            raise ValueError("auth_type must be 'md5', 'plain' or None")
        if ssl is not None and not isinstance(ssl, _ssl.SSLContext):
            raise TypeError("ssl must be an ssl.SSLContext or None")
        if ssl is not None and not tls_verify:
            raise ValueError("pass either an ssl context or tls_verify=False, not both")
        if not tls_verify or (
            ssl is not None and (ssl.verify_mode == _ssl.CERT_NONE or not ssl.check_hostname)
        ):
            text = (
                "TLS certificate or host name verification is disabled: "
                "the AMI link is open to a man in the middle"
            )
            warnings.warn(text, RuntimeWarning, stacklevel=2)
            logger.warning("ami-fast: %s", text)
        self.ssl = ssl
        self.tls_verify = tls_verify
        self.server_hostname = server_hostname
        self.connect_timeout = connect_timeout
        self.login_timeout = login_timeout
        self.timeout = timeout
        self.events = events
        self.auth_type = auth_type
        self.local_addr = local_addr
        self.on_event = on_event
        Client(**client_options)  # validate the options now, not at connect time
        self.client_options = client_options

    def __repr__(self) -> str:
        return f"<Factory auth_type={self.auth_type} events={events_header(self.events)!r}>"

    async def create_client(self, url: str) -> Client:
        """Connect to ``url`` (see :mod:`ami_fast.url`) and log in if it carries credentials.

        Raises:
            ValueError: invalid URL or options (before any connection is tried).
            OSError / TimeoutError: the connection failed or took over ``connect_timeout``.
            AuthenticationError: the server refused the login (the socket is closed).
            ActionTimeoutError: no Login (or Challenge) response within ``login_timeout``.
            ConnectionLostError: the server closed the connection during login.
        """
        target = parse_url(url)
        ssl_context = self._ssl_context(target)
        loop = asyncio.get_running_loop()

        def make_client() -> Client:
            client = Client(timeout=self.timeout, **self.client_options)
            if self.on_event is not None:
                client.on("event", self.on_event)
            return client

        connect = loop.create_connection(
            make_client,
            target.host,
            target.port,
            ssl=ssl_context,
            server_hostname=(self.server_hostname or target.host) if ssl_context is not None else None,
            local_addr=self.local_addr,
        )
        try:
            _transport, client = await asyncio.wait_for(connect, self.connect_timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"connecting to {target.netloc()} took longer than {self.connect_timeout} s"
            ) from None
        if target.has_credentials:
            try:
                await self._login(client, target)
            except BaseException:
                client.close()
                await client.wait_closed()
                raise
        return client

    def _ssl_context(self, target: AmiUrl) -> _ssl.SSLContext | None:
        if not target.tls:
            if self.ssl is not None:
                raise ValueError("an ssl context was given for a tcp:// URL; use tls://")
            return None
        if self.ssl is not None:
            return self.ssl
        context = _ssl.create_default_context()  # verifies the certificate and the host name
        if not self.tls_verify:
            context.check_hostname = False
            context.verify_mode = _ssl.CERT_NONE
        return context

    async def _login(self, client: Client, target: AmiUrl) -> None:
        assert target.username is not None and target.secret is not None
        auth = self.auth_type or ("plain" if target.tls else "md5")
        fields: list[tuple[str, str | None]] = [("Username", target.username)]
        try:
            if auth == "md5":
                challenge = await client.request(
                    client.create_action("Challenge", {"AuthType": "MD5"}), timeout=self.login_timeout
                )
                token = challenge.get_field_value("Challenge")
                if not token:
                    raise AuthenticationError(challenge, "the server sent no MD5 challenge")  # type: ignore[arg-type]
                key = hashlib.md5((token + target.secret).encode("utf-8"), usedforsecurity=False).hexdigest()
                fields += [("AuthType", "MD5"), ("Key", key)]
            else:
                fields.append(("Secret", target.secret))
            fields.append(("Events", events_header(self.events)))
            # The response to Login is the readiness signal (never wait for FullyBooted).
            await client.request(client.create_action("Login", fields), timeout=self.login_timeout)
        except AuthenticationError:
            raise
        except ActionError as exc:
            # A failed Challenge (unsupported AuthType...) is a failed login too.
            raise AuthenticationError(exc.response, exc.message) from None
        except ActionTimeoutError:
            raise ActionTimeoutError(
                f"no login response from {target.netloc()} within {self.login_timeout} s"
            ) from None
        except ConnectionLostError as exc:
            raise ConnectionLostError(f"{target.netloc()} closed the connection during login") from exc
        logger.debug("logged in to %s as %s (%s)", target.netloc(), target.username, auth)


class _Connect:
    """``await connect(url)`` -> Client; ``async with connect(url) as client`` ends it on exit
    (``end()``: waits for pending requests and logs off; ``close()`` if the block raised)."""

    def __init__(self, url: str, factory: Factory) -> None:
        self._url = url
        self._factory = factory
        self._client: Client | None = None

    def __await__(self) -> Generator[Any, None, Client]:
        return self._factory.create_client(self._url).__await__()

    async def __aenter__(self) -> Client:
        self._client = await self._factory.create_client(self._url)
        return self._client

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if exc_type is None:
            await client.end()
        else:
            client.close()
            await client.wait_closed()


def connect(url: str, **options: Any) -> _Connect:
    """Connect (and log in) to ``url``; options are :class:`Factory`'s.

    Use ``async with ami_fast.connect(url) as client:`` or ``client = await ami_fast.connect(url)``.
    The URL is validated at once (``ValueError`` before any connection is tried).
    """
    parse_url(url)
    return _Connect(url, Factory(**options))
