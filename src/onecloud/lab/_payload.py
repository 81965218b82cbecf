"""The files that make a lab host itself: written on the machine into `<host dir>/payload/`,
copied over the host's root by host_init.sh before sshd starts.

Identity (hostname, machine-id in both places Ansible reads, its own ed25519 host key), SSH
server config, root's authorized key, and for legacy hosts the workloads: apps under /opt,
SysV scripts under /etc/init.d (enabled in rc2-5), their /etc/default settings and the seeder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from onecloud.lab import workloads
from onecloud.lab._hostmodel import HostSpec
from onecloud.lab._sshfiles import render_etc_hosts, render_sshd_config


def generate_keypair(private_path: Path, comment: str) -> str:
    """Write an OpenSSH ed25519 key pair (private 0600, `.pub` beside it) in-process (no
    ssh-keygen per host: 50 hosts would spend a second forking); returns the public line."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    line = f"{public} {comment}\n"
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    private_path.with_name(private_path.name + ".pub").write_text(line)
    return line


def ensure_keypair(private_path: Path, comment: str) -> str:
    pub = private_path.with_name(private_path.name + ".pub")
    if private_path.exists() and pub.exists():
        return pub.read_text()
    return generate_keypair(private_path, comment)


def render_init_script(svc: workloads.Service) -> str:
    exports = "\n".join(f"export {k}" for k, _ in svc.env if k not in ("PORT", "BIND"))
    return (
        workloads.read_text("sysv-init.sh")
        .replace("@@NAME@@", svc.name)
        .replace("@@USER@@", svc.user)
        .replace("@@DESCRIPTION@@", svc.description or svc.name)
        .replace("@@REQUIRES@@", svc.requires)
        .replace("@@EXPORTS@@", exports)
    )


def _write(root: Path, rel: str, text: str, mode: int = 0o644) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _enable(root: Path, service: str) -> None:
    """rc links like update-rc.d makes, so `find /etc/rc?.d -name S??<svc>` (testinfra's
    is_enabled) and Ansible's sysvinit facts see the service enabled."""
    for level, kind in (("2", "S"), ("3", "S"), ("4", "S"), ("5", "S"), ("0", "K"), ("1", "K"),
                        ("6", "K")):  # fmt: skip
        d = root / f"etc/rc{level}.d"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{kind}02{service}").symlink_to(f"../init.d/{service}")


def write_payload(
    payload: Path, spec: HostSpec, *, host_key_path: Path, authorized_key: str, machine_id: str
) -> None:
    """(Re)build `payload` for `spec`. The host key must exist already (see ensure_keypair)."""
    if payload.exists():
        shutil.rmtree(payload)
    payload.mkdir(parents=True)
    for d, mode in (("etc", 0o755), ("root", 0o700), ("var", 0o755)):
        (payload / d).mkdir(mode=mode)
        (payload / d).chmod(mode)
    _write(payload, "etc/hostname", spec.name + "\n")
    _write(payload, "etc/hosts", render_etc_hosts(spec.name, spec.ip))
    _write(payload, "etc/machine-id", machine_id + "\n", 0o444)
    _write(payload, "var/lib/dbus/machine-id", machine_id + "\n", 0o444)
    _write(payload, "etc/ssh/sshd_config", render_sshd_config(spec.ip))
    _write(payload, "etc/ssh/ssh_host_ed25519_key", host_key_path.read_text(), 0o600)
    pub = host_key_path.with_name(host_key_path.name + ".pub").read_text()
    _write(payload, "etc/ssh/ssh_host_ed25519_key.pub", pub)
    (payload / "root/.ssh").mkdir(mode=0o700)
    _write(payload, "root/.ssh/authorized_keys", authorized_key, 0o600)
    if not spec.workloads:
        return
    for name in spec.workloads:
        for svc in workloads.CATALOG[name].services:
            if svc.app is None:
                continue  # a Debian service (postgresql): its script and links are there
            _write(payload, f"opt/{svc.name}/{svc.name}.py", workloads.read_text(f"{svc.app}.py"),
                   0o755)  # fmt: skip
            _write(payload, f"etc/init.d/{svc.name}", render_init_script(svc), 0o755)
            _write(payload, f"etc/default/{svc.name}",
                   "".join(f"{k}={v}\n" for k, v in svc.env))  # fmt: skip
            _enable(payload, svc.name)
    _write(payload, "etc/onecloud-lab/workloads", "".join(w + "\n" for w in spec.workloads))
    _write(payload, "usr/local/lib/onecloud-lab/seed.py", workloads.read_text("seed.py"), 0o755)
    _write(payload, "usr/local/sbin/lab-seed", workloads.read_text("lab-seed.sh"), 0o755)
