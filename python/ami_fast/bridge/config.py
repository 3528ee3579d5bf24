"""The bridge configuration: a TOML file (``ami-fast bridge --config fleet.toml``) or objects.

::

    [nats]
    url = "nats://127.0.0.1:4222"       # or url_env = "NATS_URL"
    stream = "AMI"                      # created (or its subjects checked) at start

    [bridge]
    buffer_events = 100000              # per server, while the broker is slow or down
    overflow = "drop_newest"            # or "drop_oldest"
    metrics = "127.0.0.1:9108"          # Prometheus text endpoint ("" = off)

    [servers.pbx1]
    url = "tcp://bridge@10.0.0.11:5038"
    secret_env = "PBX1_AMI_SECRET"      # or secret_file = "/run/secrets/pbx1"
    exclude = ["RTCP*", "VarSet"]       # event names (globs), dropped before publishing

Every problem is reported as one :class:`ValueError` line naming the file and the key, e.g.
``fleet.toml: servers.pbx1: set one of secret_env or secret_file, not both``.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from ..url import parse_url

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["BridgeConfig", "BridgeOptions", "NatsOptions", "ServerConfig", "load_config", "parse_config"]

Overflow = Literal["drop_newest", "drop_oldest"]
# One NATS subject token: no dots, no wildcards, no spaces.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_STREAM = re.compile(r"^[A-Za-z0-9_-]+$")
# Actions the bridge manages itself (login, event mask, filters), and the config-file actions:
# GetConfig(JSON) of manager.conf returns every AMI secret in clear (and pjsip.conf the SIP
# ones), UpdateConfig/CreateConfig could add a manager user. Never taken from the broker.
RESERVED_ACTIONS = frozenset(
    {"login", "logoff", "challenge", "events", "filter"}
    | {"getconfig", "getconfigjson", "updateconfig", "createconfig"}
)


@dataclass
class NatsOptions:
    url: str = "nats://127.0.0.1:4222"
    subject_prefix: str = "ami"
    stream: str = "AMI"
    create_stream: bool = True
    storage: Literal["file", "memory"] = "file"
    duplicate_window: float = 120.0  # seconds JetStream remembers a Nats-Msg-Id
    max_age: float = 0.0  # seconds; 0 = keep until other limits
    max_bytes: int = -1
    replicas: int = 1
    connect_timeout: float = 5.0


@dataclass
class BridgeOptions:
    id: str | None = None  # lease owner name (default: host-pid-random)
    buffer_events: int = 100_000
    buffer_bytes: int = 64 << 20
    overflow: Overflow = "drop_newest"
    max_in_flight: int = 1024
    ack_timeout: float = 5.0
    retry_max_delay: float = 5.0
    metrics: str = ""  # "host:port" for the Prometheus text endpoint, "" = off
    lease: bool = True
    lease_bucket: str = "ami_bridge_leases"
    lease_ttl: float = 15.0
    actions: bool = True
    action_timeout: float = 30.0
    max_concurrent_actions: int = 64
    drain_timeout: float = 5.0
    reconnect_min_delay: float = 0.5
    reconnect_max_delay: float = 30.0
    auth_failures_max: int = 3
    shutdown_delay: float = 5.0  # the least wait after Event: Shutdown (Asterisk restarting)
    auth_failure_delay: float = 5.0  # the least wait after a refused login


@dataclass
class ServerConfig:
    id: str
    url: str  # with the secret filled in; never log it (use display_url)
    display_url: str
    events: str | None = None  # login Events mask
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()  # server-side Filter actions (Asterisk regex syntax)
    actions_allow: tuple[str, ...] = ()  # empty: every action but the reserved ones
    actions_deny: tuple[str, ...] = ()
    connect_timeout: float = 10.0
    ping_interval: float | None = 20.0

    def __repr__(self) -> str:
        return f"ServerConfig(id={self.id!r}, url={self.display_url!r})"

    def wants(self, name: str) -> bool:
        """Whether events named ``name`` are published (include/exclude globs, case-insensitive)."""
        low = name.lower()
        if self.include and not any(fnmatch.fnmatchcase(low, p.lower()) for p in self.include):
            return False
        return not any(fnmatch.fnmatchcase(low, p.lower()) for p in self.exclude)

    def action_allowed(self, name: str) -> bool:
        low = name.lower()
        if low in RESERVED_ACTIONS:
            return False
        if any(fnmatch.fnmatchcase(low, p.lower()) for p in self.actions_deny):
            return False
        return not self.actions_allow or any(fnmatch.fnmatchcase(low, p.lower()) for p in self.actions_allow)


@dataclass
class BridgeConfig:
    servers: list[ServerConfig]
    nats: NatsOptions = field(default_factory=NatsOptions)
    bridge: BridgeOptions = field(default_factory=BridgeOptions)
    source: str = "<config>"

    def only(self, server_ids: list[str]) -> BridgeConfig:
        """A copy with just these servers (``--servers a,b``: split one file across processes)."""
        known = {s.id for s in self.servers}
        unknown = [s for s in server_ids if s not in known]
        if unknown:
            raise ValueError(f"{self.source}: no server named {', '.join(map(repr, unknown))} in [servers]")
        keep = set(server_ids)
        return BridgeConfig([s for s in self.servers if s.id in keep], self.nats, self.bridge, self.source)


# -- parsing ------------------------------------------------------------------------------


class _Reader:
    """Typed access to one TOML table; every complaint is one line with the key's path."""

    def __init__(self, source: str, path: str, table: Mapping[str, Any]) -> None:
        self.source = source
        self.path = path
        self.table = table
        self.used: set[str] = set()

    def fail(self, key: str | None, text: str) -> ValueError:
        where = f"{self.path}.{key}" if key and self.path else (key or self.path)
        return ValueError(f"{self.source}: {where}: {text}" if where else f"{self.source}: {text}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.used.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"expected {_kind_name(kinds)}, got a boolean")
        if not isinstance(value, kinds):
            raise self.fail(key, f"expected {_kind_name(kinds)}, got {_toml_type(value)}")
        return value

    def number(self, key: str, default: float, *, minimum: float, integer: bool = False) -> Any:
        value = self.get(key, int if integer else float, default)
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum:g}, got {value:g}")
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value: str = self.get(key, str, default)
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(map(repr, choices))}, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.get(key, (list, str), [])
        if isinstance(value, str):
            value = [value]
        for item in value:
            if not isinstance(item, str) or not item:
                raise self.fail(key, "expected a list of non-empty strings")
        return tuple(value)

    def check_unknown(self) -> None:
        extra = sorted(set(self.table) - self.used)
        if extra:
            raise self.fail(None, f"unknown key {extra[0]!r}")


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _toml_type(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _secret(r: _Reader, environ: Mapping[str, str], base: Path) -> str | None:
    env_name = r.get("secret_env", str, None)
    file_name = r.get("secret_file", str, None)
    if env_name is not None and file_name is not None:
        raise r.fail(None, "set one of secret_env or secret_file, not both")
    if env_name is not None:
        if env_name not in environ:
            raise r.fail("secret_env", f"environment variable {env_name} is not set")
        return environ[env_name]
    if file_name is not None:
        path = Path(file_name)
        if not path.is_absolute():
            path = base / path
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise r.fail("secret_file", f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    return None


def _server(sid: str, table: Any, source: str, environ: Mapping[str, str], base: Path) -> ServerConfig:
    path = f"servers.{sid}"
    if not isinstance(table, dict):
        raise ValueError(f"{source}: {path}: expected a table ([{path}])")
    if not _TOKEN.match(sid):
        raise ValueError(
            f"{source}: {path}: a server id may only use letters, digits, '_' and '-' "
            "(it is a NATS subject token)"
        )
    r = _Reader(source, path, table)
    url = r.get("url", str, None)
    if url is None:
        raise r.fail(None, 'missing url (e.g. url = "tcp://user@10.0.0.1:5038")')
    secret = _secret(r, environ, base)
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, sep, rest = "tcp", "://", url
    userinfo, at, hostport = rest.rpartition("@")
    if at and ":" not in userinfo:  # a user without a secret: fill it in from env/file
        if secret is None:
            raise r.fail(
                None, f"the URL names user {userinfo!r} but no secret: set secret_env or secret_file"
            )
        url = f"{scheme}{sep}{userinfo}:{quote(secret, safe='')}@{hostport}"
    elif secret is not None:
        what = "already carries a secret" if at else "names no user (tcp://user@host)"
        raise r.fail("url", f"a secret is configured but the URL {what}")
    try:
        parse_url(url)
    except ValueError as exc:
        raise r.fail("url", str(exc)) from None
    display = parse_url(url)
    ping = r.number("ping_interval", 20.0, minimum=0.0)
    cfg = ServerConfig(
        id=sid,
        url=url,
        display_url=display.redacted().replace(":***@", "@"),
        events=r.get("events", str, None),
        include=r.strings("include"),
        exclude=r.strings("exclude"),
        filters=r.strings("filters"),
        actions_allow=r.strings("actions_allow"),
        actions_deny=r.strings("actions_deny"),
        connect_timeout=r.number("connect_timeout", 10.0, minimum=0.1),
        ping_interval=ping or None,
    )
    r.check_unknown()
    if not display.has_credentials:  # the bridge must log in to read events
        raise r.fail("url", "names no user: use tcp://user@host with secret_env or secret_file")
    return cfg


def parse_config(
    data: Mapping[str, Any],
    *,
    source: str = "<config>",
    environ: Mapping[str, str] | None = None,
    base: Path | None = None,
) -> BridgeConfig:
    """Build a :class:`BridgeConfig` from parsed TOML (``ValueError``: one line, key named)."""
    env = os.environ if environ is None else environ
    base = base or Path.cwd()
    top = _Reader(source, "", data)
    nats_table = top.get("nats", dict, {})
    bridge_table = top.get("bridge", dict, {})
    servers_table = top.get("servers", dict, None)
    top.check_unknown()
    if not servers_table:
        raise ValueError(f"{source}: no servers: add at least one [servers.<id>] table with a url")

    n = _Reader(source, "nats", nats_table)
    url_env = n.get("url_env", str, None)
    url = n.get("url", str, None)
    if url_env is not None:
        if url is not None:
            raise n.fail(None, "set one of url or url_env, not both")
        if url_env not in env:
            raise n.fail("url_env", f"environment variable {url_env} is not set")
        url = env[url_env]
    nats = NatsOptions(
        url=url or NatsOptions.url,
        subject_prefix=n.get("subject_prefix", str, NatsOptions.subject_prefix),
        stream=n.get("stream", str, NatsOptions.stream),
        create_stream=n.get("create_stream", bool, True),
        storage=n.choice("storage", "file", ("file", "memory")),  # type: ignore[arg-type]
        duplicate_window=n.number("duplicate_window", 120.0, minimum=1.0),
        max_age=n.number("max_age", 0.0, minimum=0.0),
        max_bytes=n.number("max_bytes", -1, minimum=-1, integer=True),
        replicas=n.number("replicas", 1, minimum=1, integer=True),
        connect_timeout=n.number("connect_timeout", 5.0, minimum=0.1),
    )
    n.check_unknown()
    if not _PREFIX.match(nats.subject_prefix):
        raise n.fail("subject_prefix", "must be dot-separated tokens of letters, digits, '_' or '-'")
    if not _STREAM.match(nats.stream):
        raise n.fail("stream", "may only use letters, digits, '_' and '-'")

    b = _Reader(source, "bridge", bridge_table)
    opts = BridgeOptions(
        id=b.get("id", str, None),
        buffer_events=b.number("buffer_events", 100_000, minimum=1, integer=True),
        buffer_bytes=b.number("buffer_bytes", 64 << 20, minimum=1024, integer=True),
        overflow=b.choice("overflow", "drop_newest", ("drop_newest", "drop_oldest")),  # type: ignore[arg-type]
        max_in_flight=b.number("max_in_flight", 1024, minimum=1, integer=True),
        ack_timeout=b.number("ack_timeout", 5.0, minimum=0.05),
        retry_max_delay=b.number("retry_max_delay", 5.0, minimum=0.01),
        metrics=b.get("metrics", str, ""),
        lease=b.get("lease", bool, True),
        lease_bucket=b.get("lease_bucket", str, BridgeOptions.lease_bucket),
        lease_ttl=b.number("lease_ttl", 15.0, minimum=1.0),
        actions=b.get("actions", bool, True),
        action_timeout=b.number("action_timeout", 30.0, minimum=0.1),
        max_concurrent_actions=b.number("max_concurrent_actions", 64, minimum=1, integer=True),
        drain_timeout=b.number("drain_timeout", 5.0, minimum=0.0),
        reconnect_min_delay=b.number("reconnect_min_delay", 0.5, minimum=0.01),
        reconnect_max_delay=b.number("reconnect_max_delay", 30.0, minimum=0.01),
        auth_failures_max=b.number("auth_failures_max", 3, minimum=1, integer=True),
        shutdown_delay=b.number("shutdown_delay", 5.0, minimum=0.0),
        auth_failure_delay=b.number("auth_failure_delay", 5.0, minimum=0.0),
    )
    b.check_unknown()
    if opts.metrics:
        host, sep, port = opts.metrics.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise b.fail("metrics", f"expected host:port (e.g. 127.0.0.1:9108), got {opts.metrics!r}")
    if opts.id is not None and not _TOKEN.match(opts.id):
        raise b.fail("id", "may only use letters, digits, '_' and '-'")
    if not _STREAM.match(opts.lease_bucket):
        raise b.fail("lease_bucket", "may only use letters, digits, '_' and '-'")

    servers = [_server(str(sid), t, source, env, base) for sid, t in servers_table.items()]
    return BridgeConfig(servers=servers, nats=nats, bridge=opts, source=source)


def load_config(path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> BridgeConfig:
    """Read and check a TOML config file; any problem is one ``ValueError`` line."""
    p = Path(path)
    source = str(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise ValueError(f"{source}: cannot read the config file: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{source}: the config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: invalid TOML: {exc}") from None
    return parse_config(data, source=source, environ=environ, base=p.resolve().parent)
