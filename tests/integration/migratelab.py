"""Helpers for the migration/verification integration tests: the lab cloud up, the `itest`
stack's servers, a private plan per test, its lab hosts, listeners on probed ports, and
observations of where a system serves and what data it holds.

The migration tests run on the lab's data plane: their targets are the servers of the `itest`
stack (stacks/Pulumi.itest.yaml, plan tests/fixtures/itest/plan.yml): the lab census's wave 1,
renamed, in projects of its own, on the `lab` stack's networks. The stack goes up once per test
session (`itest_up`) and down at its end (conftest.py). Every test gets fresh hosts for its
systems (the legacy sources at 198.18.40.0/24 and the servers' hosts on their own ports), its
own plan file (its wave), ledger and state dir; tests run one after the other. The controller
reaches the servers only over SSH through the management network, so every observation of a
server (health, records) is made from inside its host.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from onecloud import paths
from onecloud.cli._labhosts import legacy_specs, server_specs
from onecloud.labhosts._hosts import hosts_down, hosts_up, ssh_config_path
from onecloud.plan._io import HEADER, dump_plan, load_plan, write_plan
from onecloud.plan._models import Plan, PlannedSystem, ProjectPlan, Quota, SourceHost, TargetServer

FIXTURE_PLAN = Path(__file__).resolve().parents[1] / "fixtures" / "migrate" / "plan.yml"
ITEST_PLAN = Path(__file__).resolve().parents[1] / "fixtures" / "itest" / "plan.yml"
ITEST_STACK = "itest"
#: the systems of the itest stack, by kind; the index numbers their hosts
KINDS = ("civil-ledger", "edu-portal", "health-permits")
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
        return self.plan.system(f"{ITEST_STACK}-{kind}")

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
        return self.spawn_migrate_wave(self.wave, *args)

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


# -- the itest stack -------------------------------------------------------------------------------
def itest_plan() -> Plan:
    """The itest stack's plan (tests/fixtures/itest/plan.yml): the fixture's systems renamed,
    each with a source at 198.18.40.11+ and a server at its lab server's address + 100, in a
    project of its own under the city `itest` (parents `<cloud>-city-itest`: nothing the `lab`
    stack declares), with room for the tests. Regenerate: python tests/integration/migratelab.py"""
    fixture = load_plan(FIXTURE_PLAN)
    systems, projects = [], {}
    for i, kind in enumerate(KINDS):
        s = fixture.system(kind)
        src, tgt = s.sources[0], s.targets[0]
        project = f"{ITEST_STACK}-{s.project}"
        projects[project] = ProjectPlan(
            name=project,
            department=s.department,
            department_name=f"{s.department} (integration tests)",
            cloud=s.cloud,
            level="city",
            city=ITEST_STACK,
            quota=Quota(instances=2, cores=4, ram_mb=8192, volumes=2, gigabytes=4, floating_ips=2),
        )
        host = int(tgt.address.rsplit(".", 1)[1]) + 100
        systems.append(
            s.model_copy(
                update={
                    "id": f"{ITEST_STACK}-{kind}",
                    "project": project,
                    "stack": ITEST_STACK,
                    "wave": 1,
                    "sources": [
                        SourceHost(
                            **{
                                **src.model_dump(),
                                "id": f"itest-src{i}",
                                "address": f"198.18.40.{11 + i}",
                            }
                        )
                    ],
                    "targets": [
                        TargetServer(
                            **{
                                **tgt.model_dump(),
                                "name": f"itest-tgt{i}",
                                "address": f"{tgt.address.rsplit('.', 1)[0]}.{host}",
                            }
                        )
                    ],
                    "depends_on": [],
                }
            )
        )
    return fixture.model_copy(
        update={"systems": systems, "projects": sorted(projects.values(), key=lambda p: p.name)}
    )


def itest_plan_text() -> str:
    return (
        "# The itest stack's plan (stacks/Pulumi.itest.yaml): the migration tests' servers.\n"
        "# Derived from tests/fixtures/migrate/plan.yml by tests/integration/migratelab.py\n"
        "# (itest_plan); regenerate with `python tests/integration/migratelab.py`.\n"
    ) + dump_plan(itest_plan()).removeprefix(HEADER)


_ITEST_IS_UP = False


def _cli(*args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ONECLOUD, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def itest_up() -> None:
    """The lab cloud, the `lab` stack (its networks and the management path) and the `itest`
    stack up, the servers' hosts on their ports; once per test session."""
    global _ITEST_IS_UP
    if _ITEST_IS_UP:
        return
    assert ITEST_PLAN.read_text(encoding="utf-8") == itest_plan_text(), (
        f"{ITEST_PLAN} is stale: regenerate it with `python tests/integration/migratelab.py`"
    )
    lab_cloud_up()
    from onecloud.iac import StackCli

    if StackCli().resource_count("lab") == 0:
        r = _cli("stack", "up", "-s", "lab", "--yes")
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = _cli("stack", "up", "-s", ITEST_STACK, "--yes")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    _ITEST_IS_UP = True


def itest_down(*, leftovers: bool = True) -> None:
    """The `itest` stack destroyed, its servers' hosts with it: before the `lab` stack's
    networks go (test_stacks), and at the end of the session if this session brought it up.
    `leftovers`: also when an earlier (killed) session left it up."""
    global _ITEST_IS_UP
    from onecloud.iac import StackCli

    if not _ITEST_IS_UP and (not leftovers or StackCli().resource_count(ITEST_STACK) == 0):
        return
    r = _cli("stack", "destroy", "-s", ITEST_STACK, "--yes", "--unprotect")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    _ITEST_IS_UP = False


def _fresh_servers(names: list[str], disk_mb: int | None) -> None:
    """The servers' hosts recreated from scratch on their own ports (a fresh, empty target)."""
    from onecloud import labcloud

    settings = labcloud.default_settings()
    ports = [sp for sp in labcloud.server_ports(settings) if sp.server in names]
    assert sorted(sp.server for sp in ports) == sorted(names), (names, ports)
    specs = [dataclasses.replace(h, disk_mb=disk_mb) for h in server_specs(ports)]
    hosts_down(names)
    statuses = hosts_up(specs)
    assert all(s.reachable for s in statuses), statuses
    # the routers route the sources' subnet back through the controller (the copy path)
    labcloud.attach_controller(settings)


@contextmanager
def private_lab(
    tmp_path: Path,
    tag: str,
    kinds: list[str],
    *,
    wave: int,
    target_disk_mb: int | None = None,
    wave_of: dict[str, int] | None = None,
) -> Iterator[Lab]:
    """Fresh hosts for `kinds` (seeded sources, empty servers on the itest stack's ports), a
    plan file, a ledger and a state dir; the sources are removed afterwards. `wave_of`: kind ->
    wave for systems not in `wave` (one stack, several waves, one ledger). `tag` names the
    test's files."""
    itest_up()
    full = load_plan(ITEST_PLAN)
    systems = [
        full.system(f"{ITEST_STACK}-{k}").model_copy(update={"wave": (wave_of or {}).get(k, wave)})
        for k in kinds
    ]
    plan = full.model_copy(update={"systems": systems})
    plan_path = tmp_path / f"{tag}-plan.yml"
    write_plan(plan, plan_path)
    legacy = legacy_specs(plan)
    targets = [t.name for s in systems for t in s.targets]
    hosts_down([h.name for h in legacy])  # leftovers of an earlier test or a killed run
    statuses = hosts_up(legacy)
    assert all(s.reachable for s in statuses), statuses
    _fresh_servers(targets, target_disk_mb)
    ledger = tmp_path / "ledger.sqlite"
    env = dict(
        os.environ,
        ONECLOUD_STATE_DIR=str(tmp_path / "state"),
        ONECLOUD_LEDGER=str(ledger),
        COLUMNS="160",
    )
    try:
        yield Lab(tag, plan, plan_path, wave, env, ledger, [h.name for h in legacy] + targets)
    finally:
        hosts_down([h.name for h in legacy])
        inv = paths.PROJECT_ROOT / "inventory" / "generated" / ITEST_STACK
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


#: an HTTP request made inside a host to its own address (the lab's services bind to eth0's):
#: argv METHOD PORT PATH [JSON BODY]; prints the status (0: nothing answers), then the body
_HTTP = (
    "import subprocess, sys, urllib.error, urllib.request\n"
    "out = subprocess.run(['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'],"
    " capture_output=True, text=True).stdout\n"
    "addr = out.split()[3].split('/')[0]\n"
    "m, port, path = sys.argv[1:4]\n"
    "body = sys.argv[4].encode() if len(sys.argv) > 4 else None\n"
    "req = urllib.request.Request(f'http://{addr}:{port}{path}', data=body, method=m)\n"
    "try:\n"
    "    r = urllib.request.urlopen(req, timeout=3); print(r.status); print(r.read().decode())\n"
    "except urllib.error.HTTPError as e:\n"
    "    print(e.code)\n"
    "except OSError:\n"
    "    print(0)\n"
)


def _http(host: str, method: str, port: int, path: str, body: str | None = None) -> tuple[int, str]:
    """(status, body) of a request to a port of `host`, made on the host (0: nothing answers):
    the network admits no HTTP from the controller to a server."""
    argv = [method, str(port), path] + ([body] if body is not None else [])
    out = ssh(host, f"python3 -c {shlex.quote(_HTTP)} " + " ".join(map(shlex.quote, argv)))
    if out.returncode == 255 and "ssh:" in out.stderr:
        return 0, ""  # the host is unreachable (a cut cable): it serves nobody
    assert out.returncode == 0, f"{host}: {out.stderr}"
    status, _, text = out.stdout.partition("\n")
    return int(status), text


def health(host: str, port: int, path: str = "/health") -> int | None:
    """HTTP status of a health URL on `host`, None when nothing answers."""
    status, _ = _http(host, "GET", port, path)
    return status or None


def serving_places(system: PlannedSystem) -> list[str]:
    """The hosts (source and/or target) where every health URL of the system answers 200."""
    places = []
    for name in [h.id for h in system.sources] + [t.name for t in system.targets]:
        checks = [health(name, s.port, s.health_path) for s in system.services if s.health_path]
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


def post_record(host: str, payload: str, port: int = 8081) -> int:
    """POST a record to the sqlite workload (ledgerapp) on `host`; returns its id."""
    status, body = _http(host, "POST", port, "/records", json.dumps({"payload": payload}))
    assert status == 201, (host, status, body)
    return int(json.loads(body)["id"])


def get_record(host: str, record_id: int, port: int = 8081) -> dict[str, object] | None:
    """One record of the sqlite workload on `host`, None if it has no such record."""
    status, body = _http(host, "GET", port, f"/records/{record_id}")
    if status == 404:
        return None
    assert status == 200, (host, status, body)
    return dict(json.loads(body))


if __name__ == "__main__":
    ITEST_PLAN.parent.mkdir(parents=True, exist_ok=True)
    ITEST_PLAN.write_text(itest_plan_text(), encoding="utf-8")
    print(f"wrote {ITEST_PLAN}")
