"""Standard Webhooks signatures, checked against the official `standardwebhooks` package."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from webhook_unit_helpers import SECRET

from engine.webhooks import SecretError, SigningKeys, public_key_of, webhook_id

BODY = b'{"type":"click.human","timestamp":"2026-11-27T08:00:00.000Z","data":{}}'
OTHER = "whsec_" + base64.b64encode(b"another-secret-for-rotation-0001").decode()


@pytest.mark.parametrize("ts", [0, 1_795_766_400, 2_000_000_123], ids=["epoch", "2026", "2033"])
@pytest.mark.parametrize("msg_id", ["msg_1", "msg_01KB0000000000000000000042_9261ceef"], ids=["short", "ours"])
def test_v1_signature_equals_the_reference_implementation(ts, msg_id):
    ours = SigningKeys.from_env_value(SECRET, variable="S").sign(msg_id, ts, BODY)
    theirs = Webhook(SECRET).sign(msg_id, datetime.fromtimestamp(ts, UTC), BODY.decode())
    assert ours == theirs


def test_every_secret_signs_during_rotation_and_each_verifies():
    keys = SigningKeys.from_env_value(f"{SECRET} {OTHER}", variable="S")
    ts = int(datetime.now(UTC).timestamp())
    header = keys.sign("msg_1", ts, BODY)
    assert header.count("v1,") == 2
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(ts), "webhook-signature": header}
    for secret in (SECRET, OTHER):
        Webhook(secret).verify(BODY, headers)
    third = "whsec_" + base64.b64encode(b"a-third-secret-nobody-uses-00000").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(third).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY + b" ", headers)


def test_v1a_ed25519_verifies_with_the_public_key_and_v1_still_passes():
    seed = bytes(range(32))
    sk = "whsk_" + base64.b64encode(seed).decode()
    keys = SigningKeys.from_env_value(f"{SECRET} {sk}", variable="S")
    ts = int(datetime.now(UTC).timestamp())
    header = keys.sign("msg_9", ts, BODY)
    v1a = [p for p in header.split() if p.startswith("v1a,")]
    assert len(v1a) == 1
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_of(sk).removeprefix("whpk_")))
    pub.verify(base64.b64decode(v1a[0][4:]), b"msg_9.%d.%s" % (ts, BODY))
    # receivers that only know v1 ignore the v1a entry
    Webhook(SECRET).verify(BODY, {"webhook-id": "msg_9", "webhook-timestamp": str(ts), "webhook-signature": header})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "is not set"),
        ("   ", "is not set"),
        ("hunter2-plain-password", "must start with whsec_"),
        ("whsec_!!!notbase64!!!", "not base64"),
        ("whsec_c2hvcnQ=", "at least 16 bytes"),
        ("whsk_c2hvcnQ=", "32-byte Ed25519 seed"),
    ],
    ids=["unset", "blank", "no prefix", "not base64", "too short", "bad ed25519"],
)
def test_bad_secrets_are_named_never_echoed(value, message):
    with pytest.raises(SecretError) as err:
        SigningKeys.from_env_value(value, variable="SMSLINK_X_SECRET")
    assert message in str(err.value)
    assert "SMSLINK_X_SECRET" in str(err.value)
    if value and value.strip():
        assert value.split("_", 1)[-1] not in str(err.value)


def test_webhook_id_is_stable_per_event_and_endpoint():
    a = webhook_id("01KB0000000000000000000001", "crm")
    assert a == webhook_id("01KB0000000000000000000001", "crm")
    assert a != webhook_id("01KB0000000000000000000001", "warehouse")
    assert a != webhook_id("01KB0000000000000000000002", "crm")
    assert a.startswith("msg_01KB0000000000000000000001_")
