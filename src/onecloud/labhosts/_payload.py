"""The files that make a lab host itself: a tar written on the machine as
`<host dir>/payload.tar`, extracted over the host's root by host_init.sh before sshd starts.

Identity (hostname, machine-id in both places Ansible reads, its own ed25519 host key), SSH
server config, root's authorized key, and for legacy hosts the workloads: apps under /opt,
SysV scripts under /etc/init.d (enabled in rc2-5), their /etc/default settings and the seeder.
"""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from onecloud.labhosts import workloads
from onecloud.labhosts._model import HostSpec
from onecloud.labhosts._sshfiles import render_etc_hosts, render_sshd_config


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


def render_init_script(svc: workloads.InitService) -> str:
    exports = "\n".join(f"export {k}" for k, _ in svc.env if k not in ("PORT", "BIND"))
    return (
        workloads.read_text("sysv-init.sh")
        .replace("@@NAME@@", svc.name)
        .replace("@@USER@@", svc.user)
        .replace("@@DESCRIPTION@@", svc.description or svc.name)
        .replace("@@REQUIRES@@", svc.requires)
        .replace("@@EXPORTS@@", exports)
    )


class _Tar:
    """An in-memory tar of the host's files: one file on disk per host instead of dozens (file
    creation on the machine's disk was half the time of bringing 50 hosts up)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.GNU_FORMAT)  # noqa: SIM115 (closed by close())
        self.mtime = int(time.time())

    def _info(self, rel: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(rel.lstrip("/"))
        info.type, info.mode, info.mtime = kind, mode, self.mtime
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    def dir(self, rel: str, mode: int = 0o755) -> None:
        self.tar.addfile(self._info(rel, tarfile.DIRTYPE, mode))

    def file(self, rel: str, text: str, mode: int = 0o644) -> None:
        data = text.encode()
        info = self._info(rel, tarfile.REGTYPE, mode)
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))

    def symlink(self, rel: str, target: str) -> None:
        info = self._info(rel, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self.tar.addfile(info)

    def close(self) -> bytes:
        self.tar.close()
        return self.buf.getvalue()


def _enable(tar: _Tar, service: str) -> None:
    """rc links like update-rc.d makes, so `find /etc/rc?.d -name S??<svc>` (testinfra's
    is_enabled) and Ansible's sysvinit facts see the service enabled."""
    for level in "0123456":
        kind = "S" if level in "2345" else "K"
        tar.symlink(f"etc/rc{level}.d/{kind}02{service}", f"../init.d/{service}")


def build_payload(
    spec: HostSpec, *, host_key: str, host_pub: str, authorized_key: str, machine_id: str
) -> bytes:
    """The host's own files as a tar (paths relative to its root), extracted over its root by
    host_init.sh. Pure: the keys come in as text."""
    tar = _Tar()
    tar.file("etc/hostname", spec.name + "\n")
    tar.file("etc/hosts", render_etc_hosts(spec.name, spec.ip))
    tar.file("etc/machine-id", machine_id + "\n", 0o444)
    tar.file("var/lib/dbus/machine-id", machine_id + "\n", 0o444)
    tar.file("etc/ssh/sshd_config", render_sshd_config(spec.ip))
    tar.file("etc/ssh/ssh_host_ed25519_key", host_key, 0o600)
    tar.file("etc/ssh/ssh_host_ed25519_key.pub", host_pub)
    tar.symlink("usr/lib/onecloud-lab/init", "/usr/sbin/sshd")  # PID 1, see host_init.sh
    tar.dir("root/.ssh", 0o700)
    tar.file("root/.ssh/authorized_keys", authorized_key, 0o600)
    if spec.workloads:
        for name in spec.workloads:
            for svc in workloads.CATALOG[name].services:
                if svc.app is None:
                    continue  # a Debian service (postgresql): its script and links are there
                app = workloads.read_text(f"{svc.app}.py")
                tar.file(f"opt/{svc.name}/{svc.name}.py", app, 0o755)
                tar.file(f"etc/init.d/{svc.name}", render_init_script(svc), 0o755)
                tar.file(f"etc/default/{svc.name}", "".join(f"{k}={v}\n" for k, v in svc.env))
                _enable(tar, svc.name)
        tar.file("etc/onecloud-lab/workloads", "".join(w + "\n" for w in spec.workloads))
        tar.file("usr/local/lib/onecloud-lab/seed.py", workloads.read_text("seed.py"), 0o755)
        tar.file("usr/local/sbin/lab-seed", workloads.read_text("lab-seed.sh"), 0o755)
    return tar.close()
