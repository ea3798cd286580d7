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
            raise ValueError("must be a lower-case slug: letters, digits and dashes (it names a folder)")
        return v

    @field_validator("secret_env")
    @classmethod
    def _check_secret_env(cls, v: str) -> str:
        if v.startswith(("whsec_", "whsk_", "whpk_")):
            # never echo the value: it may be a real secret pasted by mistake
            raise ValueError("holds a secret, not the name of an environment variable; "
                             "remove the secret from git, rotate it, and write the variable's name")
        if not _ENV.match(v):
            raise ValueError("must be an environment variable name such as SMSLINK_WEBHOOK_CRM_SECRET "
                             "(upper-case letters, digits, underscores)")
        return v

    @field_validator("events")
    @classmethod
    def _check_events(cls, v: list[str]) -> list[str]:
        for e in v:
            if e not in EVENT_TYPES:
                raise ValueError(f"unknown event {e!r}; expected one of {', '.join(EVENT_TYPES)}")
        if not v:
            raise ValueError("must name at least one event")
        if len(set(v)) != len(v):
            raise ValueError("lists an event twice")
        return v

    @model_validator(mode="after")
    def _check_url(self) -> EndpointSpec:
        parts = urlsplit(self.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"endpoint {self.name}: url must be an absolute https:// URL")
        if parts.username or parts.password:
            raise ValueError(f"endpoint {self.name}: url must not carry credentials; "
                             "the signature authenticates the sender")
        if parts.scheme == "http" and not (self.allow_private and _is_loopback_host(parts.hostname)):
            raise ValueError(f"endpoint {self.name}: url must use https (plain http is allowed only to "
                             "a loopback address with allow-private: true, for tests)")
        return self


class WebhooksSpec(SpecModel):
    """A ``kind: webhooks`` file."""

    kind: Literal["webhooks"]
    endpoints: list[EndpointSpec]

    @field_validator("endpoints")
    @classmethod
    def _unique_names(cls, v: list[EndpointSpec]) -> list[EndpointSpec]:
        seen: set[str] = set()
        for e in v:
            if e.name in seen:
                raise ValueError(f"endpoint name {e.name!r} is used twice")
            seen.add(e.name)
        return v

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
