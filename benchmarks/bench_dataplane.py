"""Speed of the lab's data plane, end to end: the commands a user runs, process start to exit.

Prints figures (median, min, max of the runs), asserts nothing about time. On the lab cloud
with the `lab` stack up (`make demo` leaves it so):

1. `onecloud lab up` with everything up (the warm, idempotent case);
2. `onecloud lab targets` with nothing to do (the reconciliation every `stack up` ends with);
3. a server whose host is gone (one target host removed): `onecloud lab targets` until that
   host answers SSH again, i.e. from the server's port existing to a host on it;
4. `onecloud stack up -s lab --yes` with no change (pulumi up, guardrails, reconciliation);
5. `onecloud verify --network --wave 1 --internet lab-internet` (every flow of wave 1).

`--cold` first destroys the stack (`onecloud stack destroy -s lab --yes --unprotect`) and times
`onecloud stack up -s lab --yes` from empty until every server's host answers SSH.
`--restart` also times `onecloud lab down` + `onecloud lab up` (a warm boot of the cloud).

Run: .venv/bin/python benchmarks/bench_dataplane.py [--runs 3] [--cold] [--restart]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONECLOUD = str(ROOT / ".venv" / "bin" / "onecloud")


def _run(*args: str) -> float:
    t0 = time.monotonic()
    r = subprocess.run([ONECLOUD, *args], capture_output=True, text=True, check=False)
    took = time.monotonic() - t0
    if r.returncode not in (0, 7):  # 7: a flow failed; still a timing
        sys.exit(f"`onecloud {' '.join(args)}` failed (exit {r.returncode}):\n{r.stderr[-2000:]}")
    return took


def _line(what: str, figure: str) -> None:
    print(f"{what:<62} {figure}")


def _print(what: str, times: list[float]) -> None:
    med, lo, hi = statistics.median(times), min(times), max(times)
    _line(what, f"median {med:6.2f} s  (min {lo:.2f}, max {hi:.2f}, n={len(times)})")


def _targets() -> list[str]:
    from onecloud.labhosts import hosts_status

    return sorted(h.name for h in hosts_status() if h.role == "target" and h.port_id)


def _ssh_ok(name: str) -> bool:
    from onecloud.labhosts import ssh_config_path

    cmd = ["ssh", "-F", str(ssh_config_path()), "-o", "ConnectTimeout=2", name, "true"]
    return subprocess.run(cmd, capture_output=True, timeout=30, check=False).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--restart", action="store_true")
    a = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from onecloud.labhosts import hosts_down

    if a.restart:
        t0 = time.monotonic()
        _run("lab", "down")
        down = time.monotonic() - t0
        up = _run("lab", "up")
        _line("lab down, then lab up (warm boot, hosts and servers)", f"{down:.1f} s + {up:.1f} s")
    if a.cold:
        _run("stack", "destroy", "-s", "lab", "--yes", "--unprotect")
        t0 = time.monotonic()
        _run("stack", "up", "-s", "lab", "--yes")
        names = _targets()
        while not all(_ssh_ok(n) for n in names):
            time.sleep(0.2)
        took = time.monotonic() - t0
        _line(f"stack up from empty until {len(names)} server hosts answer ssh", f"{took:.1f} s")
    names = _targets()
    if not names:
        sys.exit("the lab stack has no servers as hosts: run `make demo` (or --cold) first")
    print(f"lab stack: {len(names)} server host(s): {', '.join(names)}")
    _print("onecloud lab up (everything up)", [_run("lab", "up") for _ in range(a.runs)])
    _print("onecloud lab targets (nothing to do)", [_run("lab", "targets") for _ in range(a.runs)])
    replug = []
    for _ in range(a.runs):
        hosts_down([names[0]])
        t0 = time.monotonic()
        _run("lab", "targets")
        while not _ssh_ok(names[0]):
            time.sleep(0.1)
        replug.append(time.monotonic() - t0)
    _print(f"a server's host gone -> answers ssh again ({names[0]})", replug)
    _print(
        "onecloud stack up -s lab --yes (no change)",
        [_run("stack", "up", "-s", "lab", "--yes") for _ in range(a.runs)],
    )
    verify = ["verify", "--network", "--wave", "1", "--internet", "lab-internet"]
    _print(
        "onecloud verify --network --wave 1 --internet lab-internet",
        [_run(*verify) for _ in range(a.runs)],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
