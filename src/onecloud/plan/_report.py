"""The human report of a plan: the same sections as rich tables (terminal) or Markdown (review).

Sections are built once as plain rows (`sections(plan)`), then rendered; large plans list
systems per wave in Markdown but only the summary tables in the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from onecloud.plan._models import Plan

#: the terminal lists individual systems only up to this many
TERMINAL_SYSTEM_ROWS = 60


@dataclass
class Section:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


def _list(items: list[str], limit: int = 8) -> str:
    if not items:
        return "-"
    more = len(items) - limit
    return ", ".join(items[:limit]) + (f" (+{more} more)" if more > 0 else "")


def sections(plan: Plan, *, system_rows: int | None = None) -> list[Section]:
    t = plan.totals
    out = [
        Section(
            "Programme",
            ["figure", "value"],
            [
                ["systems in the census", str(t.systems)],
                ["migrated", str(t.migrated)],
                ["retired (zombie, shadow, unused)", str(t.retired)],
                ["consolidated onto shared platforms", str(t.consolidated)],
                ["retained in place", str(t.retained)],
                ["machine rooms vacated", f"{t.rooms_vacated} of {t.rooms_before}"],
                ["private networks folded", f"{t.networks_folded} of {t.networks_before}"],
                ["internet egress points", f"{t.egress_before} -> {t.egress_after}"],
                ["waves", str(len(plan.waves))],
            ],
        )
    ]
    waves = Section(
        "Waves",
        ["wave", "systems", "data GB", "deadline", "rooms vacated", "networks vacated", "notes"],
    )
    for w in plan.waves:
        waves.rows.append(
            [
                str(w.number),
                str(len(w.systems)),
                f"{w.data_gb:g}",
                w.deadline or "-",
                _list(w.rooms_vacated),
                _list(w.networks_vacated),
                _list(w.notes, 3),
            ]
        )
    out.append(waves)
    movers = [s for s in plan.systems if s.disposition == "migrate"]
    moves = Section(
        "Migrations",
        ["system", "wave", "project", "segment", "renumbered to (server, flavor)", "DR"],
    )
    limit = len(movers) if system_rows is None else system_rows
    for s in sorted(movers, key=lambda s: (s.wave or 0, s.id))[:limit]:
        servers = ", ".join(
            f"{src.address} -> {x.name} {x.address} {x.flavor}"
            for src, x in zip(s.sources, s.targets, strict=False)
        )
        moves.rows.append(
            [s.id, str(s.wave), s.project or "-", s.segment or "-", servers, s.dr_tier]
        )
    if len(movers) > limit:
        moves.note = f"{len(movers) - limit} more migrations: see the Markdown report or plan"
    out.append(moves)
    decided = Section(
        "Retired, consolidated and retained", ["system", "department", "decision", "why"]
    )
    for s in plan.systems:
        if s.disposition == "migrate":
            continue
        what = s.disposition + (f" -> {s.consolidate_into}" if s.consolidate_into else "")
        decided.rows.append([s.id, s.department, what, s.reason])
    if system_rows is not None and len(decided.rows) > system_rows:
        decided.note = f"{len(decided.rows) - system_rows} more: see the Markdown report"
        decided.rows = decided.rows[:system_rows]
    out.append(decided)
    if plan.platforms:
        out.append(
            Section(
                "Shared platforms",
                ["platform", "name", "category", "systems", "data GB"],
                [
                    [p.id, p.name, p.category, _list(p.systems), f"{p.data_gb:g}"]
                    for p in plan.platforms
                ],
            )
        )
    out.append(
        Section(
            "Projects and quotas (with headroom)",
            ["project", "department", "instances", "cores", "RAM MB", "volumes", "GB", "FIPs"],
            [
                [
                    p.name,
                    f"{p.department_name} ({p.department})",
                    str(p.quota.instances),
                    str(p.quota.cores),
                    str(p.quota.ram_mb),
                    str(p.quota.volumes),
                    str(p.quota.gigabytes),
                    str(p.quota.floating_ips),
                ]
                for p in plan.projects
            ],
        )
    )
    if plan.renumbered:
        out.append(
            Section(
                "Overlapping private CIDRs (renumbered into the target segments)",
                ["network", "CIDR", "overlaps with"],
                [[r.network, r.cidr, _list(r.overlaps_with)] for r in plan.renumbered],
            )
        )
    return out


def render_rich(plan: Plan, console: Console) -> None:
    for sec in sections(plan, system_rows=TERMINAL_SYSTEM_ROWS):
        table = Table(title=sec.title, title_justify="left", show_lines=False)
        for i, h in enumerate(sec.headers):
            # ids stay whole (grep-able); prose columns wrap
            table.add_column(h, overflow="fold", no_wrap=i == 0)
        for row in sec.rows:
            table.add_row(*row)
        console.print(table)
        if sec.note:
            console.print(f"[dim]{sec.note}[/]")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(plan: Plan) -> str:
    lines = [
        "# Consolidation plan",
        "",
        f"Derived from the census (digest `{plan.census_digest[:12]}`) by `onecloud plan`.",
        "",
    ]
    for sec in sections(plan):
        lines += [f"## {sec.title}", ""]
        if not sec.rows:
            lines += ["(none)", ""]
            continue
        lines.append("| " + " | ".join(sec.headers) + " |")
        lines.append("|" + "|".join("---" for _ in sec.headers) + "|")
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in sec.rows]
        if sec.note:
            lines += ["", sec.note]
        lines.append("")
    return "\n".join(lines)
