"""Lab hosts: rendering of ssh_config/known_hosts/sshd_config, the payload tar, the registry."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import paramiko
import pytest

from onecloud.errors import LabError
from onecloud.labhosts._model import HostSpec
from onecloud.labhosts._payload import build_payload, ensure_keypair, render_init_script
from onecloud.labhosts._registry import HostRecord, Registry, load, locked, save
from onecloud.labhosts._sshfiles import render_known_hosts, render_ssh_config, render_sshd_config
from onecloud.labhosts.workloads import CATALOG


def test_ssh_config_is_strict_and_parsed_by_paramiko(tmp_path: Path) -> None:
    text = render_ssh_config(
        [("edu-web-01", "198.18.0.11"), ("a-first", "198.19.1.23")],
        identity_file=tmp_path / "id_ed25519",
        known_hosts=tmp_path / "known_hosts",
        control_dir=tmp_path / "cm",
    )
    assert text.index("Host a-first") < text.index("Host edu-web-01")  # sorted, stable
    cfg = paramiko.SSHConfig.from_text(text).lookup("edu-web-01")
    assert cfg["hostname"] == "198.18.0.11"
    assert cfg["user"] == "root"
    assert cfg["identityfile"] == [str(tmp_path / "id_ed25519")]
    assert cfg["userknownhostsfile"] == str(tmp_path / "known_hosts")
    assert cfg["stricthostkeychecking"] == "yes"
    assert cfg["controlmaster"] == "auto"
    assert cfg["controlpath"] == str(tmp_path / "cm" / "edu-web-01")
    assert cfg["controlpersist"] == "60s"


def test_known_hosts_lists_alias_and_ip() -> None:
    text = render_known_hosts(
        {"b": ("198.18.0.12", "ssh-ed25519 BBBB"), "a": ("198.18.0.11", "ssh-ed25519 AAAA\n")}
    )
    assert text == "a,198.18.0.11 ssh-ed25519 AAAA\nb,198.18.0.12 ssh-ed25519 BBBB\n"


def test_sshd_config_binds_the_host_and_is_key_only() -> None:
    text = render_sshd_config("198.18.0.11")
    lines = set(text.splitlines())
    for expected in (
        "ListenAddress 198.18.0.11:22",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "UsePAM no",
        "UseDNS no",
        "MaxStartups 100:30:200",
        "KexAlgorithms curve25519-sha256",
        "HostKey /etc/ssh/ssh_host_ed25519_key",
    ):
        assert expected in lines


def _members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def _read(data: bytes, name: str) -> str:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read().decode()


def test_payload_of_a_target_host_is_identity_only(tmp_path: Path) -> None:
    spec = HostSpec("edu-web-01-new", "198.19.1.23/24", role="target")
    pub = ensure_keypair(tmp_path / "hk", "root@x")
    data = build_payload(
        spec,
        host_key=(tmp_path / "hk").read_text(),
        host_pub=pub,
        authorized_key="ssh-ed25519 LABKEY onecloud-lab\n",
        machine_id="0" * 32,
    )
    members = _members(data)
    assert members["etc/ssh/ssh_host_ed25519_key"].mode == 0o600
    assert members["root/.ssh"].isdir() and members["root/.ssh"].mode == 0o700
    assert members["root/.ssh/authorized_keys"].mode == 0o600
    assert all(m.uid == 0 and m.gid == 0 for m in members.values())
    assert _read(data, "etc/hostname") == "edu-web-01-new\n"
    assert _read(data, "etc/machine-id") == "0" * 32 + "\n"
    assert _read(data, "var/lib/dbus/machine-id") == "0" * 32 + "\n"
    assert "ListenAddress 198.19.1.23:22" in _read(data, "etc/ssh/sshd_config")
    assert not any(n.startswith(("opt/", "etc/init.d/", "usr/local")) for n in members)
    # the private key is a real OpenSSH key that paramiko can load
    paramiko.Ed25519Key.from_private_key_file(str(tmp_path / "hk"))


def test_payload_of_a_legacy_host_carries_its_workloads(tmp_path: Path) -> None:
    spec = HostSpec("h", "198.18.0.11/24", workloads=("webapp", "sqlite", "postgresql"))
    data = build_payload(spec, host_key="k", host_pub="p", authorized_key="a", machine_id="1" * 32)
    members = _members(data)
    for svc in ("webapp", "ledgerapp", "permitsapp"):
        assert members[f"etc/init.d/{svc}"].mode == 0o755
        assert f"opt/{svc}/{svc}.py" in members
        assert members[f"etc/rc2.d/S02{svc}"].linkname == f"../init.d/{svc}"
        assert members[f"etc/rc0.d/K02{svc}"].issym()
    assert "etc/init.d/postgresql" not in members  # Debian's own script is used
    assert _read(data, "etc/onecloud-lab/workloads").split() == ["webapp", "sqlite", "postgresql"]
    assert "PORT=8081" in _read(data, "etc/default/ledgerapp")
    assert members["usr/local/sbin/lab-seed"].mode == 0o755


def test_init_script_renders_every_placeholder() -> None:
    svc = CATALOG["postgresql"].services[1]
    text = render_init_script(svc)
    assert "@@" not in text
    assert "# Provides:          permitsapp" in text
    assert "RUN_AS=postgres" in text
    assert "postgresql" in text.split("Required-Start:")[1].splitlines()[0]
    assert "export DATABASE" in text


def test_keypair_is_kept_once_made(tmp_path: Path) -> None:
    first = ensure_keypair(tmp_path / "id", "c")
    assert (tmp_path / "id").stat().st_mode & 0o777 == 0o600
    assert ensure_keypair(tmp_path / "id", "c") == first
    assert first.startswith("ssh-ed25519 ") and first.endswith(" c\n")


def test_registry_round_trip_and_atomic_save(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    assert load(path).hosts == {}
    reg = Registry()
    spec = HostSpec("a", "198.18.0.11/24", workloads=("webapp",), disk_mb=64)
    reg.hosts["a"] = HostRecord(spec=spec, pid=123, netns="ocl-a", veth="oclv1", machine_id="m")
    save(path, reg)
    again = load(path)
    assert again.hosts["a"].spec == spec
    assert again.hosts["a"].pid == 123
    assert json.loads(path.read_text())["version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["registry.json"]  # no temp file left


def test_unreadable_registry_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    path.write_text("{not json")
    with pytest.raises(LabError, match=r"registry .* is unreadable") as err:
        load(path)
    assert "onecloud lab down" in str(err.value)


def test_lock_is_exclusive(tmp_path: Path) -> None:
    with (
        locked(tmp_path / ".lock"),
        pytest.raises(LabError, match="holds the lab host lock"),
        locked(tmp_path / ".lock", timeout=0.2),
    ):
        pass


def test_ssh_config_also_serves_tools_that_connect_by_address(tmp_path: Path) -> None:
    text = render_ssh_config(
        [("edu-web-01", "198.18.0.11")],
        identity_file=tmp_path / "id",
        known_hosts=tmp_path / "kh",
        control_dir=tmp_path / "cm",
    )
    cfg = paramiko.SSHConfig.from_text(text)
    by_ip = cfg.lookup("198.19.1.23")
    assert by_ip["user"] == "root"
    assert by_ip["stricthostkeychecking"] == "yes"
    assert by_ip["userknownhostsfile"] == str(tmp_path / "kh")
    assert by_ip["controlpath"] == f"{tmp_path / 'cm'}/198.19.1.23"  # paramiko expands %h
    # the alias keeps its own ControlPath (first value wins in ssh_config)
    assert cfg.lookup("edu-web-01")["controlpath"] == str(tmp_path / "cm" / "edu-web-01")
    assert "hostname" not in by_ip or by_ip["hostname"] == "198.19.1.23"
