"""The lab's SSH hosts, for real: 3 legacy hosts with the three workloads and 1 target host on
another subnet, reached over SSH with testinfra through the generated ssh_config (host-key
checking on), then torn down without leftovers.

Runs in the machine's lab (paths.lab_dir()) beside whatever hosts are already up there, with
its own names (it-*) and subnets (198.18.250.0/24, 198.19.250.0/24). Needs root; fails (does
not skip) when the hosts cannot come up.
"""

from __future__ import annotations

import http.client
import json
import subprocess
from pathlib import Path

import pytest
import testinfra

from onecloud.errors import UsageError
from onecloud.labhosts import _netns
from onecloud.labhosts._hosts import (
    HostSpec,
    hosts_dir,
    hosts_down,
    hosts_status,
    hosts_up,
    known_hosts_path,
    ssh_config_path,
)
from onecloud.labhosts._model import netns_name, veth_name

pytestmark = pytest.mark.integration

WEB = HostSpec("it-web-01", "198.18.250.11/24", workloads=("webapp",))
LEDGER = HostSpec("it-ledger-01", "198.18.250.12/24", workloads=("sqlite",), disk_mb=128)
PERMITS = HostSpec("it-permits-01", "198.18.250.13/24", workloads=("postgresql",))
TARGET = HostSpec("it-target-01", "198.19.250.23/24", role="target", disk_mb=256)
SPECS = [WEB, LEDGER, PERMITS, TARGET]
NAMES = [s.name for s in SPECS]


def _http(ip: str, port: int, path: str, method: str = "GET") -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection(ip, port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def _host(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ssh://{name}", ssh_config=str(ssh_config_path()))


def _check_common(spec: HostSpec) -> str:
    """What every host must be: itself, SysV, its own disk; returns its machine-id."""
    host = _host(spec.name)
    assert host.check_output("hostname") == spec.name
    assert host.socket(f"tcp://{spec.ip}:22").is_listening
    assert not host.file("/usr/bin/systemctl").exists
    assert not host.file("/.dockerenv").exists
    assert host.file("/etc/init.d").is_directory
    assert host.mount_point("/srv").filesystem == "tmpfs"
    assert host.mount_point("/srv").device == f"/dev/lab/{spec.name}/srv"
    size_kb = int(host.check_output("df -k --output=size /srv | tail -1"))
    assert size_kb == spec.srv_mb * 1024
    for tool in ("python3", "rsync", "sqlite3", "psql"):
        assert host.exists(tool), tool
    machine_id = host.file("/etc/machine-id").content_string.strip()
    assert host.file("/var/lib/dbus/machine-id").content_string.strip() == machine_id
    # processes are private: PID 1 is the host's own sshd
    assert host.check_output("readlink /proc/1/exe") == "/usr/sbin/sshd"
    # ... run as `init`, so Ansible's service_mgr fact says sysvinit
    assert host.file("/proc/1/comm").content_string.strip() == "init"
    return machine_id


def _check_web() -> None:
    host = _host(WEB.name)
    svc = host.service("webapp")
    assert svc.is_running and svc.is_enabled
    assert host.socket(f"tcp://{WEB.ip}:8080").is_listening
    assert int(host.check_output("find /srv/webapp/data -type f | wc -l")) == 201
    status, body = _http(WEB.ip, 8080, "/health")
    assert status == 200 and body["files"] == 201


def _check_ledger() -> None:
    host = _host(LEDGER.name)
    assert host.service("ledgerapp").is_running
    assert host.socket(f"tcp://{LEDGER.ip}:8081").is_listening
    count = "sqlite3 /srv/ledgerapp/app.db 'SELECT count(*) FROM records'"
    assert int(host.check_output(count)) == 10_000
    status, body = _http(LEDGER.ip, 8081, "/records", "POST")
    assert status == 201
    assert int(host.check_output(count)) == 10_001
    assert _http(LEDGER.ip, 8081, f"/records/{body['id']}")[0] == 200
    assert _http(LEDGER.ip, 8081, "/health") == (200, {"service": "ledgerapp", "records": 10_001})


def _check_permits() -> None:
    host = _host(PERMITS.name)
    assert host.service("postgresql").is_running
    assert host.service("permitsapp").is_running and host.service("permitsapp").is_enabled
    assert host.socket(f"tcp://{PERMITS.ip}:8082").is_listening
    rows = host.check_output(
        "runuser -u postgres -- psql -tAc 'SELECT count(*) FROM permits' permits"
    )
    assert int(rows) == 100_000
    assert _http(PERMITS.ip, 8082, "/health") == (
        200,
        {"service": "permitsapp", "permits": 100_000},
    )


def _check_target_reaches_legacy_with_rsync() -> None:
    """The target (another subnet) pulls the web data from the legacy host with rsync over SSH,
    as a migration does: a temporary key on the target, authorised on the source."""
    target, web = _host(TARGET.name), _host(WEB.name)
    assert not target.service("webapp").is_running  # targets get no workloads
    target.check_output("ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/it_sync")
    pub = target.file("/root/.ssh/it_sync.pub").content_string.strip()
    web.check_output(f"echo '{pub}' >> /root/.ssh/authorized_keys")
    ssh = (
        "ssh -i /root/.ssh/it_sync -o StrictHostKeyChecking=accept-new"
        " -o UserKnownHostsFile=/root/.ssh/it_known_hosts"
    )
    target.check_output(f"rsync -a -e '{ssh}' root@{WEB.ip}:/srv/webapp/ /srv/webapp/")
    digest = "cd /srv/webapp && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum"
    assert target.check_output(digest) == web.check_output(digest)


def _leftovers() -> list[str]:
    found = []
    namespaces = _netns.netns_names("ocl-")
    links = _netns.link_names("oclv")
    for name in NAMES:
        if netns_name(name) in namespaces:
            found.append(f"netns {netns_name(name)}")
        if veth_name(name) in links:
            found.append(f"veth {veth_name(name)}")
    return found


def test_hosts_up_serve_workloads_over_ssh_and_leave_nothing_when_down() -> None:
    hosts_down(NAMES)  # a previous run killed half-way
    try:
        statuses = hosts_up(SPECS)
        assert [s.name for s in statuses] == NAMES
        assert all(s.reachable and s.pid for s in statuses), statuses
        pids = {s.name: s.pid for s in statuses}
        assert statuses[0].services == {"webapp": True}

        # every tool checks host keys: known_hosts has each host under its alias and address
        known = known_hosts_path().read_text()
        for spec in SPECS:
            assert f"{spec.name},{spec.ip} ssh-ed25519 " in known
        for dest in (TARGET.name, TARGET.ip):  # by alias, and by address like an inventory
            plain_ssh = subprocess.run(
                ["ssh", "-F", str(ssh_config_path()), "-o", "ControlMaster=no", dest, "hostname"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            assert plain_ssh.returncode == 0, plain_ssh.stderr
            assert plain_ssh.stdout.strip() == TARGET.name

        machine_ids = {_check_common(spec) for spec in SPECS}
        assert len(machine_ids) == len(SPECS)
        _check_web()
        _check_ledger()
        _check_permits()
        _check_target_reaches_legacy_with_rsync()

        # idempotent: a second `up` keeps the running hosts (and their data) as they are
        again = hosts_up(SPECS)
        assert {s.name: s.pid for s in again} == pids
        assert _http(LEDGER.ip, 8081, "/health")[1]["records"] == 10_001
    finally:
        hosts_down(NAMES)

    assert _leftovers() == []
    assert not {s.name for s in hosts_status()} & set(NAMES)
    for pid in pids.values():
        assert pid is not None
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    for name in NAMES:
        assert f"Host {name}\n" not in ssh_config_path().read_text()


def test_bad_specs_are_refused_before_anything_starts() -> None:
    before = _netns.netns_names("ocl-")
    with pytest.raises(UsageError, match="outside the lab network"):
        hosts_up([HostSpec("it-bad-01", "10.1.2.3/24")])
    with pytest.raises(UsageError, match="listed twice"):
        hosts_up(
            [HostSpec("it-bad-02", "198.18.251.5/24"), HostSpec("it-bad-02", "198.18.251.6/24")]
        )
    assert _netns.netns_names("ocl-") == before


def test_a_host_that_dies_at_start_is_reported_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: a PID 1 that fails at once. `up` must name the host and its console
    log, and remove what it created (no netns, no veth, not in the registry)."""
    from onecloud.errors import LabError
    from onecloud.labhosts import _proc as _hostproc

    broken = tmp_path / "host_init.sh"
    broken.write_text(
        '#!/bin/sh\necho "host_init[$1]: mount: permission denied (injected)"\nexit 1\n'
    )
    monkeypatch.setattr(_hostproc, "INIT_SCRIPT", broken)
    spec = HostSpec("it-broken-01", "198.18.252.11/24")
    with pytest.raises(LabError) as err:
        hosts_up([spec])
    message = str(err.value)
    assert "it-broken-01" in message
    assert "logs/it-broken-01.log" in message and "permission denied (injected)" in message
    assert "permission denied (injected)" in (hosts_dir() / "logs/it-broken-01.log").read_text()
    assert netns_name(spec.name) not in _netns.netns_names("ocl-")
    assert veth_name(spec.name) not in _netns.link_names("oclv")
    assert spec.name not in {s.name for s in hosts_status()}
