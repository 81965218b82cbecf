"""`onecloud report`: progress by wave, city and department, from the plan and the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def app(
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", help="Plan file (default: inventory/plan.yml).", show_default=False),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            help="Ledger file or postgresql:// URL (default: $ONECLOUD_LEDGER, else the state "
            "dir's SQLite). Read only.",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="rich (terminal) or md (Markdown).")
    ] = "rich",
    out: Annotated[Path | None, typer.Option("--out", help="Write the report here.")] = None,
) -> None:
    """Show what moved, what is moving, what failed and what was retired."""
    from rich.console import Console

    from onecloud import paths
    from onecloud._files import write_atomic
    from onecloud.contract import LedgerView
    from onecloud.errors import UsageError
    from onecloud.plan import load_plan
    from onecloud.report import progress, render_markdown, render_rich

    if fmt not in ("rich", "md"):
        raise UsageError(f"unknown format {fmt!r}", hint="use --format rich or --format md")
    plan = load_plan(plan_file or paths.plan_file())
    report = progress(plan, LedgerView.read(ledger))
    if fmt == "md":
        text = render_markdown(report)
        if out:
            write_atomic(out, text)
        else:
            typer.echo(text)
    elif out:
        with out.open("w", encoding="utf-8") as f:
            render_rich(report, Console(file=f, width=140))
    else:
        render_rich(report, Console())
