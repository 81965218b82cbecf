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
    from onecloud.cli._labhosts import legacy_specs_of_census, reconcile_servers

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
        with console.status("servers") as spinner:
            servers = reconcile_servers(progress=lambda m: spinner.update(f"servers: {m}"))
        if servers.hosts:
            console.print(f"[green]servers[/green]: {len(servers.hosts)} on their own ports")
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
def targets() -> None:
    """Make every cloud server a host on its own Neutron port, and this machine the controller.

    Nova runs the fake driver, so nothing boots: each server of the lab cloud becomes an SSH
    host whose interface is the server's port (its tap on the network's bridge, its MAC and
    fixed IP), so Neutron's security groups and routers decide what reaches it. This machine
    gets a port on the management network and a route per segment through its router; hosts of
    servers that are gone are removed. `onecloud stack up|destroy` of a lab stack and
    `onecloud lab up` run this themselves; run it by hand after changing servers otherwise.
    """
    from rich.console import Console
    from rich.table import Table

    from onecloud.cli._labhosts import reconcile_servers

    console = Console()
    with console.status("servers") as spinner:
        servers = reconcile_servers(progress=lambda m: spinner.update(f"servers: {m}"))
    ctl = servers.controller
    console.print(
        f"controller: {ctl.address} (port {ctl.port_id[:8]}), routes: "
        + ", ".join(f"{c} via {v}" for c, v in ctl.routes.items())
        if ctl
        else "controller: no management network in the cloud (no stack declares one)",
        highlight=False,
    )
    table = Table(title="servers as hosts", title_justify="left")
    for col in ("host", "address", "port", "port status", "reachable"):
        table.add_column(col)
    for st in servers.hosts:
        port = st.port_id or "-"
        table.add_row(
            st.name,
            st.address,
            port[:8],
            servers.ports.get(port, "?"),
            "yes" if st.reachable else f"no: {st.detail}",
        )
    console.print(table)
    if servers.removed:
        console.print(f"removed: {', '.join(servers.removed)}", highlight=False)
