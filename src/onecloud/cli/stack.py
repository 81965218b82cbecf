"""`onecloud stack up|preview|destroy|output -s NAME`: the pulumi CLI through the toolchain.

Every command uses the pinned engine and provider, the local state backend, the passphrase
secrets provider and the guardrails policy pack (`--no-policy` to skip it when debugging).
The lab's passphrase applies to the `lab` stack only: any other stack needs
PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE, or a KMS/Vault `secretsprovider:`
in its stack file) and otherwise stops with exit 4 before pulumi runs.
"""

from __future__ import annotations

import json

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

STACK = typer.Option(..., "--stack", "-s", help="Stack name: a stacks/Pulumi.<stack>.yaml exists.")
POLICY = typer.Option(True, "--policy/--no-policy", help="Run the guardrails policy pack.")


def _exit(run: object, stack: str) -> None:
    """A failed pulumi command is the command's failure: exit 1 with one line saying so."""
    from onecloud.errors import OnecloudError
    from onecloud.iac import PulumiRun

    assert isinstance(run, PulumiRun)
    if not run.ok:
        raise OnecloudError(
            f"pulumi {run.args[0]} of stack {stack} failed (exit {run.returncode}); "
            "the engine's diagnostics are above",
            hint=_HINTS.get(run.args[0], _HINTS["preview"]),
        )


_HINTS = {
    "preview": "policy violations name the rule and the system; config errors the key and file",
    "up": "policy violations name the rule and the system; config errors the key and file; "
    "a half-done up is resumed by running it again",
    "destroy": "data volumes are protected: save their data, then pass --unprotect "
    "(see docs/stacks.md, Destroying)",
}


@app.command()
def preview(
    stack: str = STACK,
    expect_no_changes: bool = typer.Option(
        False, "--expect-no-changes", help="Fail if anything would change."
    ),
    diff: bool = typer.Option(False, "--diff", help="Show property-level differences."),
    policy: bool = POLICY,
) -> None:
    """Show what `up` would change."""
    from onecloud.iac import StackCli

    _exit(
        StackCli().preview(stack, expect_no_changes=expect_no_changes, policy=policy, diff=diff),
        stack,
    )


@app.command()
def up(
    stack: str = STACK,
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
    expect_no_changes: bool = typer.Option(
        False, "--expect-no-changes", help="Fail if anything changes."
    ),
    refresh: bool = typer.Option(
        False, "--refresh", help="Refresh the state from the cloud first."
    ),
    policy: bool = POLICY,
) -> None:
    """Create or update the stack's resources (pulumi up)."""
    from onecloud.iac import StackCli

    runner = StackCli()
    run = runner.up(
        stack, yes=yes, expect_no_changes=expect_no_changes, policy=policy, refresh=refresh
    )
    _exit(run, stack)
    _servers(stack)


def _servers(stack: str) -> None:
    """On the lab cloud, every server becomes a host on its own port (`onecloud lab targets`)."""
    from onecloud.cli._labhosts import reconcile_if_lab

    servers = reconcile_if_lab(stack, progress=lambda m: typer.echo(f"lab: {m}", err=True))
    if servers is not None:
        active = sum(1 for v in servers.ports.values() if v == "ACTIVE")
        typer.echo(
            f"lab: {len(servers.hosts)} server(s) are hosts on their ports "
            f"({active} of {len(servers.ports)} ports ACTIVE)",
            err=True,
        )


@app.command()
def destroy(
    stack: str = STACK,
    yes: bool = typer.Option(False, "--yes", "-y", help="Destroy without asking."),
    unprotect: bool = typer.Option(
        False, "--unprotect", help="Unprotect every resource first (data volumes are protected)."
    ),
) -> None:
    """Delete the stack's resources. Data volumes are protected: pass --unprotect to delete them."""
    from onecloud.cli._labhosts import release_if_lab
    from onecloud.iac import StackCli

    release_if_lab(stack)
    _exit(StackCli().destroy(stack, yes=yes, unprotect=unprotect), stack)
    _servers(stack)


@app.command()
def output(
    stack: str = STACK,
    name: str = typer.Argument(None, help="One output (e.g. systems); all when omitted."),
) -> None:
    """Print the stack's outputs as JSON (what the migration runner reads)."""
    from onecloud.errors import UsageError
    from onecloud.iac import StackCli

    outs = StackCli().outputs(stack)
    if name is not None:
        if name not in outs:
            raise UsageError(
                f"stack {stack} has no output {name!r}", hint="outputs: " + ", ".join(sorted(outs))
            )
        outs = outs[name]
    typer.echo(json.dumps(outs, indent=2, sort_keys=True, ensure_ascii=False))


@app.command("list")
def list_stacks() -> None:
    """The stacks of the project (stacks/Pulumi.<stack>.yaml)."""
    from onecloud.iac import known_stacks

    for s in known_stacks():
        typer.echo(s)
