"""Webhook endpoint files (``kind: webhooks``). OWNED BY THE WEBHOOKS WORK (issue 7).

The interface the rest of ``spec`` relies on: ``WebhooksSpec`` and ``to_records``.
"""

from __future__ import annotations

from typing import Literal

from engine.snapshot import Endpoint

from ._base import SpecModel


class EndpointSpec(SpecModel):
    name: str
    url: str
    secret_env: str
    events: list[str] = ["click.human"]
    campaigns: list[str] = []
    include_user_agent: bool = False
    allow_private: bool = False


class WebhooksSpec(SpecModel):
    """A ``kind: webhooks`` file."""

    kind: Literal["webhooks"]
    endpoints: list[EndpointSpec]

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
