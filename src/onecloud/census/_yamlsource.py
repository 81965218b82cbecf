"""Read one YAML file into plain Python data plus the line number of every node.

ruamel.yaml's C parser composes the node tree (fast); we convert nodes to plain dicts, lists and
scalars ourselves so that every value keeps the line it came from. Line numbers let every census
problem say `file:line`. Duplicate keys are reported (YAML would silently keep the last one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

PathKey = tuple[Any, ...]

_T = "tag:yaml.org,2002:"


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


def parse_text(text: str, name: str) -> Source:
    """Parse YAML text; raise YamlProblem on syntax errors or duplicate keys."""
    y = _yaml()
    try:
        node = y.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = exc.problem or exc.context or "invalid YAML"
        raise YamlProblem(
            [f"{name}:{line}: invalid YAML: {what}; fix the syntax (indentation, colons, quotes)"]
        ) from None
    except YAMLError as exc:
        raise YamlProblem([f"{name}:1: invalid YAML: {exc}; fix the syntax"]) from None
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


def parse_file(path: Path, name: str | None = None) -> tuple[Source, bytes]:
    """Parse a file; returns the source and the raw bytes (for the census digest)."""
    raw = path.read_bytes()
    shown = name or str(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            [f"{shown}:{line}: the file is not UTF-8; save it as UTF-8 (Chinese names work)"]
        ) from None
    return parse_text(text, shown), raw


def _convert(node: Node, path: PathKey, src: Source, y: YAML, problems: list[str]) -> Any:
    src.lines[path] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            key = _scalar(knode, y) if isinstance(knode, ScalarNode) else str(knode.value)
            if key in out:
                first = src.key_lines.get((*path, key), 0)
                problems.append(
                    f"{src.name}:{knode.start_mark.line + 1}: duplicate key {key!r} "
                    f"(first at line {first}); keep one of them"
                )
                continue
            src.key_lines[(*path, key)] = knode.start_mark.line + 1
            out[key] = _convert(vnode, (*path, key), src, y, problems)
        return out
    if isinstance(node, SequenceNode):
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
