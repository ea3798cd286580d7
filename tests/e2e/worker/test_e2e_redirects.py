"""A real `smslink serve` answering real HTTP: redirects, pages, headers, the log, admin (issue 3)."""

from __future__ import annotations

import socket
import time

import httpx
import msgspec
import pytest
from worker_e2e_support import HOST, Server, build_snapshot, token

from engine.clicklog import ClickEvent, list_log_files, read_lines
from engine.snapshot import publish_snapshot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    tmp = tmp_path_factory.mktemp("serve")
    publish_snapshot(build_snapshot(tmp / "v1.lmdb"), tmp / "pub")
    srv = Server(tmp, tmp / "pub", workers=2, extra=[])
    yield srv
    srv.stop()


def test_redirect_with_its_headers(server):
    r = server.get("/" + token(7))
    assert r.status_code == 302
    assert r.headers["location"] == "https://www.acme.example/v1/spring?hero=family"
    assert r.headers["cache-control"] == "private, no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in r.headers
    assert r.content == b""


def test_head_is_answered_like_get_without_a_body(server):
    r = httpx.head(server.base + "/" + token(8), headers={"host": HOST})
    assert r.status_code == 302
    assert r.headers["location"] == "https://www.acme.example/v1/spring?hero=tents"
    assert r.content == b""


@pytest.mark.parametrize(
    ("path", "host"),
    [
        pytest.param("/" + token(999_999), HOST, id="unknown token"),
        pytest.param("/not-a-token!", HOST, id="malformed token"),
        pytest.param("/" + token(9), "evil.example", id="host mismatch"),
    ],
)
def test_orphans_get_a_small_404_page(server, path, host):
    r = server.get(path, headers={"host": host})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "This link is not valid" in r.text and len(r.content) < 2048


def test_expired_without_destination_is_410(server):
    r = server.get("/" + token(0, "En"))
    assert r.status_code == 410 and "offer has ended" in r.text


def test_expired_with_destination_redirects(server):
    r = server.get("/" + token(0, "Ex"))
    assert r.status_code == 302 and r.headers["location"] == "https://www.acme.example/sale-ended"


def test_not_yet_live_redirects_to_coming_soon(server):
    r = server.get("/" + token(0, "Sn"))
    assert r.status_code == 302 and r.headers["location"] == "https://www.acme.example/coming-soon"


def test_preview_fetcher_gets_the_open_graph_card(server):
    r = server.get("/" + token(10), headers={"user-agent": "facebookexternalhit/1.1 Facebot Twitterbot/1.0"})
    assert r.status_code == 200
    assert '<meta property="og:title" content="Acme Spring Sale">' in r.text
    assert "noindex" in r.text and "https://www.acme.example/v1/spring?hero=tents" in r.text


def test_unknown_method_is_not_a_server_error(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(f"BREW /{token(11)} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        status = s.recv(4096).split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 ") and status[9:10] != b"5"


def test_every_line_parses_and_carries_no_full_ip(server):
    tokens = [token(100 + i) for i in range(20)]
    for t in tokens:
        assert server.get("/" + t).status_code == 302
    unknown, foreign = token(777_777, "Zz"), token(101)
    assert server.get("/" + unknown).status_code == 404
    assert server.get("/" + foreign, headers={"host": "evil.example"}).status_code == 404
    deadline = time.monotonic() + 10
    while True:
        events = server.events()
        seen = {(e.token, e.route) for e in events}
        if {(unknown, "unknown-token"), (foreign, "host-mismatch")} <= seen or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert (unknown, "unknown-token") in seen and (foreign, "host-mismatch") in seen
    by_token = {e.token: e for e in events if e.kind == "click" and e.token in tokens}
    for t in tokens:
        ev = by_token[t]
        assert ev.campaign == "spring" and ev.recipient and ev.recipient.startswith("cust-")
        assert ev.ip == "127.0.0.0/24"
        assert ev.verdict in {"human", "suspect", "bot", "preview", "scanner"} and ev.policy
        assert ev.snapshot and ev.worker and len(ev.id) == 26
        assert ev.dest and ev.dest.startswith("https://www.acme.example/v1/spring?hero=")
    assert all("127.0.0.1" not in e.ip for e in events)
    assert all(e.campaign is None and e.recipient is None for e in events if e.kind == "orphan")
    # Byte for byte what the public schema encodes: the worker writes a line in two
    # spliced parts (engine/worker/_core.py), which must not show in the file.
    raws = [bytes(raw) for lf in list_log_files(server.logs) for raw, _ in read_lines(lf.path)]
    assert len(raws) == len(events)
    for raw in raws:
        assert msgspec.json.encode(msgspec.json.decode(raw, type=ClickEvent)) == raw.rstrip(b"\n")


def test_admin_endpoints(server):
    assert httpx.get(server.admin + "/healthz").text == "ok\n"
    ready = httpx.get(server.admin + "/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["snapshot"] and body["config_commit"] == "commit-v1" and body["workers"] == 2
    server.get("/" + token(12))
    deadline = time.monotonic() + 5
    while True:  # workers publish their counters once a second
        text = httpx.get(server.admin + "/metrics").text
        if 'smslink_requests_total{status="302"' in text or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert 'smslink_requests_total{status="302"' in text
    assert "smslink_request_duration_seconds_bucket" in text
    assert "smslink_click_log_write_failures_total 0" in text
    assert f'smslink_snapshot_info{{version="{body["snapshot"]}",config_commit="commit-v1"}} 1' in text
    assert "smslink_workers 2" in text
