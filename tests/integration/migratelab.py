"""Helpers for the migration/verification integration tests: the lab cloud up, a private plan
per test, its lab hosts, listeners on probed ports, and observations of where a system serves
and what data it holds.

Each test gets its own systems, hosts, addresses, wave, stack and ledger (renamed copies of the
lab census's wave 1), so tests never disturb each other, the demo or other engineers' hosts.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from onecloud import paths
from onecloud.cli._labhosts import ensure_target_hosts, legacy_specs, target_specs
from onecloud.labhosts._hosts import hosts_down, ssh_config_path
from onecloud.plan._io import load_plan, write_plan
from onecloud.plan._models import Plan, PlannedSystem, SourceHost, TargetServer

FIXTURE_PLAN = Path(__file__).resolve().parents[1] / "fixtures" / "migrate" / "plan.yml"
ONECLOUD = str(Path(sys.executable).parent / "onecloud")


@dataclass
class Lab:
    tag: str
    plan: Plan
    plan_path: Path
    wave: int
    env: dict[str, str]
    ledger_path: Path
    host_names: list[str]

    def system(self, kind: str) -> PlannedSystem:
        """kind: edu-portal (webapp), civil-ledger (sqlite), health-permits (postgresql)."""
        return self.plan.system(f"{self.tag}-{kind}")

    # -- running the CLI ----------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [ONECLOUD, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def migrate(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return self.cli(
            "migrate",
            "--wave",
            str(self.wave),
            "--plan",
            str(self.plan_path),
            *args,
            timeout=timeout,
        )

    def spawn_migrate_wave(self, wave: int, *args: str) -> subprocess.Popen[str]:
        """A runner on `wave` (a lab whose systems are split over waves: `wave_of`)."""
        return subprocess.Popen(
            [ONECLOUD, "migrate", "--wave", str(wave), "--plan", str(self.plan_path), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def spawn_migrate(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [ONECLOUD, "migrate", "--wave", str(self.wave), "--plan", str(self.plan_path), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    # -- the ledger, read as an auditor would ---------------------------------------------------
    def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        if not self.ledger_path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.ledger_path}?mode=ro", uri=True, timeout=10)
        try:
            return list(conn.execute(sql, params))
        except sqlite3.OperationalError:
            return []
        finally:
            conn.close()

    def state(self, system: str) -> tuple[str, int, str | None]:
        rows = self.rows(
            "SELECT state, rollback_pending, last_error FROM migration_systems WHERE system_id = ?",
            system,
        )
        return rows[0] if rows else ("planned", 0, None)  # type: ignore[return-value]

    def events(self, system: str) -> list[tuple[str, str, str | None, str | None, str | None]]:
        return self.rows(
            "SELECT step, outcome, host, task, detail FROM migration_events"  # type: ignore[return-value]
            " WHERE system_id = ? ORDER BY seq",
            system,
        )

    def wait_for_event(self, system: str, step: str, outcome: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e[0] == step and e[1] == outcome for e in self.events(system)):
                return
            time.sleep(0.05)
        raise AssertionError(
            f"{system}: no {step}/{outcome} event within {timeout} s: {self.events(system)}"
        )


def _renamed(
    plan: Plan,
    tag: str,
    kinds: list[str],
    net: int,
    wave: int,
    wave_of: dict[str, int] | None = None,
) -> Plan:
    systems = []
    for i, kind in enumerate(kinds):
        s = plan.system(kind)
        src = s.sources[0]
        tgt = s.targets[0]
        systems.append(
            s.model_copy(
                update={
                    "id": f"{tag}-{kind}",
                    "wave": (wave_of or {}).get(kind, wave),
                    "stack": f"itest-{tag}",
                    "sources": [
                        SourceHost(
                            **{
                                **src.model_dump(),
                                "id": f"{tag}-src{i}",
                                "address": f"198.18.{net}.{11 + i}",
                            }
                        )
                    ],
                    "targets": [
                        TargetServer(
                            **{
                                **tgt.model_dump(),
                                "name": f"{tag}-tgt{i}",
                                "address": f"198.19.{net}.{11 + i}",
                            }
                        )
                    ],
                    "depends_on": [],
                }
            )
        )
    return plan.model_copy(update={"systems": systems})


@contextmanager
def private_lab(
    tmp_path: Path,
    tag: str,
    kinds: list[str],
    *,
    net: int,
    wave: int,
    target_disk_mb: int | None = None,
    wave_of: dict[str, int] | None = None,
) -> Iterator[Lab]:
    """Hosts for `kinds` (fresh, seeded), a plan file, a ledger and a state dir; hosts are
    removed afterwards. `wave_of`: kind -> wave for systems not in `wave` (one stack, several
    waves, one ledger)."""
    plan = _renamed(load_plan(FIXTURE_PLAN), tag, kinds, net, wave, wave_of)
    plan_path = tmp_path / "plan.yml"
    write_plan(plan, plan_path)
    legacy = legacy_specs(plan)
    targets, _ = target_specs(plan, None, disk_mb=target_disk_mb)
    names = [s.name for s in legacy + targets]
    hosts_down(names)  # leftovers of a killed run
    from onecloud.labhosts._hosts import hosts_up

    statuses = hosts_up(legacy)
    assert all(s.reachable for s in statuses), statuses
    ensure_target_hosts(plan, None, disk_mb=target_disk_mb)
    ledger = tmp_path / "ledger.sqlite"
    env = dict(
        os.environ,
        ONECLOUD_STATE_DIR=str(tmp_path / "state"),
        ONECLOUD_LEDGER=str(ledger),
        COLUMNS="160",
    )
    try:
        yield Lab(tag, plan, plan_path, wave, env, ledger, names)
    finally:
        hosts_down(names)
        inv = paths.PROJECT_ROOT / "inventory" / "generated" / f"itest-{tag}"
        subprocess.run(["rm", "-rf", str(inv)], check=False)


def lab_cloud_up() -> Path:
    """The lab cloud up (its clouds.yaml); waits while another `onecloud lab` command holds
    the machine's lock, fails (never skips) when it cannot come up."""
    from onecloud.errors import LabError
    from onecloud.labcloud import ensure_up

    deadline = time.monotonic() + 900
    while True:
        try:
            return ensure_up()
        except LabError as exc:
            if "another `onecloud lab` command" not in exc.message or time.monotonic() > deadline:
                raise
            time.sleep(10)


_LISTENER = "onecloud-itest-listener"
_LISTEN = (
    f"# {_LISTENER}\n"
    "import socket, sys, selectors\n"
    "sel = selectors.DefaultSelector()\n"
    "for p in sys.argv[1:]:\n"
    "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "    try: s.bind(('0.0.0.0', int(p)))\n"
    "    except OSError: continue  # a real service has it (a migrated system)\n"
    "    s.listen(64); sel.register(s, selectors.EVENT_READ)\n"
    "while True:\n"
    "    for key, _ in sel.select():\n"
    "        c, _a = key.fileobj.accept(); c.close()\n"
)
#: matches the listener's command line, not the shell's that kills it
_UNLISTEN = f"pkill -f '[{_LISTENER[0]}]{_LISTENER[1:]}'; true"


def listen(host: str, ports: list[int]) -> None:
    """A listener on every port of `ports` on `host` that nothing serves yet (sshd has 22),
    replacing an earlier one: what a probe then observes is the network's doing."""
    args = " ".join(str(p) for p in ports if p != 22)
    assert ssh(host, _UNLISTEN).returncode == 0
    cmd = (
        f"setsid nohup python3 -c {shlex.quote(_LISTEN)} {args} </dev/null >/dev/null 2>&1 & "
        "sleep 0.5"
    )
    assert ssh(host, cmd).returncode == 0


def unlisten(host: str) -> None:
    ssh(host, _UNLISTEN)


# -- observations --------------------------------------------------------------------------------
def ssh(host: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", str(ssh_config_path()), host, command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def health(address: str, port: int, path: str = "/health") -> int | None:
    """HTTP status of a health URL, None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://{address}:{port}{path}", timeout=3) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return None


def serving_places(system: PlannedSystem) -> list[str]:
    """The hosts (source and/or target) where every health URL of the system answers 200."""
    places = []
    candidates = [(h.id, h.address) for h in system.sources] + [
        (t.name, t.address) for t in system.targets
    ]
    for name, address in candidates:
        checks = [health(address, s.port, s.health_path) for s in system.services if s.health_path]
        if checks and all(c == 200 for c in checks):
            places.append(name)
    return places


def tree_digest(host: str, paths_: list[str]) -> str:
    script = (paths.PROJECT_ROOT / "playbooks" / "files" / "tree_digest.sh").read_text()
    out = ssh(host, f"bash -c {shlex.quote(script)} d " + " ".join(map(shlex.quote, paths_)))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def row_counts(host: str, system: PlannedSystem) -> dict[str, int]:
    code = (paths.PROJECT_ROOT / "playbooks" / "files" / "row_counts.py").read_text()
    dbs = [d.model_dump() for d in system.data.databases]
    out = ssh(host, f"python3 -c {shlex.quote(code)} {shlex.quote(json.dumps(dbs))}")
    assert out.returncode == 0, out.stderr
    return {k: int(v) for k, v in json.loads(out.stdout).items()}


def data_fingerprint(host: str, system: PlannedSystem) -> tuple[str, dict[str, int]]:
    """What must not be lost: the data trees' digest and the tables' row counts on `host`.
    (PostgreSQL must be running there for its counts.)"""
    digest = tree_digest(host, list(system.data.paths)) if system.data.paths else ""
    counts = row_counts(host, system) if system.data.databases else {}
    return digest, counts


def post_record(address: str, payload: str, port: int = 8081) -> int:
    """POST a record to the sqlite workload (ledgerapp) at `address`; returns its id."""
    req = urllib.request.Request(
        f"http://{address}:{port}/records",
        data=json.dumps({"payload": payload}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 201
        return int(json.loads(resp.read())["id"])


def get_record(address: str, record_id: int, port: int = 8081) -> dict[str, object] | None:
    """One record of the sqlite workload at `address`, None if it has no such record."""
    try:
        with urllib.request.urlopen(
            f"http://{address}:{port}/records/{record_id}", timeout=5
        ) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise
