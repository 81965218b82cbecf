"""Hostile census strings reach no shell, SQL or Jinja: every builder of a command or a file
from a spec is fed them, and what it builds is parsed or run locally with a canary file."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from onecloud.contract._spec import DatabaseSpec, ServiceSpec, SystemSpec
from onecloud.errors import UsageError
from onecloud.migrate import _preflight as pf
from onecloud.migrate._inventory import render_files
from onecloud.verify import _probes

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "playbooks" / "files"
ROLES = ROOT / "playbooks" / "roles"
CANARY = "/tmp/pwned"

HOSTILE = [
    "x'; touch /tmp/pwned; echo '",
    "$(touch /tmp/pwned)",
    "`touch /tmp/pwned`",
    "`id`",
    "{{ lookup('pipe','touch /tmp/pwned') }}",
    "{% raw %}x{% endraw %}",
    "a\nb",
    "a\n@@pgsize 6666\n99",
    "@@end",
    "h:41",
    "../../etc/passwd",
    '"; DROP TABLE x; --',
    "'); DROP TABLE x; --",
    "--delete",
    "-rf",
    "name with spaces",
    "tab\there",
    "back\\slash",
    "semi;colon|pipe&amp>redir<",
    "unicode \u2028 line sep \x85 nel \U0001f600",
    "",
]


def armed(value: str, tmp_path: Path) -> str:
    """The hostile string with its canary pointed into the test's directory."""
    return value.replace(CANARY, str(tmp_path / "pwned"))


def hostile_spec(base: SystemSpec, value: str) -> SystemSpec:
    return dataclasses.replace(
        base,
        name=value,
        services=(ServiceSpec(value, 8080, value, False), ServiceSpec(value, 5432, None, True)),
        data_paths=(value, "/srv/" + value),
        databases=(
            DatabaseSpec("postgresql", value, (value,)),
            DatabaseSpec("sqlite", "/srv/" + value, (value,)),
        ),
    )


@pytest.fixture
def base(specs: dict[str, SystemSpec]) -> SystemSpec:
    return specs["health-permits"]


def _stubs(tmp_path: Path) -> Path:
    """runuser (records its argv and stdin, prints a size) and timeout (no network)."""
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    log = tmp_path / "runuser.log"
    (bin_ / "runuser").write_text(
        f"#!/bin/sh\nprintf '%s\\0' \"$@\" >> {log}\ncat >> {log}.stdin\necho 4096\n"
    )
    (bin_ / "timeout").write_text("#!/bin/sh\nexit 1\n")
    for f in bin_.iterdir():
        f.chmod(0o755)
    return bin_


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("role", ["source", "target"])
def test_preflight_script_runs_nothing(
    tmp_path: Path, base: SystemSpec, value: str, role: Any
) -> None:
    value = armed(value, tmp_path)
    spec = hostile_spec(base, value)
    script = pf.probe_script(spec, spec.pairs[0], role)
    assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0
    env = dict(os.environ, PATH=f"{_stubs(tmp_path)}:{os.environ['PATH']}")
    out = subprocess.run(
        ["sh"],
        input=script,
        text=True,
        capture_output=True,
        cwd=tmp_path,
        env=env,
        timeout=30,
        check=False,
    )
    assert not (tmp_path / "pwned").exists()
    facts = pf.parse_probe(out.stdout)
    # no value forged a section: only what the script asked for came back
    assert set(facts.init_scripts) <= {value}
    if role == "source":
        assert facts.pg_bytes == {value: 4096}
        args = (tmp_path / "runuser.log").read_text().split("\0")
        assert f"name={value}" in args  # the name is one psql variable, never SQL text
        assert (tmp_path / "runuser.log.stdin").read_text() == "SELECT pg_database_size(:'name');\n"
        assert facts.reach == {f"{spec.pairs[0].target.address}:22": False}
        assert set(facts.missing) <= {value, "/srv/" + value}
    else:
        assert facts.engines <= {value}
        assert set(facts.free_kb) <= {value, "/srv/" + value, "/var/lib/postgresql"}


def test_init_script_content_cannot_open_a_section(tmp_path: Path) -> None:
    init = tmp_path / "init"
    init.write_text("#!/bin/sh\n@@pgsize evil\n123\n@@end\nDAEMON=/srv/app/run\n")
    marker = f"@@script {pf._name_token('app')}"
    text = subprocess.run(
        ["sh", "-c", f"echo '{marker}'; sed 's/^/|/' -- \"$1\"; echo @@end", "sh", str(init)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    facts = pf.parse_probe(text)
    assert facts.pg_bytes == {}
    assert facts.init_scripts == {"app": init.read_text().rstrip("\n")}


class Unsafe(str):
    pass


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))


def _unsafe_strings(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _unsafe_strings(v)]
    if isinstance(node, list):
        return [x for v in node for x in _unsafe_strings(v)]
    return [node]


@pytest.mark.parametrize("value", HOSTILE)
def test_inventory_keeps_hostile_values_as_unsafe_text(
    tmp_path: Path, base: SystemSpec, value: str
) -> None:
    spec = hostile_spec(base, value)
    files = render_files(
        value,
        [spec],
        ssh_config=tmp_path / value,
        app_paths={spec.pairs[0].source.name: [value]},
        digest=value,
    )
    for name, text in files.items():
        data = yaml.load(text, Loader=_Loader)
        for leaf in _unsafe_strings(data):
            if isinstance(leaf, str) and name != "hosts.yml":
                assert isinstance(leaf, Unsafe) or leaf in (
                    "root",
                    "/usr/bin/python3",
                    "-o StrictHostKeyChecking=yes",
                )
    sysv = yaml.load(files[f"group_vars/{spec.group}.yml"], Loader=_Loader)
    assert [s["name"] for s in sysv["onecloud_services"]] == [value, value]
    assert sysv["onecloud_data_paths"] == [value, "/srv/" + value]
    assert sysv["onecloud_databases"][0] == {
        "engine": "postgresql",
        "name": value,
        "tables": [value],
    }
    src = yaml.load(files[f"host_vars/{spec.pairs[0].source.name}.yml"], Loader=_Loader)
    assert src["onecloud_app_paths"] == [value]
    assert all(isinstance(p, Unsafe) for p in src["onecloud_app_paths"])


@pytest.mark.parametrize("value", ["../../etc/passwd", "a/b", ".hidden", "a\nb", ""])
def test_inventory_refuses_host_names_that_are_not_file_names(base: SystemSpec, value: str) -> None:
    pair = base.pairs[0]
    spec = dataclasses.replace(
        base,
        pairs=(dataclasses.replace(pair, source=dataclasses.replace(pair.source, name=value)),),
    )
    with pytest.raises(UsageError):
        render_files("lab", [spec], ssh_config=None)


def _row_counts() -> ModuleType:
    spec = importlib.util.spec_from_file_location("row_counts", FILES / "row_counts.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("value", [v for v in HOSTILE if v])
def test_row_counts_refuses_hostile_tables(tmp_path: Path, value: str) -> None:
    value = armed(value, tmp_path)
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE x (a)")
    conn.execute('CREATE TABLE "a""b" (a)')
    conn.commit()
    conn.close()
    arg = f'[{{"engine": "sqlite", "name": "{db}", "tables": ["x", {_json(value)}]}}]'
    out = subprocess.run(
        [sys.executable, str(FILES / "row_counts.py"), arg],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert "refusing table" in out.stderr and out.stdout == ""
    assert not (tmp_path / "pwned").exists()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 2  # no DROP
    conn.close()
    rc = _row_counts()
    with pytest.raises(rc.Refused):
        rc.sqlite_count_sql(value)
    with pytest.raises(rc.Refused):
        rc.postgresql_count_command("permits", value)
    with pytest.raises(rc.Refused):
        rc.postgresql_count_command(value, "permits")


def _json(value: str) -> str:
    import json

    return json.dumps(value)


def test_row_counts_builders_quote_plain_names(tmp_path: Path) -> None:
    rc = _row_counts()
    assert rc.sqlite_count_sql("permits") == 'SELECT count(*) FROM "permits"'
    assert rc.quote_ident('a"b') == '"a""b"'
    argv, sql = rc.postgresql_count_command("permits", "permits")
    assert "tbl=permits" in argv and argv[argv.index("-d") + 1] == "permits"
    assert sql == 'SELECT count(*) FROM :"tbl";\n'
    db = tmp_path / "a b?c#d.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (a)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    assert rc.count_sqlite(str(db), "t") == 1
    with pytest.raises(sqlite3.OperationalError):
        rc.count_sqlite(str(db), "missing")


@pytest.mark.parametrize("value", HOSTILE)
def test_verify_commands_run_nothing(tmp_path: Path, value: str) -> None:
    value = armed(value, tmp_path)
    cmds = [
        _probes.digest_command((FILES / "tree_digest.sh").read_text(), [value, "/" + value]),
        _probes.counts_command(
            (FILES / "row_counts.py").read_text(),
            [{"engine": "sqlite", "name": value, "tables": [value]}],
        ),
        _probes.health_command(value),
    ]
    for cmd in cmds:
        assert subprocess.run(["bash", "-n", "-c", cmd], check=False).returncode == 0
        subprocess.run(
            ["bash", "-c", cmd], capture_output=True, cwd=tmp_path, timeout=30, check=False
        )
        assert not (tmp_path / "pwned").exists(), cmd
    with pytest.raises(ValueError):
        _probes._service(value)


def _tasks(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    out = []
    for t in items or []:
        out.append(t)
        for key in ("block", "rescue", "always"):
            out += _tasks(t.get(key))
    return out


@pytest.mark.parametrize(
    "role",
    [
        "freeze_system",
        "switch_system",
        "rollback_system",
        "retire_system",
        "presync_system",
        "sync_system",
    ],
)
def test_roles_assert_service_names_first(role: str) -> None:
    tasks = yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text())
    first = tasks[0]
    assert "ansible.builtin.assert" in first and first["loop"] == "{{ onecloud_services }}"
    assert any(
        "[A-Za-z0-9][A-Za-z0-9._-]*" in c and "fullmatch" in c
        for c in first["ansible.builtin.assert"]["that"]
    )


@pytest.mark.parametrize("role", ["copy_data", "retire_system"])
def test_roles_assert_data_paths_first(role: str) -> None:
    tasks = yaml.safe_load((ROLES / role / "tasks" / "main.yml").read_text())
    paths = [t for t in tasks[:2] if "_paths" in str(t.get("loop"))]
    assert paths and "/etc" in str(paths[0]["ansible.builtin.assert"]["that"])


def test_no_shell_task_interpolates_census_values() -> None:
    census = re.compile(r"item\.name|_paths|onecloud_(services|databases|data_paths)")
    for f in ROLES.glob("*/tasks/*.yml"):
        for t in _tasks(yaml.safe_load(f.read_text())):
            if "ansible.builtin.shell" in t:
                assert not census.search(str(t["ansible.builtin.shell"])), f"{f}: {t['name']}"


@pytest.mark.parametrize(
    "value",
    [
        "/",
        "/etc",
        "/var",
        "/srv/a/../b",
        "/srv/./a",
        "srv/a",
        "-rf",
        "--delete",
        "/srv//a",
        "/srv/a/",
        "/srv/a\nb",
    ],
)
def test_copy_tree_refuses_dangerous_paths(tmp_path: Path, value: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    out = subprocess.run(
        ["bash", str(FILES / "copy_tree.sh"), str(work), "192.0.2.1", "k", "1", "/srv/ok", value],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 2 and "refusing" in out.stderr
    assert not work.exists()  # the trap cleaned up; rsync never ran
