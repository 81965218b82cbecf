"""Benchmark: migrate many lab systems at once, then verify all their hosts.

Prints figures; asserts nothing about time. Needs root and the lab's host packages.

    .venv/bin/python benchmarks/bench_migrate.py [--systems 25] [--forks 25]
                                                 [--cutover-batch 5] [--keep]

N web-application systems (the lab's `webapp` workload, ~200 files each) move from N legacy
hosts to N target hosts in one wave: pre-flight, warm copy, freeze, final sync, switch,
testinfra verification. Reported: systems per minute, each system's downtime (source stopped
until target healthy), the copy rate of the migration's rsync against a plain rsync between the
same hosts, and the time `onecloud verify` takes on all 2N hosts.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_PLAN = ROOT / "tests" / "fixtures" / "migrate" / "plan.yml"


def build_plan(n: int, net: int, wave: int):  # -> Plan
    from onecloud.plan._io import load_plan
    from onecloud.plan._models import SourceHost, TargetServer

    base = load_plan(FIXTURE_PLAN)
    web = base.system("edu-portal")
    systems = []
    for i in range(n):
        systems.append(
            web.model_copy(
                update={
                    "id": f"bench-web-{i:02d}",
                    "wave": wave,
                    "stack": "bench",
                    "sources": [
                        SourceHost(
                            **{
                                **web.sources[0].model_dump(),
                                "id": f"bench-src{i:02d}",
                                "address": f"198.18.{net}.{11 + i}",
                            }
                        )
                    ],
                    "targets": [
                        TargetServer(
                            **{
                                **web.targets[0].model_dump(),
                                "name": f"bench-tgt{i:02d}",
                                "address": f"198.19.{net}.{11 + i}",
                            }
                        )
                    ],
                    "depends_on": [],
                }
            )
        )
    return base.model_copy(update={"systems": systems})


def ssh(cfg: Path, host: str, cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", str(cfg), host, cmd], capture_output=True, text=True, check=False, timeout=300
    )


def plain_rsync(cfg: Path, src: str, tgt: str, tgt_ip: str) -> tuple[int, float]:
    """A plain rsync of the same data between the same hosts (own temporary key, same
    transport); returns (bytes, seconds of the rsync alone)."""
    key = ssh(
        cfg, src, "d=$(mktemp -d); ssh-keygen -q -t ed25519 -N '' -f $d/k; echo $d; cat $d/k.pub"
    ).stdout.split("\n", 1)
    tmp, pub = key[0].strip(), key[1].strip()
    hostkey = ssh(cfg, tgt, "cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.strip()
    ssh(cfg, tgt, f"echo {shlex.quote(pub)} >> /root/.ssh/authorized_keys")
    cmd = (
        f"echo {shlex.quote(tgt_ip + ' ' + hostkey)} > {tmp}/kh; "
        f"s=$(date +%s%N); rsync -a --stats -e 'ssh -i {tmp}/k -o IdentitiesOnly=yes"
        f" -o UserKnownHostsFile={tmp}/kh -o StrictHostKeyChecking=yes'"
        f" /srv/webapp/data/ root@{tgt_ip}:/srv/plaincopy/ | grep 'Total bytes sent';"
        f" e=$(date +%s%N); echo ms $(( (e - s) / 1000000 )); rm -rf {tmp}"
    )
    out = ssh(cfg, src, cmd).stdout
    ssh(cfg, tgt, "sed -i '$d' /root/.ssh/authorized_keys; rm -rf /srv/plaincopy")
    sent = int(re.search(r"Total bytes sent: ([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    ms = int(re.search(r"ms (\d+)", out).group(1))  # type: ignore[union-attr]
    return sent, ms / 1000


def report(
    plan, plan_path: Path, ledger_path: Path, cfg: Path, n: int, forks: int, batch: int
) -> None:
    from onecloud.contract._ledger import Ledger
    from onecloud.contract._spec import build_spec
    from onecloud.migrate._orchestrate import MigrateRequest, migrate
    from onecloud.verify._verify import verify_systems

    # plain rsync between the same pairs, all at once, before the migration
    pairs = [(s.sources[0].id, s.targets[0].name, s.targets[0].address) for s in plan.systems]
    t = time.monotonic()
    with ThreadPoolExecutor(max_workers=n) as ex:
        plain = list(ex.map(lambda p: plain_rsync(cfg, *p), pairs))
    plain_wall = time.monotonic() - t
    plain_bytes = sum(b for b, _ in plain)

    t = time.monotonic()
    outcomes = migrate(
        MigrateRequest(
            wave=60, plan_path=plan_path, forks=forks, cutover_batch=batch, ledger=str(ledger_path)
        )
    )
    wall = time.monotonic() - t
    assert isinstance(outcomes, list)
    ok = [o for o in outcomes if o.ok]
    for o in outcomes:
        if not o.ok:
            print(f"FAILED {o.system}: {o.step} on {o.host}: {o.message}")
    downs = sorted(o.downtime for o in ok if o.downtime is not None)
    led = Ledger.open(ledger_path)
    copies = []
    for s in plan.systems:
        for e in led.events(s.id):
            m = re.search(r"copied (\d+) bytes in (\d+) ms", e.detail or "")
            if e.step == "presync" and e.outcome == "ok" and m:
                copies.append((int(m.group(1)), int(m.group(2)) / 1000))
    led.close()
    print(
        f"\nmigration of {n} systems (forks {forks}, cutover batch {batch}): "
        f"{len(ok)}/{n} completed "
        f"in {wall:.1f} s -> {len(ok) / wall * 60:.1f} systems/minute"
    )
    if downs:
        print(
            f"downtime per system (freeze -> target healthy): min {downs[0]:.1f} s, "
            f"median {statistics.median(downs):.1f} s, max {downs[-1]:.1f} s"
        )
        print("  each: " + ", ".join(f"{d:.1f}" for d in downs))
    if copies:
        mig_bytes = sum(b for b, _ in copies)
        print(
            f"warm copy in the migration: {mig_bytes / 1e6:.1f} MB over {len(copies)} "
            f"rsyncs; per rsync median {statistics.median(x for _, x in copies):.2f} s; "
            f"aggregate {mig_bytes / 1e6 / max(x for _, x in copies):.1f} MB/s "
            "(bytes / slowest rsync)"
        )
    print(
        f"plain rsync, same hosts, all at once: {plain_bytes / 1e6:.1f} MB; per rsync "
        f"median {statistics.median(x for _, x in plain):.2f} s; aggregate "
        f"{plain_bytes / 1e6 / max(x for _, x in plain):.1f} MB/s "
        f"({plain_wall:.1f} s wall with key setup)"
    )

    specs = [build_spec(s, None) for s in plan.systems]
    t = time.monotonic()
    results = verify_systems([(s, "migrated") for s in specs], cfg, workers=32)
    took = time.monotonic() - t
    hosts = {r.check.host for r in results}
    print(
        f"verification: {len(results)} checks on {len(hosts)} hosts in {took:.1f} s "
        f"({sum(r.ok for r in results)} passed)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--systems", type=int, default=25)
    ap.add_argument("--forks", type=int, default=25)
    ap.add_argument(
        "--cutover-batch",
        type=int,
        default=5,
        help="Systems frozen and switched together (Ansible serial).",
    )
    ap.add_argument("--keep", action="store_true", help="Leave the hosts up afterwards.")
    args = ap.parse_args()
    n = args.systems

    from onecloud.cli._labhosts import legacy_specs, target_specs
    from onecloud.labhosts._hosts import hosts_down, hosts_up, ssh_config_path
    from onecloud.plan._io import write_plan

    work = Path(tempfile.mkdtemp(prefix="onecloud-bench-"))
    os.environ["ONECLOUD_STATE_DIR"] = str(work / "state")
    ledger_path = work / "ledger.sqlite"
    plan = build_plan(n, net=60, wave=60)
    plan_path = work / "plan.yml"
    write_plan(plan, plan_path)
    legacy = legacy_specs(plan)
    targets, _ = target_specs(plan, None)
    names = [s.name for s in legacy + targets]
    hosts_down(names)
    t = time.monotonic()
    statuses = hosts_up(legacy + targets)
    print(
        f"lab: {len(statuses)} hosts up in {time.monotonic() - t:.1f} s "
        f"({sum(s.reachable for s in statuses)} reachable)"
    )
    cfg = ssh_config_path()
    try:
        report(plan, plan_path, ledger_path, cfg, n, args.forks, args.cutover_batch)
    finally:
        if not args.keep:
            hosts_down(names)
    print(f"(work dir {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
