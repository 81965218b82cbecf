"""The `onecloud` command: the one error boundary.

Each part contributes a typer sub-application from its own `cli` module; this module wires them
and maps `OnecloudError` to a clear message and its exit code. `--traceback` shows the rest.

Exit codes: 0 ok; 1 failure reported by a command (e.g. a check failed); 2 usage; 3 census, plan
or config invalid; 4 toolchain; 5 lab; 6 migration; 7 verification; 130 interrupted.
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from rich.console import Console
from rich.text import Text

from onecloud import __version__
from onecloud.errors import OnecloudError

err = Console(stderr=True)

app = typer.Typer(
    name="onecloud",
    help=(
        "Consolidate a province's government IT onto one cloud.\n\n"
        "census check -> plan -> stack up -s <stack> -> migrate --wave N -> verify -> report"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

#: (sub-command, module holding `app`, short help); a part that is not built yet is skipped
_PARTS = [
    ("census", "onecloud.census.cli", "Check the census of systems (the single source of truth)."),
    ("plan", "onecloud.plan.cli", "Derive the consolidation plan from the census."),
    ("toolchain", "onecloud.toolchain.cli", "Build, cache and show the Pulumi toolchain."),
    ("stack", "onecloud.iac.cli", "Run Pulumi stacks through the project's toolchain."),
    ("lab", "onecloud.lab.cli", "The local lab: a real OpenStack and real SSH hosts."),
    ("migrate", "onecloud.migrate.cli", "Move systems wave by wave with Ansible."),
    ("verify", "onecloud.verify.cli", "Prove hosts and systems with testinfra."),
    ("report", "onecloud.report.cli", "Show progress of the programme."),
]

_state = {"traceback": False}


@app.callback()
def _root(
    traceback: bool = typer.Option(False, "--traceback", help="Show Python tracebacks on errors."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output (-vv)."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(f"onecloud {__version__}")
        raise typer.Exit()
    _state["traceback"] = traceback
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    for name, module, helptext in _PARTS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        sub = mod.app
        panel = "Set up" if name in ("toolchain", "lab") else "Workflow"
        if isinstance(sub, typer.Typer):
            app.add_typer(sub, name=name, help=helptext, rich_help_panel=panel)
        else:  # a single command function
            app.command(name=name, help=helptext, rich_help_panel=panel)(sub)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map errors to messages and exit codes."""
    if "--traceback" in (argv if argv is not None else sys.argv):
        _state["traceback"] = True
    try:
        rv = app(args=argv, standalone_mode=False)
    except OnecloudError as exc:
        if _state["traceback"]:
            err.print_exception()
        err.print(Text.assemble(("error: ", "bold red"), exc.message), highlight=False)
        if exc.hint:
            err.print(Text.assemble(("hint: ", "yellow"), exc.hint), highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("aborted")
        return 130
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            err.print(str(exc))
        return int(getattr(exc, "exit_code", 2))
    # with standalone_mode=False a command's `typer.Exit(n)` comes back as the return value
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
