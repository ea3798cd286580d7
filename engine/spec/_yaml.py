"""YAML loading with positions, for config that people review.

PyYAML's SafeLoader, narrowed on purpose:

- every node's start and end are recorded, so a pydantic error's ``loc`` maps
  back to ``path:line:col``;
- a duplicate key is an error (PyYAML silently keeps the last one);
- anchors, aliases, merge keys and explicit tags are errors: what a reviewer
  reads is what compiles;
- scalars resolve like YAML 1.2's core schema, not 1.1: ``NO``, ``yes``, ``on``
  stay text (``country: NO`` is Norway), ``09:30`` is text (not the
  sexagesimal 570) and ``010`` is text (not octal 8). Timestamps are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from engine.diagnostics import Diagnostic, DiagnosticsError, SourceSpan

Loc = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars that refuses anchors, aliases and tags."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}

    def __init__(self, stream: str, path: str) -> None:
        super().__init__(stream)
        self.path = path
        self.problems: list[Diagnostic] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self.get_event()
            self.problems.append(
                _refuse(self.path, event, "E103", f'alias "*{event.anchor}" is not allowed')
            )
            return yaml.ScalarNode("tag:yaml.org,2002:null", "", event.start_mark, event.end_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.problems.append(
                _refuse(self.path, event, "E103", f'anchor "&{anchor}" is not allowed')
            )
        tag = getattr(event, "tag", None)
        if tag not in (None, "!", "tag:yaml.org,2002:str"):
            self.problems.append(_refuse(self.path, event, "E104", f'tag "{tag}" is not allowed'))
        return super().compose_node(parent, index)


def _refuse(path: str, event: Any, code: str, summary: str) -> Diagnostic:
    hint = (
        "write the value out where it is used; a reviewer must see what compiles"
        if code == "E103"
        else "remove the tag; values are plain text, numbers, true/false, dates, lists and mappings"
    )
    return Diagnostic(
        code, "error", summary, _span(path, event.start_mark, event.end_mark), hint=hint
    )


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), plus timestamps.
for _tag, _regexp, _first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:float", r"^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$", "-+."),
    (
        "tag:yaml.org,2002:timestamp",
        r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        "0123456789",
    ),
]:
    _Loader.add_implicit_resolver(_tag, re.compile(_regexp, re.X), list(_first))


@dataclass
class SourceDoc:
    """One YAML file: its plain data and where each value came from."""

    path: str  # repository-relative, POSIX
    text: str
    data: Any
    values: dict[Loc, SourceSpan] = field(default_factory=dict)  # loc -> span of the value
    keys: dict[Loc, SourceSpan] = field(default_factory=dict)  # loc -> span of its key

    def span(self, loc: Loc, *, key: bool = False) -> SourceSpan:
        """The span of ``loc`` (its key with ``key=True``), else of its nearest recorded parent."""
        loc = tuple(loc)
        while loc:
            found = (self.keys.get(loc) if key else None) or self.values.get(loc)
            if found is not None:
                return found
            loc = loc[:-1]
        return self.values.get((), SourceSpan(self.path, 1, 1))

    def head_span(self) -> SourceSpan:
        """The first key of the file (where file-level problems are reported)."""
        firsts = [span for loc, span in self.keys.items() if len(loc) == 1]
        return min(firsts, key=lambda s: (s.line, s.col)) if firsts else SourceSpan(self.path, 1, 1)

    def key_span(self, loc: Loc) -> SourceSpan:
        """The span of the key naming ``loc`` (the value's span for list items)."""
        return self.span(loc, key=True)

    def walk(self, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
        """Every (loc, value) under ``loc``, depth first."""
        stack: list[tuple[Loc, Any]] = [(loc, self.get(loc))]
        while stack:
            here, value = stack.pop()
            yield here, value
            if isinstance(value, dict):
                stack.extend(((*here, k), v) for k, v in reversed(list(value.items())))
            elif isinstance(value, list):
                stack.extend(((*here, i), v) for i, v in reversed(list(enumerate(value))))

    def get(self, loc: Loc) -> Any:
        value = self.data
        for part in loc:
            value = value[part]
        return value


def load_yaml(path: str, text: str) -> SourceDoc:
    """Parse one YAML document with positions.

    Parameters
    ----------
    path
        Repository-relative path, used in every span.
    text
        The file's text.

    Returns
    -------
    SourceDoc
        The data (dicts, lists, str, int, float, bool, None, datetime, date)
        with the span of every value and key.

    Raises
    ------
    DiagnosticsError
        E101 syntax error, E102 duplicate key, E103 anchor or alias, E104 tag,
        E105 not a mapping, E106 more than one document, E107 a key that is not text.
    """
    loader = _Loader(text, path)
    try:
        try:
            node = loader.get_single_node()
        except yaml.composer.ComposerError as exc:
            if "expected a single document" in str(exc.context):
                raise DiagnosticsError(
                    [
                        Diagnostic(
                            "E106",
                            "error",
                            "more than one YAML document in this file",
                            _span(path, exc.problem_mark, None),
                            hint="one campaign or policy per file; remove the `---` separator",
                        )
                    ],
                    {path: text},
                ) from None
            raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        summary = f"YAML syntax error: {exc.problem or exc.context}"
        hint = None
        if exc.context and exc.problem:
            hint = f"{exc.context}" + (
                f" (line {exc.context_mark.line + 1})" if exc.context_mark else ""
            )
        if "\t" in text and "tab" in str(exc.problem):
            hint = "indent with spaces; YAML does not allow tabs for indentation"
        raise DiagnosticsError(
            [Diagnostic("E101", "error", summary, _span(path, mark, None), hint=hint)], {path: text}
        ) from None
    finally:
        loader.dispose()
    doc = SourceDoc(path, text, None)
    problems = list(loader.problems)
    if node is None:
        problems.append(
            Diagnostic(
                "E105",
                "error",
                "the file is empty",
                SourceSpan(path, 1, 1),
                expected="a mapping of fields (id: ..., name: ...)",
            )
        )
    else:
        doc.data = _build(node, (), doc, loader, problems)
        if not isinstance(doc.data, dict):
            problems.append(
                Diagnostic(
                    "E105",
                    "error",
                    "the top level of a config file must be a mapping of fields",
                    doc.span(()),
                    expected="a mapping of fields (id: ..., name: ...)",
                )
            )
    if problems:
        raise DiagnosticsError(problems, {path: text})
    return doc


def _build(
    node: yaml.Node, loc: Loc, doc: SourceDoc, loader: _Loader, problems: list[Diagnostic]
) -> Any:
    doc.values[loc] = _span(doc.path, node.start_mark, node.end_mark)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_span = _span(doc.path, key_node.start_mark, key_node.end_mark)
            key = None
            if isinstance(key_node, yaml.ScalarNode):
                try:
                    key = _build(key_node, (*loc, "<key>"), doc, loader, problems)
                finally:
                    doc.values.pop((*loc, "<key>"), None)
            if not isinstance(key, str):
                problems.append(
                    Diagnostic(
                        "E107",
                        "error",
                        "a key must be text",
                        key_span,
                        hint="quote the key or write a field name",
                    )
                )
                continue
            if key in result:
                first = doc.keys[(*loc, key)]
                problems.append(
                    Diagnostic(
                        "E102",
                        "error",
                        f'duplicate key "{key}" (first at line {first.line})',
                        key_span,
                        hint="keep one of them; YAML would silently use the last",
                        related=(first,),
                    )
                )
                continue
            doc.keys[(*loc, key)] = key_span
            result[key] = _build(value_node, (*loc, key), doc, loader, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), doc, loader, problems) for i, item in enumerate(node.value)]
    if not node.tag.startswith("tag:yaml.org,2002:"):
        return node.value  # a custom tag, already reported (E104)
    try:
        return loader.construct_object(node)
    except (yaml.constructor.ConstructorError, ValueError) as exc:
        problems.append(
            Diagnostic("E101", "error", f"cannot read this value: {exc}", doc.values[loc])
        )
        return None


def _span(path: str, start: Any, end: Any) -> SourceSpan:
    if start is None:
        return SourceSpan(path, 1, 1)
    line, col = start.line + 1, start.column + 1
    if end is None:
        return SourceSpan(path, line, col)
    end_line, end_col = end.line + 1, end.column + 1
    if end_line > line and end.column == 0:
        # A block value ends at column 0 of the next line: end at the line before.
        end_line -= 1
        end_col = 0
        return SourceSpan(path, line, col, end_line if end_line > line else line, end_col)
    return SourceSpan(path, line, col, end_line, end_col)
