"""Waves: dependency-ordered, bounded batches of systems, ordered by deadline.

Systems that depend on each other in a cycle form one strongly connected component (Tarjan) and
move together. A system moves in the same wave as its dependencies or later. Waves are filled
greedily from the components whose dependencies are placed, most urgent (effective) deadline
first, until the bounds (systems, data) are reached. A component's effective deadline is the
earliest deadline of itself and of everything that depends on it: a dependency must not hold up
an urgent dependant. Runs in O((V + E) log V).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

NO_DEADLINE = "9999-12-31"


@dataclass(frozen=True)
class Item:
    id: str
    depends_on: tuple[str, ...]  # only dependencies that move too
    data_gb: float
    deadline: str | None  # ISO date


@dataclass
class WavePlan:
    number: int
    systems: list[str] = field(default_factory=list)
    data_gb: float = 0.0
    deadline: str | None = None
    notes: list[str] = field(default_factory=list)


def components(n: int, edges: list[list[int]]) -> tuple[list[int], int]:
    """Tarjan's SCC, iterative (35,000 systems would overflow Python's recursion).

    Returns (component of each node, number of components). Components are numbered in the order
    Tarjan completes them: a component's dependencies (edge targets) get smaller numbers.
    """
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    comp = [-1] * n
    stack: list[int] = []
    counter = 0
    ncomp = 0
    for root in range(n):
        if index[root] != -1:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, i = work[-1]
            succ = edges[v]
            if i < len(succ):
                work[-1] = (v, i + 1)
                w = succ[i]
                if index[w] == -1:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[v] < low[parent]:
                    low[parent] = low[v]
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp[w] = ncomp
                    if w == v:
                        break
                ncomp += 1
    return comp, ncomp


def assign(items: list[Item], max_systems: int, max_data_gb: float) -> list[WavePlan]:
    """Bounded waves for `items` (sorted by id for determinism by the caller)."""
    n = len(items)
    pos = {it.id: i for i, it in enumerate(items)}
    edges = [[pos[d] for d in it.depends_on if d in pos] for it in items]
    comp, ncomp = components(n, edges)
    members: list[list[int]] = [[] for _ in range(ncomp)]
    for v in range(n):
        members[comp[v]].append(v)
    size = [len(m) for m in members]
    data = [sum(items[v].data_gb for v in m) for m in members]
    deadline = [min((items[v].deadline or NO_DEADLINE) for v in m) for m in members]
    key = [items[m[0]].id for m in members]  # smallest id (members are in id order)
    deps: list[set[int]] = [set() for _ in range(ncomp)]
    for v in range(n):
        cv = comp[v]
        for w in edges[v]:
            if comp[w] != cv:
                deps[cv].add(comp[w])
    # effective deadline: components complete dependencies-first, so walk them backwards
    effective = list(deadline)
    for c in range(ncomp - 1, -1, -1):
        for d in deps[c]:
            if effective[c] < effective[d]:
                effective[d] = effective[c]
    dependants: list[list[int]] = [[] for _ in range(ncomp)]
    waiting = [len(deps[c]) for c in range(ncomp)]
    for c in range(ncomp):
        for d in deps[c]:
            dependants[d].append(c)
    ready = [(effective[c], key[c], c) for c in range(ncomp) if waiting[c] == 0]
    heapq.heapify(ready)
    waves: list[WavePlan] = []
    current = WavePlan(1)
    while ready:
        _, _, c = heapq.heappop(ready)
        fits = (
            len(current.systems) + size[c] <= max_systems
            and current.data_gb + data[c] <= max_data_gb
        )
        if current.systems and not fits:
            waves.append(current)
            current = WavePlan(current.number + 1)
        if size[c] > max_systems or data[c] > max_data_gb:
            names = ", ".join(items[v].id for v in members[c][:5])
            what = (
                f"dependency cycle {names}{' ...' if size[c] > 5 else ''} ({size[c]} systems, "
                if size[c] > 1
                else f"system {names} ("
            )
            current.notes.append(f"{what}{data[c]:g} GB) exceeds the wave bounds; it moves alone")
        elif size[c] > 1:
            current.notes.append(
                f"dependency cycle moves together: {', '.join(items[v].id for v in members[c])}"
            )
        current.systems.extend(items[v].id for v in members[c])
        current.data_gb += data[c]
        dl = deadline[c]
        if dl != NO_DEADLINE and (current.deadline is None or dl < current.deadline):
            current.deadline = dl
        for dep in dependants[c]:
            waiting[dep] -= 1
            if waiting[dep] == 0:
                heapq.heappush(ready, (effective[dep], key[dep], dep))
    if current.systems:
        waves.append(current)
    for wp in waves:
        wp.systems.sort()
        wp.data_gb = round(wp.data_gb, 3)
        wp.notes.sort()
    return waves
