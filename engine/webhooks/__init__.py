"""Delivery of click events to configured endpoints: Standard Webhooks, durable cursors.

The click logs are the source of truth; the dispatcher tails them and keeps,
per endpoint, a cursor and a retry queue in one atomically written file
(docs/webhooks.md). Nothing here prints or exits: ``engine.cli._dispatch`` does.
"""

from ._dispatcher import (
    Attempt,
    Clock,
    DispatchOptions,
    EndpointMetrics,
    EndpointRunner,
    ReplayResult,
    Target,
    attempt_delivery,
    matches,
    render_metrics,
    replay_range,
    retry_dead_letters,
    run_dispatcher,
    summarize,
)
from ._guard import AddressRefused, check_addresses, refusal_reason, resolve_checked
from ._payload import (
    DEFAULT_EVENT_TYPES,
    EVENT_TYPES,
    ClickData,
    Payload,
    build_payload,
    encode_payload,
    event_type,
)
from ._schedule import DEFAULT_SCHEDULE, RetrySchedule, describe_delay, parse_retry_after
from ._sender import DeliveryError, HttpxSender, PoolSender, Response, Sender
from ._signing import SecretError, SigningKeys, public_key_of, webhook_id
from ._state import (
    DeadLetter,
    DisabledMark,
    EndpointState,
    RetryEntry,
    RunLock,
    StateDir,
    StateError,
    atomic_write,
)

__all__ = [
    "DEFAULT_EVENT_TYPES",
    "DEFAULT_SCHEDULE",
    "EVENT_TYPES",
    "AddressRefused",
    "Attempt",
    "ClickData",
    "Clock",
    "DeadLetter",
    "DeliveryError",
    "DisabledMark",
    "DispatchOptions",
    "EndpointMetrics",
    "EndpointRunner",
    "EndpointState",
    "HttpxSender",
    "Payload",
    "PoolSender",
    "ReplayResult",
    "Response",
    "RetryEntry",
    "RetrySchedule",
    "RunLock",
    "SecretError",
    "Sender",
    "SigningKeys",
    "StateDir",
    "StateError",
    "Target",
    "atomic_write",
    "attempt_delivery",
    "build_payload",
    "check_addresses",
    "describe_delay",
    "encode_payload",
    "event_type",
    "matches",
    "parse_retry_after",
    "public_key_of",
    "refusal_reason",
    "render_metrics",
    "replay_range",
    "resolve_checked",
    "retry_dead_letters",
    "run_dispatcher",
    "summarize",
    "webhook_id",
]
