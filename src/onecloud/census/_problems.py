"""Collect census problems as `file:line: what is wrong; how to fix it`, sorted for reading."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from onecloud.census._yamlsource import PathKey, Source


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean `x`?)' when a close candidate exists, else ''."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean `{match[0]}`?)" if match else ""


@dataclass
class Problems:
    items: list[tuple[str, int, str]] = field(default_factory=list)

    def add(self, src: Source, path: PathKey, what: str, fix: str) -> None:
        line = src.line(path)
        self.items.append((src.name, line, f"{src.name}:{line}: {what}; {fix}"))

    def add_raw(self, name: str, line: int, message: str) -> None:
        self.items.append((name, line, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def messages(self) -> list[str]:
        seen: set[str] = set()
        out: list[str] = []
        for _, _, msg in sorted(self.items, key=lambda t: (t[0], t[1], t[2])):
            if msg not in seen:
                seen.add(msg)
                out.append(msg)
        return out
