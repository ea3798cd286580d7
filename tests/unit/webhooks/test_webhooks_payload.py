"""The payload is a public interface with an allow-list of fields: no PII, no token, no IP."""

from __future__ import annotations

import json

import pytest
from webhook_unit_helpers import make_event

from engine.webhooks import EVENT_TYPES, build_payload, encode_payload, event_type

DATA_KEYS = {
    "event_id", "clicked_at", "campaign", "recipient", "link", "variant", "route", "store", "store_source",
    "verdict", "reasons", "policy", "country", "region", "city", "device", "language", "answer", "status",
    "snapshot",
}


def test_payload_shape_and_values():
    ev = make_event(7, store="s-12", store_source="ip")
    doc = json.loads(encode_payload(build_payload(ev)))
    assert set(doc) == {"type", "timestamp", "data"}
    assert doc["type"] == "click.human"
    assert doc["timestamp"] == "2026-11-27T08:00:07.000Z"
    assert set(doc["data"]) == DATA_KEYS
    assert doc["data"]["event_id"] == ev.id
    assert doc["data"]["recipient"] == "r-000007"
    assert doc["data"]["store"] == "s-12"
    assert doc["data"]["reasons"] == ["ua-browser"]


def test_no_token_ip_headers_destination_or_user_agent():
    ev = make_event(3)
    body = encode_payload(build_payload(ev)).decode()
    for private in (ev.token, "203.0.113", ev.ua, "ref.example", "acme.example/p", ev.worker, "accept-language"):
        assert private not in body
    assert "user_agent" not in body


def test_user_agent_only_when_the_endpoint_asks():
    ev = make_event(3)
    doc = json.loads(encode_payload(build_payload(ev, include_user_agent=True)))
    assert doc["data"]["user_agent"] == ev.ua
    assert set(doc["data"]) == DATA_KEYS | {"user_agent"}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "click.human"),
        ({"verdict": "preview"}, "click.preview"),
        ({"verdict": "scanner"}, "click.scanner"),
        ({"verdict": "bot"}, "click.bot"),
        ({"verdict": "suspect"}, "click.suspect"),
        ({"verdict": "unjudged"}, "click.unjudged"),
        ({"kind": "orphan", "campaign": None, "recipient": None}, "click.orphan"),
    ],
    ids=["human", "preview", "scanner", "bot", "suspect", "unjudged", "orphan"],
)
def test_event_types(changes, expected):
    assert event_type(make_event(1, **changes)) == expected
    assert expected in EVENT_TYPES


def test_orphan_payload_never_carries_the_attempted_token():
    ev = make_event(1, kind="orphan", campaign=None, recipient=None, token="GUESSEDTOKEN", status=404,
                    answer="not-found")
    body = encode_payload(build_payload(ev)).decode()
    assert "GUESSEDTOKEN" not in body
    assert json.loads(body)["data"]["campaign"] is None
