"""The pre-flight transport: paramiko with the known host key, driven by an ssh_config.

Connection settings come from the same ssh_config file that Ansible uses (`-F`), so the
pre-flight proves exactly the path the playbooks will take: HostName, Port, User, IdentityFile,
UserKnownHostsFile. Unknown or changed host keys are refused (RejectPolicy).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import paramiko

from onecloud.contract import Endpoint, Pair, SystemSpec
from onecloud.migrate import _preflight as pf

__all__ = ["Connection", "SshProbeError", "connect", "preflight_systems", "resolve"]

log = logging.getLogger(__name__)


class SshProbeError(Exception):
    """A host could not be probed; the message says why in operator terms."""


@dataclass(frozen=True)
class Connection:
    name: str
    hostname: str
    port: int
    user: str
    key_files: tuple[str, ...]
    known_hosts: tuple[str, ...]
    host_key_alias: str | None


def resolve(ep: Endpoint, ssh_config: Path | None) -> Connection:
    """How to reach `ep`: its ssh_config entry if there is one, else its address."""
    hostname, port, user = ep.address, ep.port, ep.user
    keys: tuple[str, ...] = ()
    known: tuple[str, ...] = (str(Path("~/.ssh/known_hosts").expanduser()),)
    alias = None
    if ssh_config is not None and ssh_config.exists():
        cfg = paramiko.SSHConfig.from_path(str(ssh_config))
        if ep.name in cfg.get_hostnames():
            entry = cfg.lookup(ep.name)
            hostname = entry.get("hostname", ep.address)
            port = int(entry.get("port", port))
            user = entry.get("user", user)
            keys = tuple(entry.get("identityfile", []))
            if "userknownhostsfile" in entry:
                known = tuple(entry["userknownhostsfile"].split())
            alias = entry.get("hostkeyalias")
    return Connection(ep.name, hostname, port, user, keys, known, alias)


def _host_keys(conn: Connection) -> paramiko.HostKeys:
    """The known keys for this host, filed under the name paramiko will look up."""
    keys = paramiko.HostKeys()
    for f in conn.known_hosts:
        p = Path(f).expanduser()
        if p.exists():
            keys.load(str(p))
    lookup = conn.hostname if conn.port == 22 else f"[{conn.hostname}]:{conn.port}"
    out = paramiko.HostKeys()
    candidates = [c for c in (conn.host_key_alias, lookup, conn.hostname, conn.name) if c]
    for c in candidates:
        found = keys.lookup(c)
        if found:
            for ktype, key in found.items():
                out.add(lookup, ktype, key)
            break
    return out


class _Transport(paramiko.Transport):
    """paramiko knows curve25519 only as `curve25519-sha256@libssh.org`; RFC 8731 names the
    same exchange `curve25519-sha256`, and a hardened sshd (the lab's) offers only that name."""

    _preferred_kex = ("curve25519-sha256", *paramiko.Transport._preferred_kex)
    _kex_info: ClassVar[dict[str, Any]] = {
        **paramiko.Transport._kex_info,
        "curve25519-sha256": paramiko.Transport._kex_info["curve25519-sha256@libssh.org"],
    }


def connect(conn: Connection, timeout: float = 8.0) -> paramiko.SSHClient:
    """An SSH client to the host, refusing unknown host keys; SshProbeError says why not."""
    client = paramiko.SSHClient()
    known = _host_keys(conn)
    if not known.keys():
        raise SshProbeError(
            f"host key of {conn.name} ({conn.hostname}) is not in "
            f"{', '.join(conn.known_hosts)}; add it after checking its fingerprint"
        )
    for host in list(known.keys()):  # HostKeys is a MutableMapping
        for ktype, key in known[host].items():
            client.get_host_keys().add(host, ktype, key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            conn.hostname,
            port=conn.port,
            username=conn.user,
            key_filename=list(conn.key_files) or None,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            allow_agent=not conn.key_files,
            look_for_keys=not conn.key_files,
            transport_factory=_Transport,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise SshProbeError(
            f"host key of {conn.name} ({conn.hostname}) does NOT match known_hosts: {exc}; "
            "someone may be impersonating it, or it was rebuilt (then update known_hosts)"
        ) from exc
    except paramiko.AuthenticationException as exc:
        client.close()
        raise SshProbeError(
            f"{conn.user}@{conn.name} ({conn.hostname}:{conn.port}) refused our key: {exc}"
        ) from exc
    except (OSError, paramiko.SSHException) as exc:
        client.close()
        raise SshProbeError(
            f"cannot reach {conn.name} at {conn.hostname}:{conn.port}: {exc}"
        ) from exc
    return client


def run(client: paramiko.SSHClient, script: str, timeout: float = 60.0) -> str:
    _stdin, stdout, _stderr = client.exec_command("sh -s", timeout=timeout)
    _stdin.write(script)
    _stdin.channel.shutdown_write()
    out = stdout.read().decode("utf-8", "replace")
    stdout.channel.recv_exit_status()
    return out


def _probe_pair(
    spec: SystemSpec, pair: Pair, ssh_config: Path | None
) -> tuple[list[pf.HostReport], list[str]]:
    """Probe a source and its target; returns the reports and the source's app paths."""
    facts: dict[str, pf.Facts | None] = {}
    errors: dict[str, list[pf.Finding]] = {}
    seconds: dict[str, float] = {}
    app_paths: list[str] = []
    roles: tuple[tuple[Literal["source", "target"], Endpoint], ...] = (
        ("source", pair.source),
        ("target", pair.target),
    )
    for role, ep in roles:
        t0 = time.monotonic()
        try:
            client = connect(resolve(ep, ssh_config))
        except SshProbeError as exc:
            facts[ep.name] = None
            errors[ep.name] = [
                pf.Finding(ep.name, "error", str(exc), "check the host, its sshd and known_hosts")
            ]
            seconds[ep.name] = time.monotonic() - t0
            continue
        try:
            f = pf.parse_probe(run(client, pf.probe_script(spec, pair, role)))
            if role == "source":
                cands = {
                    p
                    for s in spec.app_services
                    for p in pf.app_dirs(f.init_scripts.get(s.name, ""))
                }
                cands |= {
                    f"/etc/{d}/{s.name}" for s in spec.app_services for d in ("init.d", "default")
                }
                if cands:
                    f.existing = pf.parse_probe(
                        run(client, pf.app_paths_script(sorted(cands)))
                    ).existing
                app_paths = sorted(set(f.existing))
            facts[ep.name] = f
        except (OSError, paramiko.SSHException) as exc:
            facts[ep.name] = None
            errors[ep.name] = [
                pf.Finding(ep.name, "error", f"probe failed: {exc}", "check the host and re-run")
            ]
        finally:
            client.close()
        seconds[ep.name] = time.monotonic() - t0
    verdict = pf.evaluate_pair(spec, pair, facts.get(pair.source.name), facts.get(pair.target.name))
    reports = []
    for role, ep in roles:
        findings = tuple(errors.get(ep.name, [])) + tuple(verdict.get(ep.name, []))
        reports.append(
            pf.HostReport(
                ep.name, role, spec.id, findings, facts.get(ep.name), seconds.get(ep.name, 0.0)
            )
        )
    return reports, app_paths


@dataclass(frozen=True)
class SystemPreflight:
    system: str
    reports: tuple[pf.HostReport, ...]
    app_paths: dict[str, list[str]]  # source host -> its application paths

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports)

    def errors(self) -> list[pf.Finding]:
        return [f for r in self.reports for f in r.findings if f.severity == "error"]


def preflight_systems(
    specs: list[SystemSpec], ssh_config: Path | None, workers: int = 10
) -> dict[str, SystemPreflight]:
    """Probe every pair of every system in parallel threads."""
    jobs = [(s, p) for s in specs for p in s.pairs]
    results: dict[str, list[tuple[list[pf.HostReport], list[str], str]]] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs) or 1))) as pool:
        futs = {pool.submit(_probe_pair, s, p, ssh_config): (s, p) for s, p in jobs}
        for fut, (s, p) in futs.items():
            reports, app = fut.result()
            results.setdefault(s.id, []).append((reports, app, p.source.name))
    out = {}
    for s in specs:
        reps: list[pf.HostReport] = []
        apps: dict[str, list[str]] = {}
        for reports, app, src in results.get(s.id, []):
            reps.extend(reports)
            apps[src] = app
        out[s.id] = SystemPreflight(s.id, tuple(reps), apps)
    return out
