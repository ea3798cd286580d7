"""Per-recipient message text: the campaign's jinja2 template with the real link.

The template runs in a ``SandboxedEnvironment`` with ``StrictUndefined`` (a
misspelt variable fails the compile instead of sending an empty hole). Its
context holds only non-PII values: ``link`` (``https://<domain>/<token>``),
``attr`` (the campaign's declared attributes), and the campaign's ``brand``,
``name`` and ``id``. The phone number is never in the context.

Rendering jinja2 2,000,000 times costs more than the rest of the compile, so
the renderer renders once per distinct attribute tuple with a placeholder link
and splices each recipient's link in. That is exact only when the template
prints the link as it is, so the template's syntax tree is checked first: every
use of ``link`` must be a bare ``{{ link }}``. A template that does anything
else with it (``{{ link|upper }}``, ``{% if link|length > 30 %}``,
``{% set x = link %}``) is rendered per recipient instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from .sms import SmsMeasure, measure

_PLACEHOLDERS = ("\x00L\x00", "\x00LINK-PLACEHOLDER\x00")
_CACHE_LIMIT = 65536  # distinct attribute tuples kept pre-rendered


class MessageError(Exception):
    """The template cannot be rendered for a recipient (a config problem, not a bug)."""


class MessageRenderer:
    """Renders one campaign's message per recipient.

    Parameters
    ----------
    template:
        jinja2 source as authored.
    context:
        Campaign-level names (``brand``, ``name``, ``id``).
    attr_names:
        The declared attributes, in ``TokenRecord.attrs`` order.
    """

    def __init__(self, template: str, context: Mapping[str, str], attr_names: list[str]) -> None:
        env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        try:
            self._tpl = env.from_string(template)
        except TemplateError as exc:
            raise MessageError(f"the message template does not parse: {exc}") from exc
        self._opaque = _link_is_opaque(env, template)
        self._context = dict(context)
        self._attr_names = list(attr_names)
        self._cache: dict[tuple[str, ...], tuple[str, ...] | None] = {}
        self._measures: dict[tuple[tuple[str, ...], int], SmsMeasure] = {}
        self._quoted: dict[tuple[str, ...], tuple[str, ...]] = {}

    def _render(self, link: str, attrs: tuple[str, ...]) -> str:
        ctx = {**self._context, "link": link, "attr": dict(zip(self._attr_names, attrs, strict=True))}
        try:
            return self._tpl.render(ctx)
        except TemplateError as exc:
            raise MessageError(f"the message template fails to render: {exc}") from exc
        except Exception as exc:  # a sandbox or type error inside the template is still the author's
            raise MessageError(f"the message template fails to render: {type(exc).__name__}: {exc}") from exc

    def shape(self, attrs: tuple[str, ...]) -> tuple[str, ...] | None:
        """The text around the link for ``attrs``, or None when the template does not treat the link opaquely."""
        if attrs in self._cache:
            return self._cache[attrs]
        if not self._opaque:
            return None
        a, b = (self._render(p, attrs) for p in _PLACEHOLDERS)
        parts: tuple[str, ...] | None = tuple(a.split(_PLACEHOLDERS[0]))
        if parts is not None and (
            len(parts) < 2 or _PLACEHOLDERS[1].join(parts) != b or "\x00" in "".join(parts)
        ):
            parts = None
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[attrs] = parts
        return parts

    def render_csv(self, link: str, attrs: tuple[str, ...]) -> tuple[str, SmsMeasure]:
        """Like ``render``, but the text comes back as one quoted CSV field (RFC 4180)."""
        quoted = self._quoted.get(attrs)
        if quoted is None:
            parts = self.shape(attrs)
            if parts is None:
                text, measured = self.render(link, attrs)
                return '"' + text.replace('"', '""') + '"', measured
            quoted = tuple(p.replace('"', '""') for p in parts)
            quoted = ('"' + quoted[0], *quoted[1:-1], quoted[-1] + '"')
            if len(self._quoted) < _CACHE_LIMIT:
                self._quoted[attrs] = quoted
        known = self._measures.get((attrs, len(link)))
        if known is None:
            _, known = self.render(link, attrs)
        return link.join(quoted), known

    def render(self, link: str, attrs: tuple[str, ...]) -> tuple[str, SmsMeasure]:
        """The message for one recipient and its SMS measure."""
        parts = self.shape(attrs)
        if parts is None:
            text = self._render(link, attrs)
            return text, measure(text)
        text = link.join(parts)
        # Links of one length differ only in token characters, all GSM-7 basic
        # (one septet each), so one measure serves every link of that length.
        key = (attrs, len(link))
        m = self._measures.get(key)
        if m is None:
            m = measure(text)
            if len(self._measures) < _CACHE_LIMIT:
                self._measures[key] = m
        return text, m


def _link_is_opaque(env: SandboxedEnvironment, template: str) -> bool:
    """True when every use of ``link`` in the template is a bare ``{{ link }}`` output."""
    tree = env.parse(template)
    uses = sum(1 for n in tree.find_all(nodes.Name) if n.name == "link")
    bare = sum(
        1
        for out in tree.find_all(nodes.Output)
        for n in out.nodes
        if isinstance(n, nodes.Name) and n.name == "link"
    )
    return uses == bare
