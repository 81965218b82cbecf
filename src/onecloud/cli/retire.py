"""`onecloud retire`: shut down the systems the plan retires (zombie, shadow, unused), with
evidence, notice, the owner's confirmation, a verified archive and a certificate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from onecloud.retire import RetireOutcome, StatusRow

_HELP = (
    "Retire the systems the plan retires (disposition retire: zombie, shadow, unused).\n\n"
    "Per system: fresh evidence of use from its hosts (access logs, connections, CPU) is"
    " compared with the census's; a system still in use is HELD (nothing stopped). Else a"
    " notice is given (--notice-days, default 14) and, with the owner's --confirm --by"
    " --reason, its data, database dumps, application files and access logs are archived"
    " to the controller ($ONECLOUD_STATE_DIR/archive/<system>/) with a sha256 manifest and"
    " read back; only a verified archive lets the shutdown run: services stopped and"
    " disabled, data removed, ports closed (testinfra), addresses released, a certificate"
    " in the ledger. Without --confirm it is a dry run that says what it would do.\n\n"
    "  onecloud retire --wave 1                     dry run: evidence and what would happen\n"
    "  onecloud retire --wave 1 --confirm --by 王芳 --reason '400 days unused'\n"
    "  onecloud retire --status [--system ID]       state, evidence, certificate\n"
    "  onecloud retire --restore ID --confirm --by NAME\n\n"
    "Exit codes: 0 done (or nothing to do, or a dry run), 1 a system is held or its notice"
    " runs, 2 usage, 3 plan/census invalid, 6 a retirement failed (the ledger says why)."
)

app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode="rich",
    help=_HELP,
)


@app.callback(help=_HELP, epilog=_HELP)
def retire(
    ctx: typer.Context,
    wave: Annotated[
        int | None, typer.Option("--wave", "-w", help="Every system of this wave the plan retires.")
    ] = None,
    system: Annotated[
        list[str] | None,
        typer.Option("--system", "-s", help="System id (repeatable); with --wave: only these."),
    ] = None,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Do it (the owner confirmed); else a dry run.")
    ] = False,
    by: Annotated[
        str | None, typer.Option("--by", help="Who confirms (recorded in the ledger).")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (recorded in the ledger).")
    ] = None,
    notice_days: Annotated[
        int,
        typer.Option(
            "--notice-days",
            min=0,
            help="Days between the notice (first run whose evidence agrees) and the shutdown;"
            " 0 when the owner waives it.",
        ),
    ] = 14,
    status: Annotated[
        bool, typer.Option("--status", help="Show each system's retirement and certificate.")
    ] = False,
    events: Annotated[
        bool, typer.Option("--events", help="With --status --system: the audit trail too.")
    ] = False,
    restore: Annotated[
        str | None,
        typer.Option("--restore", metavar="SYSTEM", help="Bring a retired system back."),
    ] = None,
    plan: Annotated[Path | None, typer.Option("--plan", help="Plan file.")] = None,
    census: Annotated[
        Path | None,
        typer.Option("--census", help="Census directory (default: the one beside the plan)."),
    ] = None,
    ssh_config: Annotated[
        Path | None, typer.Option("--ssh-config", help="ssh_config (default: the lab's).")
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger", help="Ledger file or postgresql:// URL (default: the state dir's)."
        ),
    ] = None,
    forks: Annotated[
        int, typer.Option("--forks", min=1, max=200, help="Hosts Ansible works on at once.")
    ] = 10,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console

    from onecloud.errors import UsageError

    console = Console()
    if sum(bool(x) for x in (status, restore)) > 1:
        raise UsageError("--status and --restore do not go together", hint="use one of them")
    if status:
        _status(console, plan, ledger, system or [], events)
        return
    if restore:
        if wave is not None or system:
            raise UsageError("--restore names its system", hint="drop --wave/--system")
        _restore(console, restore, confirm, by, reason, plan, ssh_config, ledger)
        return
    if wave is None and not system:
        raise UsageError("say what to retire", hint="use --wave N and/or --system ID")
    from onecloud.errors import ExitStatus
    from onecloud.retire import RetireRequest, retire_systems

    req = RetireRequest(
        wave=wave,
        systems=tuple(system or ()),
        plan_path=plan,
        census_dir=census,
        confirm=confirm,
        by=by,
        reason=reason,
        notice_days=notice_days,
        ssh_config=ssh_config,
        ledger=ledger,
        forks=forks,
    )

    def say(msg: str) -> None:
        console.print(f"[dim]{msg}[/]", highlight=False)

    with console.status("retire: starting") as spinner:

        def progress(msg: str) -> None:
            say(msg)
            spinner.update(f"retire: {msg}")

        outcomes = retire_systems(req, say=progress)
    _summary(console, outcomes)
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(int(ExitStatus.MIGRATION))
    if any(o.status in ("held", "waiting") for o in outcomes):
        raise typer.Exit(int(ExitStatus.FAILED))


_STYLE = {
    "restored": "cyan",
    "noticed": "cyan",
    "retired": "green",
    "already": "green",
    "dry-run": "cyan",
    "held": "yellow",
    "waiting": "yellow",
    "failed": "red",
}


def _summary(console: Console, outcomes: list[RetireOutcome]) -> None:
    from rich.table import Table

    table = Table(title="retire", title_justify="left")
    for col in ("system", "hosts", "outcome", "detail", "seconds"):
        table.add_column(col, overflow="fold")
    for o in outcomes:
        style = _STYLE.get(o.status, "")
        table.add_row(
            o.system,
            ", ".join(o.hosts),
            f"[{style}]{o.status}[/]",
            o.detail,
            f"{o.seconds:.1f}" if o.status == "retired" else "-",
        )
    console.print(table)
    for o in outcomes:
        if o.verdict is not None and o.verdict.notes:
            for note in o.verdict.notes:
                console.print(f"[dim]{o.system}: note: {note}[/]", highlight=False)
        if o.status == "dry-run":
            console.print(f"[cyan]{o.system}[/]: with --confirm it would:", highlight=False)
            for step in o.steps:
                console.print(f"  - {step}", highlight=False)
    if any(o.status == "dry-run" for o in outcomes):
        console.print("dry run: nothing was changed (the evidence and the notice are recorded)")


def _status(
    console: Console, plan: Path | None, ledger: str | None, systems: list[str], events: bool
) -> None:
    import json

    from rich.table import Table

    from onecloud.retire import events_of, retirement_status

    rows: list[StatusRow] = retirement_status(plan_path=plan, ledger_url=ledger, systems=systems)
    table = Table(title="retirements", title_justify="left")
    for col in ("system", "wave", "census", "state", "evidence", "confirmed", "certificate"):
        table.add_column(col, overflow="fold")
    for r in rows:
        rec = r.record
        evidence = "-"
        if rec is not None and rec.evidence:
            evidence = str(json.loads(rec.evidence).get("summary", "-"))
        confirmed = (
            f"{rec.confirmed_by} {(rec.confirmed_at or '')[:10]}"
            if rec and rec.confirmed_by
            else "-"
        )
        cert = "-"
        if r.certificate is not None:
            c = r.certificate
            cert = f"{c.certificate_id} (manifest {c.manifest_digest[:16]})"
            if c.restored_at:
                cert += f", restored {c.restored_at[:10]} by {c.restored_by}"
        state = rec.state if rec else "planned"
        table.add_row(
            r.system,
            str(r.wave),
            r.status,
            f"[{_STYLE[state]}]{state}[/]" if state in _STYLE else state,
            evidence,
            confirmed,
            cert,
        )
    console.print(table)
    for r in rows:
        if r.record is not None and r.record.last_error and r.record.state != "retired":
            console.print(f"[yellow]{r.system}[/]: {r.record.last_error}", highlight=False)
    if systems:
        for r in rows:
            if r.certificate is not None:
                console.print(f"certificate of {r.system}:", highlight=False)
                console.print_json(r.certificate.body)
            if events:
                trail = Table(title=f"{r.system}: audit trail", title_justify="left")
                for col in ("at", "step", "outcome", "detail"):
                    trail.add_column(col, overflow="fold")
                for e in events_of(r.system, ledger):
                    trail.add_row(e.started_at, e.step, e.outcome, e.detail or "")
                console.print(trail)


def _restore(
    console: Console,
    system: str,
    confirm: bool,
    by: str | None,
    reason: str | None,
    plan: Path | None,
    ssh_config: Path | None,
    ledger: str | None,
) -> None:
    from onecloud.retire import restore_system

    with console.status(f"restore {system}") as spinner:

        def say(msg: str) -> None:
            console.print(f"[dim]{msg}[/]", highlight=False)
            spinner.update(msg)

        out = restore_system(
            system,
            confirm=confirm,
            by=by,
            reason=reason,
            plan_path=plan,
            ssh_config=ssh_config,
            ledger_url=ledger,
            say=say,
        )
    style = {"restored": "green", "already": "green", "dry-run": "cyan"}[out.status]
    console.print(f"[{style}]{out.status}[/] {system}: {out.detail}", highlight=False)
    if out.status == "restored":
        console.print(f"[dim]restore took {out.seconds:.1f} s[/]")
