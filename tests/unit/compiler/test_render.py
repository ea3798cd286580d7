"""Per-recipient messages: sandboxed jinja2, strict names, link spliced or rendered, CSV quoting."""

from __future__ import annotations

import csv
import io

import pytest

from engine.compiler._render import MessageError, MessageRenderer
from engine.compiler.sms import measure

LINK = "https://go.acme.example/AbCd2345"


def renderer(template: str, attrs: list[str] | None = None) -> MessageRenderer:
    return MessageRenderer(template, {"brand": "Acme", "name": "Spring", "id": "spring"}, attrs or [])


@pytest.mark.parametrize(
    ("template", "attrs", "expected"),
    [
        ("Go {{ link }}", (), f"Go {LINK}"),
        ("{{ brand }}: {{ link }} / {{ link }}", (), f"Acme: {LINK} / {LINK}"),
        ("Hi {{ attr.tier }} member {{ link }}", ("gold",), f"Hi gold member {LINK}"),
        ("{{ link|upper }}", (), LINK.upper()),
        ("{% if link|length > 30 %}long{% endif %} {{ link }}", (), f"long {LINK}"),
        ("no link at all", (), "no link at all"),
        ("{% set x = link %}{{ x }}!", (), f"{LINK}!"),
        ('Say "hi", {{ link }}', (), f'Say "hi", {LINK}'),
    ],
    ids=["plain", "twice with brand", "attribute", "transformed link", "link length used",
         "no link", "link assigned", "quotes and commas"],
)
def test_render_matches_jinja(template: str, attrs: tuple[str, ...], expected: str) -> None:
    r = renderer(template, ["tier"] if attrs else [])
    text, m = r.render(LINK, attrs)
    assert text == expected
    assert m == measure(expected)
    field, m2 = r.render_csv(LINK, attrs)
    assert next(csv.reader(io.StringIO(field))) == [expected]
    assert m2 == m


def test_measure_follows_the_recipient_attributes() -> None:
    r = renderer("{{ attr.name }} {{ link }}", ["name"])
    assert r.render(LINK, ("Zoé",))[1].encoding == "GSM-7"  # é is in the GSM-7 basic table
    assert r.render(LINK, ("Chloé ’",))[1].encoding == "UCS-2"
    assert r.render(LINK, ("x" * 200,))[1].segments == 2


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ link }} {{ phone }}", "undefined"),
        ("{{ link }} {{ attr.tier }}", "no attribute 'tier'"),
        ("{{ link.__class__.__mro__ }}", "unsafe"),
        ("{{ link", "does not parse"),
    ],
    ids=["unknown name", "undeclared attribute", "sandbox escape", "syntax error"],
)
def test_template_errors_are_reported(template: str, message: str) -> None:
    with pytest.raises(MessageError, match=message):
        renderer(template).render(LINK, ())


@pytest.mark.parametrize(
    ("template", "spliced"),
    [("{{ link }}", True), ("a {{ link }} b {{ link }}", True), ("{{ link|upper }}", False),
     ("{% if link %}{{ link }}{% endif %}", False), ("{{ link ~ '?' }}", False)],
    ids=["bare", "bare twice", "filter", "test", "concatenation"],
)
def test_splicing_only_for_bare_links(template: str, spliced: bool) -> None:
    assert (renderer(template).shape(()) is not None) == spliced
