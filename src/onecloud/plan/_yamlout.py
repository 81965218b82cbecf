"""A small, fast YAML writer for plain data (dicts, lists, str, int, float, bool, None).

The plan of a 35,000-system census is ~80 MB of YAML; ruamel's emitter needs minutes for it.
This writer emits block style only, in dict order, quoting every string that is not obviously
a plain word (JSON double-quoted strings are valid YAML), so the output reads the same under
YAML 1.1 and 1.2 loaders.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: a word (any script), a path, or an IPv4 address/CIDR: never read as anything but a string
_PLAIN = re.compile(r"[^\W\d][\w./@+-]*|/[\w./@+-]*|\d+\.\d+\.\d+\.\d+(/\d+)?")
#: readers of YAML 1.1 take yes/no/on/off as booleans: quote them too
_RESERVED = frozenset(
    ["true", "false", "null", "yes", "no", "on", "off", "y", "n", "~", ".nan", ".inf"]
)


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float(v)
    s = str(v)
    if _PLAIN.fullmatch(s) and s.lower() not in _RESERVED:
        return s
    return json.dumps(s, ensure_ascii=False)


def _float(v: float) -> str:
    if v != v:
        return ".nan"
    if v in (float("inf"), float("-inf")):
        return ".inf" if v > 0 else "-.inf"
    r = repr(v)
    if "e" in r and "." not in r:  # YAML 1.1 floats need a dot: 1e-05 -> 1.0e-05
        mantissa, exp = r.split("e")
        r = f"{mantissa}.0e{exp}"
    return r


def dumps(data: Any) -> str:
    out: list[str] = []
    _emit(data, "", out)
    return "".join(out)


def _emit(data: Any, indent: str, out: list[str]) -> None:
    """Emit a mapping or sequence whose lines start at `indent`."""
    if isinstance(data, dict):
        for k, v in data.items():
            _entry(f"{indent}{_scalar(k)}:", v, indent + "  ", indent, out)
    elif isinstance(data, list):
        for v in data:
            _item(v, indent, out)
    else:
        out.append(f"{indent}{_scalar(data)}\n")


def _entry(head: str, v: Any, child: str, seq_indent: str, out: list[str]) -> None:
    if isinstance(v, dict):
        if v:
            out.append(head + "\n")
            _emit(v, child, out)
        else:
            out.append(head + " {}\n")
    elif isinstance(v, list):
        if v:
            out.append(head + "\n")
            for item in v:
                _item(item, seq_indent, out)
        else:
            out.append(head + " []\n")
    else:
        out.append(f"{head} {_scalar(v)}\n")


def _item(v: Any, indent: str, out: list[str]) -> None:
    """A sequence item at `indent` (`- ` then the value; a mapping continues at indent + 2)."""
    if isinstance(v, dict) and v:
        first = True
        inner = indent + "  "
        for k, val in v.items():
            lead = f"{indent}- " if first else inner
            _entry(f"{lead}{_scalar(k)}:", val, inner + "  ", inner, out)
            first = False
    elif isinstance(v, list) and v:
        out.append(f"{indent}-\n")
        for item in v:
            _item(item, indent + "  ", out)
    elif isinstance(v, dict):
        out.append(f"{indent}- {{}}\n")
    elif isinstance(v, list):
        out.append(f"{indent}- []\n")
    else:
        out.append(f"{indent}- {_scalar(v)}\n")
