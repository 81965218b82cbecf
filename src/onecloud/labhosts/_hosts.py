"""The lab's SSH hosts: network-namespace machines with their own sshd and real workloads.

Each host is a network namespace (a veth on the machine's bridge `oclbr0`, its own address),
and a process tree in its own mount/UTS/IPC/PID namespaces whose PID 1 is sshd, over a private
copy-on-write root (see host_init.sh and docs/devel/lab-hosts.md). Legacy hosts are seeded with
running workloads (onecloud.labhosts.workloads); target hosts stand in for the cloud servers Pulumi
creates, at the fixed IPs Neutron gave them.

Every tool reaches the hosts through the generated ssh_config (`ssh -F`, testinfra
`--ssh-config`, Ansible `ansible_ssh_common_args`, paramiko's SSHConfig) with host-key checking
on. State lives in `onecloud.paths.lab_dir()/hosts/`; changes happen under a file lock.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from onecloud import paths
from onecloud._files import write_atomic
from onecloud.errors import LabError
from onecloud.labhosts import _netns as net
from onecloud.labhosts import _proc as proc
from onecloud.labhosts import _registry as registry
from onecloud.labhosts._model import (
    LAB_NETWORK,
    HostSpec,
    HostStatus,
    bridge_name,
    gateway_of,
    gateways,
    health_ports,
    lab_tag,
    netns_name,
    netns_prefix,
    validate,
    veth_name,
)
from onecloud.labhosts._payload import build_payload, ensure_keypair
from onecloud.labhosts._registry import HostRecord, Registry
from onecloud.labhosts._sshfiles import render_known_hosts, render_ssh_config

__all__ = [
    "HostSpec",
    "HostStatus",
    "hosts_dir",
    "hosts_down",
    "hosts_status",
    "hosts_up",
    "known_hosts_path",
    "private_key_path",
    "ssh_config_path",
]

log = logging.getLogger(__name__)

#: seconds to wait for the linuxbridge agent to make the bridge of a plugged host's network
PLUG_TIMEOUT = 30.0
#: seconds to wait for every new host's sshd to answer
SSHD_TIMEOUT = 60.0
#: seconds to wait for the seeded workloads (PostgreSQL start + 100k rows on a busy machine)
WORKLOAD_TIMEOUT = 240.0
REQUIRED_TOOLS = ("ip", "nsenter", "unshare", "/usr/sbin/sshd", "start-stop-daemon")
PACKAGES_HINT = "install the host packages: scripts/lab-packages.sh (as root)"

Progress = Callable[[str], None]


# ---------------------------------------------------------------------------- paths


def hosts_dir() -> Path:
    return paths.lab_hosts_dir()


def ssh_config_path() -> Path:
    return hosts_dir() / "ssh_config"


def known_hosts_path() -> Path:
    return hosts_dir() / "known_hosts"


def private_key_path() -> Path:
    """The lab's client key: root on every host accepts it."""
    return hosts_dir() / "id_ed25519"


def _tag() -> str:
    return lab_tag(str(paths.lab_dir()))


def _bridge() -> str:
    return bridge_name(_tag())


def _registry_path() -> Path:
    return hosts_dir() / "registry.json"


def _host_dir(name: str) -> Path:
    return hosts_dir() / name


def _console_log(name: str) -> Path:
    """Kept after the host is gone (teardown removes the host dir, not its log), so the log an
    error message names is still there to read."""
    return hosts_dir() / "logs" / f"{name}.log"


def _control_dir() -> Path:
    return hosts_dir() / "cm"


# ---------------------------------------------------------------------------- public API


def hosts_up(specs: Sequence[HostSpec], *, progress: Progress | None = None) -> list[HostStatus]:
    """Make the hosts in `specs` exist and answer SSH (their workloads seeded and healthy).

    Idempotent: a healthy host with the same spec is kept as it is; a dead one or one whose
    spec changed is recreated; missing ones are created in parallel. Hosts not in `specs` are
    left alone. On failure, the hosts this call created are removed again before raising.
    """
    specs = list(specs)
    say = progress or (lambda msg: log.info("%s", msg))
    _preflight(specs)
    base = hosts_dir()
    base.mkdir(parents=True, exist_ok=True)
    with registry.locked(base / ".lock"):
        reg = registry.load(_registry_path())
        _forget_dead(reg, say)
        _remove_orphans(reg)
        wanted = {s.name: s for s in specs}
        changed = [n for n, r in reg.hosts.items() if n in wanted and r.spec != wanted[n]]
        others = {n: r.spec for n, r in reg.hosts.items() if n not in wanted}
        validate(specs, others)
        if changed:
            say(f"recreating {len(changed)} host(s) whose spec changed: {', '.join(changed)}")
            _teardown(reg, changed)
        new = [s for s in specs if s.name not in reg.hosts]
        if new:
            _create(reg, new, say)
        else:
            say(f"all {len(specs)} host(s) already running")
        _write_ssh_files(reg)
    by_name = {st.name: st for st in _statuses([reg.hosts[s.name] for s in specs])}
    return [by_name[s.name] for s in specs]


def hosts_down(names: Sequence[str] | None = None, *, progress: Progress | None = None) -> None:
    """Stop and remove the named hosts (None: all, plus anything a killed lab left behind).

    Names that are not running are already down: not an error. The bridge goes when the last
    host does.
    """
    say = progress or (lambda msg: log.info("%s", msg))
    base = hosts_dir()
    if not base.exists():
        return
    _require_root()
    with registry.locked(base / ".lock"):
        reg = registry.load(_registry_path())
        targets = list(reg.hosts) if names is None else [n for n in names if n in reg.hosts]
        if targets:
            say(f"stopping {len(targets)} host(s)")
            _teardown(reg, targets)
        if names is None:
            _remove_orphans(reg)
        _write_ssh_files(reg)
        _update_bridge(reg)


def hosts_status() -> list[HostStatus]:
    """Every registered host: its PID if alive, and whether sshd and its workloads answer."""
    reg = registry.load(_registry_path())
    return _statuses(sorted(reg.hosts.values(), key=lambda r: r.spec.name))


# ---------------------------------------------------------------------------- checks


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "lab hosts need root: they create network namespaces, veths and mounts",
            hint="run onecloud lab as root (e.g. `sudo onecloud lab up`)",
        )


def _preflight(specs: Sequence[HostSpec]) -> None:
    _require_root()
    missing = [t for t in REQUIRED_TOOLS if shutil.which(t) is None]
    if (
        any("postgresql" in s.workloads for s in specs)
        and not Path("/etc/init.d/postgresql").exists()
    ):
        missing.append("postgresql (Debian package)")
    if missing:
        raise LabError(f"lab hosts need {', '.join(missing)}, not found", hint=PACKAGES_HINT)
    if "overlay" not in Path("/proc/filesystems").read_text():
        raise LabError(
            "the kernel has no overlay file system (lab hosts use one as their root)",
            hint="run `modprobe overlay` as root, or use a kernel with CONFIG_OVERLAY_FS",
        )


# ---------------------------------------------------------------------------- create


def _create(reg: Registry, new: list[HostSpec], say: Progress) -> None:
    started = time.monotonic()
    all_specs = [r.spec for r in reg.hosts.values()] + new
    new_nets = {s.interface.network for s in new if s.port is None} - {
        r.spec.interface.network for r in reg.hosts.values()
    }
    conflicts = net.route_conflicts(_bridge(), new_nets)
    if conflicts:
        raise LabError(
            "lab host subnets clash with this machine's routes: " + "; ".join(conflicts),
            hint="give the hosts addresses in another subnet of 198.18.0.0/15",
        )
    lab_key = ensure_keypair(private_key_path(), "onecloud-lab")
    net.ensure_bridge(_bridge(), gateways(all_specs))

    say(f"creating {len(new)} host(s)")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda s: _prepare(reg, s, lab_key), new))
    registry.save(_registry_path(), reg)
    created = [s.name for s in new]
    try:
        net.batch(_create_lines(new))
        _plug(new)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(_start, new, [reg] * len(new)))
        registry.save(_registry_path(), reg)
        _write_ssh_files(reg)
        _wait_all(new, _wait_sshd, SSHD_TIMEOUT, reg)
        say(f"{len(new)} host(s) answer SSH after {time.monotonic() - started:.1f} s")
        seeded = [s for s in new if s.workloads]
        if seeded:
            say(f"seeding workloads on {len(seeded)} host(s)")
            _wait_all(seeded, _wait_workloads, WORKLOAD_TIMEOUT, reg)
            say(f"workloads healthy after {time.monotonic() - started:.1f} s")
    except BaseException:
        log.warning("removing the %d host(s) created by this failed `up`", len(created))
        _teardown(reg, created)
        _write_ssh_files(reg)
        _update_bridge(reg)
        raise


def _prepare(reg: Registry, spec: HostSpec, lab_key: str) -> None:
    """Host dir, host key (kept across restarts of the same host), payload, registry record."""
    hdir = _host_dir(spec.name)
    hdir.mkdir(parents=True, exist_ok=True)
    host_key = hdir / "ssh_host_ed25519_key"
    ensure_keypair(host_key, f"root@{spec.name}")
    machine_id = uuid.uuid4().hex
    payload = build_payload(
        spec,
        host_key=host_key.read_text(),
        host_pub=host_key.with_name(host_key.name + ".pub").read_text(),
        authorized_key=lab_key,
        machine_id=machine_id,
    )
    (hdir / "payload.tar").write_bytes(payload)
    _console_log(spec.name).parent.mkdir(exist_ok=True)
    _console_log(spec.name).write_text("")
    reg.hosts[spec.name] = HostRecord(
        spec=spec,
        netns=netns_name(spec.name, _tag()),
        veth=spec.port.tap if spec.port else veth_name(spec.name, _tag()),
        machine_id=machine_id,
    )


def _start(spec: HostSpec, reg: Registry) -> None:
    rec = reg.hosts[spec.name]
    rec.pid = proc.spawn_detached(_init_command(spec), _console_log(spec.name))
    rec.started_at = time.time()


def _create_lines(specs: Iterable[HostSpec]) -> list[str]:
    lines = []
    bridge = _bridge()
    for spec in specs:
        ns = netns_name(spec.name, _tag())
        if spec.port is not None:  # the port's tap; the host end gets the port's MAC
            tap = spec.port.tap
            lines += [
                f"netns add {ns}",
                f"link add {tap} type veth peer name eth0 address {spec.port.mac} netns {ns}",
                f"link set {tap} up",
            ]
            continue
        veth = veth_name(spec.name, _tag())
        lines += [
            f"netns add {ns}",
            f"link add {veth} type veth peer name eth0 netns {ns}",
            f"link set {veth} master {bridge} up",
        ]
    return lines


def _plug(specs: Sequence[HostSpec], timeout: float = PLUG_TIMEOUT) -> None:
    """Add each plugged host's tap to its network's bridge, as os-vif does for a VM: the
    linuxbridge agent makes the bridge when it sees the tap (or has made it for the router's
    port) but leaves compute ports' taps for Nova to add (docs/lab.md)."""
    waiting = {s.port.tap: s.port.bridge for s in specs if s.port is not None}
    deadline = time.monotonic() + timeout
    while waiting:
        ready = {t: b for t, b in waiting.items() if Path(f"/sys/class/net/{b}/bridge").is_dir()}
        if ready:
            net.batch([f"link set {t} master {b}" for t, b in sorted(ready.items())])
            waiting = {t: b for t, b in waiting.items() if t not in ready}
        if waiting and time.monotonic() > deadline:
            raise LabError(
                "the cloud's network bridges did not appear for "
                + ", ".join(f"{t} ({b})" for t, b in sorted(waiting.items()))
                + f" within {timeout:.0f} s",
                hint="is the linuxbridge agent up (`onecloud lab status`)? its log is "
                "<lab>/cloud/log/neutron-linuxbridge-agent.log",
            )
        if waiting:
            time.sleep(0.2)


def _init_command(spec: HostSpec) -> list[str]:
    return proc.init_command(
        netns=netns_name(spec.name, _tag()),
        name=spec.name,
        host_dir=_host_dir(spec.name),
        address=spec.address,
        gateway=str(gateway_of(spec.interface).ip),
        lab_net=str(LAB_NETWORK),
        srv_mb=spec.srv_mb,
        hide=paths.lab_dir(),
    )


# ---------------------------------------------------------------------------- waiting


def _wait_all(
    specs: Sequence[HostSpec],
    check: Callable[[HostRecord, float], str | None],
    timeout: float,
    reg: Registry,
) -> None:
    """Run `check` for every host in parallel; raise one LabError naming every failure."""
    deadline = time.monotonic() + timeout
    workers = max(1, min(64, len(specs)))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda s: check(reg.hosts[s.name], deadline), specs))
    failures = [r for r in results if r]
    if failures:
        raise LabError(
            f"{len(failures)} lab host(s) did not come up:\n" + "\n".join(failures),
            hint="read the console log named above; fix the cause and run `up` again",
        )


def _sshd_answers(ip: str, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((ip, 22), timeout=timeout) as s:
            s.settimeout(timeout)
            return s.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def _health(ip: str, port: int, timeout: float = 3.0) -> bool:
    try:
        conn = http.client.HTTPConnection(ip, port, timeout=timeout)
        try:
            conn.request("GET", "/health")
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except OSError:
        return False


def _died(rec: HostRecord) -> str | None:
    name = rec.spec.name
    if proc.is_host_process(rec.pid, name, _host_dir(name)):
        return None
    return f"- host {name}: its PID 1 exited; console log {_console_log(name)}:\n" + proc.tail(
        _console_log(name)
    )


def _wait_sshd(rec: HostRecord, deadline: float) -> str | None:
    while True:
        if _sshd_answers(rec.spec.ip, timeout=0.5):
            return None
        dead = _died(rec)
        if dead:
            return dead
        if time.monotonic() > deadline:
            return (
                f"- host {rec.spec.name}: sshd on {rec.spec.ip}:22 did not answer in time;"
                f" console log {_console_log(rec.spec.name)}:\n"
                + proc.tail(_console_log(rec.spec.name))
            )
        time.sleep(0.05)


def _wait_workloads(rec: HostRecord, deadline: float) -> str | None:
    """Wait for the host's seeder to finish (its marker under /run/onecloud-lab inside the
    host) and for every workload's /health to answer 200."""
    name = rec.spec.name
    while True:
        init = proc.init_pid(rec.pid) if rec.pid else None
        run = Path(f"/proc/{init}/root/run/onecloud-lab") if init else None
        if run is not None and (run / "seed.failed").exists():
            step = (run / "seed.failed").read_text().strip()
            return (
                f"- host {name}: seeding failed at step '{step}'; console log"
                f" {_console_log(name)}:\n" + proc.tail(_console_log(name))
            )
        if run is not None and (run / "seed.done").exists():
            bad = [
                f"{svc} (http://{rec.spec.ip}:{port}/health)"
                for svc, port in health_ports(rec.spec).items()
                if not _health(rec.spec.ip, port)
            ]
            if not bad:
                return None
        dead = _died(rec)
        if dead:
            return dead
        if time.monotonic() > deadline:
            return (
                f"- host {name}: workloads {', '.join(rec.spec.workloads)} not healthy in time;"
                f" console log {_console_log(name)}:\n" + proc.tail(_console_log(name))
            )
        time.sleep(0.25)


# ---------------------------------------------------------------------------- status


def _status(rec: HostRecord) -> HostStatus:
    name = rec.spec.name
    alive = proc.is_host_process(rec.pid, name, _host_dir(name))
    reachable = alive and _sshd_answers(rec.spec.ip)
    services = (
        {svc: _health(rec.spec.ip, port) for svc, port in health_ports(rec.spec).items()}
        if alive
        else {}
    )
    if not alive:
        detail = "not running (its PID 1 is gone); run `up` to recreate it"
    elif not reachable:
        detail = f"sshd on {rec.spec.ip}:22 does not answer"
    elif not all(services.values()):
        detail = "unhealthy: " + ", ".join(s for s, ok in services.items() if not ok)
    else:
        detail = ""
    return HostStatus(
        name=name,
        address=rec.spec.address,
        pid=rec.pid if alive else None,
        reachable=reachable,
        role=rec.spec.role,
        workloads=rec.spec.workloads,
        detail=detail,
        log=str(_console_log(name)),
        services=services,
        port_id=rec.spec.port.port_id if rec.spec.port else None,
    )


def _statuses(records: Sequence[HostRecord]) -> list[HostStatus]:
    if not records:
        return []
    with concurrent.futures.ThreadPoolExecutor(max(1, min(64, len(records)))) as pool:
        return list(pool.map(_status, records))


# ---------------------------------------------------------------------------- teardown


def _forget_dead(reg: Registry, say: Progress) -> None:
    """Hosts whose PID 1 is gone (killed, machine rebooted): remove their leftovers so `up`
    can create them afresh."""
    dead = [n for n, r in reg.hosts.items() if not proc.is_host_process(r.pid, n, _host_dir(n))]
    if dead:
        say(f"cleaning up {len(dead)} host(s) that are no longer running")
        _teardown(reg, dead)


def _teardown(reg: Registry, names: Sequence[str]) -> None:
    """Kill, unplug and forget `names` (in parallel where it matters)."""
    records = [reg.hosts[n] for n in names if n in reg.hosts]
    if not records:
        return
    _close_control_masters(records)
    killed = []
    for rec in records:
        if proc.is_host_process(rec.pid, rec.spec.name, _host_dir(rec.spec.name)):
            assert rec.pid is not None
            proc.kill(rec.pid)
            killed.append(rec)
    deadline = time.monotonic() + 10
    while killed and time.monotonic() < deadline:
        killed = [
            r for r in killed if proc.is_host_process(r.pid, r.spec.name, _host_dir(r.spec.name))
        ]
        if killed:
            time.sleep(0.02)
    if killed:
        raise LabError(
            "lab hosts did not stop after SIGKILL: "
            + ", ".join(f"{r.spec.name} (PID {r.pid})" for r in killed),
            hint="check `ps -o pid,stat,cmd -p <PID>`; a process in state D waits on the kernel",
        )
    _unplug(records)
    for rec in records:
        reg.hosts.pop(rec.spec.name, None)
    registry.save(_registry_path(), reg)
    for rec in records:
        # the host key goes too: a recreated host is a new machine
        shutil.rmtree(_host_dir(rec.spec.name), ignore_errors=True)


def _unplug(records: Sequence[HostRecord]) -> None:
    """Drop the hosts' network namespaces. With their processes gone the kernel then destroys
    each namespace and its veth pair in one batch (10x faster than `link del` per veth, which
    waits for RCU each time); veths still there after a few seconds are deleted one by one."""
    namespaces = net.netns_names(netns_prefix(_tag()))
    net.batch([f"netns del {r.netns}" for r in records if r.netns in namespaces], force=True)
    # a port's tap sits on its network's bridge, not the lab's: wait for the names themselves
    # (a host recreated on the same port at once would otherwise find its tap still there)
    veths = {r.veth for r in records if r.veth}
    deadline = time.monotonic() + 5
    while (left := _existing(veths)) and time.monotonic() < deadline:
        time.sleep(0.02)
    if left:
        net.batch([f"link del {v}" for v in sorted(left)], force=True)


def _existing(interfaces: set[str]) -> set[str]:
    return {i for i in interfaces if Path(f"/sys/class/net/{i}").exists()}


def _remove_orphans(reg: Registry) -> None:
    """Namespaces and veths named like ours that no registered host owns (a lab whose registry
    was lost). Processes in such a namespace are killed only if they are our hosts' PID 1."""
    known_ns = {r.netns for r in reg.hosts.values()}
    known_veth = {r.veth for r in reg.hosts.values()}
    prefix = netns_prefix(_tag())
    lines: list[str] = []
    for ns in sorted(net.netns_names(prefix) - known_ns):
        name = ns[len(prefix) :]
        alive = [p for p in net.netns_pids(ns) if not proc.is_zombie(p)]
        ours = [p for p in alive if proc.is_host_process(p, name, _host_dir(name))]
        if alive and not ours:
            log.debug("leaving network namespace %s: its processes are not ours", ns)
            continue
        for p in ours:
            proc.kill(p)
        lines.append(f"netns del {ns}")
    for veth in sorted(net.bridge_ports(_bridge()) - known_veth):
        lines.append(f"link del {veth}")
    if lines:
        log.info("removing lab leftovers: %s", "; ".join(lines))
        net.batch(lines, force=True)


def _update_bridge(reg: Registry) -> None:
    """Gateway addresses for the subnets still in use; no hosts left: no bridge."""
    if reg.hosts:
        net.ensure_bridge(_bridge(), gateways(r.spec for r in reg.hosts.values()))
        return
    ports = net.bridge_ports(_bridge())
    if ports:
        log.warning("keeping bridge %s: other interfaces are attached (%s)", _bridge(), ports)
        return
    net.delete_bridge(_bridge())


def _close_control_masters(records: Sequence[HostRecord]) -> None:
    """Ask ssh's connection-sharing masters of these hosts to exit: a master outliving its host
    would hand a dead connection to the next session of a recreated host of the same name.
    Sockets are named by alias, or by address for tools that connect by IP."""
    targets = [t for r in records for t in (r.spec.name, r.spec.ip)]
    sockets = [(t, _control_dir() / t) for t in targets if (_control_dir() / t).exists()]
    procs = [
        subprocess.Popen(
            ["ssh", "-F", str(ssh_config_path()), "-O", "exit", n],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n, _ in sockets
    ]
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    for _, path in sockets:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- ssh files


def _write_ssh_files(reg: Registry) -> None:
    base = hosts_dir()
    _control_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    keys: dict[str, tuple[str, str]] = {}
    for name, rec in reg.hosts.items():
        pub = _host_dir(name) / "ssh_host_ed25519_key.pub"
        if pub.exists():
            keys[name] = (rec.spec.ip, " ".join(pub.read_text().split()[:2]))
    write_atomic(base / "known_hosts", render_known_hosts(keys))
    write_atomic(
        base / "ssh_config",
        render_ssh_config(
            [(n, r.spec.ip) for n, r in reg.hosts.items()],
            identity_file=private_key_path(),
            known_hosts=known_hosts_path(),
            control_dir=_control_dir(),
        ),
    )
