"""Destination templates: jinja2 source -> ``Template`` (literals and click-time slots).

A destination is written as a jinja2 template over non-PII fields. What is known
at compile time (``campaign.id``, the UTM parameters) is rendered now; what is
only known per click (``store.<field>``, ``variant``, ``attr.<name>``, ``route``)
becomes a slot, so the worker fills slots by concatenation and never runs
jinja2. Only plain fields are allowed inside ``{{ }}``: no filters, no logic.
A reviewer reads the URL that ships.

The scheme and host must be literal (``https://shop.example/{{ store.slug }}``,
never ``{{ store.url }}``) so the domain allowlist can be checked at compile time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import jinja2
from jinja2 import nodes

from engine.snapshot import Template

from ._pii import is_pii_field

#: Click-time names: bare (``variant``, ``route``) and objects (``store.x``, ``attr.x``).
BARE_SLOTS = ("variant", "route")
OBJECT_SLOTS = ("store", "attr")
#: Compile-time fields a destination may use.
COMPILE_TIME = ("campaign",)

_env = jinja2.Environment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
)


class TemplateProblem(Exception):
    """A template that cannot compile: ``code`` and a message, ``line`` within the template (1-based)."""

    def __init__(
        self, code: str, summary: str, *, line: int = 1, expected: str = "", hint: str = ""
    ) -> None:
        super().__init__(summary)
        self.code, self.summary, self.line, self.expected, self.hint = (
            code,
            summary,
            line,
            expected,
            hint,
        )


@dataclass
class Parts:
    """A template as a sequence of literal text and slot names."""

    items: list[tuple[str, str]] = field(default_factory=list)  # ("lit", text) | ("slot", name)

    def add_literal(self, text: str) -> None:
        if self.items and self.items[-1][0] == "lit":
            self.items[-1] = ("lit", self.items[-1][1] + text)
        elif text:
            self.items.append(("lit", text))

    def add(self, other: Parts) -> None:
        for kind, value in other.items:
            if kind == "lit":
                self.add_literal(value)
            else:
                self.items.append((kind, value))

    @property
    def slots(self) -> list[str]:
        return [v for k, v in self.items if k == "slot"]

    def literal_text(self) -> str:
        """All literal text, slots shown as ``{slot}`` (for lints)."""
        return "".join(v if k == "lit" else "{" + v + "}" for k, v in self.items)

    def to_template(self) -> Template:
        literals, slots, pending = [], [], ""
        for kind, value in self.items:
            if kind == "lit":
                pending += value
            else:
                literals.append(pending)
                slots.append(value)
                pending = ""
        literals.append(pending)
        return Template(literals=literals, slots=slots)


def parse_parts(source: str, context: dict[str, dict[str, str]]) -> Parts:
    """Split a template into literals and slots, rendering compile-time fields from ``context``.

    Raises
    ------
    TemplateProblem
        E323 syntax error, E324 unknown name, E325 anything but a plain field.
    """
    try:
        tree = _env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(
            "E323",
            f"template syntax error: {exc.message}",
            line=exc.lineno or 1,
            hint="a field is written {{ store.slug }}; literal braces are not allowed",
        ) from None
    parts = Parts()
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            raise TemplateProblem(
                "E325",
                "only plain fields are allowed in a destination",
                line=node.lineno,
                expected="text with {{ field }} placeholders",
                hint="remove {% ... %} blocks; use routing rules for choices",
            )
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.add_literal(child.data)
            else:
                parts.add(_field(child, context))
    return parts


def _field(node: nodes.Node, context: dict[str, dict[str, str]]) -> Parts:
    out = Parts()
    names = [n.name for n in node.find_all(nodes.Name)] + [
        g.attr for g in node.find_all(nodes.Getattr)
    ]
    if isinstance(node, nodes.Name | nodes.Getattr):
        names.append(node.name if isinstance(node, nodes.Name) else node.attr)
    objects = {n.name for n in node.find_all(nodes.Name)} | (
        {node.node.name}
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name)
        else set()
    )
    if "store" not in objects and any(is_pii_field(n) for n in names):
        # Privacy first: say it is personal data before saying it is unknown.
        field_name = ".".join(n for n in names[-1:])
        raise TemplateProblem(
            "E406",
            f'"{field_name}" looks like personal data, which may not appear in a URL',
            line=node.lineno,
            hint="no phone number, email or name may appear in a URL; recipients are known by their token",
        )
    if isinstance(node, nodes.Name):
        if node.name in BARE_SLOTS:
            out.items.append(("slot", node.name))
            return out
        known = [
            *BARE_SLOTS,
            *(f"{o}.<field>" for o in OBJECT_SLOTS),
            *(f"{c}.<field>" for c in context),
        ]
        raise TemplateProblem(
            "E324",
            f'unknown name "{node.name}" in a template',
            line=node.lineno,
            expected=f"one of {', '.join(known)}",
        )
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        obj, attr = node.node.name, node.attr
        if obj in OBJECT_SLOTS:
            out.items.append(("slot", f"{obj}.{attr}"))
            return out
        if obj in context:
            if attr not in context[obj]:
                raise TemplateProblem(
                    "E324",
                    f'unknown field "{obj}.{attr}"',
                    line=node.lineno,
                    expected=f"one of {', '.join(f'{obj}.{k}' for k in sorted(context[obj]))}",
                )
            out.add_literal(quote(context[obj][attr], safe=""))
            return out
        raise TemplateProblem(
            "E324",
            f'unknown name "{obj}" in a template',
            line=node.lineno,
            expected=f"one of {', '.join([*BARE_SLOTS, *OBJECT_SLOTS, *context])}",
        )
    raise TemplateProblem(
        "E325",
        "only plain fields are allowed inside {{ }}",
        line=node.lineno,
        expected="{{ variant }}, {{ route }}, {{ store.<field> }}, {{ attr.<name> }} or {{ campaign.id }}",
        hint="filters, calls and expressions are not supported; the worker substitutes values as they are",
    )


_HOST_PREFIX = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#{}]+(?:[/?#]|$)")


@dataclass(frozen=True)
class Destination:
    """A compiled destination and what a lint needs to know about it."""

    template: Template
    scheme: str
    host: str
    slots: tuple[str, ...]
    text: str  # literal text with {slot} markers


def compile_destination(
    source: str, utm: dict[str, Parts], context: dict[str, dict[str, str]]
) -> Destination:
    """Compile one destination and merge the UTM parameters into its query.

    A parameter already written in the URL wins over the campaign's ``utm``.

    Raises
    ------
    TemplateProblem
    """
    parts = parse_parts(source.strip(), context)
    if len(parts.items) == 1 and re.fullmatch(
        r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#{}]+", parts.items[0][1]
    ):
        parts.items[0] = ("lit", parts.items[0][1] + "/")  # https://host -> https://host/
    first = parts.items[0][1] if parts.items and parts.items[0][0] == "lit" else ""
    if not _HOST_PREFIX.match(first):
        raise TemplateProblem(
            "E326",
            "a destination must start with a literal scheme and host",
            expected="https://host/path... with placeholders only after the host",
            hint="write the domain out, e.g. https://www.acme.example/stores/{{ store.slug }}",
        )
    try:
        split = urlsplit(first if "?" in first or "#" in first else first.split("{")[0])
    except ValueError as exc:  # e.g. an unbalanced "[" reads as a broken IPv6 literal
        raise TemplateProblem(
            "E326",
            f"a destination must start with a literal scheme and host ({exc})",
            expected="https://host/path... with placeholders only after the host",
            hint="check the host part for stray brackets or spaces",
        ) from exc
    merged = _merge_utm(parts, utm)
    return Destination(
        merged.to_template(),
        split.scheme.lower(),
        (split.hostname or "").lower(),
        tuple(merged.slots),
        merged.literal_text(),
    )


def _merge_utm(parts: Parts, utm: dict[str, Parts]) -> Parts:
    if not utm:
        return parts
    head, tail = Parts(), Parts()
    in_fragment = False
    for kind, text in parts.items:
        if kind == "lit" and not in_fragment and "#" in text:
            before, _, after = text.partition("#")
            head.add_literal(before)
            tail.add_literal("#" + after)
            in_fragment = True
        else:
            target = tail if in_fragment else head
            if kind == "lit":
                target.add_literal(text)
            else:
                target.items.append((kind, text))
    literal_head = "".join(v for k, v in head.items if k == "lit")
    query = literal_head.partition("?")[2] if "?" in literal_head else None
    present = set(re.findall(r"(?:^|&)([^=&]+)=", query)) if query is not None else set()
    for key, value in utm.items():
        if quote(key, safe="") in present:
            continue  # the URL's own parameter wins
        last = head.items[-1] if head.items else ("lit", "")
        if query is None:
            sep = "?"
            query = ""
        else:
            sep = "" if last[0] == "lit" and last[1].endswith(("?", "&")) else "&"
        head.add_literal(f"{sep}{quote(key, safe='')}=")
        for kind, piece in value.items:
            if kind == "lit":
                head.add_literal(quote(piece, safe=""))
            else:
                head.items.append((kind, piece))
    head.add(tail)
    return head
