"""Compliance lints with the real link length."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.compiler._link_templates import TemplateProblem, compile_destination
from engine.compiler._lint import LintInput, is_pii_field, lint_campaign, phone_like
from engine.compiler._plan import CategoryRules, CompliancePolicy, QuietHours
from engine.diagnostics import SourceSpan

SPAN = SourceSpan("campaigns/c.yaml", 1, 1)
POLICY = CompliancePolicy(
    allowed_domains=("acme.example",),
    max_segments=1,
    opt_out=("Reply STOP to opt out",),
    quiet_hours=QuietHours(21 * 60, 8 * 60),
    categories={"political": CategoryRules(("@team",), ("Paid for by",), True)},
)


def run(
    message: str = "Acme: sale. {{ link }} Reply STOP to opt out.",
    destinations=("https://www.acme.example/x",),
    policy: CompliancePolicy = POLICY,
    **kw,
):
    inp = LintInput(
        campaign_id="c",
        message=message,
        message_span=SPAN,
        domains=kw.pop("domains", ["go.acme.example"]),
        domains_span=SPAN,
        token_length=8,
        brand="Acme",
        attributes=kw.pop("attributes", []),
        region="US",
        category=kw.pop("category", None),
        category_span=SPAN,
        timezone="America/New_York",
        send_at=kw.pop("send_at", None),
        send_at_span=SPAN,
        destinations=[(SPAN, compile_destination(d, {}, {})) for d in destinations],
    )
    return lint_campaign(inp, policy)


def codes(**kw) -> list[str]:
    return sorted(d.code for d in run(**kw)[1])


def test_clean_campaign_has_no_findings() -> None:
    message, found = run()
    assert found == []
    assert message is not None and message.segments == 1 and message.has_opt_out
    assert message.sample == "Acme: sale. https://go.acme.example/xxxxxxxx Reply STOP to opt out."


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"message": "Acme: sale. {{ link }}"}, ["E402"]),
        ({"message": "x" * 130 + " {{ link }} Reply STOP to opt out."}, ["E401"]),
        ({"message": "Acme’s sale. {{ link }} Reply STOP to opt out."}, ["E411"]),
        (
            {"message": "See bit.ly too: https://bit.ly/abc {{ link }} Reply STOP to opt out."},
            ["E403"],
        ),
        ({"destinations": ["http://www.acme.example/x"]}, ["E404"]),
        ({"destinations": ["https://evil.example/x"]}, ["E405"]),
        ({"destinations": ["https://tinyurl.com/x"]}, ["E403", "E405"]),
        ({"destinations": ["https://www.acme.example/call/+1-202-555-0143"]}, ["E407"]),
        ({"destinations": ["https://www.acme.example/d/2027-03-01"]}, []),
        ({"send_at": datetime.fromisoformat("2027-03-01T22:30:00-05:00")}, ["E408"]),
        ({"send_at": datetime.fromisoformat("2027-03-01T10:00:00-05:00")}, []),
        ({"category": "political"}, ["E409", "E412"]),
        (
            {
                "category": "political",
                "message": "Paid for by A. {{ link }} Reply STOP to opt out.",
                "destinations": ["https://www.acme.example/x?t={{ attr.tier }}"],
                "attributes": ["tier"],
            },
            ["E410", "E412"],
        ),
        ({"domains": ["bit.ly"]}, ["E403"]),
        ({"message": "Hi {{ attr.nope }} {{ link }} Reply STOP to opt out."}, ["E328"]),
    ],
    ids=[
        "missing opt-out",
        "over budget",
        "UCS-2 warning",
        "shortener in message",
        "http",
        "outside allowlist",
        "shortener destination",
        "phone literal in URL",
        "a date is not a phone",
        "send in quiet hours",
        "send outside quiet hours",
        "category phrase",
        "category forbids attributes",
        "shortener link domain",
        "undeclared message attribute",
    ],
)
def test_lints(kw: dict, expected: list[str]) -> None:
    assert codes(**kw) == expected


def test_over_budget_counts_the_real_link_and_names_the_culprit() -> None:
    # 70 UCS-2 units without the link; the real link pushes it to two parts.
    text = "’" + "a" * 30 + " {{ link }} Reply STOP to opt out."
    message, found = run(message=text)
    (d,) = [f for f in found if f.code == "E401"]
    assert "'’'" in (d.hint or "")
    assert message is not None and message.encoding == "UCS-2" and message.segments == 2


@pytest.mark.parametrize(
    "source",
    [
        "https://www.acme.example/x?p={{ phone }}",
        "https://www.acme.example/x?p={{ recipient.email }}",
        "https://www.acme.example/x?p={{ attr.first_name | upper }}",
        "https://www.acme.example/x?e={{ attr.email }}",
    ],
    ids=["bare phone", "recipient email", "filtered name", "PII attribute"],
)
def test_pii_in_a_destination_is_refused_before_anything_else(source: str) -> None:
    with pytest.raises(TemplateProblem) as info:
        compile_destination(source, {}, {})
    assert info.value.code == "E406"


def test_phone_errors_never_echo_the_number() -> None:
    _, found = run(destinations=["https://www.acme.example/call/+1-202-555-0143"])
    text = " ".join(f"{d.summary} {d.hint}" for d in found)
    assert "555" not in text and "0143" not in text


@pytest.mark.parametrize(
    ("name", "pii"),
    [
        ("phone", True),
        ("customer_email", True),
        ("first-name", True),
        ("msisdn", True),
        ("mobileNumber", True),
        ("tier", False),
        ("segment", False),
        ("store_id", False),
        ("region", False),
    ],
)
def test_pii_field_names(name: str, pii: bool) -> None:
    assert is_pii_field(name) is pii


def test_phone_like() -> None:
    assert phone_like("x/+44 7911 123456/y", "US") == ["+44 7911 123456"]
    assert phone_like("x/202-555-0143/y", "US") == ["202-555-0143"]
    assert phone_like("https://apps.apple.com/app/id0000000000", "US") == []
