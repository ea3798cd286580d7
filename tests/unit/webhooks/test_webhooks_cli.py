"""`smslink dispatch` errors users see: clear, no traceback, non-zero, never a secret."""

from __future__ import annotations

import base64

import pytest
import yaml
from click.testing import CliRunner

from engine.cli import main

SECRET = "whsec_" + base64.b64encode(b"cli-test-secret-0123456789abcdef").decode()


def _config(tmp_path, **endpoint: object):
    folder = tmp_path / "config" / "policies"
    folder.mkdir(parents=True)
    ep = {"name": "crm", "url": "https://hooks.acme.example/in", "secret-env": "SMSLINK_CRM_SECRET", **endpoint}
    (folder / "webhooks.yaml").write_text(yaml.safe_dump({"kind": "webhooks", "endpoints": [ep]}))
    (folder / "bots.yaml").write_text("kind: bots\nid: default\n")
    return str(tmp_path / "config")


def _run(args, env=None):
    return CliRunner().invoke(main, ["dispatch", *args], env=env or {})


def test_missing_secret_variable(tmp_path):
    r = _run(["--config", _config(tmp_path), "--logs", str(tmp_path / "l"), "--state", str(tmp_path / "s"),
              "--once"], env={"SMSLINK_CRM_SECRET": ""})
    assert r.exit_code == 1
    assert "endpoint crm: environment variable SMSLINK_CRM_SECRET is not set" in r.output
    assert "Traceback" not in r.output


def test_a_secret_pasted_into_config_is_refused_without_echo(tmp_path):
    r = _run(["--config", _config(tmp_path, **{"secret-env": SECRET}), "--once"])
    assert r.exit_code == 1
    assert "webhooks.yaml:3:15: error E207: secret-env holds a secret" in r.output
    assert SECRET[6:] not in r.output


def test_unknown_endpoint_and_missing_snapshot(tmp_path):
    r = _run(["replay", "--config", _config(tmp_path), "--endpoint", "nope", "--since", "2026-11-27"],
             env={"SMSLINK_CRM_SECRET": SECRET})
    assert r.exit_code == 1 and "unknown endpoint nope (configured: crm)" in r.output
    r = _run(["--snapshot", str(tmp_path / "none"), "--once"])
    assert r.exit_code == 1 and "run `smslink compile` first" in r.output and "--config DIR" in r.output


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "yesterday"], "not an ISO 8601 date"),
    (["--since", "2026-11-27T10:00Z", "--until", "2026-11-27T09:00Z"], "must be later than --since"),
], ids=["bad since", "until before since"])
def test_replay_time_arguments(tmp_path, args, message):
    r = _run(["replay", "--config", _config(tmp_path), "--endpoint", "crm", *args],
             env={"SMSLINK_CRM_SECRET": SECRET})
    assert r.exit_code == 2 and message in r.output


def test_once_with_no_logs_is_a_quiet_success(tmp_path):
    r = _run(["--config", _config(tmp_path), "--logs", str(tmp_path / "none"), "--state", str(tmp_path / "s"),
              "--once"], env={"SMSLINK_CRM_SECRET": SECRET})
    assert r.exit_code == 0, r.output
    assert "crm: delivered 0" in r.output
    assert (tmp_path / "s" / "metrics.prom").exists()


def test_dead_letters_listing_when_there_are_none(tmp_path):
    r = _run(["dead-letters", "--state", str(tmp_path / "s")])
    assert r.exit_code == 0 and "0 dead letters" in r.output


def test_endpoint_names_are_unique_across_files(tmp_path):
    config = _config(tmp_path)
    second = tmp_path / "config" / "policies" / "more-webhooks.yaml"
    second.write_text((tmp_path / "config" / "policies" / "webhooks.yaml").read_text())
    r = _run(["--config", config, "--once"], env={"SMSLINK_CRM_SECRET": SECRET})
    assert r.exit_code == 1 and "endpoint names defined more than once: crm" in r.output


def test_endpoints_from_a_snapshot_include_campaigns_that_name_them(tmp_path):
    from engine.cli._dispatch import _load_endpoints
    from engine.snapshot import Campaign, Endpoint, Template, write_snapshot

    def campaign(cid: str, hooks: list[str]) -> Campaign:
        return Campaign(id=cid, name=cid, owner="o", brand="b", domains=["go.example"], routes=[],
                        default=Template(["https://www.example/"]), campaign_token=f"C{cid}", webhooks=hooks)

    write_snapshot(tmp_path / "snap.lmdb", campaigns=[campaign("a", ["crm"]), campaign("b", []),
                                                      campaign("c", ["all"])], tokens=[],
                   endpoints=[Endpoint(name="crm", url="https://h.example/", secret_env="X", campaigns=["b"]),
                              Endpoint(name="all", url="https://h.example/", secret_env="X")])
    got = {e.name: e.campaigns for e in _load_endpoints(None, tmp_path / "snap.lmdb")}
    assert got == {"crm": ["a", "b"], "all": []}


def test_status_reports_lag_retries_dead_letters_and_disabled(tmp_path):
    import msgspec
    from webhook_unit_helpers import make_event, write_log

    from engine.webhooks import DeadLetter, DisabledMark, EndpointState, RetryEntry, StateDir

    log = write_log(tmp_path / "clicks", [make_event(0), make_event(1)])
    store = StateDir(tmp_path / "s")
    store.save("crm", EndpointState(files={log.name.removesuffix(".jsonl"): 10}, retries=[RetryEntry(
        webhook_id="msg_1", event_id="1", type="click.human", body=msgspec.Raw(b"{}"), attempts=2,
        first_at=0.0, next_at=0.0)], disabled=DisabledMark(at=0.0, reason="HTTP 410 Gone", url="https://x/")))
    store.append_dead_letters("crm", [DeadLetter(
        webhook_id="msg_2", event_id="2", endpoint="crm", type="click.human", attempts=13,
        first_attempt_at="x", last_attempt_at="y", last_error="HTTP 500", payload=msgspec.Raw(b"{}"))])
    r = _run(["status", "--logs", str(tmp_path / "clicks"), "--state", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    lag = log.stat().st_size - 10
    assert f"crm: lag {lag} B, 1 retries queued" in r.output
    assert "1 dead letters, DISABLED: HTTP 410 Gone" in r.output
