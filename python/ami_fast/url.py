"""AMI URLs: ``[tcp://|tls://][user:secret@]host[:port]``.

Rules (the seed's, with its gaps closed):

- no ``://`` means ``tcp://``; the scheme is ``tcp`` or ``tls`` (any case);
- the default port is 5038 for ``tcp`` and 5039 for ``tls``; an explicit port is kept;
- IPv6 addresses go in brackets: ``tcp://[::1]:5038``;
- user and secret are percent-decoded with :func:`urllib.parse.unquote` (``+`` stays ``+``);
- a user without a secret (``ami@host``) is refused: Asterisk has no password-less login;
- a path (other than a bare ``/``), a query or a fragment is refused rather than ignored.

Every refusal is a :class:`ValueError` raised before any connection is tried. Error texts
never quote the userinfo part, so a secret cannot leak into a log or traceback.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

__all__ = ["DEFAULT_PORTS", "AmiUrl", "parse_url"]

DEFAULT_PORTS = {"tcp": 5038, "tls": 5039}

# Characters that can never appear in a host name or address literal.
_BAD_HOST_CHARS = frozenset(" \t\r\n\x00/\\?#@[]")


@dataclass(frozen=True)
class AmiUrl:
    """A parsed AMI URL. ``secret`` is excluded from ``repr`` and comparisons print."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    secret: str | None = field(default=None, repr=False)

    @property
    def tls(self) -> bool:
        return self.scheme == "tls"

    @property
    def has_credentials(self) -> bool:
        return self.username is not None

    def netloc(self) -> str:
        """``host:port`` with IPv6 brackets, without credentials (safe to log)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def redacted(self) -> str:
        """The URL with the secret replaced by ``***`` (safe to log)."""
        user = f"{quote(self.username, safe='')}:***@" if self.username is not None else ""
        return f"{self.scheme}://{user}{self.netloc()}"

    def __str__(self) -> str:
        return self.redacted()


def parse_url(url: str) -> AmiUrl:
    """Parse an AMI URL; raise ``ValueError`` (never quoting the secret) when it is invalid."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    if not url or url != url.strip():
        raise ValueError("invalid AMI URL: empty or surrounded by whitespace")

    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "tcp", url
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        # Quote the scheme only when it is a plain token: "user:secret@tcp://..." must not leak.
        shown = f" {scheme!r}" if scheme.isascii() and scheme.isalnum() and len(scheme) <= 16 else ""
        raise ValueError(f"invalid AMI URL: unsupported scheme{shown} (use tcp:// or tls://)")

    # The authority ends at the first '/', '?' or '#' (after the last '@', so that a secret
    # containing an unencoded '/' or '#' is not cut short: the '@' search runs first).
    userinfo, at, hostport = rest.rpartition("@")
    if not at:
        userinfo, hostport = "", rest
    cut = min((i for i in (hostport.find(c) for c in "/?#") if i >= 0), default=len(hostport))
    hostport, tail = hostport[:cut], hostport[cut:]
    if tail not in ("", "/"):
        raise ValueError("invalid AMI URL: a path, query or fragment is not supported")

    username: str | None = None
    secret: str | None = None
    if at:
        raw_user, colon, raw_secret = userinfo.partition(":")
        if not raw_user:
            raise ValueError("invalid AMI URL: empty user name before '@'")
        if not colon:
            raise ValueError("invalid AMI URL: a user needs a secret (user:secret@host)")
        try:
            username = unquote(raw_user, errors="strict")
            secret = unquote(raw_secret, errors="strict")
        except UnicodeDecodeError:
            # The codec's message would quote the bytes, i.e. part of the secret.
            raise ValueError("invalid AMI URL: user or secret is not valid percent-encoded UTF-8") from None
        if any(c in username for c in "\r\n\x00") or any(c in secret for c in "\r\n\x00"):
            raise ValueError("invalid AMI URL: user or secret contains CR, LF or NUL")

    host, port_text = _split_host_port(hostport)
    port = DEFAULT_PORTS[scheme]
    if port_text is not None:
        if not port_text.isascii() or not port_text.isdigit():
            raise ValueError(f"invalid AMI URL: port {port_text!r} is not a number")
        port = int(port_text)
        if not 0 < port < 65536:
            raise ValueError(f"invalid AMI URL: port {port} out of range")
    return AmiUrl(scheme=scheme, host=host, port=port, username=username, secret=secret)


def _split_host_port(hostport: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ValueError("invalid AMI URL: unclosed '[' in the host")
        host = hostport[1:end]
        after = hostport[end + 1 :]
        try:
            ipaddress.IPv6Address(host.partition("%")[0])
        except ValueError:
            raise ValueError(f"invalid AMI URL: {host!r} in brackets is not an IPv6 address") from None
        if after == "":
            return host, None
        if not after.startswith(":") or after == ":":
            raise ValueError("invalid AMI URL: unexpected text after the IPv6 address")
        return host, after[1:]
    host, colon, port_text = hostport.partition(":")
    if ":" in port_text:
        raise ValueError("invalid AMI URL: IPv6 addresses must be written in brackets, e.g. [::1]")
    if not host:
        raise ValueError("invalid AMI URL: missing host")
    if any(c in _BAD_HOST_CHARS for c in host):
        raise ValueError(f"invalid AMI URL: bad character in host {host!r}")
    if colon and not port_text:
        raise ValueError("invalid AMI URL: empty port after ':'")
    return host, port_text if colon else None
