"""Live progress of a migration run in the terminal (rich): per system its step and elapsed."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from onecloud.migrate import SystemOutcome

__all__ = ["LiveBoard", "summary_table"]

_STYLE = {"running": "yellow", "ok": "green", "failed": "bold red"}


@dataclass
class _Row:
    system: str
    step: str = "waiting"
    status: str = ""
    detail: str = ""
    started: float = field(default_factory=time.monotonic)
    step_started: float = field(default_factory=time.monotonic)


class LiveBoard:
    """An `Observer` for the runner that rich.Live renders (thread-safe)."""

    def __init__(self, systems: Sequence[str]) -> None:
        self._rows = {s: _Row(s) for s in systems}
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def system_step(self, system: str, step: str, status: str, detail: str = "") -> None:
        with self._lock:
            row = self._rows.setdefault(system, _Row(system))
            if status == "running" or row.step != step:
                row.step_started = time.monotonic()
            row.step, row.status = step, status
            row.detail = detail.splitlines()[0][:90] if detail else ""

    def __rich__(self) -> RenderableType:
        now = time.monotonic()
        table = Table(
            title=f"migration: {now - self._t0:5.1f} s", title_justify="left", expand=False
        )
        table.add_column("system")
        table.add_column("step")
        table.add_column("status")
        table.add_column("step time", justify="right")
        table.add_column("detail", overflow="fold", max_width=90)
        with self._lock:
            for row in sorted(self._rows.values(), key=lambda r: r.system):
                table.add_row(
                    row.system,
                    row.step,
                    Text(row.status or "-", style=_STYLE.get(row.status, "")),
                    f"{now - row.step_started:5.1f} s",
                    row.detail,
                )
        return Group(table)


def summary_table(outcomes: Sequence[SystemOutcome]) -> Table:
    table = Table(title="migration summary", title_justify="left")
    for col in ("system", "state", "result", "downtime", "time", "failed step / why"):
        table.add_column(col, overflow="fold")
    for o in outcomes:
        why = ""
        if not o.ok:
            where = f"{o.step} on {o.host}" if o.host else str(o.step)
            task = f" at '{o.task}'" if o.task else ""
            back = {True: " (rolled back)", False: " (ROLLBACK FAILED)", None: ""}[o.rolled_back]
            why = f"{where}{task}{back}: {o.message or ''}"
        table.add_row(
            o.system,
            o.state,
            Text("ok", style="green") if o.ok else Text("FAILED", style="bold red"),
            f"{o.downtime:.1f} s" if o.downtime is not None else "-",
            f"{o.seconds:.0f} s",
            why,
        )
    return table


def console() -> Console:
    return Console()
