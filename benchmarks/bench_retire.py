"""Speed of `onecloud retire` end to end, the CLI as the user runs it, on lab hosts of its own.

N zombie systems (webapp, ~3.4 MB of seeded files each, an access log 400 days old) on hosts
rt-bench-NN at 198.18.50.101+ (needs root); a private census, plan, ledger and state dir in a
temporary directory. Prints the retire time per system, the archive throughput (MB/s, the
archive play's wall time for all systems) and the time of one restore. No assertions.

    .venv/bin/python benchmarks/bench_retire.py --systems 3
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from onecloud.census import load_census
from onecloud.cli._labhosts import legacy_specs_of_census
from onecloud.labhosts import hosts_down, hosts_up

ROOT = Path(__file__).resolve().parents[1]
ONECLOUD = str(Path(sys.executable).parent / "onecloud")


def census(root: Path, n: int) -> Path:
    c = root / "census"
    c.mkdir()
    sites = (ROOT / "inventory" / "census" / "sites.yml").read_text(encoding="utf-8")
    head, _, rest = sites.partition("rooms:")
    tail = rest.partition("clouds:")[2]
    rooms = "rooms:\n  - {id: rt-room, name: bench room, department: rtb}\n\nclouds:"
    (c / "sites.yml").write_text(head + rooms + tail, encoding="utf-8")
    (c / "networks.yml").write_text(
        "networks:\n  - {id: rt-net, name: bench, department: rtb, cidrs: [198.18.50.0/24],"
        " classification: intranet, egress: false}\n",
        encoding="utf-8",
    )
    hosts = "".join(
        f"  - {{id: rt-bench-{i:02d}, address: 198.18.50.{101 + i}, room: rt-room,"
        " network: rt-net, os: Debian 12, cpus: 1, memory_mb: 1024, disk_gb: 20}\n"
        for i in range(n)
    )
    systems = "".join(
        f"  - {{id: rt-bench-{i:02d}-sys, name: bench {i}, hosts: [rt-bench-{i:02d}],"
        " status: zombie, usage: {last_access: 2025-09-27, active_users: 0, cpu_percent: 0.3},"
        " audience: internal, protection_level: 2,"
        " data: {paths: [/srv/webapp/data], size_gb: 0.01},"
        " services: [{name: webapp, port: 8080, health_path: /health}]}\n"
        for i in range(n)
    )
    (c / "dept-rtb.yml").write_text(
        "department: {id: rtb, name: bench, level: province}\nhosts:\n"
        + hosts
        + "systems:\n"
        + systems,
        encoding="utf-8",
    )
    return c


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--systems", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-retire-") as tmp:
        root = Path(tmp)
        c = census(root, args.systems)
        plan = root / "plan.yml"
        env = dict(os.environ, ONECLOUD_STATE_DIR=str(root / "state"), COLUMNS="200")
        env["ONECLOUD_LEDGER"] = str(root / "state" / "ledger.sqlite")

        def cli(*a: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([ONECLOUD, *a], env=env, capture_output=True, text=True)

        assert cli("plan", str(c), "--out", str(plan)).returncode == 0
        specs = legacy_specs_of_census(load_census(c), c)
        names = [s.name for s in specs]
        hosts_down(names)
        try:
            t0 = time.monotonic()
            hosts_up(specs)
            print(f"{len(specs)} hosts up in {time.monotonic() - t0:.1f} s")
            t0 = time.monotonic()
            r = cli(
                "retire",
                "--plan",
                str(plan),
                "--wave",
                "1",
                "--confirm",
                "--by",
                "bench",
                "--reason",
                "benchmark",
                "--notice-days",
                "0",
            )
            total = time.monotonic() - t0
            if r.returncode != 0:
                print(r.stdout[-3000:], r.stderr[-3000:])
                return 1
            conn = sqlite3.connect(env["ONECLOUD_LEDGER"])
            size = sum(
                b for (b,) in conn.execute("SELECT archive_bytes FROM retirement_certificates")
            )
            details = [
                d
                for (d,) in conn.execute(
                    "SELECT detail FROM migration_events WHERE step = 'archive' AND outcome = 'ok'"
                )
            ]
            conn.close()
            rates = [float(d.rsplit("; ", 1)[1].split()[0]) for d in details]
            print(
                f"retire of {args.systems} systems (CLI, end to end): {total:.1f} s,"
                f" {total / args.systems:.1f} s per system"
            )
            print(
                f"archived {size / 1e6:.1f} MB; archive play throughput"
                f" {rates[0] if rates else 0:.1f} MB/s; end to end {size / 1e6 / total:.2f} MB/s"
            )
            t0 = time.monotonic()
            r = cli(
                "retire",
                "--plan",
                str(plan),
                "--restore",
                "rt-bench-00-sys",
                "--confirm",
                "--by",
                "bench",
            )
            print(f"restore of one system: {time.monotonic() - t0:.1f} s (rc {r.returncode})")
            print(
                json.dumps(
                    {
                        "systems": args.systems,
                        "retire_s": round(total, 2),
                        "archive_mb": round(size / 1e6, 2),
                    }
                )
            )
        finally:
            hosts_down(names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
