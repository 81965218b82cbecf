"""Processes of the lab hosts on the machine: start one host's PID 1, recognise it, kill it.

A host's recorded PID is its `unshare` process. Before signalling a PID we read its cmdline and
check it is really that host's (PIDs are reused); a zombie counts as gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from onecloud.errors import LabError

INIT_SCRIPT = Path(__file__).with_name("host_init.sh")
#: the environment of a host's PID 1 (and so of its services): nothing from the caller leaks in
HOST_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/root",
}
_SPAWN = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'


def init_command(
    *,
    netns: str,
    name: str,
    host_dir: Path,
    address: str,
    gateway: str,
    lab_net: str,
    srv_mb: int,
    hide: Path,
) -> list[str]:
    return [
        "nsenter", f"--net=/run/netns/{netns}",
        "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--kill-child",
        "--propagation", "private",
        "/bin/sh", str(INIT_SCRIPT), name, str(host_dir), address, gateway, lab_net,
        str(srv_mb), str(hide),
    ]  # fmt: skip


def spawn_detached(cmd: list[str], log_path: Path) -> int:
    """Start `cmd` in the background, detached from us (its parent exits at once, so it is
    reparented to the machine's init and never becomes our zombie); returns its PID."""
    proc = subprocess.run(
        ["/bin/sh", "-c", _SPAWN, "sh", str(log_path), *cmd],
        capture_output=True, text=True, env=HOST_ENV, start_new_session=True, check=False,
    )  # fmt: skip
    out = proc.stdout.strip()
    if proc.returncode != 0 or not out.isdigit():
        raise LabError(f"could not start {cmd[0]}: {proc.stderr.strip() or out}")
    return int(out)


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def is_host_process(pid: int | None, name: str, host_dir: Path) -> bool:
    """True when `pid` is alive and is the PID 1 launcher of host `name` in `host_dir`."""
    if not pid:
        return False
    args = cmdline(pid)
    if str(INIT_SCRIPT.name) not in " ".join(args):
        return False
    if name not in args or str(host_dir) not in args:
        return False
    return not is_zombie(pid)


def init_pid(pid: int) -> int | None:
    """The host's PID 1 (sshd) as seen from the machine: the only child of `unshare`."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(children[0]) if children else None


def kill(pid: int) -> None:
    """SIGKILL: `unshare --fork` ignores SIGTERM; `--kill-child` then ends the whole host."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])
