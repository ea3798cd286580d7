"""The HTTP/1.1 response reader of PoolSender: framing, interim answers, reuse, stale connections."""

from __future__ import annotations

import asyncio

import pytest

from engine.webhooks._sender import _read_response, _StaleConnection


def _read(raw: bytes, reused: bool = False) -> tuple[int, str | None, bool]:
    async def go() -> tuple[int, str | None, bool]:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return await _read_response(reader, reused)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"HTTP/1.1 204 No Content\r\n\r\n", (204, None, True)),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", (200, None, True)),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", (200, None, True)),
        (b"HTTP/1.1 503 Busy\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n", (503, "30", True)),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", (200, None, False)),
        (b"HTTP/1.0 200 OK\r\n\r\nbody until close", (200, None, False)),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", (202, None, True)),
        (b"HTTP/1.1 301 Moved\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n", (301, None, True)),
    ],
    ids=["204", "content-length", "chunked", "retry-after", "connection close", "http/1.0 close-delimited",
         "100 continue", "redirect is just a status"],
)
def test_framing(raw, expected):
    assert _read(raw) == expected


def test_a_reused_connection_closed_before_any_byte_is_stale():
    with pytest.raises(_StaleConnection):
        _read(b"", reused=True)
    with pytest.raises(asyncio.IncompleteReadError):
        _read(b"", reused=False)
    with pytest.raises(asyncio.IncompleteReadError):
        _read(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", reused=True)


def test_not_http_is_an_error():
    with pytest.raises(ValueError, match=r"not an HTTP/1\.x answer"):
        _read(b"SSH-2.0-OpenSSH\r\n\r\n")
