"""Processes of the lab: start one in its own session, record it, find it again, stop it.

A record (`run/<name>.json`) holds the PID and the kernel's start time of the process, so a PID
that was reused by an unrelated process after a reboot or a kill is never mistaken for ours.
Stopping signals the whole session: daemons that fork workers (oslo.service) or helpers
(privsep) keep the session id of the process we started.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from onecloud._files import write_atomic
from onecloud.labcloud._modes import open_log

log = logging.getLogger(__name__)

#: the environment children start from: Debian's tools, not our venv
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/root",
}


@dataclass(frozen=True)
class ProcRecord:
    """What we remember about a process we started."""

    name: str
    pid: int
    start_ticks: int
    #: a word that must appear in /proc/<pid>/cmdline (e.g. the executable's name)
    marker: str
    logfile: str


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (index 0 is the state)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name is in parentheses and may contain spaces
    return raw[raw.rfind(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def session_id(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[3]) if fields else None


def is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is None or fields[0] in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode(errors="replace")
            .strip()
        )
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return ""


def is_alive(rec: ProcRecord) -> bool:
    """True if `rec` still names the process we started (same start time, same command)."""
    if start_ticks(rec.pid) != rec.start_ticks or is_zombie(rec.pid):
        return False
    for _ in range(5):
        line = cmdline(rec.pid)
        if line:
            return rec.marker in line
        # empty while the process is in the middle of exec(): look again
        time.sleep(0.05)
    return False


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    logfile: Path,
    marker: str,
    cwd: Path | None = None,
) -> ProcRecord:
    """Start `argv` in a new session, stdout and stderr appended to `logfile` (0600).

    The command line is logged, and anyone on the machine sees it in `ps`: it must hold no
    secret (daemons read theirs from their config files); `env` is not logged.
    """
    full_env = {**BASE_ENV, **env}
    with open_log(logfile) as out:
        out.write(f"\n==== onecloud lab: starting {name}: {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=str(cwd) if cwd else "/",
            start_new_session=True,
            close_fds=True,
        )
    ticks = start_ticks(proc.pid) or 0
    # the Popen object is dropped on purpose: the daemon outlives us; avoid a ResourceWarning
    proc.returncode = 0
    return ProcRecord(
        name=name, pid=proc.pid, start_ticks=ticks, marker=marker, logfile=str(logfile)
    )


def reap() -> None:
    """Collect exited children of this process so that they do not linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def exit_status(pid: int) -> int | None:
    """The exit status of our own child `pid` if it has exited, else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def save(rec: ProcRecord, path: Path) -> None:
    write_atomic(path, json.dumps(asdict(rec)))


def load(path: Path) -> ProcRecord | None:
    try:
        return ProcRecord(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def session_members(sid: int) -> list[int]:
    """Every live process whose session id is `sid` (the leader may be gone already)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            pid = int(entry)
            if session_id(pid) == sid and not is_zombie(pid):
                members.append(pid)
    return members


def _signal(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop(records: Sequence[ProcRecord], *, grace: float = 10.0) -> None:
    """SIGTERM every process in the sessions of `records`, SIGKILL what is left after `grace`.

    A record whose PID no longer names our process is skipped (its session might be reused
    by someone else's process), except that its session members that outlived the leader are
    still ours if the leader was ours: we cannot prove that, so we leave them alone.
    """
    sessions = [r.pid for r in records if is_alive(r)]
    members = {sid: session_members(sid) for sid in sessions}
    _signal((p for ps in members.values() for p in ps), signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        reap()
        left = [p for sid in sessions for p in session_members(sid)]
        if not left:
            return
        time.sleep(0.2)
    left = [p for sid in sessions for p in session_members(sid)]
    if left:
        log.info("SIGKILL after %.0f s: %s", grace, left)
        _signal(left, signal.SIGKILL)
        time.sleep(0.2)
        reap()


def listening_ports() -> dict[int, int]:
    """Local TCP ports in LISTEN state -> socket inode (IPv4 and IPv6)."""
    found: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "0A":
                port = int(parts[1].rsplit(":", 1)[1], 16)
                found.setdefault(port, int(parts[9]))
    return found


def socket_owner(inode: int) -> int | None:
    """The PID holding the socket with `inode`, if we can see it."""
    target = f"socket:[{inode}]"
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fd_dir = f"/proc/{entry}/fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    if os.readlink(f"{fd_dir}/{fd}") == target:
                        return int(entry)
                except OSError:
                    continue
        except OSError:
            continue
    return None


def pss_kib(pid: int) -> int:
    """Proportional set size of one process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0
