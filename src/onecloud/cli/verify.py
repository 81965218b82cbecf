"""`onecloud verify`: prove systems with testinfra, in parallel, with JUnit XML for CI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def app(
    wave: Annotated[int | None, typer.Option("--wave", "-w", help="Wave number.")] = None,
    system: Annotated[
        list[str] | None, typer.Option("--system", "-s", help="System id (repeatable).")
    ] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")] = None,
    phase: Annotated[
        str,
        typer.Option("--phase", help="auto (from the ledger), legacy (sources serve) or migrated."),
    ] = "auto",
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=256, help="Checks run at once.")
    ] = 16,
    plan: Annotated[Path | None, typer.Option("--plan", help="Plan file.")] = None,
    ssh_config: Annotated[
        Path | None, typer.Option("--ssh-config", help="ssh_config (default: the lab's).")
    ] = None,
    ledger: Annotated[str | None, typer.Option("--ledger")] = None,
    network: Annotated[
        bool,
        typer.Option(
            "--network",
            help="Prove the network instead: the plan's flows that must work and must fail,"
            " tried with TCP connections from the servers.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --network: list the flows, probe nothing.")
    ] = False,
    internet: Annotated[
        str | None,
        typer.Option(
            "--internet",
            help="With --network: the internet, as an address (egress is probed to it) or as a"
            " host of the ssh_config (then also the floating IPs from it; the lab's is"
            " lab-internet).",
        ),
    ] = None,
    management_cidr: Annotated[
        list[str] | None,
        typer.Option(
            "--management-cidr",
            help="With --network: management CIDRs ssh is allowed from (repeatable; default"
            " the onecloud:managementCidrs of the stacks carrying the systems).",
        ),
    ] = None,
) -> None:
    """Check that each system's services run, ports listen, health URLs answer and data match;
    after a switch also that the source no longer serves. With --network, that the plan's
    flows work and nothing else does. Exit 7 if a check or a flow failed."""
    import time

    if network:
        _network(
            wave=wave,
            system=system,
            junit=junit,
            workers=workers,
            plan=plan,
            ssh_config=ssh_config,
            dry_run=dry_run,
            internet=internet,
            management_cidrs=management_cidr or [],
        )
        return

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from onecloud import paths
    from onecloud.contract import Ledger, phase_of
    from onecloud.errors import UsageError, VerificationError
    from onecloud.iac import systems_output
    from onecloud.migrate import MigrateRequest, load_plan, load_specs
    from onecloud.verify import verify_systems, write_junit

    if dry_run or internet is not None or management_cidr:
        raise UsageError("--dry-run, --internet and --management-cidr go with --network")
    if phase not in ("auto", "legacy", "migrated"):
        raise UsageError(f"--phase {phase!r} is unknown", hint="valid: auto, legacy, migrated")
    if wave is None and not system:
        raise UsageError("say what to verify", hint="use --wave N and/or --system ID")
    console = Console()
    the_plan = load_plan(plan)
    req = MigrateRequest(wave=wave, systems=tuple(system or ()), read_outputs=systems_output)
    specs, _ = load_specs(the_plan, req)
    chosen = []
    led = Ledger.open(ledger) if phase == "auto" else None
    try:
        for s in specs:
            if phase != "auto":
                chosen.append((s, phase))
                continue
            assert led is not None
            rec = led.system(s.id)
            chosen.append((s, phase_of(rec.state) if rec else "legacy"))
    finally:
        if led is not None:
            led.close()
    t0 = time.monotonic()
    with console.status(f"verifying {len(chosen)} system(s)..."):
        results = verify_systems(
            chosen,  # type: ignore[arg-type]
            ssh_config or paths.ssh_config(),
            workers=workers,
        )
    took = time.monotonic() - t0
    table = Table(title="verification", title_justify="left")
    for col in ("system", "check", "result", "detail"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(
            r.check.system,
            r.check.name,
            Text("pass", style="green") if r.ok else Text("FAIL", style="bold red"),
            r.detail,
        )
    console.print(table)
    hosts = {r.check.host for r in results}
    failed = [r for r in results if not r.ok]
    console.print(
        f"{len(results) - len(failed)}/{len(results)} checks passed on {len(hosts)} "
        f"host(s) in {took:.1f} s " + ", ".join(f"{s.id}: {ph}" for s, ph in chosen)
    )
    if junit is not None:
        console.print(f"JUnit XML: {write_junit(junit, results)}")
    if failed:
        raise VerificationError(
            f"{len(failed)} of {len(results)} checks failed: "
            + "; ".join(f"{r.check.name}: {r.detail}" for r in failed[:5])
            + (" ..." if len(failed) > 5 else ""),
            hint="the table above lists every check; JUnit XML with --junit FILE",
        )


def _network(
    *,
    wave: int | None,
    system: list[str] | None,
    junit: Path | None,
    workers: int,
    plan: Path | None,
    ssh_config: Path | None,
    dry_run: bool,
    internet: str | None,
    management_cidrs: list[str],
) -> None:
    """`onecloud verify --network`: derive the flows, probe them (unless dry), report."""
    import ipaddress
    import time

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from onecloud import paths
    from onecloud.contract import select_systems
    from onecloud.errors import UsageError, VerificationError
    from onecloud.iac import stack_management_cidrs, systems_output
    from onecloud.migrate import load_plan
    from onecloud.verify import derive_flows, probe_flows, write_flows_junit

    if wave is None and not system:
        raise UsageError("say what to verify", hint="use --wave N and/or --system ID")
    internet_host = None
    if internet is not None and not _is_address(internet):
        where = ssh_config or paths.ssh_config() or Path.home() / ".ssh" / "config"
        internet_host, internet = internet, _ssh_address(where, internet)
    try:
        for c in management_cidrs:
            ipaddress.IPv4Network(c, strict=False)
    except ValueError as exc:
        raise UsageError(f"--management-cidr: {exc}") from exc
    console = Console()
    the_plan = load_plan(plan)
    chosen = select_systems(the_plan, wave=wave, system_ids=list(system or ()) or None)
    # the servers' real addresses: every stack that carries a migrated system
    outputs: dict[str, object] = {}
    stacks = sorted({s.stack or "lab" for s in the_plan.systems if s.disposition == "migrate"})
    for st in stacks:
        outputs.update(systems_output(st) or {})
    if not management_cidrs:
        management_cidrs = sorted({c for st in stacks for c in stack_management_cidrs(st)})
    flows = derive_flows(
        the_plan,
        [s.id for s in chosen],
        outputs=outputs or None,
        management_cidrs=management_cidrs,
        internet=internet,
        internet_host=internet_host,
    )
    origin = "the stack outputs" if outputs else "the plan's planned addresses"
    must_work = sum(1 for f in flows if f.expect == "open")
    if dry_run:
        table = Table(title=f"network flows (addresses from {origin})", title_justify="left")
        for col in ("source", "destination", "port", "expect", "why"):
            table.add_column(col, overflow="fold")
        for f in flows:
            table.add_row(
                f"{f.source_host} ({f.source_address})",
                f"{f.dest_host} ({f.dest_address})",
                str(f.port),
                f.expect,
                f.why,
            )
        console.print(table)
        console.print(
            f"{len(flows)} flows: {must_work} must work, {len(flows) - must_work} must fail;"
            " nothing probed (--dry-run)"
        )
        return
    t0 = time.monotonic()
    with console.status(f"probing {len(flows)} flow(s)..."):
        results = probe_flows(flows, ssh_config or paths.ssh_config(), workers=workers)
    took = time.monotonic() - t0
    table = Table(title=f"network verification ({origin})", title_justify="left")
    for col in ("source", "destination", "port", "expected", "observed", "verdict", "why"):
        table.add_column(col, overflow="fold")
    for r in results:
        f = r.flow
        table.add_row(
            f.source_host,
            f"{f.dest_host} ({f.dest_address})",
            str(f.port),
            f.expect,
            f"{r.observed}: {r.detail}",
            Text("pass", style="green") if r.ok else Text(r.verdict, style="bold red"),
            f.why,
        )
    console.print(table)
    failed = [r for r in results if not r.ok]
    sources = {f.source_host for f in flows}
    console.print(
        f"{len(results) - len(failed)}/{len(results)} flows as expected ({must_work} must work,"
        f" {len(flows) - must_work} must fail) from {len(sources)} host(s) in {took:.1f} s"
    )
    if junit is not None:
        console.print(f"JUnit XML: {write_flows_junit(junit, results)}")
    if failed:
        raise VerificationError(
            f"{len(failed)} of {len(results)} flows failed: "
            + "; ".join(f"{r.flow.name}: {r.verdict}" for r in failed[:5])
            + (" ..." if len(failed) > 5 else ""),
            hint="the table above lists every flow; JUnit XML with --junit FILE",
        )


def _is_address(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _ssh_address(ssh_config: Path, alias: str) -> str:
    """The address an ssh_config gives a host alias; UsageError when it gives none."""
    import paramiko

    from onecloud.errors import UsageError

    try:
        found = paramiko.SSHConfig.from_path(str(ssh_config)).lookup(alias).get("hostname", "")
    except OSError as exc:
        raise UsageError(f"--internet {alias}: cannot read {ssh_config}: {exc}") from exc
    if not _is_address(found):
        raise UsageError(
            f"--internet {alias}: neither an IPv4 address nor a host with an address in "
            f"{ssh_config}",
            hint="give the internet's address, or the lab's host: --internet lab-internet",
        )
    return found
