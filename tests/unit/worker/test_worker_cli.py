"""`smslink serve` refuses to start with a clear message, no traceback (issue 3)."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from engine.cli import main


def test_missing_snapshot_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(main, ["serve", "--snapshot", str(tmp_path / "nope"), "--logs", str(tmp_path / "l"),
                                  "--port", "0", "--admin-port", "0"])
    assert r.exit_code == 1
    assert "no snapshot file here; run `smslink compile` first" in r.output
    assert "Traceback" not in r.output


def test_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = CliRunner().invoke(main, ["serve", "--snapshot", str(tmp_path), "--logs", str(tmp_path / "l"),
                                      "--port", str(port), "--admin-port", "0"])
    assert r.exit_code == 1 and "Address already in use" in r.output and "--port" in r.output


def test_remote_snapshot_source_is_explained(tmp_path):
    r = CliRunner().invoke(main, ["serve", "--snapshot", "gs://bucket/prefix", "--logs", str(tmp_path),
                                  "--port", "0", "--admin-port", "0"])
    assert r.exit_code == 1 and "only s3://" in r.output and "Traceback" not in r.output


def test_fallback_url_must_be_http(tmp_path):
    r = CliRunner().invoke(main, ["serve", "--snapshot", str(tmp_path), "--logs", str(tmp_path),
                                  "--fallback-url", "javascript:alert(1)"])
    assert r.exit_code == 2 and "--fallback-url" in r.output
