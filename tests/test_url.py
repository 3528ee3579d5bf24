"""URL parsing: every form of the seed, the gaps it had, and refusals before connecting."""

from __future__ import annotations

import pytest

from ami_fast.url import AmiUrl, parse_url


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port"),
    [
        ("localhost", "tcp", "localhost", 5038),
        ("127.0.0.1:1234", "tcp", "127.0.0.1", 1234),
        ("tcp://pbx.example", "tcp", "pbx.example", 5038),
        ("TCP://pbx.example:6000", "tcp", "pbx.example", 6000),
        ("tls://pbx.example", "tls", "pbx.example", 5039),
        ("tls://pbx.example:5038", "tls", "pbx.example", 5038),
        ("tcp://[::1]", "tcp", "::1", 5038),
        ("[::1]:5040", "tcp", "::1", 5040),
        ("tls://[2001:db8::7]:6039", "tls", "2001:db8::7", 6039),
        ("tcp://[fe80::1%eth0]:5038", "tcp", "fe80::1%eth0", 5038),
        ("tcp://pbx.example/", "tcp", "pbx.example", 5038),
    ],
)
def test_host_forms(url: str, scheme: str, host: str, port: int) -> None:
    parsed = parse_url(url)
    assert (parsed.scheme, parsed.host, parsed.port) == (scheme, host, port)
    assert parsed.username is None and parsed.secret is None
    assert parsed.tls == (scheme == "tls")


@pytest.mark.parametrize(
    ("url", "user", "secret", "port"),
    [
        ("ami:amipass@localhost", "ami", "amipass", 5038),
        ("tcp://ami:amipass@localhost:5000", "ami", "amipass", 5000),
        ("tls://ami:amipass@[::1]", "ami", "amipass", 5039),
        # the seed's rawurldecode example: '+' stays '+', %40 and %21 decode
        ("user%40host:pass+word%21@pbx", "user@host", "pass+word!", 5038),
        ("a%3Ab:c%3Ad@pbx", "a:b", "c:d", 5038),
        ("ami:@pbx", "ami", "", 5038),
        ("ami:p%C3%A4ss@pbx", "ami", "päss", 5038),
        # an unencoded '@' or '/' in the secret: the last '@' separates the host
        ("ami:p@ss/w#rd@pbx:1", "ami", "p@ss/w#rd", 1),
    ],
)
def test_credentials_are_percent_decoded(url: str, user: str, secret: str, port: int) -> None:
    parsed = parse_url(url)
    assert (parsed.username, parsed.secret, parsed.port) == (user, secret, port)
    assert parsed.has_credentials


@pytest.mark.parametrize(
    "url",
    [
        "",
        " localhost",
        "http://localhost",
        "ws://localhost:5038",
        "tcp://",
        "tcp://:5038",
        "tcp://localhost:",
        "tcp://localhost:abc",
        "tcp://localhost:0",
        "tcp://localhost:65536",
        "tcp://localhost:\uff15\uff10\uff13\uff18",  # full-width digits
        "tcp://::1",
        "tcp://[::1",
        "tcp://[::1]x",
        "tcp://[not-ipv6]:5038",
        "tcp://localhost/path",
        "tcp://localhost?x=1",
        "tcp://localhost#frag",
        "ami@localhost",
        ":secret@localhost",
        "tcp://loc alhost",
        "ami:a%0Db@localhost",
        "ami:%FF@localhost",
    ],
)
def test_invalid_urls_raise_value_error(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)


def test_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_url(b"localhost")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "tcp://ami:S3cr3t!x@localhost:abc",
        "ami:S3cr3t!x@localhost/path",
        "ami:S3cr3t!x@tcp://::1",
        "ami:S3cr3t!x%FF@localhost",
    ],
)
def test_secret_never_in_error_text(url: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_url(url)
    assert "S3cr3t" not in str(info.value)
    assert "S3cr3t" not in repr(info.value)


def test_secret_not_in_repr_or_str() -> None:
    parsed = parse_url("tls://ami:S3cr3t@pbx:6000")
    assert "S3cr3t" not in repr(parsed)
    assert "S3cr3t" not in str(parsed)
    assert str(parsed) == "tls://ami:***@pbx:6000"
    assert parsed.netloc() == "pbx:6000"
    assert parse_url("[::1]").netloc() == "[::1]:5038"


def test_value_object() -> None:
    assert parse_url("ami:x@h") == AmiUrl("tcp", "h", 5038, "ami", "x")
