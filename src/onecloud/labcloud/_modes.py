"""Who may read the lab's files: logs and secrets are 0600, in directories only root enters.

Modes are set when a file is made (`open_log`, `write_private`: never readable by others, not
even for a moment), and `tighten` brings what an older lab left behind to the same modes on
every `lab up`, also when the lab is up already (a running daemon keeps its open files).

Directories on the way to the data of services that run as their own user (MariaDB as
`mysql`, RabbitMQ as `rabbitmq`) cannot be 0700: they are 0711, which lets those users pass
through without listing them; every file in them that holds a secret is 0600 itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from onecloud._files import write_atomic
from onecloud.labcloud._settings import Layout

#: a log or a file holding a secret
PRIVATE_FILE = 0o600
#: a directory of logs or secrets
PRIVATE_DIR = 0o700
#: a directory that service users pass through but may not list
PASS_THROUGH_DIR = 0o711


def make_dir(path: Path, mode: int = PRIVATE_DIR) -> Path:
    """`path` as a directory with exactly `mode` (created so; an existing one is set to it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        path.mkdir(mode=mode)
    if (path.stat().st_mode & 0o7777) != mode:  # the umask's cut, or an older lab's mode
        path.chmod(mode)
    return path


@contextmanager
def open_log(path: Path) -> Iterator[BinaryIO]:
    """Append to the lab log `path`: a new one is created 0600 (its directory 0700), an older
    one is tightened to 0600 before anything is written to it."""
    if not path.parent.is_dir():
        make_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        if (os.fstat(fd).st_mode & 0o7777) != PRIVATE_FILE:
            os.fchmod(fd, PRIVATE_FILE)
        out = os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise
    with out:
        yield out


def write_private(path: Path, data: str | bytes) -> None:
    """Replace `path` atomically with a 0600 file (its temporary file is 0600 from the start)."""
    write_atomic(path, data, mode=PRIVATE_FILE)


def _set(path: Path, mode: int, changed: list[Path]) -> None:
    if path.is_symlink() or not path.exists():
        return
    if (path.stat().st_mode & 0o7777) != mode:
        path.chmod(mode)
        changed.append(path)


def _tighten_tree(top: Path, changed: list[Path]) -> None:
    """Every directory under `top` 0700, every file 0600 (symlinks left alone)."""
    if not top.is_dir() or top.is_symlink():
        return
    _set(top, PRIVATE_DIR, changed)
    for root, dirs, files in os.walk(top, followlinks=False):
        for name in dirs:
            _set(Path(root, name), PRIVATE_DIR, changed)
        for name in files:
            _set(Path(root, name), PRIVATE_FILE, changed)


def dir_modes(layout: Layout) -> dict[Path, int]:
    """The lab's top directories and their modes, in the order they are made."""
    L = layout
    return {
        L.lab_dir: PASS_THROUGH_DIR,  # MariaDB and RabbitMQ reach cloud/data through it
        L.root: PASS_THROUGH_DIR,
        L.data: PASS_THROUGH_DIR,
        L.etc: PRIVATE_DIR,  # configs hold the database and service passwords
        L.log: PRIVATE_DIR,
        L.run: 0o755,  # PID records: `lab status` works for everyone
        L.bin: 0o755,
        L.python: 0o755,
    }


def tighten(layout: Layout) -> list[Path]:
    """Make the lab's directories (with their modes) and bring logs, configs and secrets that
    exist to 0600 in 0700 directories. Returns the paths whose mode it changed."""
    changed: list[Path] = []
    for path, mode in dir_modes(layout).items():
        if path.is_dir():
            _set(path, mode, changed)
        else:
            make_dir(path, mode)
    _tighten_tree(layout.log, changed)
    _tighten_tree(layout.etc, changed)
    for secret in (layout.secrets, layout.clouds_yaml):
        _set(secret, PRIVATE_FILE, changed)
    return changed
