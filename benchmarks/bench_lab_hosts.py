"""Benchmark: bring N lab hosts up and down (default 50, 3 cycles) and print the seconds.

Needs root. Uses a lab dir of its own (a temporary one unless ONECLOUD_LAB_DIR is set) and
addresses in 198.19.224.0/20, away from the sample census, so a running lab is not disturbed.

    .venv/bin/python benchmarks/bench_lab_hosts.py [--hosts 50] [--cycles 3] [--ssh]

`--ssh` also times one `ssh true` per host (all in parallel) through the generated ssh_config.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _ssh_all(names: list[str], config: Path) -> tuple[float, int]:
    start = time.monotonic()

    def one(name: str) -> bool:
        cmd = ["ssh", "-F", str(config), "-o", "ControlMaster=no", name, "true"]
        return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        ok = sum(pool.map(one, names))
    return time.monotonic() - start, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--ssh", action="store_true", help="also time one ssh login per host")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_lab_hosts needs root (network namespaces)", file=sys.stderr)
        return 2
    own_dir = "ONECLOUD_LAB_DIR" not in os.environ
    if own_dir:
        os.environ["ONECLOUD_LAB_DIR"] = tempfile.mkdtemp(prefix="onecloud-bench-")

    from onecloud.labhosts._hosts import HostSpec, hosts_down, hosts_up, ssh_config_path

    specs = [
        HostSpec(f"bench-{i:03d}", f"198.19.{224 + i // 250}.{2 + i % 250}/20", role="target")
        for i in range(args.hosts)
    ]
    names = [s.name for s in specs]
    print(f"{args.hosts} hosts, {args.cycles} cycles, lab dir {os.environ['ONECLOUD_LAB_DIR']}")
    for cycle in range(1, args.cycles + 1):
        t0 = time.monotonic()
        statuses = hosts_up(specs)
        up = time.monotonic() - t0
        reachable = sum(s.reachable for s in statuses)
        line = f"cycle {cycle}: up {up:5.2f} s ({reachable}/{len(specs)} reachable)"
        if args.ssh:
            secs, ok = _ssh_all(names, ssh_config_path())
            line += f", ssh true on all {secs:5.2f} s ({ok}/{len(specs)} ok)"
        t0 = time.monotonic()
        again = hosts_up(specs)
        kept = sum(a.pid == b.pid for a, b in zip(again, statuses, strict=True))
        line += f", idempotent up {time.monotonic() - t0:4.2f} s ({kept} kept)"
        t0 = time.monotonic()
        hosts_down(names)
        line += f", down {time.monotonic() - t0:5.2f} s"
        print(line, flush=True)
    if own_dir:
        shutil.rmtree(os.environ["ONECLOUD_LAB_DIR"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
