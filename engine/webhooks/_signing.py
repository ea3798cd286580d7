"""Standard Webhooks 1.0 signing: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

Spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
(section "Signature scheme"). What is signed is ``<id>.<timestamp>.<body>``:

- ``v1``: HMAC-SHA256 with a symmetric secret written ``whsec_<base64>``;
- ``v1a``: Ed25519 with a private key written ``whsk_<base64>`` (the receiver
  holds the matching ``whpk_<base64>`` public key).

The environment variable named by an endpoint holds one or more secrets
separated by spaces; every one of them signs every message, so a receiver can
rotate keys without losing a delivery. Secrets never appear in a message of
ours: errors name the variable and the position of the bad value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HMAC_PREFIX = "whsec_"
ED25519_SECRET_PREFIX = "whsk_"
ED25519_PUBLIC_PREFIX = "whpk_"


class SecretError(ValueError):
    """A secret variable is missing or holds something that is not a secret."""


@dataclass(frozen=True)
class SigningKeys:
    """The keys that sign one endpoint's messages (all of them, in the order given)."""

    hmac_keys: tuple[bytes, ...] = ()
    ed25519_keys: tuple[Ed25519PrivateKey, ...] = ()

    @classmethod
    def from_env_value(cls, value: str | None, *, variable: str) -> SigningKeys:
        """Parse the content of the secret variable ``variable``.

        Raises
        ------
        SecretError
            Unset or empty, or a value that is neither ``whsec_`` nor ``whsk_``
            base64. The message never contains the value.
        """
        if value is None or not value.strip():
            raise SecretError(f"environment variable {variable} is not set (it must hold a whsec_... secret)")
        hmacs: list[bytes] = []
        edkeys: list[Ed25519PrivateKey] = []
        for n, item in enumerate(value.split(), start=1):
            if item.startswith(HMAC_PREFIX):
                raw = _b64(item[len(HMAC_PREFIX):])
                if raw is None or len(raw) < 16:
                    raise SecretError(f"{variable}: secret {n} is not base64 of at least 16 bytes after whsec_")
                hmacs.append(raw)
            elif item.startswith(ED25519_SECRET_PREFIX):
                raw = _b64(item[len(ED25519_SECRET_PREFIX):])
                # 32-byte seed, or libsodium's 64-byte seed||public key
                if raw is None or len(raw) not in (32, 64):
                    raise SecretError(f"{variable}: secret {n} is not base64 of a 32-byte Ed25519 seed after whsk_")
                edkeys.append(Ed25519PrivateKey.from_private_bytes(raw[:32]))
            else:
                raise SecretError(f"{variable}: secret {n} must start with whsec_ (HMAC) or whsk_ (Ed25519)")
        return cls(tuple(hmacs), tuple(edkeys))

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` header value: space-separated ``v1,`` and ``v1a,`` signatures."""
        to_sign = b"%s.%d.%s" % (msg_id.encode(), timestamp, body)
        parts = [
            "v1," + base64.b64encode(hmac.digest(k, to_sign, hashlib.sha256)).decode()
            for k in self.hmac_keys
        ]
        parts += ["v1a," + base64.b64encode(k.sign(to_sign)).decode() for k in self.ed25519_keys]
        return " ".join(parts)


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def public_key_of(secret: str) -> str:
    """The ``whpk_`` public key a receiver needs for a ``whsk_`` secret."""
    raw = _b64(secret.removeprefix(ED25519_SECRET_PREFIX))
    if not secret.startswith(ED25519_SECRET_PREFIX) or raw is None or len(raw) not in (32, 64):
        raise SecretError("not a whsk_ Ed25519 secret")
    pub = Ed25519PrivateKey.from_private_bytes(raw[:32]).public_key()
    return ED25519_PUBLIC_PREFIX + base64.b64encode(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def webhook_id(event_id: str, endpoint: str) -> str:
    """The idempotency key of one event for one endpoint: the same on every retry and replay."""
    return f"msg_{event_id}_{hashlib.sha256(endpoint.encode()).hexdigest()[:8]}"
