"""`onecloud plan`: derive the plan from the census, write it atomically, explain it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def app(
    census_dir: Annotated[
        Path | None,
        typer.Argument(help="Census directory (default: inventory/census).", show_default=False),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Plan file (default: plan.yml next to the census)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 if the plan file is not up to date."),
    ] = False,
    report: Annotated[
        str,
        typer.Option("--report", help="Report format: rich (terminal), md (Markdown) or none."),
    ] = "rich",
    report_file: Annotated[
        Path | None, typer.Option("--report-file", help="Write the report here instead.")
    ] = None,
    max_systems: Annotated[
        int, typer.Option("--max-systems-per-wave", min=1, help="Systems per wave at most.")
    ] = 40,
    max_data_gb: Annotated[
        float, typer.Option("--max-data-gb-per-wave", min=0.001, help="Data per wave at most.")
    ] = 2000.0,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Ignore the addresses of the existing plan file."),
    ] = False,
) -> None:
    """Derive the consolidation plan from the census (pure, deterministic) and write it."""
    import difflib
    import time

    from rich.console import Console

    from onecloud import paths
    from onecloud._files import write_atomic
    from onecloud.census import load_census
    from onecloud.errors import OnecloudError, PlanError, UsageError
    from onecloud.plan import (
        Options,
        build_plan,
        dump_plan,
        load_plan,
        render_markdown,
        render_rich,
    )

    if report not in ("rich", "md", "none"):
        raise UsageError(f"unknown report format {report!r}", hint="use rich, md or none")
    console = Console()
    status = Console(stderr=True)  # status lines apart from the report (`--report md > x.md`)
    census_path = census_dir or paths.census_dir()
    plan_path = out or paths.plan_file(census_path)
    started = time.perf_counter()
    census = load_census(census_path)
    previous = None
    if plan_path.exists() and not fresh:
        try:
            previous = load_plan(plan_path)
        except PlanError:
            previous = None  # an unreadable old plan only loses address stickiness
    plan = build_plan(census, Options(max_systems, max_data_gb), previous)
    text = dump_plan(plan)
    took = time.perf_counter() - started
    if check:
        old = plan_path.read_text(encoding="utf-8") if plan_path.exists() else ""
        if old != text:
            diff = list(
                difflib.unified_diff(
                    old.splitlines(), text.splitlines(), str(plan_path), "from census", n=1
                )
            )
            shown = "\n".join(diff[:60]) + ("\n..." if len(diff) > 60 else "")
            console.print(shown, markup=False, highlight=False)
            # exit code 1: a check that failed (OnecloudError's own code)
            raise OnecloudError(
                f"{plan_path} is out of date: the census gives another plan",
                hint="run `onecloud plan`, review the diff and commit both",
            )
        status.print(f"[green]{plan_path} is up to date[/] ({took * 1000:.0f} ms)")
        return
    old_text = plan_path.read_text(encoding="utf-8") if plan_path.exists() else None
    if old_text != text:
        write_atomic(plan_path, text)
        status.print(f"wrote {plan_path} ({took * 1000:.0f} ms)", highlight=False)
    else:
        status.print(f"{plan_path} already up to date ({took * 1000:.0f} ms)", highlight=False)
    if report == "md":
        md = render_markdown(plan)
        if report_file:
            write_atomic(report_file, md)
            status.print(f"wrote {report_file}", highlight=False)
        else:
            typer.echo(md)
    elif report == "rich":
        if report_file:
            with report_file.open("w", encoding="utf-8") as f:
                render_rich(plan, Console(file=f, width=120))
        else:
            render_rich(plan, console)
