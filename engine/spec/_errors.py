"""Pydantic errors -> diagnostics at the YAML position of the offending value.

A pydantic ``loc`` names fields by alias and also holds union branch names
(``str``, ``OpenClosedSpec``) that are not in the data; the data path is the
part of ``loc`` that indexes into the loaded YAML. Union branches produce one
error per branch: when one branch got further than "wrong type", only its
errors are kept.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections import defaultdict
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from engine.diagnostics import Diagnostic

from ._fields import did_you_mean
from ._yaml import Loc, SourceDoc

M = TypeVar("M", bound=BaseModel)

_TYPE_ERRORS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "datetime_type": "a date-time",
    "datetime_parsing": "a date-time such as 2027-03-01T09:00:00-05:00",
    "datetime_from_date_parsing": "a date-time such as 2027-03-01T09:00:00-05:00",
    "literal_error": "one of the listed values",
    "enum": "one of the listed values",
    "none_required": "nothing",
}


def parse_spec(doc: SourceDoc, model: type[M]) -> tuple[M | None, list[Diagnostic]]:
    """Validate ``doc.data`` against ``model``.

    Returns
    -------
    (spec, diagnostics)
        The spec, or None with at least one diagnostic.
    """
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        return None, diagnostics_from_validation(doc, exc, model)


def diagnostics_from_validation(
    doc: SourceDoc, exc: ValidationError, model: type[BaseModel]
) -> list[Diagnostic]:
    """One diagnostic per problem, located in ``doc``."""
    errors: list[tuple[dict[str, Any], Loc]] = [
        (dict(e), _data_loc(doc.data, e["loc"])) for e in exc.errors(include_url=False)
    ]
    # Union branches: drop "wrong type" errors at a path where another branch
    # has a deeper or different error; keep one type error per path otherwise.
    by_path: dict[Loc, list[dict[str, Any]]] = defaultdict(list)
    for err, loc in errors:
        by_path[loc].append(err)
    substantive = {
        loc
        for err, loc in errors
        if err["type"] not in _TYPE_ERRORS or err["type"] in ("literal_error", "enum")
    }
    # A value-or-list union fails twice for a bad item: as a whole value at the
    # list, and as an item. Keep the error that points at the item.
    all_locs = {loc for _, loc in errors}
    errors = [
        (err, loc)
        for err, loc in errors
        if err["type"] not in ("literal_error", "enum")
        or not any(o[: len(loc)] == loc and len(o) > len(loc) for o in all_locs)
    ]
    out: list[Diagnostic] = []
    done_type: set[Loc] = set()
    for err, loc in errors:
        if err["type"] in _TYPE_ERRORS and err["type"] not in ("literal_error", "enum"):
            if any(other[: len(loc)] == loc for other in substantive):
                continue
            if loc in done_type:
                continue
            done_type.add(loc)
            expected = sorted(
                {_TYPE_ERRORS[e["type"]] for e in by_path[loc] if e["type"] in _TYPE_ERRORS}
            )
            out.append(_unquoted_if_secret(_wrong_type(doc, loc, err, " or ".join(expected)), err))
            continue
        out.append(_unquoted_if_secret(_one(doc, model, err, loc), err))
    return out


def _unquoted_if_secret(d: Diagnostic, err: dict[str, Any]) -> Diagnostic:
    """A field named like a secret (``secret-env``) may hold a secret pasted by
    mistake: locate the problem, never quote the line (CI logs are shared)."""
    if any("secret" in str(part) for part in err["loc"]):
        return dataclasses.replace(d, quote=False)
    return d


def _one(doc: SourceDoc, model: type[BaseModel], err: dict[str, Any], loc: Loc) -> Diagnostic:
    kind = err["type"]
    name = _name(err["loc"], loc)
    ctx = err.get("ctx") or {}
    if kind.startswith("E") and kind[1:].isdigit():
        return Diagnostic(
            kind,
            "error",
            ctx.get("summary", err["msg"]),
            doc.span(loc),
            expected=ctx.get("expected") or None,
            hint=ctx.get("hint") or None,
        )
    if kind == "missing":
        field = str(err["loc"][-1])
        allowed = _fields_at(model, err["loc"][:-1])
        where = _name(err["loc"][:-1], loc) or "the file"
        if field == "default" and len(err["loc"]) == 1:
            return Diagnostic(
                "E209",
                "error",
                "the campaign has no default route",
                doc.head_span(),
                expected="default: <destination URL>",
                hint="add `default:`; it answers every click no rule matches",
            )
        span = doc.key_span(loc) if loc else doc.head_span()
        return Diagnostic(
            "E202",
            "error",
            f'missing required field "{field}" in {where}',
            span,
            expected=_describe(allowed.get(field)) if allowed else None,
            hint=f"add `{field}:`",
        )
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        allowed = _fields_at(model, err["loc"][:-1])
        choices = sorted(allowed)
        in_when = len(loc) >= 2 and loc[-2] == "when"
        code, what = ("E204", "condition") if in_when else ("E203", "field")
        return Diagnostic(
            code,
            "error",
            f'unknown {what} "{key}"',
            doc.key_span(loc),
            expected=f"one of {', '.join(choices)}" if choices else None,
            hint=did_you_mean(key, choices) or None,
        )
    if kind in ("literal_error", "enum"):
        value = err.get("input")
        expected = ctx.get("expected", "")
        options = [
            o.strip().strip("'\"") for o in expected.replace(" or ", ", ").split(",") if o.strip()
        ]
        return Diagnostic(
            "E206",
            "error",
            f'"{value}" is not a valid value for {name}',
            doc.span(loc),
            expected=f"one of {', '.join(options)}" if options else None,
            hint=did_you_mean(str(value), options) or None,
        )
    # Constraint errors (too short, greater than, pattern ...): pydantic's text names the constraint.
    return Diagnostic(
        "E207",
        "error",
        f"invalid value for {name}: {_lower(err['msg'])}",
        doc.span(loc),
        expected=_describe(_fields_at(model, err["loc"][:-1]).get(str(err["loc"][-1])))
        if err["loc"]
        else None,
    )


def _wrong_type(doc: SourceDoc, loc: Loc, err: dict[str, Any], expected: str) -> Diagnostic:
    got = _kind_of(err.get("input"))
    name = _name(err["loc"], loc)
    hint = None
    if got == "a number" and "text" in expected:
        hint = "quote the value to make it text"
    elif got == "nothing":
        hint = "write a value after the colon, or remove the field"
    return Diagnostic(
        "E205",
        "error",
        f"wrong type for {name}: expected {expected}, got {got}",
        doc.span(loc),
        expected=expected,
        hint=hint,
    )


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime | date):
        return "a date"
    return type(value).__name__


def _data_loc(data: Any, loc: tuple[Any, ...]) -> Loc:
    """The part of pydantic's ``loc`` that indexes into the loaded data."""
    out: list[str | int] = []
    here = data
    for part in loc:
        in_dict = isinstance(here, dict) and isinstance(part, str) and part in here
        in_list = isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here)
        if in_dict or in_list:
            out.append(part)
            here = here[part]  # type: ignore[index]
    return tuple(out)


def _name(pyd_loc: tuple[Any, ...], loc: Loc) -> str:
    """``routes[2].when.device`` for messages."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f'"{text}"' if text else "the file"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> dict[str, Any]:
    """YAML field name -> FieldInfo of the model reached by ``loc`` (best effort)."""
    current: Any = model
    for part in loc:
        candidates = _models_in(current)
        nxt: Any = None
        for m in candidates:
            if isinstance(part, str) and part == m.__name__:
                nxt = m
                break
            for name, info in m.model_fields.items():
                if part in (name, info.alias):
                    nxt = info.annotation
                    break
            if nxt is not None:
                break
        if nxt is None:
            if isinstance(part, int) or (isinstance(part, str) and not candidates):
                current = _item_type(current)
                continue
            continue
        current = nxt
    models = _models_in(current)
    if not models:
        return {}
    return {(info.alias or name): info for name, info in models[0].model_fields.items()}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) or origin is typing.Annotated:
        found: list[type[BaseModel]] = []
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
        return found
    return []


def _item_type(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            item = _item_type(arg)
            if item is not None:
                return item
        return None
    if origin in (list, dict):
        return typing.get_args(annotation)[-1]
    return None


def _describe(info: Any) -> str | None:
    return getattr(info, "description", None) if info is not None else None


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]
