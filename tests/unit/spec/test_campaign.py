"""Campaign and policy specs: validation errors located in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine.spec as spec_pkg
from engine.spec import CampaignSpec, ComplianceSpec, load_yaml, parse_spec

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = (ROOT / "campaigns" / "spring-sale.yaml").read_text()


def parse(text: str, model=CampaignSpec):
    return parse_spec(load_yaml("campaigns/c.yaml", text), model)


@pytest.mark.parametrize("name", ["spring-sale.yaml", "flu-shots.yaml"])
def test_example_campaigns_validate(name: str) -> None:
    spec, diags = parse((ROOT / "campaigns" / name).read_text())
    assert diags == [] and spec is not None


def test_example_compliance_policy_validates() -> None:
    spec, diags = parse((ROOT / "policies" / "compliance.yaml").read_text(), ComplianceSpec)
    assert diags == [] and spec is not None and spec.max_segments == 2


@pytest.mark.parametrize(
    ("old", "new", "code", "line", "hint"),
    [
        ("region: CA-QC", "regoin: CA-QC", "E204", 66, 'did you mean "region"?'),
        ("max-km: 40", "max-kms: 40", "E203", 44, 'did you mean "max-km"?'),
        ("max-km: 40", "max-km: far", "E205", 44, None),
        ("device: ios,", "device: ipad,", "E206", 70, None),
        (
            "timezone: America/New_York",
            "timezone: Europe/Pariss",
            "E214",
            13,
            'did you mean "Europe/Paris"?',
        ),
        ("retain: 90d", "retain: 3 months", "E213", 17, None),
        ("id: spring-sale", "id: Spring Sale", "E210", 3, 'try "spring-sale"'),
        (
            "domains: [go.acme.example]",
            "domains: [https://go.acme.example/]",
            "E211",
            10,
            "remove https:// and anything after the host",
        ),
        ('time: "18:00-23:00"', 'time: "18:00-25:00"', "E212", 70, None),
        ('time: "18:00-23:00"', 'time: "6pm-23:00"', "E212", 70, 'write "18:00"'),
        ("region: CA-QC", "region: Quebec", "E217", 66, None),
        ("  {{ link }} Reply", "  Reply", "E218", 27, None),
        ("order: [home, ip]", "order: [home, home]", "E215", 43, None),
        ("order: [home, ip]", "order: [home, shop]", "E206", 43, None),
        ("device: ios,", "device: [ios, ipad],", "E206", 70, None),
        ('time: "18:00-23:00"', "days: [monday, tue]", "E206", 70, 'did you mean "mon"?'),
        ("region: CA-QC", "country: de", "E217", 66, 'write "DE"'),
    ],
    ids=[
        "unknown condition",
        "unknown field",
        "wrong type",
        "bad enum",
        "bad zone",
        "bad duration",
        "bad id",
        "url as host",
        "bad time window",
        "12-hour clock",
        "bad region",
        "message without link",
        "order twice",
        "unknown order source",
        "bad item in a list",
        "bad day name",
        "lowercase country",
    ],
)
def test_errors_point_at_the_value(
    old: str, new: str, code: str, line: int, hint: str | None
) -> None:
    assert old in EXAMPLE
    spec, diags = parse(EXAMPLE.replace(old, new, 1))
    assert spec is None
    assert [d.code for d in diags] == [code], diags
    assert diags[0].span.line == line
    if hint is not None:
        assert diags[0].hint == hint


def test_missing_default_has_its_own_code() -> None:
    _spec, diags = parse(
        EXAMPLE.replace("default: https://www.acme.example/spring?hero={{ variant }}\n", "")
    )
    assert [d.code for d in diags] == ["E209"]


def test_missing_required_field_points_at_parent() -> None:
    _spec, diags = parse(EXAMPLE.replace("  name: spring ", "  nom: spring "))
    assert sorted(d.code for d in diags) == ["E202", "E203"]
    missing = next(d for d in diags if d.code == "E202")
    assert 'missing required field "name" in "audience"' in missing.summary
    assert missing.span.line == 19  # the `audience:` key


def test_union_errors_collapse_to_the_matching_branch() -> None:
    text = EXAMPLE.replace("      open: https", "      opn: https")
    _spec, diags = parse(text)
    assert sorted(d.code for d in diags) == ["E202", "E203"]
    assert not any(d.code == "E205" for d in diags)


def test_spec_is_frozen_and_kebab_case() -> None:
    spec, _ = parse(EXAMPLE)
    assert spec is not None and spec.schedule.send_at is not None
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError for frozen models
        spec.id = "other"  # type: ignore[misc]


def test_all_is_sorted_and_covers_public_names() -> None:
    assert spec_pkg.__all__ == sorted(
        spec_pkg.__all__, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    public = {
        n for n in vars(spec_pkg) if not n.startswith("_") and n[0].isupper() and n.endswith("Spec")
    }
    assert public <= set(spec_pkg.__all__)


def test_zones_come_from_tzdata_not_the_host() -> None:
    from engine.spec import known_zones

    zones = known_zones()
    assert "America/New_York" in zones and "Australia/Sydney" in zones
    assert "localtime" not in zones and len(zones) > 400
