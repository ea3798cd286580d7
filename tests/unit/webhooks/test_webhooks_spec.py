"""`kind: webhooks` files: https only (loopback with allow-private excepted), known events,
secret-env is a variable name, names are slugs and unique."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

import engine.webhooks
from engine.spec import webhooks as spec
from engine.spec.webhooks import WebhooksSpec


def _file(**endpoint: object) -> dict[str, object]:
    base = {"name": "crm", "url": "https://hooks.acme.example/in", "secret-env": "SMSLINK_CRM_SECRET"}
    return {"kind": "webhooks", "endpoints": [{**base, **endpoint}]}


def test_the_example_policy_compiles():
    with (Path(__file__).parents[3] / "policies" / "webhooks.yaml").open() as fh:
        records = WebhooksSpec.model_validate(yaml.safe_load(fh)).to_records("policies/webhooks.yaml")
    assert [r.name for r in records] == ["crm"]
    assert records[0].events == ["click.human"] and not records[0].allow_private


def test_defaults():
    (rec,) = WebhooksSpec.model_validate(_file()).to_records("p.yaml")
    assert rec.events == ["click.human"] and rec.campaigns == [] and not rec.include_user_agent
    assert rec.source == "p.yaml"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "http://hooks.acme.example/in"}, "must use https"),
        ({"url": "http://127.0.0.1:8080/in"}, "must use https"),
        ({"url": "ftp://hooks.acme.example/"}, "not an absolute https"),
        ({"url": "https://user:pw@hooks.acme.example/"}, "credentials"),
        ({"events": ["click.humans"]}, 'unknown event "click.humans"'),
        ({"events": []}, "at least one event"),
        ({"events": ["click.human", "click.human"]}, "twice"),
        ({"secret-env": "whsec_c2VjcmV0LXZhbHVlLXBhc3RlZC1ieS1taXN0YWtl"}, "holds a secret"),
        ({"secret-env": "my secret"}, "not an environment variable name"),
        ({"name": "CRM Hooks"}, "lower-case slug"),
        ({"secret": "x"}, "Extra inputs"),
    ],
    ids=["http", "http loopback without allow-private", "ftp", "credentials", "unknown event", "no events",
         "duplicate event", "secret pasted", "bad env name", "bad name", "unknown key"],
)
def test_invalid_endpoints(changes, message):
    with pytest.raises(ValidationError) as err:
        WebhooksSpec.model_validate(_file(**changes))
    assert message in str(err.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/in", "http://localhost/in", "http://[::1]:9/x"])
def test_plain_http_only_to_loopback_with_allow_private(url):
    WebhooksSpec.model_validate(_file(url=url, **{"allow-private": True}))


def test_event_vocabulary_matches_the_dispatcher():
    assert spec.EVENT_TYPES == engine.webhooks.EVENT_TYPES


def test_public_names_are_exported():
    public = {n for n in dir(engine.webhooks) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(engine.webhooks, n)).__name__ == "module"}
    assert set(engine.webhooks.__all__) == public - modules - {"annotations"}
    assert len(engine.webhooks.__all__) == len(set(engine.webhooks.__all__))
