"""Pure bot classification: request facts + policy -> verdict and reasons.

``compile_policy`` turns a snapshot's ``BotPolicy`` into a ``Classifier`` once
per snapshot load; ``Classifier.classify`` judges one request in a few
microseconds on a repeated user agent; ``rejudge_stream`` re-judges one
token's clicks with the whole stream in view. See docs/bots.md.
"""

from ._classify import ANSWERS, SIGNAL_KINDS, UA_CACHE_SIZE, Classifier, compile_policy
from ._defaults import default_policy, default_signals, policy_version
from ._facts import VERDICT_NAMES, RequestFacts, Verdict, facts_from_event
from ._lists import CURATED, LIST_NAMES, crawler_entries, crawler_package_version
from ._patterns import PolicyError
from ._stream import MOVABLE_VERDICTS, PHONE_DEVICES, StreamRules, rejudge_stream

__all__ = [
    "ANSWERS",
    "CURATED",
    "LIST_NAMES",
    "MOVABLE_VERDICTS",
    "PHONE_DEVICES",
    "SIGNAL_KINDS",
    "UA_CACHE_SIZE",
    "VERDICT_NAMES",
    "Classifier",
    "PolicyError",
    "RequestFacts",
    "StreamRules",
    "Verdict",
    "compile_policy",
    "crawler_entries",
    "crawler_package_version",
    "default_policy",
    "default_signals",
    "facts_from_event",
    "policy_version",
    "rejudge_stream",
]
