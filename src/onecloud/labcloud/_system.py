"""Machine-level pieces the lab cloud needs: root, the one-lab lock, packages, veth pairs."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from onecloud import paths
from onecloud.errors import LabError
from onecloud.labcloud._modes import open_log
from onecloud.labcloud._procs import BASE_ENV


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise LabError(
            f"`onecloud lab {action}` must run as root (it installs packages, starts "
            "system daemons and creates network devices)",
            hint=f"run it as root, e.g. `sudo -E $(command -v onecloud) lab {action}`",
        )


@contextlib.contextmanager
def lab_lock(path: Path) -> Iterator[None]:
    """One lab command at a time on this machine (fcntl lock; released when we exit or die)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise LabError(
                f"another `onecloud lab` command is running on this machine "
                f"(pid {holder}; lock {path})",
                hint="wait for it to finish; there is one lab per machine",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def packages_script() -> Path:
    return paths.PROJECT_ROOT / "scripts" / "lab-packages.sh"


def _script() -> Path:
    script = packages_script()
    if not script.is_file():
        raise LabError(
            f"the lab's package script is missing: {script}",
            hint="run onecloud from a checkout of the repository (or set ONECLOUD_PROJECT to one)",
        )
    return script


def missing_packages() -> list[str]:
    listed = subprocess.run(
        ["/bin/sh", str(_script()), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    query = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *listed],
        capture_output=True,
        text=True,
        check=False,
        env=BASE_ENV,
    )
    installed = {
        line.split()[0] for line in query.stdout.splitlines() if line.endswith(" installed")
    }
    return [p for p in listed if p not in installed]


def install_packages(logfile: Path) -> None:
    """Run scripts/lab-packages.sh (idempotent), its output in `logfile` (0600)."""
    with open_log(logfile) as out:
        proc = subprocess.run(
            ["/bin/sh", str(_script())],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=BASE_ENV,
            check=False,
        )
    if proc.returncode != 0:
        raise LabError(
            f"installing the lab's packages failed (exit status {proc.returncode})",
            hint=f"see {logfile}; fix apt (e.g. `apt-get update`) and run `onecloud lab up` again",
        )


def _ip(*args: str) -> None:
    subprocess.run(["/usr/sbin/ip", *args], check=True, capture_output=True, env=BASE_ENV)


def ensure_veth(name: str) -> None:
    """A veth pair `name` / `name`p, both up: a physical network for the linuxbridge agent."""
    if not Path(f"/sys/class/net/{name}").exists():
        try:
            _ip("link", "add", name, "type", "veth", "peer", "name", f"{name}p")
        except subprocess.CalledProcessError as exc:
            raise LabError(
                f"cannot create the veth pair {name} for the lab's networks: "
                f"{exc.stderr.decode().strip()}",
                hint="the lab needs root with CAP_NET_ADMIN in the machine's network namespace",
            ) from exc
    _ip("link", "set", name, "up")
    _ip("link", "set", f"{name}p", "up")


def remove_veth(name: str) -> None:
    if Path(f"/sys/class/net/{name}").exists():
        subprocess.run(["/usr/sbin/ip", "link", "del", name], check=False, capture_output=True)


def remove_empty_agent_bridges() -> list[str]:
    """Bridges the linuxbridge agent made (brq + network id) that nothing is plugged into."""
    removed = []
    for dev in Path("/sys/class/net").glob("brq*"):
        if (dev / "bridge").is_dir() and not any((dev / "brif").iterdir()):
            subprocess.run(
                ["/usr/sbin/ip", "link", "del", dev.name], check=False, capture_output=True
            )
            removed.append(dev.name)
    return removed
