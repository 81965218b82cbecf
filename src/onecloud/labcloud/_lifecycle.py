"""Bring the lab cloud up, report on it, take it down.

`up` observes what runs (recorded PIDs checked against /proc), does only what is missing and
says so: a running lab is left alone (except that file modes are tightened, see `_modes`); a
partly running or killed one is stopped and restarted; a first boot also creates the databases
and registers the catalog. Whatever `up` started in a run that fails is stopped again before
the error goes to the caller.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from onecloud import paths
from onecloud._files import write_atomic
from onecloud.errors import LabError
from onecloud.labcloud import _catalog as catalog
from onecloud.labcloud import _dataplane as dataplane
from onecloud.labcloud import _dbinit as dbinit
from onecloud.labcloud import _health as health
from onecloud.labcloud import _modes as modes
from onecloud.labcloud import _procs as procs
from onecloud.labcloud import _system as system
from onecloud.labcloud._clouds import render_clouds_yaml, write_clouds_yaml
from onecloud.labcloud._daemons import (
    APIS,
    IDENTITY,
    INFRA,
    WORKERS,
    Daemon,
    rabbit_env,
    services,
)
from onecloud.labcloud._render import render_all
from onecloud.labcloud._secrets import load_or_create, scrub_setup_logs
from onecloud.labcloud._settings import Layout, Settings

log = logging.getLogger(__name__)

Report = Callable[[str], None]

#: directories under `data` that a service running as its own user writes to
_OWNED = {"mysql": ("mysql", "mysql-run"), "rabbitmq": ("rabbitmq", "rabbitmq/log")}


def default_settings() -> Settings:
    return Settings(Layout(paths.lab_dir()))


@dataclass
class UpResult:
    already_up: bool
    first_boot: bool = False
    seconds: float = 0.0
    clouds_yaml: Path | None = None
    started: list[str] = field(default_factory=list)
    #: files and directories whose mode `up` tightened (left by an older lab)
    tightened: list[Path] = field(default_factory=list)
    #: first-boot logs of an older lab in which `up` masked passwords
    scrubbed: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class DaemonStatus:
    name: str
    pid: int | None
    endpoint: str
    running: bool
    answering: bool
    detail: str = ""


# ---------------------------------------------------------------------------------- observing


def _records(settings: Settings) -> dict[str, procs.ProcRecord]:
    found = {}
    for svc in services(settings):
        rec = procs.load(settings.layout.pidfile(svc.name))
        if rec is not None:
            found[svc.name] = rec
    return found


def _answers(settings: Settings, svc: Daemon) -> bool:
    if svc.port is None:
        return True
    if svc.http_path is not None:
        return health.http_answers(settings.host, svc.port, svc.http_path)
    return health.tcp_open(settings.host, svc.port)


def status(settings: Settings | None = None, *, heartbeats: bool = True) -> list[DaemonStatus]:
    """Each service: its PID, endpoint, whether it runs and answers (workers: heartbeat)."""
    settings = settings or default_settings()
    records = _records(settings)
    beats: dict[str, bool] | None = None
    out = []
    for svc in services(settings):
        rec = records.get(svc.name)
        running = rec is not None and procs.is_alive(rec)
        answering = running and _answers(settings, svc)
        detail = "" if rec is None or running else "stale record (process gone)"
        if running and svc.heartbeat:
            if heartbeats and beats is None and _keystone_answers(settings):
                beats = _try_heartbeats(settings)
            if beats is not None:
                answering = beats.get(svc.heartbeat, False)
                detail = "heartbeat" if answering else "no heartbeat"
        out.append(
            DaemonStatus(
                svc.name,
                rec.pid if running and rec else None,
                svc.endpoint,
                running,
                answering,
                detail,
            )
        )
    return out


def _keystone_answers(settings: Settings) -> bool:
    return health.http_answers(settings.host, settings.ports.keystone, "/v3")


def _try_heartbeats(settings: Settings) -> dict[str, bool] | None:
    try:
        secrets = load_or_create(settings.layout.secrets)
        return catalog.heartbeats(settings, secrets["admin"])
    except Exception as exc:  # the APIs may be down: status reports, it does not fail
        log.debug("heartbeats unavailable: %s", exc)
        return None


def is_up(settings: Settings | None = None) -> bool:
    settings = settings or default_settings()
    if not settings.layout.initialized.exists() or not settings.layout.clouds_yaml.exists():
        return False
    return all(s.running and s.answering for s in status(settings, heartbeats=False))


# ---------------------------------------------------------------------------------- starting


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join("    " + line[:200] for line in text[-lines:])


def _fail(svc: Daemon, settings: Settings, why: str) -> LabError:
    logfile = settings.layout.logfile(svc.name)
    return LabError(
        f"lab cloud: {svc.name} {why}; its log {logfile} ends with:\n{_tail(logfile)}",
        hint=f"read {logfile}; fix the cause and run `onecloud lab up` again",
    )


def _start(svc: Daemon, settings: Settings, started: list[procs.ProcRecord]) -> procs.ProcRecord:
    logfile = settings.layout.logfile(svc.name)
    try:
        rec = procs.spawn(svc.name, svc.argv, env=svc.env, logfile=logfile, marker=svc.marker)
    except OSError as exc:
        raise LabError(
            f"lab cloud: cannot start {svc.name}: {svc.argv[0]}: {exc.strerror}",
            hint="install the lab's packages again: scripts/lab-packages.sh (as root)",
        ) from exc
    procs.save(rec, settings.layout.pidfile(svc.name))
    started.append(rec)
    return rec


def _wait(batch: Sequence[tuple[Daemon, procs.ProcRecord]], settings: Settings) -> None:
    """Until every service in `batch` answers; LabError naming the first one that died or hung."""
    pending = list(batch)
    t0 = time.monotonic()
    while pending:
        for svc, rec in list(pending):
            code = procs.exit_status(rec.pid)
            if code is not None:
                raise _fail(svc, settings, f"exited while starting (exit status {code})")
            if not procs.is_alive(rec):
                time.sleep(0.1)  # it may have exited between the two checks
                code = procs.exit_status(rec.pid)
                if code is not None:
                    raise _fail(svc, settings, f"exited while starting (exit status {code})")
                now = f"start time {procs.start_ticks(rec.pid)}, command {procs.cmdline(rec.pid)!r}"
                log.warning("%s: %s is not ours any more (%s)", svc.name, rec, now)
                raise _fail(svc, settings, f"is gone (pid {rec.pid}: {now})")
            if svc.port is None or _answers(settings, svc):
                pending.remove((svc, rec))
        if pending:
            late = [svc for svc, _ in pending if time.monotonic() - t0 > svc.timeout]
            if late:
                svc = late[0]
                raise _fail(
                    svc, settings, f"did not answer on {svc.endpoint} within {svc.timeout:.0f} s"
                )
            time.sleep(0.5)


def _start_stage(
    stage: int,
    settings: Settings,
    started: list[procs.ProcRecord],
    report: Report,
    keep: Collection[str] = (),
) -> None:
    """Start the stage's services (except those in `keep`, which run already) and wait."""
    batch = [
        (svc, _start(svc, settings, started))
        for svc in services(settings)
        if svc.stage == stage and svc.name not in keep
    ]
    if batch:
        names = ", ".join(svc.name for svc, _ in batch)
        report(f"started {names}; waiting for them to answer")
        _wait(batch, settings)


def _wait_heartbeats(
    since: datetime,
    settings: Settings,
    secrets: dict[str, str],
    report: Report,
    timeout: float = 300,
) -> None:
    workers = [s for s in services(settings) if s.stage == WORKERS]
    records = _records(settings)
    t0 = time.monotonic()
    beats: dict[str, bool] = {}
    while True:
        for svc in workers:
            rec = records[svc.name]
            if procs.exit_status(rec.pid) is not None or not procs.is_alive(rec):
                raise _fail(svc, settings, "exited after start")
        try:
            beats = catalog.heartbeats(settings, secrets["admin"], since)
        except Exception as exc:  # an API still warming up answers 503 for a while
            log.debug("heartbeats: %s", exc)
        if beats and all(beats.values()):
            return
        if time.monotonic() - t0 > timeout:
            missing = [name for name, ok in beats.items() if not ok] or ["all workers"]
            svc = next((s for s in workers if s.heartbeat in missing), workers[-1])
            raise _fail(
                svc, settings, f"sent no heartbeat within {timeout:.0f} s ({', '.join(missing)})"
            )
        time.sleep(3)


def _check_ports(settings: Settings, keep: Collection[str] = ()) -> None:
    listening = procs.listening_ports()
    for svc in services(settings):
        if svc.name in keep:
            continue
        ports = [svc.port] if svc.port else []
        if svc.name == "rabbitmq":
            ports.append(settings.ports.rabbit_dist)
        for port in ports:
            if port in listening:
                owner = procs.socket_owner(listening[port])
                who = (
                    f"pid {owner} ({procs.cmdline(owner)[:120]})"
                    if owner
                    else "a process we cannot see"
                )
                raise LabError(
                    f"lab cloud: port {port}, needed by {svc.name}, is already in use by {who}",
                    hint="stop that process (or `onecloud lab down` if it is an older lab) and run "
                    "`onecloud lab up` again",
                )


def _prepare(settings: Settings, secrets: dict[str, str]) -> None:
    """Directories, configs and launchers, the veth pairs, MariaDB's system tables."""
    L = settings.layout
    modes.tighten(L)  # the top directories with their modes (`up` did it already; cheap)
    for sub in (
        "nova/tmp",
        "nova/instances",
        "neutron/tmp",
        "glance/images",
        "glance/staging",
        "glance/tasks",
        "glance/tmp",
        "cinder/tmp",
        "keystone",
    ):
        (L.data / sub).mkdir(parents=True, exist_ok=True)
    for user, dirs in _OWNED.items():
        for d in dirs:
            (L.data / d).mkdir(parents=True, exist_ok=True)
            shutil.chown(L.data / d, user, user)
    (L.data / "rabbitmq" / "log").chmod(modes.PRIVATE_DIR)
    for path, (content, mode) in render_all(settings, secrets).items():
        if path.is_relative_to(L.etc) and not path.parent.is_dir():
            modes.make_dir(path.parent, modes.PRIVATE_DIR)
        # the temporary file gets `mode` before a byte is written: never readable by others
        write_atomic(path, content, mode=mode)
    system.ensure_veth(settings.network.public_iface)
    dbinit.install_datadir(settings)


def _discover_hosts(settings: Settings, secrets: dict[str, str]) -> None:
    dbinit.run(
        [
            "/usr/bin/nova-manage",
            "--config-file",
            str(settings.layout.conf("nova")),
            "cell_v2",
            "discover_hosts",
        ],
        settings.layout.logfile("dbinit-nova"),
        "nova-manage cell_v2 discover_hosts",
        secrets=tuple(secrets.values()),
    )


def _keepers(settings: Settings, first: bool, report: Report) -> set[str]:
    """Services of an initialized lab that run and answer stay; the rest is stopped.

    Before the first boot finished, nothing is kept: the run starts from a clean slate.
    """
    keep: set[str] = set()
    stop: list[procs.ProcRecord] = []
    for svc in services(settings):
        rec = procs.load(settings.layout.pidfile(svc.name))
        if rec is None or not procs.is_alive(rec):
            continue
        if not first and _answers(settings, svc):
            keep.add(svc.name)
        else:
            stop.append(rec)
    if stop:
        report("stopping what is left of an earlier lab: " + ", ".join(r.name for r in stop))
        _stop_records(settings, stop)
    if keep:
        report(f"{len(keep)} services still run and answer; starting the others")
    return keep


def up(settings: Settings | None = None, report: Report = log.info) -> UpResult:
    """Bring the lab cloud up (idempotent). Returns what it did."""
    settings = settings or default_settings()
    L = settings.layout
    system.require_root("up")
    t0 = time.monotonic()
    with system.lab_lock(L.lock):
        # first, also on a running lab: logs and secrets 0600 in 0700 directories
        tightened = modes.tighten(L)
        if tightened:
            report(
                f"tightened the modes of {len(tightened)} files and directories an older lab "
                "left readable (logs and secrets are 0600 in 0700 directories)"
            )
        scrubbed: list[Path] = []
        if L.secrets.is_file():
            scrubbed = scrub_setup_logs(L.log, load_or_create(L.secrets).values())
            if scrubbed:
                names = ", ".join(p.name for p in scrubbed)
                report(f"masked the passwords an older lab wrote into {names}")
        missing = system.missing_packages()
        if missing:
            report(
                f"installing {len(missing)} Debian packages (about 3 minutes); "
                f"log: {L.logfile('packages')}"
            )
            system.install_packages(L.logfile("packages"))
        if is_up(settings):
            # rewritten when it lacks an entry this version writes (an older lab's file)
            want = render_clouds_yaml(settings, load_or_create(L.secrets)["admin"])
            if L.clouds_yaml.read_text(encoding="utf-8") != want:
                write_clouds_yaml(settings, load_or_create(L.secrets)["admin"])
            return UpResult(
                already_up=True, clouds_yaml=L.clouds_yaml, tightened=tightened, scrubbed=scrubbed
            )
        first = not L.initialized.exists()
        keep = _keepers(settings, first, report)
        for svc in services(settings):
            if svc.name not in keep:
                L.pidfile(svc.name).unlink(missing_ok=True)
        _check_ports(settings, keep)
        secrets = load_or_create(L.secrets)
        started: list[procs.ProcRecord] = []
        try:
            report("writing configs to " + str(L.etc))
            _prepare(settings, secrets)
            _start_stage(INFRA, settings, started, report, keep)
            if first:
                report("first boot: creating databases and schemas (about a minute)")
                dbinit.create_databases(settings, secrets["db"])
                dbinit.sync_schemas(settings, secrets)
            _start_stage(IDENTITY, settings, started, report, keep)
            if first:
                report("registering regions, service users and endpoints")
                catalog.register_identity(settings, secrets)
            _start_stage(APIS, settings, started, report, keep)
            workers_from = datetime.now(UTC).replace(tzinfo=None)
            _start_stage(WORKERS, settings, started, report, keep)
            report("waiting for heartbeats of nova-compute, cinder-volume and the Neutron agents")
            _wait_heartbeats(workers_from, settings, secrets, report)
            _discover_hosts(settings, secrets)
            if first:
                report("creating the external network `public` and the image")
                catalog.register_resources(settings, secrets)
            path = write_clouds_yaml(settings, secrets["admin"])
            L.initialized.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()))
            stale = catalog.uncarried_networks(settings, secrets["admin"])
        except BaseException:
            if started:
                report("stopping what this run started")
                _stop_records(settings, started)
                for rec in started:
                    L.pidfile(rec.name).unlink(missing_ok=True)
            raise
    if stale:
        raise LabError(
            "the lab is up, but these networks are of a type it no longer carries (`vlan`, "
            "made before the lab had a data plane): " + ", ".join(stale) + "; their ports stall "
            "the linuxbridge agent, so no new port goes ACTIVE",
            hint="recreate them: `onecloud stack destroy -s <stack> --yes --unprotect` for each "
            "stack on the lab, then `onecloud stack up` again (Neutron now makes `local` "
            "networks); or start afresh with `onecloud lab down --purge && onecloud lab up`",
        )
    return UpResult(
        already_up=False,
        first_boot=first,
        seconds=time.monotonic() - t0,
        clouds_yaml=path,
        started=[r.name for r in started],
        tightened=tightened,
        scrubbed=scrubbed,
    )


def ensure_up(settings: Settings | None = None, report: Report = log.info) -> Path:
    """For tests and the demo: the lab is up afterwards; returns the clouds.yaml path."""
    result = up(settings, report)
    assert result.clouds_yaml is not None
    return result.clouds_yaml


# ---------------------------------------------------------------------------------- stopping


def _rabbitmqctl_stop(settings: Settings) -> None:
    argv = [
        "/usr/sbin/runuser",
        "-u",
        "rabbitmq",
        "--",
        "/usr/lib/rabbitmq/bin/rabbitmqctl",
        "-n",
        "rabbit@localhost",
        "stop",
    ]
    env = {**procs.BASE_ENV, **rabbit_env(settings)}
    try:
        subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False)
    except (subprocess.TimeoutExpired, FileNotFoundError) as exc:
        log.info("rabbitmqctl stop: %s", exc)


def _stop_records(settings: Settings, records: Sequence[procs.ProcRecord]) -> None:
    """RabbitMQ first (it shuts down cleanly by itself), then every session: TERM, KILL at 10 s."""
    rabbit = [r for r in records if r.name == "rabbitmq" and procs.is_alive(r)]
    if rabbit:
        _rabbitmqctl_stop(settings)
    procs.stop(records, grace=10.0)


def down(
    settings: Settings | None = None, *, purge: bool = False, report: Report = log.info
) -> list[str]:
    """Stop everything the lab started; with `purge` also remove databases and state."""
    settings = settings or default_settings()
    L = settings.layout
    system.require_root("down")
    with system.lab_lock(L.lock):
        alive = [r for r in _records(settings).values() if procs.is_alive(r)]
        if alive:
            report("stopping " + ", ".join(r.name for r in alive))
            _stop_records(settings, alive)
        for svc in services(settings):
            L.pidfile(svc.name).unlink(missing_ok=True)
        dataplane.detach_controller()
        system.remove_veth(settings.network.public_iface)
        system.remove_empty_agent_bridges()
        if purge:
            report(f"removing databases and state: {L.root}, {L.clouds_yaml}")
            shutil.rmtree(L.root, ignore_errors=True)
            L.clouds_yaml.unlink(missing_ok=True)
    return [r.name for r in alive]


def memory_pss_kib(settings: Settings | None = None) -> dict[str, int]:
    """PSS of each service's whole session (workers, helpers) in KiB."""
    settings = settings or default_settings()
    out = {}
    for name, rec in _records(settings).items():
        if procs.is_alive(rec):
            out[name] = sum(procs.pss_kib(p) for p in procs.session_members(rec.pid))
    return out
