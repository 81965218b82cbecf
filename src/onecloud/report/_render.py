"""Render progress as rich tables (terminal) or Markdown."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from onecloud.report._figures import Progress, Row

HEADERS = ["", "migrate", "done", "moving", "failed", "waiting", "%", "retire", "retired",
           "consol.", "retained"]  # fmt: skip


def _cells(r: Row) -> list[str]:
    return [r.label, str(r.migrate), str(r.done), str(r.moving), str(r.failed), str(r.waiting),
            f"{r.percent:.0f}", str(r.retire_planned), str(r.retired), str(r.consolidated),
            str(r.retained)]  # fmt: skip


def _sections(p: Progress) -> list[tuple[str, list[Row]]]:
    return [
        ("Programme", [p.total]),
        ("By wave", p.by_wave),
        ("By city", p.by_city),
        ("By department", p.by_department),
    ]


def render_rich(p: Progress, console: Console) -> None:
    console.print(f"[dim]states from {p.source}[/]")
    for title, rows in _sections(p):
        table = Table(title=title, title_justify="left")
        for i, h in enumerate(HEADERS):
            table.add_column(h, justify="left" if i == 0 else "right", no_wrap=i == 0)
        for r in rows:
            table.add_row(*_cells(r))
        console.print(table)
    if p.failures:
        table = Table(title="Failed or rolled back", title_justify="left")
        for h in ("system", "state", "detail"):
            table.add_column(h)
        for f in p.failures:
            table.add_row(*f)
        console.print(table)


def render_markdown(p: Progress) -> str:
    lines = ["# Programme progress", "", f"States from {p.source}.", ""]
    for title, rows in _sections(p):
        lines += [f"## {title}", "", "| " + " | ".join(HEADERS) + " |",
                  "|" + "|".join("---" for _ in HEADERS) + "|"]  # fmt: skip
        lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
        lines.append("")
    if p.failures:
        lines += ["## Failed or rolled back", "", "| system | state | detail |", "|---|---|---|"]
        lines += [f"| {s} | {st} | {d.replace('|', '/')} |" for s, st, d in p.failures]
        lines.append("")
    return "\n".join(lines)
