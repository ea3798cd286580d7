"""Stage 3b: compliance lints, with the real link length.

Errors stop the compile; warnings and notes are kept in ``Campaign.findings``
for ``inspect`` and the review. Codes E4xx (docs/errors.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2
import phonenumbers
from jinja2.sandbox import SandboxedEnvironment

from engine.diagnostics import Diagnostic, SourceSpan
from engine.snapshot import Message

from ._link_templates import Destination
from ._pii import is_pii_field
from ._plan import CompliancePolicy
from .sms import GSM7_PART, GSM7_SINGLE, UCS2_PART, UCS2_SINGLE, measure, non_gsm7_chars

#: Public URL shorteners carriers filter (CTIA and carrier guidance discourage
#: shared shorteners); always banned, the compliance policy may add more.
BUILTIN_SHORTENERS = (
    "bit.ly",
    "bitly.com",
    "buff.ly",
    "cutt.ly",
    "goo.gl",
    "is.gd",
    "ow.ly",
    "rb.gy",
    "rebrand.ly",
    "shorturl.at",
    "t.co",
    "t.ly",
    "tiny.cc",
    "tinyurl.com",
    "tr.im",
    "v.gd",
    "s.id",
    "shorte.st",
)

_PHONE_CANDIDATE = re.compile(r"(?<![\w%])\+?\d(?:[\s().-]?\d){6,14}(?!\w)")
_URL = re.compile(r"https?://([a-z0-9.-]+)", re.IGNORECASE)

_message_env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


def phone_like(text: str, region: str) -> list[str]:
    """Substrings of ``text`` that parse as a valid phone number (in ``region`` or international)."""
    found = []
    for m in _PHONE_CANDIDATE.finditer(text):
        try:
            number = phonenumbers.parse(m.group(0), region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            found.append(m.group(0))
    return found


def domain_matches(host: str, domains: Iterable[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one."""
    return any(host == d or host.endswith("." + d) for d in domains)


@dataclass
class LintInput:
    """What the linker hands to the lints for one campaign."""

    campaign_id: str
    message: str
    message_span: SourceSpan
    domains: list[str]
    domains_span: SourceSpan
    token_length: int
    brand: str
    attributes: list[str]
    region: str
    category: str | None
    category_span: SourceSpan | None
    timezone: str
    send_at: datetime | None
    send_at_span: SourceSpan | None
    destinations: list[tuple[SourceSpan, Destination]] = field(default_factory=list)
    utm: list[tuple[SourceSpan, str, str]] = field(default_factory=list)  # span, key, literal text
    preview_image: tuple[SourceSpan, str] | None = None
    name: str = ""  # the campaign's name (``{{ name }}`` in the message)


def sample_link(domains: list[str], token_length: int) -> str:
    """A link as long as the real ones: ``https://<domains[0]>/<token_length chars>``."""
    return f"https://{domains[0]}/" + "x" * token_length


def render_sample(
    template: str,
    link: str,
    brand: str,
    attributes: list[str],
    *,
    name: str = "",
    campaign_id: str = "",
) -> str:
    """The message with a real-length link and each attribute shown as its name.

    Context (the same names the build renders per recipient, engine/compiler/_render.py):
    ``link``, ``brand``, ``name`` and ``id`` (the campaign's), ``attr.<name>``
    for each declared attribute.
    """
    return _message_env.from_string(template).render(
        link=link, brand=brand, name=name, id=campaign_id, attr={a: a for a in attributes}
    )


def lint_campaign(
    inp: LintInput, policy: CompliancePolicy
) -> tuple[Message | None, list[Diagnostic]]:
    """Run every lint on one campaign.

    Returns
    -------
    (message, diagnostics)
        ``message`` is None when the message template cannot render (reported).
    """
    out: list[Diagnostic] = []
    banned = tuple(sorted(set(BUILTIN_SHORTENERS) | set(policy.banned_domains)))
    message = _lint_message(inp, policy, banned, out)
    for span, dest in inp.destinations:
        _lint_destination(
            span, dest.scheme, dest.host, dest.text, dest.slots, inp, policy, banned, out
        )
    if inp.preview_image is not None:
        span, url = inp.preview_image
        m = re.match(r"^([a-z]+)://([^/?#]+)", url)
        if m:
            _lint_destination(
                span,
                m.group(1),
                m.group(2).lower(),
                url,
                (),
                inp,
                policy,
                banned,
                out,
                what="preview image",
            )
    for span, key, text in inp.utm:
        if is_pii_field(key):
            out.append(
                Diagnostic(
                    "E406",
                    "error",
                    f'UTM parameter "{key}" is named like personal data',
                    span,
                    hint="UTM values end up in analytics tools; never put personal data there",
                )
            )
        for slot in re.findall(r"\{(attr\.[^{}]+)\}", text):
            if is_pii_field(slot[5:]):
                out.append(
                    Diagnostic(
                        "E406",
                        "error",
                        f'UTM parameter "{key}" uses personal data field "{slot}"',
                        span,
                        hint="UTM values end up in analytics tools; never put personal data there",
                    )
                )
        for number in phone_like(text, inp.region):
            out.append(_phone_literal(span, number))
    for d in inp.domains:
        if domain_matches(d, banned):
            out.append(
                Diagnostic(
                    "E403",
                    "error",
                    f'link domain "{d}" is a public shortener',
                    inp.domains_span,
                    hint="carriers filter shared shorteners; use your own branded domain",
                )
            )
    _lint_quiet_hours(inp, policy, out)
    _lint_category(inp, policy, message, out)
    return message, out


def _lint_message(
    inp: LintInput, policy: CompliancePolicy, banned: tuple[str, ...], out: list[Diagnostic]
) -> Message | None:
    link = sample_link(inp.domains, inp.token_length)
    try:
        sample = render_sample(
            inp.message, link, inp.brand, inp.attributes, name=inp.name, campaign_id=inp.campaign_id
        )
    except jinja2.TemplateSyntaxError as exc:
        out.append(
            Diagnostic("E328", "error", f"message template error: {exc.message}", inp.message_span)
        )
        return None
    except jinja2.UndefinedError as exc:
        out.append(
            Diagnostic(
                "E328",
                "error",
                f"message template error: {exc.message}",
                inp.message_span,
                expected="{{ link }}, {{ brand }}, {{ name }}, {{ id }}, {{ attr.<declared attribute> }}",
            )
        )
        return None
    except jinja2.TemplateError as exc:
        out.append(Diagnostic("E328", "error", f"message template error: {exc}", inp.message_span))
        return None
    m = measure(sample)
    lowered = sample.lower()
    if policy.opt_out:
        has_opt_out = any(p.lower() in lowered for p in policy.opt_out)
        if not has_opt_out:
            out.append(
                Diagnostic(
                    "E402",
                    "error",
                    "the message has no opt-out wording",
                    inp.message_span,
                    expected="one of: " + "; ".join(f'"{p}"' for p in policy.opt_out),
                    hint=f'add "{policy.opt_out[0]}" at the end',
                )
            )
    else:
        has_opt_out = bool(re.search(r"\bstop\b", lowered))
    if m.segments > policy.max_segments:
        culprits = non_gsm7_chars(sample)
        single, part = (
            (GSM7_SINGLE, GSM7_PART) if m.encoding == "GSM-7" else (UCS2_SINGLE, UCS2_PART)
        )
        budget = single if policy.max_segments == 1 else part * policy.max_segments
        hint = f"shorten it by at least {m.units - budget} {'characters' if m.encoding == 'GSM-7' else 'units'}"
        if culprits:
            hint = (
                f"{', '.join(repr(c) for c in culprits)} switched it to UCS-2 (70 characters per part); "
                "replace them with plain characters, or " + hint
            )
        out.append(
            Diagnostic(
                "E401",
                "error",
                f"the message takes {m.segments} SMS segments, over the budget of {policy.max_segments}",
                inp.message_span,
                expected=f"at most {policy.max_segments} segment{'s' * (policy.max_segments != 1)} ({m.units} {m.encoding} units with a {len(link)}-character link)",
                hint=hint,
            )
        )
    elif m.encoding == "UCS-2":
        culprits = non_gsm7_chars(sample)
        out.append(
            Diagnostic(
                "E411",
                "warning",
                f"the message is sent as UCS-2 because of {', '.join(repr(c) for c in culprits)}",
                inp.message_span,
                hint="plain quotes and no emoji keep 160 characters per part",
            )
        )
    for host in _URL.findall(sample):
        host = host.lower()
        if host not in inp.domains and domain_matches(host, banned):
            out.append(
                Diagnostic(
                    "E403",
                    "error",
                    f'the message links to public shortener "{host}"',
                    inp.message_span,
                    hint="carriers filter shared shorteners; use the campaign's link",
                )
            )
    return Message(
        template=inp.message,
        sample=sample,
        encoding=m.encoding,
        segments=m.segments,
        link_length=len(link),
        has_opt_out=has_opt_out,
    )


def _lint_destination(
    span: SourceSpan,
    scheme: str,
    host: str,
    text: str,
    slots: Iterable[str],
    inp: LintInput,
    policy: CompliancePolicy,
    banned: tuple[str, ...],
    out: list[Diagnostic],
    what: str = "destination",
) -> None:
    if domain_matches(host, banned):
        out.append(
            Diagnostic(
                "E403",
                "error",
                f'{what} uses public shortener "{host}"',
                span,
                hint="link to the real page; carriers filter shared shorteners",
            )
        )
    if scheme != "https" and policy.https_only:
        out.append(
            Diagnostic(
                "E404",
                "error",
                f"{what} is not https",
                span,
                expected="https://...",
                hint="recipients' taps must not travel in clear text",
            )
        )
    if policy.allowed_domains and not domain_matches(host, policy.allowed_domains):
        out.append(
            Diagnostic(
                "E405",
                "error",
                f'{what} domain "{host}" is not in the allowed domains',
                span,
                expected=f"one of {', '.join(policy.allowed_domains)} (or a subdomain)",
                hint=f"ask compliance to add {host} to allowed-domains in {policy.source or 'the compliance policy'}",
            )
        )
    from_utm = {slot for _, _, t in inp.utm for slot in re.findall(r"\{(attr\.[^{}]+)\}", t)}
    for slot in slots:
        if (
            slot.startswith("attr.") and is_pii_field(slot[5:]) and slot not in from_utm
        ):  # reported at the UTM
            out.append(
                Diagnostic(
                    "E406",
                    "error",
                    f'{what} uses personal data field "{slot}"',
                    span,
                    hint="no phone number, email or name may appear in a URL; use an opaque segment",
                )
            )
    for number in phone_like(text, inp.region):
        out.append(_phone_literal(span, number))


def _phone_literal(span: SourceSpan, number: str) -> Diagnostic:
    # Never echo the number itself: it may be a real recipient's.
    return Diagnostic(
        "E407",
        "error",
        f"a phone-number-like value ({len(re.sub(r'[^0-9]', '', number))} digits) is written in a URL",
        span,
        hint="never put a phone number in a link; recipients are known by their token",
    )


def _lint_quiet_hours(inp: LintInput, policy: CompliancePolicy, out: list[Diagnostic]) -> None:
    quiet = policy.quiet_hours
    if quiet is None or inp.send_at is None:
        return
    when = inp.send_at if inp.send_at.tzinfo else inp.send_at.replace(tzinfo=ZoneInfo(inp.timezone))
    local = when.astimezone(ZoneInfo(inp.timezone))
    minute = local.hour * 60 + local.minute
    inside = (
        quiet.start <= minute < quiet.end
        if quiet.start < quiet.end
        else (minute >= quiet.start or minute < quiet.end)
    )
    if inside:
        out.append(
            Diagnostic(
                "E408",
                "error",
                f"send-at {local:%H:%M} ({inp.timezone}) falls in the quiet hours",
                inp.send_at_span,
                expected=f"outside {quiet.start // 60:02d}:{quiet.start % 60:02d}-{quiet.end // 60:02d}:{quiet.end % 60:02d} in the campaign's zone",
            )
        )


def _lint_category(
    inp: LintInput, policy: CompliancePolicy, message: Message | None, out: list[Diagnostic]
) -> None:
    if inp.category is None or inp.category not in policy.categories:
        return
    rules = policy.categories[inp.category]
    span = inp.category_span or inp.message_span
    if message is not None:
        for phrase in rules.require_phrases:
            if phrase.lower() not in message.sample.lower():
                out.append(
                    Diagnostic(
                        "E409",
                        "error",
                        f'a {inp.category} message must contain "{phrase}"',
                        inp.message_span,
                        hint=f"add the wording required for {inp.category} campaigns",
                    )
                )
    if rules.forbid_attributes:
        for dspan, dest in inp.destinations:
            for slot in dest.slots:
                if slot.startswith("attr."):
                    out.append(
                        Diagnostic(
                            "E410",
                            "error",
                            f'{inp.category} campaigns may not put recipient attributes in URLs ("{slot}")',
                            dspan,
                            hint="remove the attribute from the destination",
                        )
                    )
    if rules.required_reviewers:
        out.append(
            Diagnostic(
                "E412",
                "info",
                f"{inp.category} campaigns need approval from {', '.join(rules.required_reviewers)}",
                span,
            )
        )
