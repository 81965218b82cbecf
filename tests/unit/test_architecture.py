"""The house keeps its floors: every import of the product points down, the lab stands apart.

Floors, top to bottom (docs/devel/architecture.md):

    cli                       the one error boundary; the only place that wires in the lab
    report
    retire                    (systems the plan retires: uses migrate's playbooks, verify's checks)
    iac | migrate | verify    (migrate may call verify; nothing else crosses the floor)
    contract                  system spec, states, ledger
    plan
    census
    shared                    errors, paths, _files (and the package's __init__)

`toolchain` stands on the ground beside the shared floor (iac runs the pulumi CLI through it);
`labcloud` and `labhosts` stand on the ground too, imported by the CLI only.
Every import counts, including those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "onecloud"

FLOORS: list[tuple[str, ...]] = [
    ("cli",),
    ("report",),
    ("retire",),
    ("iac", "migrate", "verify"),
    ("contract",),
    ("plan",),
    ("census",),
    ("errors", "paths", "_files", "__init__"),
]
GROUND_TOOLS = ("toolchain",)
LAB = ("labcloud", "labhosts")
#: imports across one floor that the design allows (importer, imported)
ACROSS = {("migrate", "verify")}
SHARED = FLOORS[-1]


def _level(part: str) -> int:
    for i, floor in enumerate(FLOORS):
        if part in floor:
            return i
    raise AssertionError(f"package {part!r} has no floor: add it to FLOORS in {__file__}")


def _part(module: str) -> str:
    """onecloud.plan._build -> plan; onecloud.errors -> errors; onecloud -> __init__."""
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else "__init__"


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        if "workloads" in parts and parts[1] == "labhosts" and len(parts) > 3:
            continue  # programs that run inside the lab hosts (stdlib only), never imported
        yield ".".join(parts), path


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("onecloud"):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("onecloud"):
                continue
            if target == "onecloud":  # `from onecloud import paths, toolchain`
                for alias in node.names:
                    yield f"onecloud.{alias.name}", node.lineno
            else:
                yield target, node.lineno


def _edges() -> list[tuple[str, str, str, int]]:
    """(importer part, imported part, where, line) for every import between parts."""
    out = []
    for module, path in _modules():
        here = _part(module)
        for target, line in _imports(module, path):
            there = _part(target)
            if there != here:
                out.append((here, there, str(path.relative_to(SRC.parents[1])), line))
    return out


EDGES = _edges()


def _allowed(here: str, there: str) -> bool:
    if here == "cli":
        return True
    if here in LAB or here in GROUND_TOOLS:
        return there in SHARED
    if there in LAB:
        return False
    if there in GROUND_TOOLS:
        return True
    if (here, there) in ACROSS:
        return True
    return _level(there) > _level(here)


def test_the_graph_was_read() -> None:
    parts = {e[0] for e in EDGES}
    assert {"cli", "migrate", "plan", "iac", "labhosts"} <= parts


@pytest.mark.parametrize("here", sorted({e[0] for e in EDGES}))
def test_imports_point_down(here: str) -> None:
    bad = [
        f"{where}:{line}: {here} imports {there}"
        for h, there, where, line in EDGES
        if h == here and not _allowed(h, there)
    ]
    assert not bad, "imports against the floors:\n" + "\n".join(bad)


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for here, there, _where, _line in EDGES:
        graph.setdefault(here, set()).add(there)

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph.get(start, ()))
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo.extend(graph.get(n, ()))
        return seen

    cycles = sorted(p for p in graph if p in reach(p))
    assert not cycles, f"packages in an import cycle: {cycles}"


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def test_no_package_holds_more_than_a_quarter_of_the_product() -> None:
    sizes: dict[str, int] = {}
    for module, path in _modules():
        sizes[_part(module)] = sizes.get(_part(module), 0) + _lines(path)
    total = sum(sizes.values())
    big = {p: f"{n / total:.0%}" for p, n in sizes.items() if n > total / 4}
    assert not big, f"packages over a quarter of {total} lines: {big}"


def test_private_modules_behind_a_face() -> None:
    """A package with a face (`__all__` in its __init__) keeps its other modules private."""
    public = []
    for init in SRC.rglob("__init__.py"):
        if "__all__" not in init.read_text(encoding="utf-8") or init.parent == SRC:
            continue
        if init.parent.name == "cli":  # command modules: one per `onecloud <group>`
            continue
        if init.parent.name == "workloads":  # programs shipped to the lab hosts, not modules
            continue
        for mod in init.parent.glob("*.py"):
            if not mod.name.startswith("_"):
                public.append(str(mod.relative_to(SRC)))
    assert not public, f"public modules behind a package face: {public}"
