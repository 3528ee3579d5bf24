"""Fixtures for the functional tests: they run against a real Asterisk.

Start the project's test server and point the tests at it (as root)::

    make asterisk                        # scripts/asterisk/provision.sh
    eval "$(scripts/asterisk/env.sh)"    # AMI_TEST_URL, AMI_TEST_TLS_URL, AMI_TEST_CA, ...
    .venv/bin/pytest tests/functional

Without ``AMI_TEST_URL`` every test here is skipped with that hint; with ``AMI_TEST_REQUIRED``
set (as ``.ci/run`` does) a test that cannot run (no server, no TLS URL, no restart command)
fails instead.
"""

from __future__ import annotations

import os
import shlex
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

import pytest

ENABLE_HINT = (
    "functional tests need a real Asterisk: run `make asterisk` (as root), then "
    '`eval "$(scripts/asterisk/env.sh)"` or `export AMI_TEST_URL=tcp://ami:amipass@127.0.0.1:5038` '
    "(see README, 'Functional tests')"
)

# The users of scripts/asterisk/etc/manager.conf.
SECRETS = {
    "ami": "amipass",
    "amilimited": "limitedpass",
    "amiacl": "aclpass",
    "amifiltered": "filteredpass",
    "amibulk": "bulkpass",
}


@dataclass(frozen=True)
class AmiServer:
    """Where the test Asterisk listens, and how to reach its other users."""

    url: str
    host: str
    port: int
    tls_url: str | None
    ca_file: str | None
    restart_command: list[str] | None

    def url_for(self, user: str, secret: str | None = None) -> str:
        """A tcp:// URL for ``user`` (its known secret unless ``secret`` is given)."""
        password = SECRETS[user] if secret is None else secret
        host = f"[{self.host}]" if ":" in self.host else self.host
        quote = urllib.parse.quote
        return f"tcp://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{self.port}"


def _server_from_env() -> AmiServer | None:
    url = os.environ.get("AMI_TEST_URL")
    if not url:
        return None
    parsed = urllib.parse.urlsplit(url if "://" in url else f"tcp://{url}")
    restart = os.environ.get("AMI_TEST_RESTART")
    return AmiServer(
        url=url,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5038,
        tls_url=os.environ.get("AMI_TEST_TLS_URL") or None,
        ca_file=os.environ.get("AMI_TEST_CA") or None,
        restart_command=shlex.split(restart) if restart else None,
    )


def skip_unless_required(reason: str) -> NoReturn:
    """Skip, except under ``AMI_TEST_REQUIRED`` (CI), where a test that cannot run is a failure."""
    if os.environ.get("AMI_TEST_REQUIRED"):
        pytest.fail(f"AMI_TEST_REQUIRED is set but: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def ami_server() -> AmiServer:
    server = _server_from_env()
    if server is None:
        skip_unless_required(ENABLE_HINT)
    return server


@pytest.fixture(autouse=True)
def _needs_asterisk(ami_server: AmiServer) -> None:
    """Every test in this folder needs the server (and so skips without it)."""


@pytest.fixture
def tag() -> str:
    """A name no other test run uses, to pick this test's events and channels out."""
    return f"t{uuid.uuid4().hex[:12]}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.functional)


@pytest.fixture
def restart_command(ami_server: AmiServer) -> Iterator[list[str]]:
    if ami_server.restart_command is None:
        skip_unless_required("set AMI_TEST_RESTART (scripts/asterisk/env.sh does) to run the restart test")
    yield ami_server.restart_command
