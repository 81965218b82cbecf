"""Collect census problems as `file:line: what is wrong; how to fix it`, sorted for reading.

Each problem is one line, whatever the census holds: line breaks and other control characters
of quoted values are escaped (`\\n`), so CI tools can read one problem per line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from onecloud.census._yamlsource import PathKey, Source


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean `x`?)' when a close candidate exists, else ''."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean `{match[0]}`?)" if match else ""


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def one_line(message: str) -> str:
    """The message with every control character, line or paragraph separator escaped."""
    if _UNPRINTABLE.search(message) is None:
        return message
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], message)


@dataclass
class Problems:
    items: list[tuple[str, int, str]] = field(default_factory=list)

    def add(self, src: Source, path: PathKey, what: str, fix: str) -> None:
        line = src.line(path)
        self.items.append((src.name, line, one_line(f"{src.name}:{line}: {what}; {fix}")))

    def add_raw(self, name: str, line: int, message: str) -> None:
        self.items.append((name, line, one_line(message)))

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
