"""The `onecloud` command: the top floor and the one error boundary.

Each command group is a module of this package (`census`, `plan`, `stack`, `migrate`, `verify`,
`retire`, `report`, and `lab`, `toolchain` for set-up); this module wires them and maps
`OnecloudError` to a clear message and its exit code (`onecloud.errors.ExitStatus`).
`--traceback` shows the rest. The command modules import only typer at load time and
everything else inside their commands (the one lazy-import pattern), so `onecloud --help`
stays fast. This package is also
the edge where the product meets the lab (`_labhosts`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from onecloud import __version__
from onecloud.cli import census, lab, migrate, plan, report, retire, stack, toolchain, verify
from onecloud.errors import ExitStatus, OnecloudError

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="onecloud",
    help=(
        "Consolidate a province's government IT onto one cloud.\n\n"
        "census check -> plan -> stack up -s <stack> -> migrate --wave N -> verify -> report\n\n"
        f"Exit codes: {ExitStatus.table()}."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

#: (sub-command, module holding `app`, short help, panel)
_PARTS = [
    ("census", census, "Check the census of systems (the single source of truth).", "Workflow"),
    ("plan", plan, "Derive the consolidation plan from the census.", "Workflow"),
    ("toolchain", toolchain, "Build, cache and show the Pulumi toolchain.", "Set up"),
    ("stack", stack, "Run Pulumi stacks through the project's toolchain.", "Workflow"),
    ("lab", lab, "The local lab: a real OpenStack and real SSH hosts.", "Set up"),
    ("migrate", migrate, "Move systems wave by wave with Ansible.", "Workflow"),
    ("verify", verify, "Prove hosts and systems with testinfra.", "Workflow"),
    ("retire", retire, "Retire zombie, shadow and unused systems, with evidence.", "Workflow"),
    ("report", report, "Show progress of the programme.", "Workflow"),
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
    import logging  # here, not at the top: `onecloud --help` never needs it

    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _err() -> Console:
    """The stderr console for errors (rich is imported only when there is one to print)."""
    from rich.console import Console

    return Console(stderr=True)


def _register() -> None:
    for name, module, helptext, panel in _PARTS:
        sub = module.app
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
        from rich.text import Text

        err = _err()
        if _state["traceback"]:
            err.print_exception()
        # soft_wrap: one problem stays one line (`file:line: message`) for tools reading it
        err.print(
            Text.assemble(("error: ", "bold red"), exc.message), highlight=False, soft_wrap=True
        )
        if exc.hint:
            err.print(
                Text.assemble(("hint: ", "yellow"), exc.hint), highlight=False, soft_wrap=True
            )
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        _err().print("aborted")
        return ExitStatus.INTERRUPTED
    except KeyboardInterrupt:
        _err().print("interrupted")
        return ExitStatus.INTERRUPTED
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            _err().print(str(exc))
        return int(getattr(exc, "exit_code", ExitStatus.USAGE))
    # with standalone_mode=False a command's `typer.Exit(n)` comes back as the return value
    return rv if isinstance(rv, int) else ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
