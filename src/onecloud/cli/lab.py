"""`onecloud lab up|status|down|env|targets`: the local lab (a real OpenStack and SSH hosts).

The cloud is `onecloud.labcloud`, the hosts `onecloud.labhosts`; what turns the census and the
plan into lab hosts is `onecloud.cli._labhosts`. Heavy imports stay inside the commands so
`onecloud --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command()
def up(
    no_hosts: bool = typer.Option(False, "--no-hosts", help="Bring up only the cloud."),
    census: Annotated[
        Path | None,
        typer.Option("--census", help="Census directory the legacy hosts come from."),
    ] = None,
) -> None:
    """Install what is missing and start the lab; if it is up already, only tightens the modes
    of its logs and secrets (0600 in 0700 directories)."""
    from rich.console import Console

    from onecloud import labcloud, labhosts, paths
    from onecloud.census import load_census
    from onecloud.cli._labhosts import legacy_specs_of_census

    console = Console()
    with console.status("lab cloud: checking") as spinner:

        def report(msg: str) -> None:
            console.log(f"lab cloud: {msg}", highlight=False)
            spinner.update(f"lab cloud: {msg}")

        result = labcloud.up(report=report)
    if result.already_up:
        fixed = [f"tightened {len(result.tightened)} file modes"] if result.tightened else []
        fixed += [f"masked passwords in {len(result.scrubbed)} logs"] if result.scrubbed else []
        done = "; ".join(fixed) or "nothing to do"
        console.print(f"[green]lab cloud already up[/green]: {done}")
    else:
        kind = "first boot" if result.first_boot else "restart"
        console.print(f"[green]lab cloud up[/green] in {result.seconds:.0f} s ({kind})")
    if not no_hosts:
        census_dir = census or paths.census_dir()
        specs = legacy_specs_of_census(load_census(census_dir), census_dir)
        with console.status("lab hosts") as spinner:
            found = labhosts.hosts_up(specs, progress=lambda m: spinner.update(f"lab hosts: {m}"))
        console.print(f"[green]lab hosts up[/green]: {len(found)} hosts reachable over SSH")
    env = labcloud.openstack_env()
    console.print(f"clouds.yaml: {result.clouds_yaml}", highlight=False)
    console.print(
        "use it: " + " ".join(f"export {k}={v};" for k, v in env.items()),
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def status() -> None:
    """Each service: PID, endpoint, whether it answers; and the hosts. Exit 1 if one is down."""
    from rich.console import Console
    from rich.table import Table

    from onecloud import labcloud, labhosts
    from onecloud.errors import LabError

    console = Console()
    rows = labcloud.status()
    table = Table(title="lab cloud", title_justify="left")
    for col in ("service", "pid", "endpoint", "answering", "detail"):
        table.add_column(col, no_wrap=col in ("service", "endpoint"))
    down: list[str] = []
    for s in rows:
        ok = s.running and s.answering
        if not ok:
            down.append(s.name)
        table.add_row(
            s.name,
            str(s.pid or "-"),
            s.endpoint,
            "[green]yes[/green]" if ok else "[red]no[/red]",
            s.detail,
        )
    console.print(table)
    found = labhosts.hosts_status()
    if found:
        htable = Table(title="lab hosts", title_justify="left")
        for col in ("host", "address", "pid", "reachable"):
            htable.add_column(col)
        for h in found:
            if not h.reachable:
                down.append(h.name)
            htable.add_row(
                h.name,
                str(h.address),
                str(h.pid or "-"),
                "[green]yes[/green]" if h.reachable else "[red]no[/red]",
            )
        console.print(htable)
    if down:
        # an error, not typer.Exit: the top-level CLI maps errors to exit codes
        raise LabError(
            f"lab: {len(down)} not answering: {', '.join(down)}",
            hint="`onecloud lab up` restarts what is missing; logs are in "
            f"{labcloud.default_settings().layout.log}",
        )


@app.command()
def down(
    purge: bool = typer.Option(False, "--purge", help="Also drop the databases and all state."),
) -> None:
    """Stop everything the lab started (hosts and cloud)."""
    from rich.console import Console

    from onecloud import labcloud, labhosts

    console = Console()
    labhosts.hosts_down(None, progress=lambda m: console.log(f"lab hosts: {m}"))
    stopped = labcloud.down(purge=purge, report=lambda m: console.log(f"lab cloud: {m}"))
    what = ", ".join(stopped) if stopped else "nothing was running"
    console.print(f"lab cloud down: {what}" + (" (databases and state removed)" if purge else ""))


@app.command()
def env() -> None:
    """Print shell exports that point openstacksdk, the openstack CLI and Pulumi at the lab."""
    from onecloud.labcloud import openstack_env

    for key, value in openstack_env().items():
        typer.echo(f"export {key}={value}")


@app.command()
def targets(
    stack: str = typer.Option("lab", "--stack", "-s", help="Workload stack of the servers."),
    wave: int | None = typer.Option(None, "--wave", "-w", help="Only the servers of this wave."),
    plan_file: Annotated[
        Path | None,
        typer.Option("--plan", help="Plan file (default: inventory/plan.yml).", show_default=False),
    ] = None,
) -> None:
    """Give every cloud server of the stack an SSH host at the fixed IP Neutron gave it.

    The lab's Nova runs the fake driver, so nothing boots: this step makes each server of the
    stack's `systems` output a real SSH host at exactly that address, so the migration targets
    what the stack says. Without stack outputs (no stack yet, nothing deployed) it uses the
    plan's planned addresses and says so; outputs that exist but cannot be read (wrong
    passphrase, state backend down) stop it with exit 4 instead.
    """
    from rich.console import Console
    from rich.table import Table

    from onecloud import paths
    from onecloud.cli._labhosts import ensure_target_hosts, target_specs
    from onecloud.iac import systems_output
    from onecloud.plan import load_plan

    plan = load_plan(paths.resolve(plan_file) if plan_file else paths.plan_file())
    ids = [
        s.id
        for s in plan.systems
        if s.disposition == "migrate" and (wave is None or s.wave == wave)
    ]
    outputs = systems_output(stack)
    _specs, origin = target_specs(plan, outputs, systems=ids)
    statuses = ensure_target_hosts(plan, outputs, systems=ids)
    src = f"stack {stack}'s outputs" if origin == "stack" else "the plan (the stack has no outputs)"
    table = Table(title=f"target hosts (addresses from {src})", title_justify="left")
    for col in ("host", "address", "reachable"):
        table.add_column(col)
    for st in statuses:
        table.add_row(st.name, st.address, "yes" if st.reachable else f"no: {st.detail}")
    Console().print(table)
