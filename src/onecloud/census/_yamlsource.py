"""Read one YAML file into plain Python data plus the line number of every node.

ruamel.yaml's C parser composes the node tree (fast); we convert nodes to plain dicts, lists and
scalars ourselves so that every value keeps the line it came from. Line numbers let every census
problem say `file:line`. Duplicate keys are reported (YAML would silently keep the last one).

Hostile input gets a clean problem, never a hang or a crash: aliases (`*name`) are refused, so an
alias bomb is never expanded; merge keys (`<<`) are refused with one message; nesting deeper
than `MAX_DEPTH` is refused before the C composer (which recurses on the C stack) sees it.
Files that may hold any of these are scanned as an event stream first (linear, no tree); the
others, nearly every census file, are composed directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

PathKey = tuple[Any, ...]

_T = "tag:yaml.org,2002:"
_MERGE = _T + "merge"

#: deepest nesting of mappings and lists accepted (the census needs 7: systems[0].data.databases
#: [0].tables[0]); deeper input is refused before composing
MAX_DEPTH = 32
#: files whose nesting could exceed this (by a cheap count) are scanned for their depth first;
#: the C composer is safe far beyond it (it crashed at about 30,000 levels)
_SCAN_ABOVE = 5000

ALIAS_FIX = "YAML aliases are not allowed in the census; write the values out"
MERGE_FIX = "YAML merge keys (`<<`) are not allowed in the census; write the keys out"


@dataclass
class Source:
    """A parsed file: its data and where each part of it was written."""

    name: str  # as shown in messages, e.g. "inventory/census/dept-edu.yml"
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)  # 1-based line of each value
    key_lines: dict[PathKey, int] = field(default_factory=dict)  # 1-based line of each key

    def line(self, path: PathKey) -> int:
        """The line of `path`, or of its nearest existing parent (e.g. for a missing key)."""
        p = tuple(path)
        while p:
            if p in self.key_lines:
                return self.key_lines[p]
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), 1)

    def where(self, path: PathKey) -> str:
        return f"{self.name}:{self.line(path)}"


class YamlProblem(Exception):
    """A file that is not valid YAML; carries `file:line: what; fix` messages."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class FastResolver(VersionedResolver):
    """The YAML 1.2 resolver with its rule table looked up once per document, not per scalar.

    ruamel's resolver recomputes the version table for every scalar, which made parsing an
    800-system census take a second; the rules are the same, and the Tag objects are shared so
    `_scalar` can compare them by identity.
    """

    _combined: dict[Any, list[tuple[Tag, Any]]] | None = None

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG
            combined = self._combined
            if combined is None:
                combined = self._combined = self._build()
            first = value[0] if value else ""
            rules = combined.get(first)
            if rules is None:
                rules = combined[None]
            for tag, regexp in rules:
                if regexp.match(value):
                    return tag
            return self.DEFAULT_SCALAR_TAG
        if kind is MappingNode:
            return self.DEFAULT_MAPPING_TAG
        if kind is SequenceNode:
            return self.DEFAULT_SEQUENCE_TAG
        return super().resolve(kind, value, implicit)

    def _build(self) -> dict[Any, list[tuple[Tag, Any]]]:
        table = self.versioned_resolver
        tags: dict[str, Tag] = {}

        def rules(key: Any) -> list[tuple[Tag, Any]]:
            out = []
            for tag, regexp in table.get(key, []) + table.get(None, []):
                out.append((tags.setdefault(tag, Tag(suffix=tag)), regexp))
            return out

        combined = {key: rules(key) for key in table if key is not None}
        combined[None] = rules(None)
        return combined


def _yaml() -> YAML:
    y = YAML(typ="safe", pure=False)
    y.Resolver = FastResolver
    return y


def _syntax(exc: YAMLError, name: str) -> YamlProblem:
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or exc.context or "invalid YAML"
        return YamlProblem(
            [f"{name}:{line}: invalid YAML: {what}; fix the syntax (indentation, colons, quotes)"]
        )
    return YamlProblem([f"{name}:1: invalid YAML: {exc}; fix the syntax"])


def _may_need_scan(text: str) -> bool:
    """True when the text may hold an alias, a merge key or deep nesting (a cheap over-count).

    Every level of nesting opens with `[`, `{`, `- `, `? ` or a new line, so their count bounds
    the depth.
    """
    if "*" in text or "<<" in text:
        return True
    bound = (
        text.count("\n")
        + text.count("[")
        + text.count("{")
        + text.count("- ")  # block sequence entries (and dashes in text: an over-count)
        + text.count("-\t")
        + text.count("?")
    )
    return bound > _SCAN_ABOVE


def _too_deep(name: str, line: int) -> str:
    return (
        f"{name}:{line}: the YAML is nested deeper than {MAX_DEPTH} levels; "
        "the census needs a few levels only: flatten it"
    )


def _scan(y: YAML, text: str, name: str) -> None:
    """Walk the event stream (no tree is built); raise YamlProblem on aliases, merge keys or
    nesting deeper than MAX_DEPTH."""
    problems: list[str] = []
    merge_lines: set[int] = set()
    alias_lines: list[int] = []
    # per open collection: is it a mapping, and how many child nodes it has had so far
    stack: list[list[Any]] = []
    try:
        for event in y.parse(text):
            if isinstance(event, CollectionEndEvent):
                stack.pop()
                continue
            if not isinstance(event, NodeEvent):  # stream and document events
                continue
            line = event.start_mark.line + 1
            parent = stack[-1] if stack else None
            is_key = parent is not None and parent[0] and parent[1] % 2 == 0
            if parent is not None:
                parent[1] += 1
            if isinstance(event, AliasEvent):
                alias_lines.append(line)
            elif isinstance(event, ScalarEvent):
                if is_key and event.value == "<<" and event.implicit[0] and event.tag is None:
                    merge_lines.add(line)
                    problems.append(f"{name}:{line}: {MERGE_FIX}")
            elif isinstance(event, CollectionStartEvent):
                stack.append([isinstance(event, MappingStartEvent), 0])
                if len(stack) > MAX_DEPTH:
                    raise YamlProblem([_too_deep(name, line)])
    except YAMLError as exc:
        raise _syntax(exc, name) from None
    problems += [f"{name}:{n}: {ALIAS_FIX}" for n in sorted(set(alias_lines) - merge_lines)]
    if problems:
        raise YamlProblem(problems)


def parse_text(text: str, name: str) -> Source:
    """Parse YAML text; raise YamlProblem on syntax errors, duplicate keys, aliases, merge keys
    or nesting deeper than MAX_DEPTH."""
    y = _yaml()
    if _may_need_scan(text):
        _scan(y, text, name)
    try:
        node = y.compose(text)
    except YAMLError as exc:
        raise _syntax(exc, name) from None
    src = Source(name=name, data=None)
    problems: list[str] = []
    if node is None:
        src.data = {}
        src.lines[()] = 1
        return src
    src.data = _convert(node, (), src, y, problems)
    if problems:
        raise YamlProblem(problems)
    return src


def parse_bytes(raw: bytes, shown: str) -> Source:
    """Parse a file's bytes (read by the loader); `shown` names the file in messages."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            [f"{shown}:{line}: the file is not UTF-8; save it as UTF-8 (Chinese names work)"]
        ) from None
    return parse_text(text, shown)


def _convert(node: Node, path: PathKey, src: Source, y: YAML, problems: list[str]) -> Any:
    src.lines[path] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        if len(path) >= MAX_DEPTH:
            problems.append(_too_deep(src.name, node.start_mark.line + 1))
            return None
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            kline = knode.start_mark.line + 1
            if not isinstance(knode, ScalarNode):
                problems.append(
                    f"{src.name}:{kline}: a mapping or list is used as a key; "
                    "write a plain name as the key"
                )
                continue
            key = _scalar(knode, y)
            if key == "<<" and knode.tag == _MERGE:  # found by _scan unless the scan was skipped
                problems.append(f"{src.name}:{kline}: {MERGE_FIX}")
                continue
            if key in out:
                first = src.key_lines.get((*path, key), 0)
                problems.append(
                    f"{src.name}:{kline}: duplicate key {key!r} "
                    f"(first at line {first}); keep one of them"
                )
                continue
            src.key_lines[(*path, key)] = kline
            out[key] = _convert(vnode, (*path, key), src, y, problems)
        return out
    if isinstance(node, SequenceNode):
        if len(path) >= MAX_DEPTH:
            problems.append(_too_deep(src.name, node.start_mark.line + 1))
            return None
        return [_convert(v, (*path, i), src, y, problems) for i, v in enumerate(node.value)]
    try:
        return _scalar(node, y)
    except (ValueError, TypeError) as exc:  # e.g. 2026-13-01: a timestamp that is no date
        problems.append(
            f"{src.name}:{node.start_mark.line + 1}: `{node.value}` is not a valid value ({exc}); "
            "write a real date as YYYY-MM-DD, or quote it to make it text"
        )
        return node.value


_STR = VersionedResolver.DEFAULT_SCALAR_TAG


def _scalar(node: Node, y: YAML) -> Any:
    if node.ctag is _STR:
        return node.value
    tag = node.tag
    if tag == _T + "str":
        return node.value
    c = y.constructor
    if tag == _T + "int":
        v = node.value
        return int(v) if v.isdigit() else c.construct_yaml_int(node)
    if tag == _T + "null":
        return None
    if tag == _T + "bool":
        return c.construct_yaml_bool(node)
    if tag == _T + "float":
        return c.construct_yaml_float(node)
    if tag == _T + "timestamp":
        return c.construct_yaml_timestamp(node)
    return node.value
