"""`onecloud report`: progress by wave, city and department, from the plan and the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FORMATS = ("rich", "md", "html", "json")
#: where `--format html` writes without --out (relative to the current directory)
DEFAULT_HTML = Path("reports") / "programme.html"


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
        str,
        typer.Option(
            "--format",
            help="rich (terminal), md (Markdown), html (self-contained dashboard, default file "
            "reports/programme.html) or json (the figures document the dashboard shows).",
        ),
    ] = "rich",
    out: Annotated[Path | None, typer.Option("--out", help="Write the report here.")] = None,
    today: Annotated[
        str | None,
        typer.Option(
            "--today",
            help="Judge deadlines as of this date (YYYY-MM-DD; default: today, UTC).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Show what moved, what is moving, what failed and what was retired."""
    import json
    from datetime import UTC, date, datetime

    from rich.console import Console

    from onecloud import paths
    from onecloud._files import write_atomic
    from onecloud.contract import LedgerView
    from onecloud.errors import UsageError
    from onecloud.plan import load_plan

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint="use --format rich, md, html or json")
    try:
        day = date.fromisoformat(today) if today else datetime.now(UTC).date()
    except ValueError as exc:
        raise UsageError(f"--today {today!r} is not a date", hint="use YYYY-MM-DD") from exc
    plan = load_plan(plan_file or paths.plan_file())
    view = LedgerView.read(ledger)
    if fmt in ("html", "json"):
        from onecloud.report import figures, render_html

        # the page is rendered from the serialized document, so html and json never disagree
        text = json.dumps(figures(plan, view, today=day), ensure_ascii=False, indent=1)
        if fmt == "json":
            if out:
                write_atomic(out, text + "\n")
            else:
                typer.echo(text)
            return
        target = out or DEFAULT_HTML
        write_atomic(target, render_html(json.loads(text)))
        typer.echo(f"wrote {target}")
        return

    from onecloud.report import progress, render_markdown, render_rich

    report = progress(plan, view)
    if fmt == "md":
        md = render_markdown(report)
        if out:
            write_atomic(out, md)
        else:
            typer.echo(md)
    elif out:
        with out.open("w", encoding="utf-8") as f:
            render_rich(report, Console(file=f, width=140))
    else:
        render_rich(report, Console())
