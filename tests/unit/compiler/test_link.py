"""The link stage: specs -> Plan of snapshot records, and cross-file checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.compiler._link import _covers, link_config, load_plan
from engine.compiler._link_stores import parse_hours
from engine.compiler._link_templates import TemplateProblem, compile_destination, parse_parts
from engine.diagnostics import DiagnosticsError
from engine.snapshot import Attr, Country, Device, HasStore, Language, LocalTime, Template

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for folder in ("campaigns", "policies", "stores"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def error_codes(root: Path) -> list[str]:
    return [d.code for d in link_config(root).errors]


def test_example_repository_links(repo: Path) -> None:
    plan = load_plan(repo, config_commit="abc123")
    assert plan.config_commit == "abc123"
    by_id = {c.record.id: c for c in plan.campaigns}
    assert sorted(by_id) == ["flu-shots", "spring-sale"]
    spring = by_id["spring-sale"].record
    assert [r.id for r in spring.routes] == [
        "vip-early-access",
        "store-page",
        "quebec-french",
        "ios-app",
    ]
    assert spring.routes[0].when == [Attr(name="tier", values=["gold", "platinum"])]
    store_rule = spring.routes[1]
    assert store_rule.when == [HasStore()]
    assert store_rule.to.slots == ["store.slug", "variant"]
    assert store_rule.closed is not None and store_rule.closed.slots == ["store.id"]
    assert spring.routes[3].when == [Device(values=["ios"]), LocalTime(start=18 * 60, end=23 * 60)]
    # UTM merged into the query of every destination
    assert spring.default.literals[-1].endswith(
        "&utm_source=sms&utm_medium=text&utm_campaign=spring-sale-2027"
    )
    assert spring.starts_at == 1793628000  # 2026-11-02T09:00:00-05:00
    assert spring.retain_until == spring.ends_at + 90 * 86400
    assert (
        spring.stores is not None
        and spring.stores.storeset == "acme-stores"
        and spring.stores.max_km == 40
    )
    assert [v.name for v in spring.variants] == ["hero-tents", "hero-family", "holdout"]
    assert spring.experiment == "spring-hero-2027"
    assert spring.attr_names == ["tier"] and by_id["spring-sale"].audience.attributes == ("tier",)
    assert by_id["spring-sale"].audience.home_store_column == "store_id"
    assert (
        spring.message is not None
        and spring.message.encoding == "GSM-7"
        and spring.message.has_opt_out
    )
    assert spring.message.link_length == len("https://go.acme.example/") + 8
    assert spring.campaign_token == "" and spring.recipients == 0 and spring.zones == []
    (storeset,) = plan.storesets
    assert len(storeset.stores) == 20 and storeset.index.cells
    assert [p.id for p in plan.policies] == ["default"]
    assert (
        plan.compliance.max_segments == 2 and plan.compliance.source == "policies/compliance.yaml"
    )
    flu = by_id["flu-shots"].record
    assert [f.code for f in flu.findings] == ["E412"]  # required reviewers, as a note


def test_load_plan_raises_with_every_error(repo: Path) -> None:
    edit(repo / "campaigns" / "spring-sale.yaml", "bots: default", "bots: strict")
    edit(repo / "campaigns" / "flu-shots.yaml", "webhooks: [crm]", "webhooks: [crn]")
    with pytest.raises(DiagnosticsError) as info:
        load_plan(repo)
    assert sorted(d.code for d in info.value.errors) == ["E302", "E303"]
    crn = next(d for d in info.value.errors if d.code == "E303")
    assert crn.hint == 'did you mean "crm"?'


@pytest.mark.parametrize(
    ("file", "old", "new", "codes"),
    [
        ("spring-sale.yaml", "home-store: store_id ", "", ["E313"]),
        ("spring-sale.yaml", "list: stores/acme-stores.csv", "list: stores/nope.csv", ["E307"]),
        ("spring-sale.yaml", "{{ store.slug }}", "{{ store.sluggish }}", ["E315"]),
        ("spring-sale.yaml", "tier: [gold, platinum]", "tiers: [gold, platinum]", ["E316"]),
        (
            "spring-sale.yaml",
            "ends: 2027-05-31T23:59:00-04:00",
            "ends: 2026-10-01T00:00:00-04:00",
            ["E322", "E322"],
        ),
        ("spring-sale.yaml", "id: ios-app", "id: quebec-french", ["E318"]),
        ("spring-sale.yaml", "name: hero-family", "name: hero-tents", ["E321"]),
        (
            "spring-sale.yaml",
            "vip/spring?hero={{ variant }}",
            "vip/spring?hero={{ variant | upper }}",
            ["E325"],
        ),
        (
            "spring-sale.yaml",
            "to: https://apps.apple.com/app/id0000000000",
            'to: "{{ store.url }}"',
            ["E326"],
        ),
        (
            "spring-sale.yaml",
            "to: https://apps.apple.com/app/id0000000000",
            "to: https://apps.apple.com/{% if x %}a{% endif %}",
            ["E325"],
        ),
        (
            "spring-sale.yaml",
            "to: https://apps.apple.com/app/id0000000000",
            "to: https://apps.apple.com/{{ nope }}",
            ["E324"],
        ),
        ("flu-shots.yaml", "when: { device: android }", "when: { variant: a }", ["E319"]),
        (
            "spring-sale.yaml",
            'when: { device: ios, time: "18:00-23:00" }',
            "when: { variant: hero-tent }",
            ["E320"],
        ),
        ("flu-shots.yaml", "attributes", "attributes", []),
    ],
    ids=[
        "home without column",
        "missing store list",
        "unknown store field",
        "undeclared attribute",
        "schedule order",
        "duplicate rule id",
        "duplicate arm",
        "filter in template",
        "host from a slot",
        "jinja block",
        "unknown name",
        "variant without variants",
        "unknown variant",
        "unchanged",
    ],
)
def test_link_errors(repo: Path, file: str, old: str, new: str, codes: list[str]) -> None:
    if old != new:
        edit(repo / "campaigns" / file, old, new)
    assert sorted(error_codes(repo)) == sorted(codes)


def test_duplicate_campaign_id_across_files(repo: Path) -> None:
    shutil.copy(repo / "campaigns" / "flu-shots.yaml", repo / "campaigns" / "flu-shots-copy.yaml")
    errors = link_config(repo).errors
    assert [d.code for d in errors] == ["E301"]
    assert errors[0].related and errors[0].related[0].path != errors[0].span.path


def test_second_compliance_policy_is_an_error(repo: Path) -> None:
    shutil.copy(repo / "policies" / "compliance.yaml", repo / "policies" / "compliance-2.yaml")
    assert error_codes(repo) == ["E304"]


def test_policy_kind_is_required_and_checked(repo: Path) -> None:
    (repo / "policies" / "extra.yaml").write_text("id: x\n")
    (repo / "policies" / "other.yaml").write_text("kind: bot\nid: x\n")
    result = link_config(repo)
    assert sorted(d.code for d in result.errors) == ["E219", "E220"]
    assert next(d for d in result.errors if d.code == "E220").hint == 'did you mean "bots"?'


def test_not_a_repository(tmp_path: Path) -> None:
    assert error_codes(tmp_path) == ["E109"]


@pytest.mark.parametrize(
    ("earlier", "later", "covered"),
    [
        ([Device(values=["ios"])], [Device(values=["ios"]), Language(values=["fr"])], True),
        ([Device(values=["ios", "android"])], [Device(values=["ios"])], True),
        ([Device(values=["ios"])], [Device(values=["ios", "android"])], False),
        ([], [Country(values=["DE"])], True),
        ([Country(values=["DE"], max_accuracy_km=50)], [Country(values=["DE"])], False),
        (
            [Attr(name="tier", values=["gold", "silver"])],
            [Attr(name="tier", values=["gold"])],
            True,
        ),
        (
            [Attr(name="tier", values=["gold"], negate=True)],
            [Attr(name="tier", values=["gold", "silver"], negate=True)],
            True,
        ),
        (
            [LocalTime(start=0, end=600)],
            [LocalTime(start=0, end=600), Device(values=["ios"])],
            True,
        ),
        ([LocalTime(start=0, end=600)], [LocalTime(start=0, end=300)], False),
    ],
    ids=[
        "fewer conditions",
        "wider value list",
        "narrower value list",
        "empty when",
        "accuracy differs",
        "attr subset",
        "negated attr superset",
        "equal window",
        "different window is not compared",
    ],
)
def test_shadowing(earlier, later, covered: bool) -> None:
    assert _covers(earlier, later) is covered


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "mon-fri 09:00-21:00; sat 10:00-20:00; sun closed",
            [[(540, 1260)]] * 5 + [[(600, 1200)], []],
        ),
        ("fri 18:00-02:00", [[], [], [], [], [(1080, 1560)], [], []]),
        (
            "mon,wed 08:00-12:00, 13:00-17:00",
            [[(480, 720), (780, 1020)], [], [(480, 720), (780, 1020)], [], [], [], []],
        ),
        ("sat-sun 00:00-24:00", [[], [], [], [], [], [(0, 1440)], [(0, 1440)]]),
    ],
    ids=["weekdays and weekend", "past midnight", "two ranges on listed days", "all day"],
)
def test_parse_hours(text: str, expected) -> None:
    assert parse_hours(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "mon-fri 9-5",
        "funday 09:00-10:00",
        "mon 10:00-10:00",
        "mon closed; mon 09:00-10:00",
        "fri-mon 09:00-10:00",
        "mon",
    ],
)
def test_parse_hours_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hours(text)


@pytest.mark.parametrize(
    ("source", "literals", "slots"),
    [
        ("https://a.example/x", ["https://a.example/x?utm_source=sms"], []),
        ("https://a.example", ["https://a.example/?utm_source=sms"], []),
        (
            "https://a.example/x?utm_source=mine#top",
            ["https://a.example/x?utm_source=mine#top"],
            [],
        ),
        ("https://a.example/x?a=1#top", ["https://a.example/x?a=1&utm_source=sms#top"], []),
        (
            "https://a.example/s/{{ store.slug }}?v={{ variant }}",
            ["https://a.example/s/", "?v=", "&utm_source=sms"],
            ["store.slug", "variant"],
        ),
        (
            "https://a.example/{{ campaign.id }}/{{ route }}",
            ["https://a.example/c%2Fd/", "?utm_source=sms"],
            ["route"],
        ),
    ],
    ids=[
        "utm appended",
        "bare host gets a slash",
        "url's own parameter wins",
        "before the fragment",
        "slots",
        "compile-time field quoted",
    ],
)
def test_compile_destination(source: str, literals: list[str], slots: list[str]) -> None:
    ctx = {"campaign": {"id": "c/d"}}
    dest = compile_destination(source, {"utm_source": parse_parts("sms", ctx)}, ctx)
    assert dest.template == Template(literals=literals, slots=slots)


def test_compile_destination_reports_template_line() -> None:
    with pytest.raises(TemplateProblem) as info:
        compile_destination("https://a.example/{{ store.slug ", {}, {})
    assert info.value.code == "E323"


def test_catch_all_rule_warns_that_default_is_unused(repo: Path) -> None:
    edit(repo / "campaigns" / "flu-shots.yaml", "when: { device: android }", "when: {}")
    result = link_config(repo)
    assert result.plan is not None
    warnings = [d for d in result.diagnostics if d.severity == "warning"]
    assert [d.code for d in warnings] == ["E330"]
    flu = next(c for c in result.plan.campaigns if c.record.id == "flu-shots")
    assert "E330" in [f.code for f in flu.record.findings]


@pytest.mark.parametrize(
    ("csv_text", "code", "line"),
    [
        ("id,name,latitude,lon,timezone\nnyc,A,40.7,-74.0,America/New_York\n", "E308", 1),
        ("id,name,lat,lon,timezone\nnyc,A,40.7,-74.0,America/New_York,extra\n", "E308", 2),
        (
            "id,name,lat,lon,timezone\nnyc,A,40.7,-74.0,America/New_York\nnyc,B,41.7,-74.0,America/New_York\n",
            "E312",
            3,
        ),
        ("id,name,lat,lon,timezone\n,A,40.7,-74.0,America/New_York\n", "E309", 2),
        ("id,name,lat,lon,timezone\nnyc,A,40.7,-274.0,America/New_York\n", "E309", 2),
        ("id,name,lat,lon,timezone\n", "E308", 1),
    ],
    ids=[
        "missing column",
        "extra cell",
        "duplicate id",
        "empty id",
        "longitude out of range",
        "no stores",
    ],
)
def test_store_list_errors(repo: Path, csv_text: str, code: str, line: int) -> None:
    (repo / "stores" / "acme-stores.csv").write_text(csv_text)
    errors = link_config(repo).errors
    assert [(d.code, d.span.path, d.span.line) for d in errors] == [
        (code, "stores/acme-stores.csv", line)
    ]


def test_yaml_store_list(repo: Path) -> None:
    (repo / "stores" / "shops.yaml").write_text(
        "stores:\n"
        "  - { id: nyc, name: Acme SoHo, lat: 40.72, lon: -74.0, timezone: America/New_York, slug: nyc-soho,\n"
        "      hours: 'mon-sat 09:00-21:00; sun closed' }\n"
        "  - { id: bos, name: Acme Boston, lat: 42.35, lon: -71.08, timezone: America/New_York, slug: bos }\n"
    )
    edit(
        repo / "campaigns" / "spring-sale.yaml",
        "list: stores/acme-stores.csv",
        "list: stores/shops.yaml",
    )
    plan = load_plan(repo)
    (storeset,) = plan.storesets
    assert storeset.id == "shops" and storeset.source == "stores/shops.yaml"
    assert [s.id for s in storeset.stores] == ["nyc", "bos"]
    assert storeset.stores[0].fields == {"slug": "nyc-soho"} and storeset.stores[0].hours[6] == []
    assert storeset.stores[1].hours == []  # no hours: always open


def test_yaml_store_list_error_points_into_the_yaml(repo: Path) -> None:
    (repo / "stores" / "shops.yaml").write_text(
        "stores:\n  - { id: nyc, name: A, lat: 40.72, lon: -74.0, timezone: Mars/Olympus, slug: a }\n"
    )
    edit(
        repo / "campaigns" / "spring-sale.yaml",
        "list: stores/acme-stores.csv",
        "list: stores/shops.yaml",
    )
    (d,) = link_config(repo).errors
    assert (d.code, d.span.path, d.span.line, d.span.col) == ("E310", "stores/shops.yaml", 2, 59)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "to: https://book.riverside-health.example/flu?mode=weekend",
            "to: https://book.riverside-health.example/{{ store.slug }}",
        ),
        ("when: { device: android }", "when: { store: open }"),
        (
            "to: https://book.riverside-health.example/flu?mode=weekend",
            "to: { open: 'https://book.riverside-health.example/a', closed: 'https://book.riverside-health.example/b' }",
        ),
    ],
    ids=["store field", "store condition", "open/closed destinations"],
)
def test_store_use_without_a_store_list(repo: Path, old: str, new: str) -> None:
    edit(repo / "campaigns" / "flu-shots.yaml", old, new)
    assert error_codes(repo) == ["E314"]


def test_pii_in_utm_is_reported_once_at_the_utm(repo: Path) -> None:
    edit(
        repo / "campaigns" / "spring-sale.yaml",
        "utm_medium: text",
        "utm_medium: text\n  utm_content: '{{ attr.email }}'",
    )
    errors = link_config(repo).errors
    assert [d.code for d in errors] == ["E406"]
    assert errors[0].span.line == 39 and "email" in errors[0].summary


def test_store_lists_with_the_same_name_get_distinct_ids(repo: Path) -> None:
    (repo / "stores" / "eu").mkdir()
    shutil.copy(repo / "stores" / "acme-stores.csv", repo / "stores" / "eu" / "acme-stores.csv")
    edit(
        repo / "campaigns" / "flu-shots.yaml",
        "link:",
        "stores:\n  list: ./stores/eu/../eu/acme-stores.csv\n  order: [ip]\n\nlink:",
    )
    plan = load_plan(repo)
    ids = {s.source: s.id for s in plan.storesets}
    assert ids == {
        "stores/acme-stores.csv": "acme-stores",
        "stores/eu/acme-stores.csv": "eu/acme-stores",
    }
    by_id = {c.record.id: c.record for c in plan.campaigns}
    assert (
        by_id["flu-shots"].stores is not None
        and by_id["flu-shots"].stores.storeset == "eu/acme-stores"
    )
    assert (
        by_id["spring-sale"].stores is not None
        and by_id["spring-sale"].stores.storeset == "acme-stores"
    )


def test_store_list_outside_the_repository_is_refused(repo: Path) -> None:
    edit(
        repo / "campaigns" / "spring-sale.yaml",
        "list: stores/acme-stores.csv",
        "list: ../outside.csv",
    )
    (repo.parent / "outside.csv").write_text((ROOT / "stores" / "acme-stores.csv").read_text())
    assert error_codes(repo) == ["E307"]


def test_non_utf8_file_is_reported_not_crashed(repo: Path) -> None:
    (repo / "campaigns" / "latin1.yaml").write_bytes("id: caf\xe9\n".encode("latin-1"))
    (d,) = link_config(repo).errors
    assert (d.code, d.span.path) == ("E108", "campaigns/latin1.yaml")
