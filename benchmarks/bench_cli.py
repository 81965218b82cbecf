"""Benchmark the `onecloud` command end to end, and reading the plan file (figures only).

    .venv/bin/python benchmarks/bench_cli.py                # 3 runs each, 800 and 10,000
    .venv/bin/python benchmarks/bench_cli.py --repeat 5 --sizes 800
    .venv/bin/python benchmarks/bench_cli.py --baseline     # also ruamel's load, for comparison

Each command runs as a subprocess (process start until it exits, its output written):
- `onecloud --help`;
- `onecloud plan --check` of the sample census against inventory/plan.yml;
- `onecloud report --format json` of an 800-system plan (generated in a temporary directory)
  with an empty ledger (ONECLOUD_LEDGER points into the temporary directory).
Then, in process, `load_plan` of a generated plan of each size (read, parse, validate).
Runs are one after another (never in parallel); the figure is the median wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONECLOUD = str(Path(sys.executable).parent / "onecloud")


def _median(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def _cli(args: list[str], env: dict[str, str]) -> Callable[[], object]:
    def run() -> object:
        return subprocess.run(
            [ONECLOUD, *args],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return run


def _write_plan(systems: int, out: Path) -> None:
    from onecloud.census._generate import GeneratorSpec, generate
    from onecloud.census._loader import census_from_data
    from onecloud.plan import build_plan, write_plan

    write_plan(build_plan(census_from_data(generate(GeneratorSpec(systems=systems)))), out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=[800, 10000])
    parser.add_argument("--baseline", action="store_true", help="also time ruamel's load")
    args = parser.parse_args()

    from onecloud.plan import load_plan

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        d = Path(tmp)
        env = {**os.environ, "ONECLOUD_LEDGER": str(d / "ledger.sqlite"), "COLUMNS": "100"}
        plans = {}
        for n in sorted({800, *args.sizes}):
            plans[n] = d / f"plan-{n}.yml"
            _write_plan(n, plans[n])
        rows = [
            ("onecloud --help", _cli(["--help"], env)),
            ("onecloud plan --check (sample)", _cli(["plan", "--check", "--report", "none"], env)),
            (
                "onecloud report --format json (800)",
                _cli(["report", "--plan", str(plans[800]), "--format", "json"], env),
            ),
        ]
        for label, fn in rows:
            print(f"{label:<40} {_median(fn, args.repeat):7.3f} s")
        for n in args.sizes:
            size = plans[n].stat().st_size / 1e6
            took = _median(lambda n=n: load_plan(plans[n]), args.repeat)
            print(f"{f'load_plan, {n} systems ({size:.1f} MB)':<40} {took:7.3f} s")
            if args.baseline:
                from onecloud.plan._io import _validate, _yaml

                text = plans[n].read_text(encoding="utf-8")
                took = _median(lambda t=text: _validate(_yaml().load(t), "plan"), 1)
                print(f"{f'  ruamel + validate, {n} systems':<40} {took:7.3f} s")
    loadavg = Path("/proc/loadavg")
    load = loadavg.read_text().split()[0] if loadavg.exists() else "?"
    print(f"(median wall seconds of {args.repeat} runs; load average {load})")


if __name__ == "__main__":
    main()
