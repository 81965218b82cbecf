"""`onecloud migrate`: move systems wave by wave (and `retire`, `status`, `unlock`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="rich",
    help=(
        "Move systems wave by wave: pre-flight, warm copy, freeze, final sync, switch, verify.\n\n"
        "  onecloud migrate --wave 1            migrate every system of wave 1\n"
        "  onecloud migrate --system edu-portal --dry-run\n"
        "  onecloud migrate status --wave 1     what the ledger says\n"
        "  onecloud migrate retire --system edu-portal --confirm"
    ),
)


@app.callback()
def migrate(
    ctx: typer.Context,
    wave: Annotated[int | None, typer.Option("--wave", "-w", help="Wave number.")] = None,
    system: Annotated[
        list[str] | None,
        typer.Option(
            "--system", "-s", help="System id (repeatable); with --wave: only these of the wave."
        ),
    ] = None,
    stack: Annotated[
        str | None, typer.Option("--stack", help="Only systems of this stack.")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Render the inventory and run the pre-flight; change nothing."
        ),
    ] = False,
    forks: Annotated[
        int, typer.Option("--forks", min=1, max=200, help="Hosts Ansible works on at once.")
    ] = 20,
    cutover_batch: Annotated[
        int,
        typer.Option(
            "--cutover-batch",
            min=1,
            max=500,
            help="Systems frozen and switched together; each one's downtime is its batch's time.",
        ),
    ] = 5,
    until: Annotated[
        str,
        typer.Option(
            "--until", help="Stop once systems reach this state (e.g. presynced: warm copy only)."
        ),
    ] = "completed",
    plan: Annotated[Path | None, typer.Option("--plan", help="Plan file.")] = None,
    ssh_config: Annotated[
        Path | None,
        typer.Option(
            "--ssh-config", help="ssh_config for Ansible and the pre-flight (default: the lab's)."
        ),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger", help="Ledger file or postgresql:// URL (default: the state dir's SQLite)."
        ),
    ] = None,
    no_verify: Annotated[
        bool,
        typer.Option("--no-verify", help="Skip the testinfra verification step (not recommended)."),
    ] = False,
) -> None:
    """Migrate the selected systems; exit 6 if any system failed (the ledger says why)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from onecloud.cli._board import LiveBoard, summary_table
    from onecloud.contract import RUN_TARGETS
    from onecloud.errors import MigrationError, UsageError
    from onecloud.iac import systems_output
    from onecloud.migrate import DryRun, MigrateRequest
    from onecloud.migrate import migrate as run_migration

    if until not in RUN_TARGETS:
        raise UsageError(
            f"--until {until!r} is not a state a run can stop at",
            hint="valid: " + ", ".join(RUN_TARGETS),
        )
    if wave is None and not system:
        raise UsageError("say what to migrate", hint="use --wave N and/or --system ID")
    console = Console()
    req = MigrateRequest(
        wave=wave,
        systems=tuple(system or ()),
        stack=stack,
        forks=forks,
        cutover_batch=cutover_batch,
        until=until,
        dry_run=dry_run,
        plan_path=plan,
        ssh_config=ssh_config,
        ledger=ledger,
        verify=not no_verify,
        read_outputs=systems_output,
    )
    board = LiveBoard(list(system or []))

    def say(msg: str) -> None:
        console.print(f"[dim]{msg}[/]", highlight=False)

    if dry_run:
        result = run_migration(req, say=say)
        assert isinstance(result, DryRun)
        table = Table(title="dry run: nothing was changed", title_justify="left")
        for col in ("system", "state", "steps to run", "pre-flight"):
            table.add_column(col, overflow="fold")
        for sid, state, steps, ok, problems in result.rows:
            table.add_row(
                sid,
                state,
                " -> ".join(steps) or "nothing",
                "[green]ok[/]" if ok else "[red]" + "; ".join(problems) + "[/]",
            )
        console.print(table)
        console.print(f"inventory: {result.inventory}")
        if not all(r[3] for r in result.rows):
            bad = [r[0] for r in result.rows if not r[3]]
            raise MigrationError(
                f"pre-flight failed for {', '.join(bad)}",
                hint="fix what the table says, then run again",
            )
        return
    # transient: the summary table below stays; an early error leaves no empty board behind
    with Live(board, console=console, refresh_per_second=4, transient=True):
        outcomes = run_migration(req, observer=board, say=say)
    assert not isinstance(outcomes, DryRun)
    console.print()
    console.print(summary_table(outcomes))
    skipped = [o.system for o in outcomes if o.verify_skipped]
    if skipped:
        console.print(
            f"[yellow]verification skipped (--no-verify): {len(skipped)} system(s) left"
            f" switched, not completed: {', '.join(skipped)}; run again without --no-verify"
            " to verify and complete them[/]",
            highlight=False,
        )
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise MigrationError(
            f"{len(failed)} of {len(outcomes)} system(s) failed: "
            + ", ".join(f"{o.system} ({o.step})" for o in failed),
            hint="see the table above and `onecloud migrate status --events`; fix the cause"
            " and run the same command again (it resumes)",
        )
    done = len(outcomes) - len(skipped)
    console.print(
        f"[green]{done} system(s) done[/]"
        + (f", {len(skipped)} switched awaiting verification" if skipped else "")
    )


@app.command("retire")
def retire_cmd(
    system: Annotated[str, typer.Option("--system", "-s", help="A completed system.")],
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Really archive and shut down the source(s).")
    ] = False,
    plan: Annotated[Path | None, typer.Option("--plan", help="Plan file.")] = None,
    ssh_config: Annotated[Path | None, typer.Option("--ssh-config")] = None,
    ledger: Annotated[str | None, typer.Option("--ledger")] = None,
) -> None:
    """Archive a completed system's data (with a checksum manifest) and shut its source down."""
    from rich.console import Console

    from onecloud.iac import systems_output
    from onecloud.migrate import retire

    state, sha = retire(
        system,
        confirm=confirm,
        plan_path=plan,
        ssh_config=ssh_config,
        ledger_url=ledger,
        read_outputs=systems_output,
    )
    Console().print(f"{system}: {state}; archive sha256 {sha}")


@app.command("status")
def status_cmd(
    wave: Annotated[int | None, typer.Option("--wave", "-w")] = None,
    system: Annotated[str | None, typer.Option("--system", "-s")] = None,
    events: Annotated[bool, typer.Option("--events", help="Show the audit trail.")] = False,
    ledger: Annotated[str | None, typer.Option("--ledger")] = None,
) -> None:
    """What the ledger says: each system's state, downtime and last error."""
    from rich.console import Console
    from rich.table import Table

    from onecloud.contract import Ledger

    console = Console()
    led = Ledger.open(ledger)
    try:
        recs = [r for r in led.systems(wave) if system is None or r.system_id == system]
        table = Table(title=f"ledger {led.where}", title_justify="left")
        for col in ("system", "wave", "state", "downtime", "updated", "last error"):
            table.add_column(col, overflow="fold")
        for r in recs:
            table.add_row(
                r.system_id,
                str(r.wave or "-"),
                r.state + (" [red](rollback pending)[/]" if r.rollback_pending else ""),
                f"{r.downtime_seconds:.1f} s" if r.downtime_seconds is not None else "-",
                r.updated_at,
                r.last_error or "",
            )
        console.print(table)
        if events:
            ev = Table(title="events", title_justify="left")
            for col in ("started", "system", "step", "outcome", "host", "task", "detail"):
                ev.add_column(col, overflow="fold")
            for r in recs:
                for e in led.events(r.system_id):
                    ev.add_row(
                        e.started_at,
                        e.system_id,
                        e.step,
                        e.outcome,
                        e.host or "",
                        e.task or "",
                        (e.detail or "")[:200],
                    )
            console.print(ev)
    finally:
        led.close()


@app.command("unlock")
def unlock_cmd(
    lock: Annotated[str, typer.Option("--lock", help="Lock name, e.g. wave:1.")],
    ledger: Annotated[str | None, typer.Option("--ledger")] = None,
) -> None:
    """Remove a wave lock whose runner is gone for good (check first that it is)."""
    from rich.console import Console

    from onecloud.contract import Ledger

    led = Ledger.open(ledger)
    try:
        held = led.force_unlock(lock)
    finally:
        led.close()
    Console().print(
        f"{lock}: "
        + (
            f"removed (was run {held.run_id}, pid {held.pid} on {held.hostname})"
            if held
            else "was not held"
        )
    )
