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


# --- the reader: the same subset back, fast -------------------------------------------------


class NotOurs(ValueError):
    """The text is not (exactly) what `dumps` writes; read it with a full YAML loader instead."""


#: characters a YAML reader rejects (non-printable) or reads as a line break or BOM; tabs and
#: CR are never written by `dumps` either. Any of them: leave the text to the full loader.
_UNSAFE = re.compile(
    "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
#: an escaped surrogate: JSON pairs them, YAML does not
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+(?:e[-+]?[0-9]+)?")
_CONST: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    ".nan": float("nan"),
    ".inf": float("inf"),
    "-.inf": float("-inf"),
}
#: `key:` then nothing (a block value follows) or one space and a scalar
_KEY = re.compile(r"([^\s\":]+):(?: (.+))?\Z")
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


def loads(text: str) -> Any:
    """Read text written by `dumps`: the same values a YAML 1.2 loader gives for it.

    Only the writer's own subset is accepted: block style with its indentation, `#` comment
    lines, JSON-quoted strings and the plain scalars `_scalar` writes. Anything else, even valid
    YAML, raises `NotOurs`, so a hand-edited or broken file goes to the full loader (and gets
    its error messages).
    """
    if _UNSAFE.search(text) or _SURROGATE.search(text):
        raise NotOurs("characters the fast reader leaves to a YAML loader")
    lines = [line for line in text.split("\n") if line and line[0] != "#"]
    if not lines:
        raise NotOurs("no content")
    reader = _Reader(lines)
    end, value = reader.node(0, 0)
    if end != len(lines):
        raise NotOurs(f"unexpected indentation: {lines[end]!r}")
    return value


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.inds = [len(line) - len(line.lstrip(" ")) for line in lines]
        self.keys: dict[str, tuple[str, str | None]] = {}  # line content -> (key, value text)
        self.scalars: dict[str, Any] = {}  # plain scalar text -> its (immutable) value

    def node(self, i: int, n: int) -> tuple[int, Any]:
        """The block mapping or sequence whose lines start at column `n`, from line `i`."""
        if self.inds[i] != n:
            raise NotOurs(f"unexpected indentation: {self.lines[i]!r}")
        if self.lines[i].startswith("-", n):
            return self.seq(i, n)
        return self.map(i, n)

    def map(self, i: int, n: int) -> tuple[int, dict[str, Any]]:
        lines, inds = self.lines, self.inds
        out: dict[str, Any] = {}
        count = len(lines)
        while i < count:
            ind = inds[i]
            if ind < n:
                break
            line = lines[i]
            if ind > n or line.startswith("-", n):
                raise NotOurs(f"unexpected line in a mapping: {line!r}")
            key, rest = self.key(line[n:] if n else line)
            if key in out:
                raise NotOurs(f"duplicate key {key!r}")
            i += 1
            if rest is not None:
                out[key] = self.scalar(rest)
                continue
            if i >= count:
                raise NotOurs(f"no value for {key!r}")
            ind = inds[i]
            nxt = lines[i]
            if ind == n and (nxt.startswith("- ", n) or len(nxt) == n + 1):
                i, out[key] = self.seq(i, n)
            elif ind == n + 2 and not nxt.startswith("-", ind):
                i, out[key] = self.map(i, n + 2)
            else:
                raise NotOurs(f"no value for {key!r}")
        return i, out

    def seq(self, i: int, n: int) -> tuple[int, list[Any]]:
        lines, inds = self.lines, self.inds
        out: list[Any] = []
        count = len(lines)
        while i < count:
            ind = inds[i]
            line = lines[i]
            if ind < n or (ind == n and not line.startswith("-", n)):
                break
            if ind > n:
                raise NotOurs(f"unexpected line in a sequence: {line!r}")
            if len(line) == n + 1:  # `-` alone: a nested collection follows, 2 deeper
                if i + 1 >= count:
                    raise NotOurs("no value for `-`")
                i, value = self.node(i + 1, n + 2)
                out.append(value)
                continue
            if line[n + 1] != " ":
                raise NotOurs(f"unexpected line in a sequence: {line!r}")
            content = line[n + 2 :]
            if content.startswith("- ") or self.is_key(content):
                # a collection starting on the dash line: read it as if the dash were a space
                lines[i] = " " * (n + 2) + content
                inds[i] = n + 2 + len(content) - len(content.lstrip(" "))
                i, value = self.node(i, n + 2)
            else:
                value = self.scalar(content)
                i += 1
            out.append(value)
        return i, out

    def is_key(self, content: str) -> bool:
        if content[:1] == '"':
            try:
                end = _scanstring(content, 1)[1]
            except ValueError:
                raise NotOurs(f"not a JSON string: {content!r}") from None
            return content.startswith(":", end)
        return _KEY.match(content) is not None

    def key(self, content: str) -> tuple[str, str | None]:
        """The key of `key: value` / `key:`, and the value text (None: a block follows)."""
        if content[:1] == '"':
            try:
                key, end = _scanstring(content, 1)
            except ValueError:
                raise NotOurs(f"not a JSON string: {content!r}") from None
            tail = content[end:]
            if tail == ":":
                return key, None
            if not tail.startswith(": ") or len(tail) == 2:
                raise NotOurs(f"not a key: {content!r}")
            return key, tail[2:]
        m = _KEY.match(content)
        if m is None:
            raise NotOurs(f"not a key: {content!r}")
        key = m.group(1)
        if key not in self.keys:
            if not _PLAIN.fullmatch(key) or key.lower() in _RESERVED:
                raise NotOurs(f"not a plain word: {key!r}")
            self.keys[key] = (key, None)
        return key, m.group(2)

    def scalar(self, s: str) -> Any:
        """The value of a scalar as `_scalar` writes it (the whole rest of the line)."""
        if s[0] == '"':
            try:
                value, end = _scanstring(s, 1)
            except ValueError:
                raise NotOurs(f"not a JSON string: {s!r}") from None
            if end != len(s):
                raise NotOurs(f"text after a string: {s!r}")
            return value
        if s == "{}":
            return {}
        if s == "[]":
            return []
        scalars = self.scalars
        if s in scalars:
            return scalars[s]
        if s in _CONST:
            value = _CONST[s]
        elif _INT.fullmatch(s):
            value = int(s)
        elif _FLOAT.fullmatch(s):
            value = float(s)
        elif _PLAIN.fullmatch(s) and s.lower() not in _RESERVED:
            value = s
        else:
            raise NotOurs(f"not a scalar the writer writes: {s!r}")
        scalars[s] = value
        return value
