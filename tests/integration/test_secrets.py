"""Canary: the lab's secrets appear nowhere in clear text, and the files that hold them are private.

It knows the lab's passwords (read from the lab's secrets file, as the lab reads them), the
admin password of the lab's clouds.yaml and the lab stack's passphrase, and looks for them in
everything onecloud writes: the lab's logs, ansible-runner's artifacts, the ledger, the plan,
the rendered inventories, the Pulumi state (raw files of the local backend and `pulumi stack
export` of every stack) and the command lines of every process (`ps`). It also checks that the
lab's logs and secret files are 0600 or stricter in directories others cannot list.

It scans what exists when it runs and does not depend on the order of the test files: run after
the other integration tests (as in `make test` on a machine that ran them before), it sees
their logs, artifacts, ledgers and stacks too.

The lab passphrase (`onecloud-lab`) is also the name of the lab's cloud and part of the lab's
directory, so it cannot be looked for as a bare word; what must never appear is it *given* to
PULUMI_CONFIG_PASSPHRASE (an environment dump in a log or an artifact).

Out of scope on purpose: `<lab>/hosts/logs/*.log` belong to `onecloud.labhosts` (sshd output of
the lab hosts, no cloud secret in them); they are scanned for secrets here, but their modes are
labhosts' business. MariaDB's own data directory (`cloud/data/mysql`, 0660 files of `mysql`)
holds Nova's cell database URL, as Nova's design has it; it is not a log and is not scanned.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onecloud import paths, toolchain

pytestmark = pytest.mark.integration

#: a value shorter than this is no secret worth looking for (and would match by chance)
MIN_LEN = 8


@pytest.fixture(scope="module")
def layout() -> Any:
    """The running lab's layout; the lab must be up (this test never starts or stops it)."""
    from onecloud import labcloud

    L = labcloud.default_settings().layout
    assert L.secrets.is_file(), f"no {L.secrets}: the lab is not up (`onecloud lab up`)"
    assert labcloud.is_up(), "the lab cloud is not up: `onecloud lab up` first"
    return L


class Hidden(dict[str, bytes]):
    """name -> secret value, shown by name only: a failing assertion prints the arguments of
    the test, and this canary must not put the secrets into CI's logs and reports itself."""

    def __repr__(self) -> str:
        return f"<{len(self)} secrets: {', '.join(self)}>"


@pytest.fixture(scope="module")
def secrets(layout: Any) -> Hidden:
    """name -> secret value: the lab's passwords and the clouds.yaml passwords."""
    from ruamel.yaml import YAML

    found = {f"lab {k} password": str(v) for k, v in json.loads(layout.secrets.read_text()).items()}
    assert set(found) == {"lab db password", "lab admin password", "lab service password"}
    clouds = YAML(typ="safe").load(layout.clouds_yaml.read_text())["clouds"]
    for name, entry in clouds.items():
        found[f"clouds.yaml {name} password"] = str(entry["auth"]["password"])
    user = os.environ.get("PULUMI_CONFIG_PASSPHRASE", "")
    if len(user) >= MIN_LEN and user != toolchain.LAB_PASSPHRASE:
        found["your PULUMI_CONFIG_PASSPHRASE"] = user
    assert all(len(v) >= MIN_LEN for v in found.values())
    return Hidden({k: v.encode() for k, v in found.items()})


#: a passphrase given to Pulumi, as an environment dump, a YAML or JSON file would show it
PASSPHRASE_GIVEN = re.compile(
    rb"PULUMI_CONFIG_PASSPHRASE[\"']?\s*[:=]\s*[\"']?"
    + re.escape(toolchain.LAB_PASSPHRASE.encode())
)


def _leaks(data: bytes, secrets: dict[str, bytes]) -> list[str]:
    found = [name for name, value in secrets.items() if value in data]
    if PASSPHRASE_GIVEN.search(data):
        found.append("the lab passphrase given to PULUMI_CONFIG_PASSPHRASE")
    return found


def _files(top: Path, pattern: str = "*") -> Iterator[Path]:
    """Regular files under `top` matching `pattern`, symlinks not followed."""
    if not top.is_dir():
        return
    for root, _dirs, names in os.walk(top, followlinks=False):
        for name in names:
            path = Path(root, name)
            if path.match(pattern) and path.is_file() and not path.is_symlink():
                yield path


def _scan(paths_: list[Path], secrets: dict[str, bytes]) -> list[str]:
    problems = []
    for path in paths_:
        try:
            data = path.read_bytes()
        except (FileNotFoundError, PermissionError):  # gone while we looked (a test's tmp file)
            continue
        if leaks := _leaks(data, secrets):
            problems.append(f"{path}: {', '.join(leaks)}")
    return problems


def test_lab_logs_hold_no_secret(layout: Any, secrets: dict[str, bytes]) -> None:
    logs = list(_files(layout.lab_dir, "*.log"))
    assert any(p.is_relative_to(layout.log) for p in logs), "no lab log found at all"
    logs += [p for p in _files(layout.log) if p not in logs]  # whatever else is in cloud/log
    assert _scan(logs, secrets) == []


def test_ansible_artifacts_ledger_plan_and_inventories_hold_no_secret(
    secrets: dict[str, bytes],
) -> None:
    ledger = paths.ledger_file()
    scanned = [
        *_files(paths.ansible_dir()),
        *[p for p in (ledger, Path(f"{ledger}-wal"), Path(f"{ledger}-journal")) if p.is_file()],
        *[p for p in (paths.plan_file(),) if p.is_file()],
        *_files(paths.PROJECT_ROOT / "inventory" / "generated"),
    ]
    assert paths.plan_file().is_file(), "no plan to scan"
    assert _scan(scanned, secrets) == []


def test_pulumi_state_holds_no_secret_in_clear_text(layout: Any, secrets: dict[str, bytes]) -> None:
    """Every stack's `pulumi stack export` (secrets stay encrypted in it), and the raw files of
    the local backend (checkpoints, history, backups)."""
    from onecloud.iac import StackCli

    runner = StackCli({"OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml)})
    listed = runner.run(["stack", "ls", "--json"], capture=True, quiet=True)
    assert listed.ok, listed.stderr
    problems = []
    for entry in json.loads(listed.stdout or "[]"):
        name = entry["name"].rsplit("/", 1)[-1]
        export = runner.run(["stack", "export", "--stack", name], capture=True, quiet=True)
        if not export.ok:
            if "no stack named" in export.stderr:  # removed meanwhile (a test's own stack)
                continue
            pytest.fail(f"pulumi stack export --stack {name} failed: {export.stderr[-500:]}")
        if leaks := _leaks(export.stdout.encode(), secrets):
            problems.append(f"pulumi stack export --stack {name}: {', '.join(leaks)}")
    problems += _scan(list(_files(paths.pulumi_state_dir())), secrets)
    assert problems == []


def _ps() -> list[tuple[int, str]]:
    out = subprocess.run(
        ["ps", "-e", "-ww", "-o", "pid=", "-o", "args="], capture_output=True, text=True, check=True
    ).stdout
    rows = []
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        rows.append((int(pid), args))
    return rows


def test_no_process_shows_a_secret_on_its_command_line(
    layout: Any, secrets: dict[str, bytes]
) -> None:
    """`ps -eo args` of every process, the lab's daemons first among them."""
    from onecloud import labcloud

    rows = _ps()
    lab_pids = {s.pid for s in labcloud.status(heartbeats=False) if s.pid}
    assert lab_pids <= {pid for pid, _ in rows}, "a lab daemon is missing from ps"
    problems = []
    for pid, args in rows:
        if leaks := _leaks(args.encode(), secrets):
            who = "lab daemon" if pid in lab_pids else "process"
            problems.append(f"{who} {pid}: {', '.join(leaks)} (command {args.split()[0]})")
    assert problems == []


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_lab_logs_and_secret_files_are_private(layout: Any) -> None:
    """Logs and secrets 0600 or stricter; their directories 0700, or 0711 (pass through, never
    list) where MariaDB and RabbitMQ, running as their own users, must reach cloud/data."""
    L = layout
    problems = []

    def private_file(path: Path) -> None:
        if _mode(path) & 0o177:
            problems.append(f"{path}: {oct(_mode(path))}, not 0600 or stricter")

    def private_dir(path: Path, *, pass_through: bool = False) -> None:
        allowed = 0o711 if pass_through else 0o700
        if _mode(path) & ~allowed & 0o777:
            problems.append(f"{path}/: {oct(_mode(path))}, not {oct(allowed)} or stricter")

    for top in (L.log, L.etc):
        private_dir(top)
        for root, dirs, names in os.walk(top, followlinks=False):
            for d in dirs:
                private_dir(Path(root, d))
            for n in names:
                private_file(Path(root, n))
    for secret in (L.secrets, L.clouds_yaml):
        private_file(secret)
        private_dir(secret.parent, pass_through=True)
    keys = [
        *_files(L.data / "keystone"),  # fernet and credential keys
        *[p for p in _files(paths.lab_hosts_dir()) if re.search(r"(^id_|_key$)", p.name)],
    ]
    for key in keys:
        if not key.name.endswith(".pub"):
            private_file(key)
    assert problems == []
