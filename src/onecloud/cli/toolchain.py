"""`onecloud toolchain build|show|env|run`: the pinned Pulumi toolchain."""

from __future__ import annotations

import os
import shlex
import subprocess
import time

import typer

app = typer.Typer(no_args_is_help=True, help=__doc__)


@app.command()
def build() -> None:
    """Build the pinned Pulumi CLI, Python language host and OpenStack provider (cached).

    Honours GOPROXY, GOFLAGS, GONOSUMDB and GOPRIVATE, so an air-gapped site points them at its
    module mirror. Does nothing when the cache already holds this toolchain.
    """
    from rich.console import Console

    from onecloud import toolchain

    console = Console(stderr=True)
    if tc := toolchain.find():
        console.print(f"toolchain already built: {tc.bin_dir.parent}")
        return
    start = time.monotonic()
    with console.status("building the Pulumi toolchain (a cold build takes a few minutes)") as st:

        def progress(msg: str) -> None:
            st.update(msg)
            console.print(f"  {msg}")

        tc = toolchain.build(progress=progress)
    console.print(f"built in {time.monotonic() - start:.0f} s: {tc.bin_dir.parent}")


@app.command()
def show() -> None:
    """Print the pinned versions, where the toolchain is, and `pulumi version` / `plugin ls`."""
    from onecloud import toolchain

    typer.echo(f"pulumi (CLI, engine)      {toolchain.PULUMI_VERSION}")
    typer.echo(f"language host (sdk)       {toolchain.LANGHOST_SDK_VERSION}")
    typer.echo(f"openstack provider        {toolchain.OPENSTACK_PROVIDER_VERSION}")
    typer.echo(f"cache entry               {toolchain.toolchain_dir()}")
    tc = toolchain.find()
    if tc is None:
        typer.echo("state                     not built (run `onecloud toolchain build`)")
        raise typer.Exit(1)
    env = tc.env()
    typer.echo(f"backend                   {env['PULUMI_BACKEND_URL']}")
    for args in (["version"], ["plugin", "ls"]):
        typer.echo(f"\n$ pulumi {' '.join(args)}")
        subprocess.run([str(tc.pulumi), *args], env=env, check=False)


@app.command()
def env(
    lab: bool = typer.Option(
        False,
        "--lab",
        help="Also export the lab stack's (public) passphrase, for plain `pulumi -s lab`.",
    ),
) -> None:
    """Print shell exports that put the toolchain first: `eval "$(onecloud toolchain env)"`.

    No passphrase is exported: stacks other than the lab's need your own
    PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE). `--lab` adds the lab's, for
    a shell that works on the lab stack only.
    """
    from onecloud import toolchain

    tc = toolchain.ensure()
    full = tc.env()
    for key in (
        "PATH",
        "PULUMI_HOME",
        "PULUMI_BACKEND_URL",
        "PULUMI_SKIP_UPDATE_CHECK",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
        "VIRTUAL_ENV",
    ):
        typer.echo(f"export {key}={shlex.quote(full[key])}")
    given = [k for k in toolchain.PASSPHRASE_VARS if os.environ.get(k)]
    if given:
        typer.echo(f"# secrets: your {given[0]} is kept (it applies to every stack)")
    elif lab:
        typer.echo("# secrets: the lab stack's public passphrase; for the lab stack only")
        typer.echo(f"export PULUMI_CONFIG_PASSPHRASE={shlex.quote(toolchain.LAB_PASSPHRASE)}")
    else:
        typer.echo(
            "# secrets: PULUMI_CONFIG_PASSPHRASE is not set; stacks other than the lab's need it:"
        )
        typer.echo("#   export PULUMI_CONFIG_PASSPHRASE='<your passphrase>'")
        typer.echo("#   (or PULUMI_CONFIG_PASSPHRASE_FILE=<file>, or a KMS/Vault secrets provider)")
        typer.echo(
            "# `onecloud stack ... -s lab` needs nothing; for plain `pulumi -s lab` run "
            "`onecloud toolchain env --lab`"
        )
