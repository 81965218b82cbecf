"""The lab's passwords stay secret: never on a command line, never in a log, files 0600 in 0700
directories from the moment they exist, and an older lab's looser modes tightened by `up`.

Commands are recorded by a stand-in for `subprocess.run`; no service is started.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onecloud.errors import LabError
from onecloud.labcloud import _dbinit as dbinit
from onecloud.labcloud import _lifecycle as lifecycle
from onecloud.labcloud import _modes as modes
from onecloud.labcloud import _procs as procs
from onecloud.labcloud import _system as system
from onecloud.labcloud._daemons import rabbit_env, services
from onecloud.labcloud._render import render_all
from onecloud.labcloud._secrets import load_or_create, redact, scrub_setup_logs
from onecloud.labcloud._settings import Layout, Settings

SECRETS = {"db": "db-Secret-1x", "admin": "admin-Secret-2y", "service": "svc-Secret-3z"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(Layout(tmp_path / "lab"))


@pytest.fixture
def no_umask() -> Iterator[None]:
    """umask 0: whatever is private is so because it was made so, not thanks to the umask."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


class Recorder:
    """Stands in for subprocess.run in _dbinit: records each call, answers like the tool."""

    def __init__(self, stderr: bytes = b"") -> None:
        self.calls: list[dict[str, Any]] = []
        self.stderr = stderr

    def __call__(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        self.calls.append({"argv": argv, **kw})
        return subprocess.CompletedProcess(argv, 0, stdout=b"done\n", stderr=self.stderr)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    monkeypatch.setattr(dbinit.subprocess, "run", rec)
    return rec


def _no_secret_in(text: str) -> list[str]:
    return [key for key, value in SECRETS.items() if value in text]


def test_first_boot_commands_carry_no_password_on_their_command_lines(
    settings: Settings, recorder: Recorder, no_umask: None
) -> None:
    dbinit.create_databases(settings, SECRETS["db"])
    dbinit.sync_schemas(settings, SECRETS)
    assert len(recorder.calls) > 10
    for call in recorder.calls:
        assert _no_secret_in(" ".join(call["argv"])) == [], call["argv"]
    # the SQL that names the database password reaches the client on stdin
    (sql,) = [c for c in recorder.calls if c["argv"][0] == "/usr/bin/mariadb"]
    assert "-e" not in sql["argv"]
    assert f"IDENTIFIED BY '{SECRETS['db']}'" in sql["input"].decode()
    # keystone-manage bootstrap reads the admin password from its environment
    (boot,) = [c for c in recorder.calls if "bootstrap" in c["argv"]]
    assert boot["env"]["OS_BOOTSTRAP_PASSWORD"] == SECRETS["admin"]
    assert "--bootstrap-password" not in boot["argv"]
    # Nova makes cell0's database URL from its config: no URL with the password in argv
    (cell0,) = [c for c in recorder.calls if "map_cell0" in c["argv"]]
    assert not any("--database_connection" in a for a in cell0["argv"])
    # no other command gets a password in its environment
    for call in recorder.calls:
        if call is not boot:
            assert _no_secret_in(" ".join(call["env"].values())) == [], call["argv"]


def test_first_boot_logs_hold_no_password_and_are_private(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, no_umask: None
) -> None:
    # tools that echo what they were given (MariaDB quotes the statement near a syntax error)
    echo = Recorder(stderr=f"ERROR 1064 near 'IDENTIFIED BY '{SECRETS['db']}''\n".encode())
    monkeypatch.setattr(dbinit.subprocess, "run", echo)
    dbinit.create_databases(settings, SECRETS["db"])
    dbinit.sync_schemas(settings, SECRETS)
    logs = sorted(settings.layout.log.glob("dbinit*.log"))
    assert [p.name for p in logs] == [
        "dbinit-cinder.log",
        "dbinit-glance.log",
        "dbinit-keystone.log",
        "dbinit-neutron.log",
        "dbinit-nova.log",
        "dbinit-placement.log",
        "dbinit.log",
    ]
    for log in logs:
        text = log.read_text()
        assert _no_secret_in(text) == [], log.name
        assert "***" in text, log.name  # what was echoed is there, masked
        assert _mode(log) == 0o600, log.name
    assert _mode(settings.layout.log) == 0o700
    assert "(stdin: " in (settings.layout.log / "dbinit.log").read_text()


def test_a_password_on_a_command_line_is_refused_before_anything_runs(
    settings: Settings, recorder: Recorder
) -> None:
    with pytest.raises(ValueError, match="a secret on the command line"):
        dbinit.run(
            ["/usr/bin/tool", f"--password={SECRETS['db']}"],
            settings.layout.logfile("dbinit"),
            "tool",
            secrets=(SECRETS["db"],),
        )
    assert recorder.calls == []


def test_a_failed_step_names_its_log_not_its_secrets(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(argv, 1, stdout=b"", stderr=b"Access denied\n")

    monkeypatch.setattr(dbinit.subprocess, "run", failing)
    with pytest.raises(LabError) as info:
        dbinit.create_databases(settings, SECRETS["db"])
    assert _no_secret_in(str(info.value)) == []
    assert str(settings.layout.logfile("dbinit")) in str(info.value)


def test_daemons_get_no_secret_on_their_command_lines(settings: Settings) -> None:
    """Long-running services read their passwords from their configs (0600), not from argv."""
    configs = render_all(settings, SECRETS)
    assert any(_no_secret_in(text) for text, _ in configs.values())  # the configs do hold them
    for svc in services(settings):
        shown = " ".join([*svc.argv, *svc.env.values()])
        assert _no_secret_in(shown) == [], svc.name


def test_configs_holding_passwords_are_0600(settings: Settings) -> None:
    for path, (text, mode) in render_all(settings, SECRETS).items():
        if _no_secret_in(text):
            assert mode == 0o600, path


def test_mariadb_and_rabbitmq_write_nothing_into_the_private_log_directory(
    settings: Settings,
) -> None:
    """They run as their own users, which may not enter cloud/log (0700, root's)."""
    from onecloud.labcloud._render import render_configs

    mycnf = render_configs(settings, SECRETS)[settings.layout.conf("mysql", "my.cnf")]
    assert str(settings.layout.log) not in mycnf
    for value in rabbit_env(settings).values():
        assert str(settings.layout.log) not in value


def test_a_daemon_log_is_created_private_and_an_older_one_tightened(
    tmp_path: Path, no_umask: None
) -> None:
    fresh = tmp_path / "log" / "fresh.log"
    rec = procs.spawn("t", ["/bin/true"], env={}, logfile=fresh, marker="true")
    procs.stop([rec], grace=1)
    assert _mode(fresh) == 0o600
    assert _mode(fresh.parent) == 0o700
    old = tmp_path / "log" / "old.log"
    old.write_text("an older lab's log\n")
    old.chmod(0o644)
    with modes.open_log(old) as out:
        out.write(b"more\n")
    assert _mode(old) == 0o600
    assert old.read_text() == "an older lab's log\nmore\n"


def test_the_package_log_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_umask: None
) -> None:
    script = tmp_path / "lab-packages.sh"
    script.write_text("echo installed\n")
    monkeypatch.setattr(system, "_script", lambda: script)
    logfile = tmp_path / "log" / "packages.log"
    system.install_packages(logfile)
    assert _mode(logfile) == 0o600 and logfile.read_text() == "installed\n"


def test_the_secrets_file_is_private_from_the_start(tmp_path: Path, no_umask: None) -> None:
    path = tmp_path / "cloud" / "secrets.json"
    secrets = load_or_create(path)
    assert _mode(path) == 0o600
    assert load_or_create(path) == secrets
    assert [p.name for p in path.parent.iterdir()] == ["secrets.json"]  # no temporary left


def test_redact_masks_every_value_longest_first() -> None:
    assert redact("a=abc b=abcdef", ["abc", "abcdef", ""]) == "a=*** b=***"


def _older_lab(layout: Layout) -> None:
    """What the code before this change left: world-readable logs, configs, directories."""
    for d in (layout.lab_dir, layout.root, layout.data, layout.log, layout.run, layout.etc):
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o755)
    (layout.etc / "nova").mkdir(mode=0o755)
    (layout.etc / "nova" / "nova.conf").write_text(f"connection = {SECRETS['db']}\n")
    (layout.etc / "nova" / "nova.conf").chmod(0o640)
    (layout.log / "rabbitmq").mkdir(mode=0o755)
    for log in ("dbinit.log", "keystone.log", "rabbitmq/rabbit@localhost_upgrade.log"):
        (layout.log / log).write_text("x\n")
        (layout.log / log).chmod(0o644)
    layout.secrets.write_text("{}")
    layout.secrets.chmod(0o644)
    layout.clouds_yaml.write_text("clouds: {}\n")
    layout.clouds_yaml.chmod(0o644)


def test_tighten_brings_an_older_lab_to_private_modes(settings: Settings) -> None:
    L = settings.layout
    _older_lab(L)
    outside = L.lab_dir / "elsewhere.txt"
    outside.write_text("not the lab's log")
    (L.log / "link.log").symlink_to(outside)
    changed = modes.tighten(L)
    for path in (L.log, L.etc, L.etc / "nova", L.log / "rabbitmq"):
        assert _mode(path) == 0o700, path
    for path in (
        L.log / "dbinit.log",
        L.log / "keystone.log",
        L.log / "rabbitmq" / "rabbit@localhost_upgrade.log",
        L.etc / "nova" / "nova.conf",
        L.secrets,
        L.clouds_yaml,
    ):
        assert _mode(path) == 0o600, path
    # MariaDB (mysql) and RabbitMQ (rabbitmq) pass through to cloud/data, listing nothing
    for path in (L.lab_dir, L.root, L.data):
        assert _mode(path) == 0o711, path
    assert _mode(outside) == 0o644  # a symlink is not followed
    assert L.log / "dbinit.log" in changed and L.secrets in changed
    assert modes.tighten(L) == []  # nothing left to do


def test_tighten_makes_missing_directories_with_their_modes(
    settings: Settings, no_umask: None
) -> None:
    modes.tighten(settings.layout)
    for path, mode in modes.dir_modes(settings.layout).items():
        assert _mode(path) == mode, path


def test_passwords_an_older_lab_logged_are_masked(settings: Settings, no_umask: None) -> None:
    L = settings.layout
    _older_lab(L)
    old = (
        f"==== keystone bootstrap: keystone-manage bootstrap --bootstrap-password "
        f"{SECRETS['admin']} --bootstrap-admin-url http://127.0.0.1:5000/v3\nok\n"
    )
    (L.log / "dbinit-keystone.log").write_text(old)
    (L.log / "dbinit-glance.log").write_text("glance-manage db_sync\n")
    (L.log / "keystone.log").write_text(f"a daemon's log {SECRETS['admin']}\n")
    scrubbed = scrub_setup_logs(L.log, SECRETS.values())
    assert scrubbed == [L.log / "dbinit-keystone.log"]
    assert (L.log / "dbinit-keystone.log").read_text() == old.replace(SECRETS["admin"], "***")
    assert _mode(L.log / "dbinit-keystone.log") == 0o600
    # a daemon's log is never rewritten under the daemon (it holds the file open)
    assert SECRETS["admin"] in (L.log / "keystone.log").read_text()
    assert scrub_setup_logs(L.log, SECRETS.values()) == []


def test_up_on_a_running_lab_tightens_modes_and_changes_nothing_else(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    L = settings.layout
    _older_lab(L)
    L.secrets.write_text(json.dumps(SECRETS))
    (L.log / "dbinit.log").write_text(f"mariadb -e \"IDENTIFIED BY '{SECRETS['db']}'\"\n")
    monkeypatch.setattr(system, "require_root", lambda action: None)
    monkeypatch.setattr(system, "missing_packages", lambda: [])
    monkeypatch.setattr(lifecycle, "is_up", lambda s: True)
    reports: list[str] = []
    result = lifecycle.up(settings, report=reports.append)
    assert result.already_up and result.started == []
    assert _mode(L.log / "dbinit.log") == 0o600 and _mode(L.log) == 0o700
    assert L.secrets in result.tightened
    assert any("tightened the modes" in r for r in reports)
    assert result.scrubbed == [L.log / "dbinit.log"]
    assert SECRETS["db"] not in (L.log / "dbinit.log").read_text()
    assert json.loads(L.secrets.read_text()) == SECRETS  # the passwords themselves untouched
