"""Webhook endpoint files (``kind: webhooks``). OWNED BY THE WEBHOOKS WORK (issue 7).

The interface the rest of ``spec`` relies on: ``WebhooksSpec`` and ``to_records``.

What an author writes (docs/webhooks.md)::

    kind: webhooks
    endpoints:
      - name: crm                                  # lower-case slug, unique
        url: https://hooks.acme.example/clicks     # https; http only to loopback with allow-private
        secret-env: SMSLINK_WEBHOOK_CRM_SECRET     # the *name* of the variable, never the secret
        events: [click.human]                      # default: human clicks only
        campaigns: [spring-sale]                   # default: every campaign
        include-user-agent: false
        allow-private: false                       # deliver to private/loopback addresses

The secret itself never enters git or the snapshot; a value that looks like a
secret (``whsec_...``) in ``secret-env`` is refused.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from engine.snapshot import Endpoint

from ._base import SpecModel
from ._fields import custom_error, did_you_mean

#: What an endpoint may subscribe to (kept equal to engine.webhooks.EVENT_TYPES by a test;
#: spec sits below webhooks in the layers, so the list cannot be imported from there).
EVENT_TYPES: tuple[str, ...] = (
    "click.bot",
    "click.human",
    "click.orphan",
    "click.preview",
    "click.scanner",
    "click.suspect",
    "click.unjudged",
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EndpointSpec(SpecModel):
    """One webhook endpoint."""

    name: str
    url: str
    secret_env: str
    events: list[str] = Field(default_factory=lambda: ["click.human"])
    campaigns: list[str] = Field(default_factory=list)
    include_user_agent: bool = False
    allow_private: bool = False

    @field_validator("name")
    @classmethod
    def _check_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise custom_error("E207", f'invalid value for name: "{v}" is not a lower-case slug',
                               "letters a-z, digits and dashes, e.g. crm or warehouse-eu",
                               "the name also names the dispatcher's state folder")
        return v

    @field_validator("secret_env")
    @classmethod
    def _check_secret_env(cls, v: str) -> str:
        if v.startswith(("whsec_", "whsk_", "whpk_")):
            # never echo the value: it may be a real secret pasted by mistake
            raise custom_error("E207", "secret-env holds a secret, not the name of an environment variable",
                               "an environment variable name such as SMSLINK_WEBHOOK_CRM_SECRET",
                               "remove the secret from git and rotate it: it is exposed")
        if not _ENV.match(v):
            raise custom_error("E207", "invalid value for secret-env: not an environment variable name",
                               "upper-case letters, digits and underscores, e.g. SMSLINK_WEBHOOK_CRM_SECRET")
        return v

    @field_validator("events")
    @classmethod
    def _check_events(cls, v: list[str]) -> list[str]:
        for e in v:
            if e not in EVENT_TYPES:
                raise custom_error("E206", f'unknown event "{e}" in events', f"one of {', '.join(EVENT_TYPES)}",
                                   did_you_mean(e, EVENT_TYPES))
        if not v:
            raise custom_error("E207", "events must name at least one event", "e.g. [click.human]")
        if len(set(v)) != len(v):
            raise custom_error("E207", "events lists an event twice", "each event at most once")
        return v

    @model_validator(mode="after")
    def _check_url(self) -> EndpointSpec:
        parts = urlsplit(self.url)
        expected = "an https:// URL (http:// only to a loopback address with allow-private: true)"
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise custom_error("E207", f"endpoint {self.name}: url is not an absolute https:// URL", expected)
        if parts.username or parts.password:
            raise custom_error("E207", f"endpoint {self.name}: url must not carry credentials", expected,
                               "drop user:password@; the signature authenticates the sender")
        if parts.scheme == "http" and not (self.allow_private and _is_loopback_host(parts.hostname)):
            raise custom_error("E207", f"endpoint {self.name}: url must use https", expected,
                               "plain http is for tests against a local receiver")
        return self


class WebhooksSpec(SpecModel):
    """A ``kind: webhooks`` file."""

    kind: Literal["webhooks"]
    endpoints: list[EndpointSpec]
    # names unique across files: checked by the compiler's link stage (E306) and by
    # `smslink dispatch --config`, where both lines can be shown

    def to_records(self, source: str) -> list[Endpoint]:
        """Compile into snapshot records."""
        return [
            Endpoint(
                name=e.name, url=e.url, secret_env=e.secret_env, events=list(e.events),
                campaigns=list(e.campaigns), include_user_agent=e.include_user_agent,
                allow_private=e.allow_private, source=source,
            )
            for e in self.endpoints
        ]
