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
) -> None:
    """Check that each system's services run, ports listen, health URLs answer and data match;
    after a switch also that the source no longer serves. Exit 7 if a check failed."""
    import time

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from onecloud import paths
    from onecloud.contract import Ledger, phase_of
    from onecloud.errors import UsageError, VerificationError
    from onecloud.iac import systems_output
    from onecloud.migrate import MigrateRequest, load_plan, load_specs
    from onecloud.verify import verify_systems, write_junit

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
