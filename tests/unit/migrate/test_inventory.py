from pathlib import Path
from typing import Any

import yaml

from onecloud.contract._spec import SystemSpec
from onecloud.migrate._inventory import HEADER, render, render_files


class Unsafe(str):
    """A scalar the inventory tagged `!unsafe` (Ansible never templates it)."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!unsafe", lambda loader, node: Unsafe(loader.construct_scalar(node)))


def load(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def test_census_strings_are_unsafe_and_numbers_are_not(specs: dict[str, SystemSpec]) -> None:
    files = render_files("lab", list(specs.values()), ssh_config=None)
    sysv = load(files["group_vars/system_health_permits.yml"])
    assert isinstance(sysv["onecloud_system_id"], Unsafe)
    svc = sysv["onecloud_services"][1]
    assert isinstance(svc["name"], Unsafe) and isinstance(svc["health_path"], Unsafe)
    assert svc["port"] == 8082 and svc["engine"] is False
    assert all(isinstance(t, Unsafe) for t in sysv["onecloud_databases"][0]["tables"])
    host = load(files["host_vars/health-db-01.yml"])
    assert host["ansible_port"] == 22
    assert all(isinstance(host[k], Unsafe) for k in ("ansible_host", "onecloud_peer_address"))


def test_every_file_is_marked_generated(specs: dict[str, SystemSpec]) -> None:
    files = render_files("lab", list(specs.values()), ssh_config=Path("/lab/ssh_config"))
    assert files, "no files rendered"
    for name, text in files.items():
        assert text.startswith(HEADER), name
        load(text)


def test_hosts_file_has_groups_without_variables(specs: dict[str, SystemSpec]) -> None:
    files = render_files("lab", list(specs.values()), ssh_config=None)
    hosts = load(files["hosts.yml"])["all"]["children"]
    assert set(hosts["sources"]["hosts"]) == {"civil-app-01", "edu-web-01", "health-db-01"}
    assert set(hosts["targets"]["hosts"]) == {"civil-ledger-1", "edu-portal-1", "health-permits-1"}
    assert set(hosts["wave_1"]["children"]) == {
        "system_civil_ledger",
        "system_edu_portal",
        "system_health_permits",
    }
    for group in hosts.values():
        assert "vars" not in group
        for hv in (group.get("hosts") or {}).values():
            assert hv is None  # no host variables in hosts.yml


def test_vars_go_to_group_and_host_vars(specs: dict[str, SystemSpec]) -> None:
    files = render_files(
        "lab",
        list(specs.values()),
        ssh_config=Path("/lab/ssh_config"),
        app_paths={"health-db-01": ["/etc/init.d/permitsapp", "/opt/permitsapp"]},
    )
    allv = load(files["group_vars/all.yml"])
    assert allv["ansible_ssh_common_args"].startswith("-F /lab/ssh_config")
    assert allv["ansible_ssh_pipelining"] is True
    sysv = load(files["group_vars/system_health_permits.yml"])
    assert [s["name"] for s in sysv["onecloud_services"]] == ["postgresql", "permitsapp"]
    assert sysv["onecloud_databases"] == [
        {"engine": "postgresql", "name": "permits", "tables": ["permits"]}
    ]
    src = load(files["host_vars/health-db-01.yml"])
    assert src["onecloud_role"] == "source"
    assert src["onecloud_peer"] == "health-permits-1"
    assert src["ansible_host"] == "health-db-01"  # resolved through the ssh_config
    assert src["onecloud_app_paths"] == ["/etc/init.d/permitsapp", "/opt/permitsapp"]
    tgt = load(files["host_vars/health-permits-1.yml"])
    assert tgt["onecloud_role"] == "target" and "onecloud_app_paths" not in tgt


def test_without_ssh_config_hosts_are_reached_by_address(specs: dict[str, SystemSpec]) -> None:
    files = render_files("lab", [specs["edu-portal"]], ssh_config=None)
    assert load(files["host_vars/edu-portal-1.yml"])["ansible_host"] == "198.19.1.12"


def test_render_replaces_the_directory(tmp_path: Path, specs: dict[str, SystemSpec]) -> None:
    out = tmp_path / "lab"
    render("lab", list(specs.values()), out_dir=out, ssh_config=None)
    assert (out / "host_vars" / "health-db-01.yml").exists()
    render("lab", [specs["edu-portal"]], out_dir=out, ssh_config=None)
    assert not (out / "host_vars" / "health-db-01.yml").exists()  # no stale host survives
    assert (out / "host_vars" / "edu-web-01.yml").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["lab"]
