"""Login against the real server: plain, MD5, TLS, and the three ways a login fails."""

from __future__ import annotations

import asyncio
import shlex
import ssl
import subprocess
from pathlib import Path

import pytest

import ami_fast

from .conftest import AmiServer, skip_unless_required


async def test_plain_login_reports_the_banner_version(ami_server: AmiServer) -> None:
    async with ami_fast.connect(ami_server.url, auth_type="plain") as client:
        assert client.version == "11.0.0"  # Asterisk 22's AMI version
        response = await ami_fast.ActionSender(client).ping()
        assert response.get_field_value("Ping") == "Pong"
    assert client.closed


async def test_md5_challenge_login(ami_server: AmiServer) -> None:
    async with ami_fast.connect(ami_server.url, auth_type="md5") as client:
        response = await ami_fast.ActionSender(client).ping()
        assert response.name == "Success"


@pytest.mark.parametrize("auth_type", ["plain", "md5"])
async def test_each_login_failure_is_an_authentication_error(ami_server: AmiServer, auth_type: str) -> None:
    # Asterisk answers every failure alike, after a deliberate 1 s delay, then closes:
    # run the three at once so the test costs ~1 s, not 3.
    urls = {
        "bad secret": ami_server.url_for("ami", "not-the-secret"),
        "unknown user": ami_server.url_for("nosuchuser", "amipass"),
        "ACL rejects loopback": ami_server.url_for("amiacl"),
    }

    async def attempt(url: str) -> BaseException | None:
        try:
            client = await ami_fast.connect(url, auth_type=auth_type, login_timeout=10.0)
        except BaseException as exc:  # the test inspects it
            return exc
        client.close()
        return None

    results = await asyncio.gather(*(attempt(url) for url in urls.values()))
    for (case, url), error in zip(urls.items(), results, strict=True):
        assert isinstance(error, ami_fast.AuthenticationError), (case, error)
        assert error.message == "Authentication failed", case
        secret = url.split("@", 1)[0].rsplit(":", 1)[1]
        assert secret not in str(error) and secret not in repr(error), case


async def test_tls_login_verified_against_the_test_ca(ami_server: AmiServer) -> None:
    if ami_server.tls_url is None or ami_server.ca_file is None:
        skip_unless_required("set AMI_TEST_TLS_URL and AMI_TEST_CA (scripts/asterisk/env.sh does)")
    context = ssl.create_default_context(cafile=ami_server.ca_file)
    async with ami_fast.connect(ami_server.tls_url, ssl=context) as client:
        assert client.transport is not None
        assert client.transport.get_extra_info("ssl_object") is not None
        response = await ami_fast.ActionSender(client).ping()
        assert response.get_field_value("Ping") == "Pong"


def _make_other_ca(directory: Path) -> Path:
    cert = directory / "other-ca.crt"
    key = directory / "other-ca.key"
    command = f"openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other -keyout {key} -out {cert}"
    subprocess.run(shlex.split(command), check=True, capture_output=True)
    return cert


async def test_tls_with_a_wrong_ca_is_refused(ami_server: AmiServer, tmp_path: Path) -> None:
    if ami_server.tls_url is None:
        skip_unless_required("set AMI_TEST_TLS_URL (scripts/asterisk/env.sh does)")
    context = ssl.create_default_context(cafile=str(_make_other_ca(tmp_path)))
    with pytest.raises(ssl.SSLCertVerificationError):
        await ami_fast.connect(ami_server.tls_url, ssl=context)
