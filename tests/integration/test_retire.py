"""`onecloud retire` for real on hosts of its own (rt-*, 198.18.50.0/24): a private census and
plan in tmp_path, ledger and state dir in tmp_path, the CLI as the user runs it.

- a zombie is retired: evidence recorded, archive read back against its manifest, services
  stopped and disabled, port closed (testinfra), a certificate in the ledger; a rerun is a
  no-op; `--restore` brings it back serving the same data;
- a system still in use (a fresh access-log entry, a client connected) is held: nothing stops;
- an archive corrupted between the copy and the read-back fails verification: nothing stops.

Needs root (lab hosts); never touches hosts it did not create.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import testinfra

from onecloud.census import load_census
from onecloud.cli._labhosts import legacy_specs_of_census
from onecloud.labhosts import hosts_down, hosts_up, ssh_config_path

pytestmark = pytest.mark.integration

ONECLOUD = str(Path(sys.executable).parent / "onecloud")
SITES = Path(__file__).resolve().parents[2] / "inventory" / "census" / "sites.yml"

NETWORKS = """networks:
  - id: rt-net
    name: retire test network
    department: rt
    cidrs: [198.18.50.0/24]
    classification: intranet
    egress: false
"""

DEPT = """department: {id: rt, name: 退役测试厅, level: province}
hosts:
  - {id: rt-zombie-01, address: 198.18.50.11, room: rt-room, network: rt-net, os: Debian 12,
     cpus: 1, memory_mb: 1024, disk_gb: 20}
  - {id: rt-busy-01, address: 198.18.50.12, room: rt-room, network: rt-net, os: Debian 12,
     cpus: 1, memory_mb: 1024, disk_gb: 20}
  - {id: rt-corrupt-01, address: 198.18.50.13, room: rt-room, network: rt-net, os: Debian 12,
     cpus: 1, memory_mb: 1024, disk_gb: 20}
systems:
  - id: rt-zombie
    name: 2019年统计填报
    workload: webapp
    hosts: [rt-zombie-01]
    status: zombie
    usage: {last_access: 2025-09-27, active_users: 0, cpu_percent: 0.3}
    audience: internal
    protection_level: 2
    data: {paths: [/srv/webapp/data], size_gb: 0.01}
    services: [{name: webapp, port: 8080, health_path: /health}]
    owner: 王芳
  - id: rt-busy
    name: 还在用的台账
    workload: ledgerapp
    hosts: [rt-busy-01]
    status: zombie
    usage: {last_access: 2025-06-01, active_users: 0, cpu_percent: 0.1}
    audience: internal
    protection_level: 2
    data:
      paths: [/srv/ledgerapp]
      size_gb: 0.01
      databases: [{engine: sqlite, name: /srv/ledgerapp/app.db, tables: [records]}]
    services: [{name: ledgerapp, port: 8081, health_path: /health}]
    owner: 陈明
  - id: rt-corrupt
    name: 归档会出错的系统
    workload: webapp
    hosts: [rt-corrupt-01]
    status: shadow
    usage: {last_access: 2026-10-20, active_users: 12, cpu_percent: 1.2}
    audience: internal
    protection_level: 1
    data: {paths: [/srv/webapp/data], size_gb: 0.01}
    services: [{name: webapp, port: 8080, health_path: /health}]
"""


def write_census(root: Path) -> Path:
    census = root / "census"
    census.mkdir(parents=True)
    sites = SITES.read_text(encoding="utf-8")
    head, _, rest = sites.partition("rooms:")
    _, _, tail = rest.partition("clouds:")
    sites = head + "rooms:\n  - {id: rt-room, name: 退役测试机房, department: rt}\n\nclouds:" + tail
    (census / "sites.yml").write_text(sites, encoding="utf-8")
    (census / "networks.yml").write_text(NETWORKS, encoding="utf-8")
    (census / "dept-rt.yml").write_text(DEPT, encoding="utf-8")
    return census


class RetireLab:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.census = write_census(root)
        self.plan = root / "plan.yml"
        self.ledger = root / "state" / "ledger.sqlite"
        self.env = dict(
            os.environ,
            ONECLOUD_STATE_DIR=str(root / "state"),
            ONECLOUD_LEDGER=str(self.ledger),
            COLUMNS="200",
        )

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ONECLOUD, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def retire(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cli("retire", "--plan", str(self.plan), *args)

    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(f"file:{self.ledger}?mode=ro", uri=True, timeout=10)
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()

    def state(self, system: str) -> str | None:
        rows = self.rows("SELECT state FROM retirements WHERE system_id = ?", system)
        return str(rows[0][0]) if rows else None


def host(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ssh://{name}", ssh_config=str(ssh_config_path()))


def digest(name: str, path: str) -> str:
    out = host(name).run(
        f"cd / && find {shlex.quote(path.lstrip('/'))} -type f -print0 | sort -z"
        " | xargs -0 sha256sum | sha256sum"
    )
    assert out.rc == 0, out.stderr
    return str(out.stdout).split()[0]


def http(ip: str, port: int, path: str) -> int:
    with urllib.request.urlopen(f"http://{ip}:{port}{path}", timeout=10) as r:
        return int(r.status)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RetireLab]:
    lab = RetireLab(tmp_path_factory.mktemp("retire"))
    r = lab.cli("plan", str(lab.census), "--out", str(lab.plan))
    assert r.returncode == 0, r.stdout + r.stderr
    specs = legacy_specs_of_census(load_census(lab.census), lab.census)
    assert {s.name for s in specs} == {"rt-zombie-01", "rt-busy-01", "rt-corrupt-01"}
    assert specs[2].workloads == ("webapp", "access-2025-09-27-1"), specs  # rt-zombie-01
    names = [s.name for s in specs]
    hosts_down(names)  # leftovers of an interrupted run of this test
    try:
        statuses = hosts_up(specs)
        assert all(s.reachable for s in statuses), statuses
        yield lab
    finally:
        hosts_down(names)


def test_a_zombie_is_retired_for_real_and_restored(lab: RetireLab) -> None:
    before = digest("rt-zombie-01", "/srv/webapp/data")
    dry = lab.retire("--system", "rt-zombie")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "dry-run" in dry.stdout and "would retire" in dry.stdout
    assert lab.state("rt-zombie") == "noticed"  # evidence and notice recorded, nothing done
    assert host("rt-zombie-01").service("webapp").is_running

    # the notice period runs (default 14 days): --confirm waits
    wait = lab.retire("--system", "rt-zombie", "--confirm", "--by", "王芳", "--reason", "unused")
    assert wait.returncode == 1, wait.stdout + wait.stderr
    assert "notice given" in wait.stdout

    r = lab.retire(
        "--system",
        "rt-zombie",
        "--confirm",
        "--by",
        "王芳",
        "--reason",
        "400 days without access",
        "--notice-days",
        "0",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "retired" in r.stdout
    assert lab.state("rt-zombie") == "retired"
    sql = "SELECT step FROM migration_events WHERE system_id = ? ORDER BY seq"
    steps = [e[0] for e in lab.rows(sql, "rt-zombie")]
    for step in ("evidence", "notice", "confirm", "archive", "shutdown", "release", "retire"):
        assert step in steps, steps
    (cert_id, digest_, by, body) = lab.rows(
        "SELECT certificate_id, manifest_digest, confirmed_by, body FROM retirement_certificates"
        " WHERE system_id = ?",
        "rt-zombie",
    )[0]
    assert by == "王芳" and len(str(digest_)) == 64
    cert = json.loads(str(body))
    assert cert["evidence"]["census"]["last_access"] == "2025-09-27"
    fresh = cert["evidence"]["fresh"]["rt-zombie-01"]
    assert fresh["last_access"].startswith("2025-09-27"), fresh
    assert cert["archive"]["hosts"]["rt-zombie-01"]["files"] >= 200
    assert cert["addresses_released"] == [{"host": "rt-zombie-01", "address": "198.18.50.11"}]
    store = lab.root / "state" / "archive" / "rt-zombie"
    assert (store / "rt-zombie-01" / "archive.tar").stat().st_size > 3_000_000
    assert (store / "certificate.json").exists()

    h = host("rt-zombie-01")
    assert not h.service("webapp").is_running
    assert not h.service("webapp").is_enabled
    assert not h.socket("tcp://198.18.50.11:8080").is_listening
    assert not h.file("/srv/webapp/data").exists  # the archive is the copy of record
    assert h.file("/etc/onecloud-retired").contains(str(digest_))

    again = lab.retire("--system", "rt-zombie", "--confirm", "--by", "x", "--reason", "again")
    assert again.returncode == 0 and "already retired" in again.stdout, again.stdout

    status = lab.retire("--status", "--system", "rt-zombie", "--events")
    assert status.returncode == 0 and str(cert_id) in status.stdout, status.stdout

    dry_restore = lab.retire("--restore", "rt-zombie")
    assert dry_restore.returncode == 0 and "would copy" in dry_restore.stdout
    restored = lab.retire("--restore", "rt-zombie", "--confirm", "--by", "ops", "--reason", "audit")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert lab.state("rt-zombie") == "restored"
    assert http("198.18.50.11", 8080, "/health") == 200
    assert host("rt-zombie-01").service("webapp").is_enabled
    assert digest("rt-zombie-01", "/srv/webapp/data") == before
    (restored_by,) = lab.rows(
        "SELECT restored_by FROM retirement_certificates WHERE certificate_id = ?", cert_id
    )[0]
    assert restored_by == "ops"


def test_a_system_still_in_use_is_held_and_nothing_stops(lab: RetireLab) -> None:
    assert http("198.18.50.12", 8081, "/records/1") == 200  # a fresh access-log entry
    with socket.create_connection(("198.18.50.12", 8081), timeout=10):  # a connected client
        r = lab.retire(
            "--system",
            "rt-busy",
            "--confirm",
            "--by",
            "陈明",
            "--reason",
            "zombie",
            "--notice-days",
            "0",
        )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "held" in r.stdout
    assert lab.state("rt-busy") == "held"
    (evidence,) = lab.rows("SELECT evidence FROM retirements WHERE system_id = ?", "rt-busy")[0]
    reasons = json.loads(str(evidence))["reasons"]
    assert any("after the census's last access 2025-06-01" in x for x in reasons), reasons
    assert any("established connection" in x for x in reasons), reasons
    h = host("rt-busy-01")
    assert h.service("ledgerapp").is_running and h.service("ledgerapp").is_enabled
    assert h.file("/srv/ledgerapp/app.db").exists
    assert http("198.18.50.12", 8081, "/health") == 200
    assert not (lab.root / "state" / "archive" / "rt-busy").exists()


def test_an_archive_that_fails_verification_shuts_nothing_down(
    lab: RetireLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    from onecloud.retire import RetireRequest, retire_systems

    for k in ("ONECLOUD_STATE_DIR", "ONECLOUD_LEDGER"):
        monkeypatch.setenv(k, lab.env[k])

    def corrupt(system: str, store: Path) -> None:
        tar = store / "rt-corrupt-01" / "archive.tar"
        with tar.open("r+b") as f:  # one byte inside the first file's data
            f.seek(2048)
            b = f.read(1)
            f.seek(2048)
            f.write(bytes([b[0] ^ 0xFF]))

    before = digest("rt-corrupt-01", "/srv/webapp/data")
    [out] = retire_systems(
        RetireRequest(
            systems=("rt-corrupt",),
            plan_path=lab.plan,
            confirm=True,
            by="ops",
            reason="shadow system",
            notice_days=0,
            after_copy=corrupt,
        )
    )
    assert out.status == "failed", out
    assert "failed verification" in out.detail and "nothing was shut down" in out.detail
    assert lab.state("rt-corrupt") == "failed"
    h = host("rt-corrupt-01")
    assert h.service("webapp").is_running and h.service("webapp").is_enabled
    assert h.socket("tcp://198.18.50.13:8080").is_listening
    assert digest("rt-corrupt-01", "/srv/webapp/data") == before
    assert not lab.rows("SELECT 1 FROM retirement_certificates WHERE system_id = ?", "rt-corrupt")
