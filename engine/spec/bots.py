"""Bot policy files (``kind: bots`` in policies/): ordered signals, cheapest first.

What authors write; ``engine/bots`` interprets the compiled ``BotPolicy``
(docs/bots.md is the reference of the language). This module cannot import
``engine.bots`` (siblings never import each other), so the few names both
sides know (list names, signal kinds) are spelled here too and a test checks
that the two agree, as it checks that policies/bots.yaml compiles to exactly
``engine.bots.default_policy()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
from typing import Annotated, Any, Literal

import msgspec
from pydantic import AfterValidator, Field, model_validator

from engine.snapshot import BotPolicy, BotSignal

from ._base import SpecModel
from ._fields import Id, custom_error, did_you_mean

VerdictName = Literal["human", "preview", "scanner", "bot", "suspect"]
AnswerName = Literal["redirect", "preview-page", "prefetch"]
ListName = Literal[
    "crawlers", "headless-browsers", "http-libraries", "in-app-browsers", "link-scanners",
    "preview-fetchers", "uptime-monitors",
]
ShapeCheck = Literal["not-a-browser", "no-accept-language", "accept-not-html", "no-sec-fetch"]
Strength = Literal["strong", "weak"]

_REASON = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


def _check_pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise custom_error(
            "E240", f"invalid user-agent pattern: {exc}",
            "a Python regular expression, e.g. AcmeProbe/\\d+",
            "escape . ( ) [ ] + ? * with a backslash to match them literally",
        ) from None
    return value


def _check_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f'did you mean "{ipaddress.ip_network(value, strict=False)}"?'
        raise custom_error("E241", f'"{value}" is not a network block ({exc})',
                           "an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32", hint) from None


def _check_reason(value: str) -> str:
    if not _REASON.match(value):
        raise custom_error("E243", f'"{value}" is not a valid reason code',
                           "lowercase letters, digits and dashes, starting with a letter (at most 40)",
                           f'try "{re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")}"' if value else "")
    return value


Pattern = Annotated[str, AfterValidator(_check_pattern)]
Cidr = Annotated[str, AfterValidator(_check_cidr)]
Reason = Annotated[str, AfterValidator(_check_reason), Field(json_schema_extra={"pattern": _REASON.pattern})]


class PatternSpec(SpecModel):
    """A user-agent pattern added to a list."""

    name: str = Field("", description="Reported as the reason detail (`reason:name`); empty for none.")
    pattern: Pattern = Field(description="Python regular expression searched in the User-Agent.")


class _SignalSpec(SpecModel):
    reason: Reason = Field(description="Reason code written to the click log (unique in the policy).")
    verdict: VerdictName = Field(description="Verdict when this strong signal matches.")
    strength: Strength = Field(description="strong: decides alone; weak: adds `weight` toward `weak-threshold`.")
    weight: int = Field(1, ge=1, le=100, description="What a weak signal adds to the weak score.")
    answer: AnswerName | None = Field(None, description="Answer for clicks this signal judged, over the verdict's answer.")

    def _params(self) -> dict[str, Any]:
        return {}

    def to_signal(self) -> BotSignal:
        params = self._params()
        if self.strength == "weak":
            params["weight"] = self.weight
        if self.answer is not None:
            params["answer"] = self.answer
        kind = self.kind  # type: ignore[attr-defined]
        return BotSignal(kind=kind, verdict=self.verdict, reason=self.reason, strength=self.strength, params=params)


class MethodSignalSpec(_SignalSpec):
    """Requests whose method is not allowed (HEAD, OPTIONS, POST ...)."""

    kind: Literal["method"] = Field(description="Signal kind.")
    reason: Reason = "method"
    verdict: VerdictName = "bot"
    strength: Strength = "strong"
    allow: list[str] = Field(["GET"], min_length=1, description="Methods a tap uses.")

    def _params(self) -> dict[str, Any]:
        return {"allow": [m.upper() for m in self.allow]}


class PrefetchHeaderSignalSpec(_SignalSpec):
    """Speculative loads announced by a header (Sec-Purpose: prefetch, X-Purpose: preview ...)."""

    kind: Literal["prefetch-header"] = Field(description="Signal kind.")
    reason: Reason = "prefetch"
    verdict: VerdictName = "preview"
    strength: Strength = "strong"
    headers: dict[str, list[str]] = Field(description="Header name -> words that mark a prefetch (case-insensitive).")

    def _params(self) -> dict[str, Any]:
        return {"headers": {k.lower(): [t.lower() for t in v] for k, v in self.headers.items()}}


class MissingUserAgentSignalSpec(_SignalSpec):
    """No User-Agent at all (every browser sends one)."""

    kind: Literal["missing-user-agent"] = Field(description="Signal kind.")
    reason: Reason = "no-user-agent"
    verdict: VerdictName = "bot"
    strength: Strength = "strong"


class UserAgentSignalSpec(_SignalSpec):
    """A built-in user-agent list, with patterns added or removed."""

    kind: Literal["user-agent"] = Field(description="Signal kind.")
    strength: Strength = "strong"
    source_list: ListName = Field(alias="list", description="Built-in list (docs/bots.md lists every entry).")
    tags: list[str] = Field([], description="crawlers only: keep entries with one of these crawler-user-agents tags.")
    add: list[PatternSpec] = Field([], description="Patterns added to the list.")
    remove: list[str] = Field([], description="Entries removed: a curated entry's name, or a crawler pattern as written upstream.")
    unless: list[Pattern] = Field([], description="The list stays silent on an agent matching one of these (case-sensitive).")

    @model_validator(mode="after")
    def _crawlers_only(self) -> UserAgentSignalSpec:
        if self.source_list != "crawlers" and self.tags:
            raise custom_error("E242", f"`tags` only applies to the crawlers list, not {self.source_list}",
                               "tags on a `list: crawlers` signal", "remove `tags`")
        if self.source_list == "crawlers":
            known, tags = _crawler_patterns_and_tags()
            for tag in self.tags:
                if tag not in tags:
                    raise custom_error("E242", f'unknown crawler tag "{tag}"', f"one of {', '.join(sorted(tags))}",
                                       did_you_mean(tag, tags))
            for pattern in self.remove:
                if pattern not in known:
                    raise custom_error("E242", f'"{pattern}" is not a pattern of the crawler-user-agents list',
                                       "a pattern exactly as written in crawler-user-agents.json",
                                       did_you_mean(pattern, known))
        return self

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "list": self.source_list,
            "add": [{"name": a.name, "pattern": a.pattern} for a in self.add],
            "remove": list(self.remove),
        }
        if self.tags:
            params["tags"] = list(self.tags)
        if self.unless:
            params["unless"] = list(self.unless)
        return params


class HeaderShapeSignalSpec(_SignalSpec):
    """A browser claim without the headers that browser sends (weak: one point per failed check)."""

    kind: Literal["header-shape"] = Field(description="Signal kind.")
    reason: Reason = "header-shape"
    verdict: VerdictName = "suspect"
    strength: Strength = "weak"
    checks: list[ShapeCheck] = Field(
        ["not-a-browser", "no-accept-language", "accept-not-html", "no-sec-fetch"],
        description="Checks to run; each failed one adds `weight`.",
    )

    def _params(self) -> dict[str, Any]:
        return {"checks": list(self.checks)}


class RefererSignalSpec(_SignalSpec):
    """A Referer from a mail or link-protection gateway (suffix match on the host)."""

    kind: Literal["referer"] = Field(description="Signal kind.")
    reason: Reason = "gateway-referer"
    verdict: VerdictName = "suspect"
    strength: Strength = "weak"
    hosts: list[str] = Field(min_length=1, description="Gateway hosts; subdomains match too.")

    def _params(self) -> dict[str, Any]:
        return {"hosts": [h.lower() for h in self.hosts]}


class NetworkSignalSpec(_SignalSpec):
    """Datacenter and hosting networks: ASNs (when the worker has an ASN database) and CIDR blocks."""

    kind: Literal["network"] = Field(description="Signal kind.")
    reason: Reason = "datacenter"
    verdict: VerdictName = "suspect"
    strength: Strength = "weak"
    asns: list[Annotated[int, Field(ge=1, le=4294967295)]] = Field([], description="Autonomous system numbers.")
    cidrs: list[Cidr] = Field([], description="Network blocks, IPv4 or IPv6.")

    def _params(self) -> dict[str, Any]:
        return {"asns": list(self.asns), "cidrs": list(self.cidrs)}


class TimingSignalSpec(_SignalSpec):
    """A click sooner after the campaign's send time than a person reads a message."""

    kind: Literal["timing"] = Field(description="Signal kind.")
    reason: Reason = "fast-after-send"
    verdict: VerdictName = "suspect"
    strength: Strength = "weak"
    below_seconds: float = Field(15.0, gt=0, le=86400, description="Seconds since the send below which the signal fires.")

    def _params(self) -> dict[str, Any]:
        return {"below-seconds": float(self.below_seconds)}


SignalSpec = Annotated[
    MethodSignalSpec | PrefetchHeaderSignalSpec | MissingUserAgentSignalSpec | UserAgentSignalSpec
    | HeaderShapeSignalSpec | RefererSignalSpec | NetworkSignalSpec | TimingSignalSpec,
    Field(discriminator="kind"),
]

#: Signal kinds, as ``engine.bots.SIGNAL_KINDS`` (a test checks they agree).
SIGNAL_KINDS: tuple[str, ...] = (
    "method", "prefetch-header", "missing-user-agent", "user-agent", "header-shape", "referer", "network", "timing",
)


class AnswersSpec(SpecModel):
    """What each verdict is answered with. Scanners and bots get the redirect a person gets: no cloaking."""

    human: AnswerName = Field("redirect", description="Answer to people.")
    preview: AnswerName = Field("preview-page", description="Answer to link-preview fetchers (Open Graph page that links on).")
    scanner: AnswerName = Field("redirect", description="Answer to link scanners.")
    bot: AnswerName = Field("redirect", description="Answer to other automation.")
    suspect: AnswerName = Field("redirect", description="Answer to clicks whose weak signals reached the threshold.")


class BotPolicySpec(SpecModel):
    """A ``kind: bots`` file."""

    kind: Literal["bots"] = Field(description="File kind.")
    id: Id = Field("default", description="Policy id; campaigns name it in `bots:`.")
    description: str = Field("", description="What this policy is for (shown in reviews).")
    weak_threshold: int = Field(2, ge=1, le=100, description="Weak score at which a click gets `weak-verdict`.")
    weak_verdict: VerdictName = Field("suspect", description="Verdict of a click whose weak signals reach the threshold.")
    answers: AnswersSpec = Field(default_factory=lambda: AnswersSpec.model_validate({}), description="Answer per verdict.")
    signals: list[SignalSpec] = Field(
        [], description="Ordered signals, cheapest first; empty: the engine's built-in default list."
    )

    @model_validator(mode="after")
    def _unique_reasons(self) -> BotPolicySpec:
        seen: set[str] = set()
        for s in self.signals:
            if s.reason in seen:
                raise custom_error("E243", f'reason code "{s.reason}" is used by two signals',
                                   "a distinct reason per signal", "rename one of them")
            seen.add(s.reason)
        return self

    def to_record(self, source: str) -> BotPolicy:
        """Compile into the snapshot record.

        Parameters
        ----------
        source:
            Repository path of the file, kept for reviews and errors.

        Returns
        -------
        BotPolicy
            ``version`` is a content hash over id, signals, threshold, weak
            verdict and answers (not ``source``), computed like
            ``engine.bots.policy_version``.
        """
        signals = [s.to_signal() for s in self.signals]
        answers = self.answers.model_dump(mode="json")
        body = msgspec.json.encode(
            [self.id, signals, self.weak_threshold, self.weak_verdict, answers], order="sorted"
        )
        return BotPolicy(
            id=self.id,
            version=hashlib.sha256(body).hexdigest()[:12],
            signals=signals,
            weak_threshold=self.weak_threshold,
            weak_verdict=self.weak_verdict,
            answers=answers,
            source=source,
        )


_CRAWLERS: tuple[frozenset[str], frozenset[str]] | None = None


def _crawler_patterns_and_tags() -> tuple[frozenset[str], frozenset[str]]:
    global _CRAWLERS
    if _CRAWLERS is None:
        import crawleruseragents

        data = crawleruseragents.CRAWLER_USER_AGENTS_DATA
        _CRAWLERS = (
            frozenset(d["pattern"] for d in data),
            frozenset(t for d in data for t in d.get("tags", ())),
        )
    return _CRAWLERS
