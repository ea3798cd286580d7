"""Publishing to an S3-compatible store and mirroring it onto a worker's disk, against a real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.snapshot import Campaign, Template, TokenRecord, open_snapshot, write_snapshot
from engine.snapshot._publish import publish, rollback
from engine.snapshot._s3 import S3Location, S3Mirror
from engine.snapshot._versions import PublishError, list_versions

pytestmark = pytest.mark.e2e
URL = "s3://snapshots/prod/eu"
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _build(path, url, tokens=5, minute=0, campaigns=("a",)):
    cs = [Campaign(id=c, name=c, owner="o", brand="b", domains=["go.example"], routes=[],
                   default=Template([url]), campaign_token="C") for c in campaigns]
    toks = [(f"T{i:05d}", TokenRecord(campaign=0, recipient=f"r{i}")) for i in range(tokens)]
    write_snapshot(path, campaigns=cs, tokens=toks, built_at=T0 + timedelta(minutes=minute))
    return path


def _keys(endpoint):
    s3 = boto3.client("s3", endpoint_url=endpoint)
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket="snapshots").get("Contents", []))


def test_publish_writes_versioned_objects_and_current_last(tmp_path, s3_endpoint):
    a = publish(_build(tmp_path / "a.lmdb", "https://a.example/"), URL)
    keys = _keys(s3_endpoint)
    assert keys == ["prod/eu/current", "prod/eu/history.json", f"prod/eu/snapshots/{a.version}.lmdb"]
    body = boto3.client("s3", endpoint_url=s3_endpoint).get_object(Bucket="snapshots", Key="prod/eu/current")
    assert body["Body"].read().decode().strip() == a.version
    assert [i.version for i in list_versions(URL) if i.current] == [a.version]


def test_invariant_2_is_checked_against_the_remote_current(tmp_path, s3_endpoint):
    publish(_build(tmp_path / "a.lmdb", "https://a.example/", tokens=10), URL)
    before = _keys(s3_endpoint)
    with pytest.raises(PublishError, match=r"a: 4 issued token\(s\) would disappear"):
        publish(_build(tmp_path / "b.lmdb", "https://b.example/", tokens=6, minute=1), URL)
    assert _keys(s3_endpoint) == before


def test_mirror_follows_publish_and_rollback_and_refuses_a_corrupt_object(tmp_path, s3_endpoint):
    local = tmp_path / "local"
    mirror = S3Mirror(URL, local)
    with pytest.raises(PublishError, match="nothing is published"):
        mirror.sync_once()
    a = publish(_build(tmp_path / "a.lmdb", "https://a.example/"), URL)
    assert mirror.sync_once() is True
    assert mirror.sync_once() is False  # unchanged: a conditional GET, no download
    with open_snapshot(local) as snap:
        assert snap.version == a.version and snap.campaigns[0].default.literals == ["https://a.example/"]
    b = publish(_build(tmp_path / "b.lmdb", "https://b.example/", minute=1), URL)
    assert mirror.sync_once() is True
    with open_snapshot(local) as snap:
        assert snap.version == b.version
    assert rollback(URL).version == a.version
    assert mirror.sync_once() is True
    assert (local / "current").resolve().name == f"{a.version}.lmdb"

    # A corrupt object under a new version name is refused; the local copy keeps serving.
    c = _build(tmp_path / "c.lmdb", "https://c.example/", tokens=300, minute=2)
    with open_snapshot(c) as snap:
        version = snap.meta.version
    data = bytearray(c.read_bytes())
    data[data.find(b"r150")] = ord("X")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.put_object(Bucket="snapshots", Key=f"prod/eu/snapshots/{version}.lmdb", Body=bytes(data))
    s3.put_object(Bucket="snapshots", Key="prod/eu/current", Body=version.encode())
    with pytest.raises(PublishError, match=r"checksum mismatch.*still serving"):
        mirror.sync_once()
    assert (local / "current").resolve().name == f"{a.version}.lmdb"
    assert mirror.sync_once() is False  # refused once, not downloaded again every second
    assert not [p for p in local.rglob("*") if ".incoming-" in str(p) or ".tmp-" in p.name]


def test_cli_against_s3(tmp_path, s3_endpoint):
    runner = CliRunner()
    res = runner.invoke(main, ["publish", str(_build(tmp_path / "a.lmdb", "https://a.example/")), "--to", URL])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["publish", str(_build(tmp_path / "b.lmdb", "https://b.example/", minute=1)),
                               "--to", URL, "--keep", "1"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["versions", "--to", URL])
    assert res.exit_code == 0 and res.output.count("20270301T") == 2
    res = runner.invoke(main, ["rollback", "--to", URL])
    assert res.exit_code == 0 and "rolled s3://snapshots/prod/eu back to 20270301T090000Z" in res.output


def test_location_parsing():
    assert S3Location.from_url("s3://b/x/y/") == S3Location("b", "x/y/")
    assert S3Location.from_url("s3://b").key("current") == "current"
    with pytest.raises(PublishError, match="expected s3://bucket/prefix"):
        S3Location.from_url("s3:///nobucket")


def test_mirror_command_once_for_an_init_container(tmp_path, s3_endpoint):
    from engine.cli._publish import mirror

    runner = CliRunner()
    res = runner.invoke(mirror, ["--from", URL, "--to", str(tmp_path / "local"), "--once"])
    assert res.exit_code == 1 and "nothing is published" in res.output
    a = publish(_build(tmp_path / "a.lmdb", "https://a.example/"), URL)
    res = runner.invoke(mirror, ["--from", URL, "--to", str(tmp_path / "local"), "--once"])
    assert res.exit_code == 0 and f"now serving {a.version}" in res.output
    res = runner.invoke(mirror, ["--from", str(tmp_path), "--to", str(tmp_path / "local"), "--once"])
    assert res.exit_code == 1 and "expected s3://" in res.output


def test_an_unreachable_store_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing answers
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    res = CliRunner().invoke(main, ["versions", "--to", URL])
    assert res.exit_code == 1
    assert res.output.startswith("error: cannot list s3://snapshots/prod/eu:") and "Traceback" not in res.output
