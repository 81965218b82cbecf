"""`onecloud census check` and `onecloud census generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command()
def check(
    directory: Annotated[
        Path | None,
        typer.Argument(help="Census directory (default: inventory/census).", show_default=False),
    ] = None,
) -> None:
    """Validate the census; list every problem as file:line: what is wrong; how to fix it."""
    import time

    from rich.console import Console

    from onecloud import paths
    from onecloud.census import load_census

    started = time.perf_counter()
    census = load_census(directory or paths.census_dir())
    took = time.perf_counter() - started
    by_status: dict[str, int] = {}
    for s in census.systems:
        by_status[s.status] = by_status.get(s.status, 0) + 1
    statuses = ", ".join(f"{n} {k}" for k, n in sorted(by_status.items()))
    Console().print(
        f"[green]census ok[/]: {len(census.departments)} departments, "
        f"{len(census.systems)} systems ({statuses}), {len(census.hosts)} hosts, "
        f"{len(census.networks)} private networks, {len(census.sites.rooms)} machine rooms "
        f"[dim]({took * 1000:.0f} ms, digest {census.digest[:12]})[/]",
        highlight=False,
    )


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the census into.")],
    systems: Annotated[int, typer.Option("--systems", min=1, help="Number of systems.")] = 800,
    departments: Annotated[
        int, typer.Option("--departments", help="Departments (0: scale with systems).")
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same census.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Overwrite census files.")] = False,
) -> None:
    """Write a seeded, province-scale synthetic census (for benchmarks and tests)."""
    from rich.console import Console

    from onecloud.census import GeneratorSpec, write_census

    spec = GeneratorSpec(systems=systems, departments=departments or None, seed=seed)
    files = write_census(spec, out_dir, force=force)
    Console().print(
        f"wrote {len(files)} census files to {out_dir} ({systems} systems, seed {seed})"
    )
