"""Validate parsed YAML against the strict models and turn pydantic errors into census problems.

pydantic reports an error location as a path (`('systems', 3, 'data', 'size_gb')`); the parsed
`Source` knows the line of every path, so each message can say `file:line`, what is wrong and how
to fix it (valid keys, valid values, the expected type).
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from onecloud.census._names import PATTERN_FIX
from onecloud.census._problems import Problems, did_you_mean
from onecloud.census._yamlsource import Source

M = TypeVar("M", bound=BaseModel)

_TYPE_FIX = {
    "int_type": "write a whole number without quotes",
    "int_parsing": "write a whole number without quotes",
    "int_from_float": "write a whole number",
    "float_type": "write a number without quotes",
    "float_parsing": "write a number without quotes",
    "string_type": "write text (quote it if it looks like a number, date or yes/no)",
    "bool_type": "write true or false",
    "date_type": "write a date as YYYY-MM-DD",
    "date_parsing": "write a date as YYYY-MM-DD",
    "list_type": "write a list (one `- item` per line)",
    "model_type": "write a mapping (`key: value` lines)",
    "model_attributes_type": "write a mapping (`key: value` lines)",
    "dict_type": "write a mapping (`key: value` lines)",
    "too_short": "add at least one item",
    "string_too_short": "write a longer value",
    "finite_number": "write a finite number",
}

#: longest value quoted in a message (a huge value would bury the message)
_SHOWN_MAX = 80


def validate(model: type[M], src: Source, problems: Problems) -> M | None:
    """Validate `src.data` as `model`; on errors add one problem each and return None."""
    data = src.data if src.data is not None else {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            _report(model, src, err, problems)
        return None


def _report(model: type[BaseModel], src: Source, err: Any, problems: Problems) -> None:
    loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
    kind = err["type"]
    dotted = _dotted(loc) or "the whole file"
    if kind == "missing":
        field = loc[-1] if loc else "?"
        problems.add(src, loc, f"`{dotted}` is missing", f"add `{field}:` here")
        return
    if kind == "extra_forbidden":
        key = str(loc[-1])
        owner = _model_at(model, loc[:-1])
        valid = sorted(owner.model_fields) if owner is not None else []
        hint = did_you_mean(key, valid)
        fix = f"remove `{key}` or fix its spelling{hint}"
        if valid:
            fix += f"; valid keys here: {', '.join(valid)}"
        problems.add(src, loc, f"unknown key `{dotted}`", fix)
        return
    value = err.get("input")
    shown = f" (got {_quoted(value)})" if not isinstance(value, (dict, list)) else ""
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        valid = expected.replace("'", "").replace(" or ", ", ")
        hint = did_you_mean(str(value), [v.strip() for v in valid.split(",")])
        problems.add(
            src, loc, f"`{dotted}` has an invalid value{shown}", f"use one of: {valid}{hint}"
        )
        return
    ctx = err.get("ctx") or {}
    if kind == "census_value":  # a rule of onecloud.census._names, with its own fix
        problems.add(src, loc, f"`{dotted}` {err['msg']}{shown}", ctx["fix"])
        return
    if kind == "string_pattern_mismatch":
        fix = PATTERN_FIX.get(ctx.get("pattern", ""), "fix the value to match the pattern")
    elif kind in ("string_too_long", "too_long"):
        most = ctx.get("max_length")
        unit = "characters" if kind == "string_too_long" else "items"
        fix = f"shorten it to at most {most} {unit}"
    else:
        fix = _TYPE_FIX.get(kind, f"fix the value ({err['msg'].lower()})")
    problems.add(src, loc, f"`{dotted}`: {err['msg']}{shown}", fix)


def _quoted(value: Any) -> str:
    """repr of the value (escapes line breaks and control characters), cut when long."""
    text = repr(value)
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the mapping at `loc` (for listing its valid keys)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = _unwrap(info.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """list[X] / X | None / Optional[X] -> X (the first model among the arguments)."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set):
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _unwrap(arg)
    return annotation
