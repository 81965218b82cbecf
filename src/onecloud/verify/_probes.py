"""Run one check on its host(s) through testinfra (ssh backend with the lab's ssh_config).

testinfra's paramiko backend ignores known_hosts, so the `ssh://` backend with `ssh_config`
is used: host keys are checked exactly as Ansible checks them. The digest and row-count
helpers are the very files the playbooks run (playbooks/files/), so both agree on "equal".
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onecloud import paths
from onecloud.verify._checks import Check

__all__ = [
    "CheckResult",
    "HostPool",
    "counts_command",
    "digest_command",
    "health_command",
    "run_check",
]

#: a service name testinfra may hand to `service NAME status` (an init script's file name)
_SERVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

_HEALTH = (
    "import sys, urllib.request\n"
    "try:\n"
    "    r = urllib.request.urlopen(sys.argv[1], timeout=5)\n"
    "    print(r.status)\n"
    "except urllib.error.HTTPError as e:\n"
    "    print(e.code)\n"
    "except Exception as e:\n"
    "    print('error', type(e).__name__, e)\n"
)


@dataclass(frozen=True)
class CheckResult:
    check: Check
    ok: bool
    detail: str
    seconds: float


def _helper(name: str) -> str:
    return (paths.playbooks_dir() / "files" / name).read_text(encoding="utf-8")


class HostPool:
    """testinfra hosts by name, created once and shared by the worker threads."""

    def __init__(self, ssh_config: Path | None) -> None:
        self.ssh_config = ssh_config
        self._hosts: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        import testinfra

        with self._lock:
            if name not in self._hosts:
                kw: dict[str, Any] = {"ssh_config": str(self.ssh_config)} if self.ssh_config else {}
                self._hosts[name] = testinfra.get_host(f"ssh://{name}", **kw)
            return self._hosts[name]


def digest_command(script: str, paths_: list[str]) -> str:
    """The shell command running tree_digest.sh (its text) over the paths, each quoted."""
    return f"bash -c {shlex.quote(script)} tree_digest " + " ".join(
        shlex.quote(str(p)) for p in paths_
    )


def counts_command(code: str, databases: list[dict[str, Any]]) -> str:
    """The shell command running row_counts.py (its text) with the databases as one JSON arg."""
    return f"python3 -c {shlex.quote(code)} {shlex.quote(json.dumps(databases))}"


def health_command(url: str) -> str:
    return f"python3 -c {shlex.quote(_HEALTH)} {shlex.quote(str(url))}"


def _service(name: object) -> str:
    if not isinstance(name, str) or not _SERVICE.fullmatch(name):
        raise ValueError(f"refusing service name {name!r}: not a plain init script name")
    return name


def _digest(host: Any, paths_: list[str]) -> str:
    out = host.run(digest_command(_helper("tree_digest.sh"), paths_))
    if out.rc != 0:
        raise RuntimeError(f"digest failed (rc {out.rc}): {out.stderr.strip()[:200]}")
    return str(out.stdout).strip()


def _counts(host: Any, databases: list[dict[str, Any]]) -> dict[str, int]:
    out = host.run(counts_command(_helper("row_counts.py"), databases))
    if out.rc != 0:
        raise RuntimeError(f"row count failed (rc {out.rc}): {out.stderr.strip()[:200]}")
    return {str(k): int(v) for k, v in json.loads(out.stdout).items()}


def _evaluate(check: Check, pool: HostPool) -> tuple[bool, str]:
    host = pool.get(check.host)
    p = check.params
    if check.kind == "service_running":
        running = host.service(_service(p["service"])).is_running
        return running, "running" if running else "not running (service status != 0)"
    if check.kind == "service_stopped":
        running = host.service(_service(p["service"])).is_running
        return not running, "stopped" if not running else "still running"
    if check.kind in ("service_enabled", "service_disabled"):
        enabled = bool(host.service(_service(p["service"])).is_enabled)
        wanted = check.kind == "service_enabled"
        return enabled == wanted, "enabled at boot" if enabled else "disabled at boot"
    if check.kind == "port_listening":
        addrs = [str(a) for a in p["addresses"]]
        for a in addrs:
            if host.socket(f"tcp://{a}:{p['port']}").is_listening:
                return True, f"listening on {a}:{p['port']}"
        return False, f"nothing listens on {' or '.join(addrs)}:{p['port']}"
    if check.kind == "port_closed":
        listening = host.socket(f"tcp://{p['address']}:{p['port']}").is_listening
        return not listening, "closed" if not listening else "still listening"
    if check.kind == "health":
        out = host.run(health_command(str(p["url"])))
        code = str(out.stdout).strip()
        return code == "200", f"HTTP {code or out.stderr.strip()[:120]}"
    if check.kind == "data_digest":
        assert check.peer is not None
        # a missing tree digests as empty on both hosts: that proves nothing, so it fails
        missing = [q for q in p["paths"] if not host.file(str(q)).exists]
        if missing:
            return False, f"data path(s) missing on {check.host}: {', '.join(map(str, missing))}"
        source_digest = _digest(pool.get(check.peer), list(p["paths"]))
        got = _digest(host, list(p["paths"]))
        same = got == source_digest
        return same, f"sha256 {got[:16]}" + ("" if same else f" != {source_digest[:16]}")
    if check.kind == "row_counts":
        assert check.peer is not None
        counted = _counts(host, list(p["databases"]))
        peer = pool.get(check.peer)
        f = peer.file(f"{p['workdir']}/rowcounts.json")
        if f.exists:
            want: dict[str, int] = {
                str(k): int(v) for k, v in json.loads(f.content_string or "{}").items()
            }
            origin = "at the freeze"
        else:
            want = _counts(peer, list(p["databases"]))
            origin = "live on the source"
        diff = {
            k: (counted.get(k), want.get(k))
            for k in set(counted) | set(want)
            if counted.get(k) != want.get(k)
        }
        if diff:
            return False, "differ (target, source " + origin + "): " + ", ".join(
                f"{k}: {a} vs {b}" for k, (a, b) in sorted(diff.items())
            )
        return True, ", ".join(f"{k.rsplit(':', 1)[-1]}={v}" for k, v in sorted(counted.items()))
    raise ValueError(f"unknown check kind {check.kind!r}")


def run_check(check: Check, pool: HostPool) -> CheckResult:
    """Run one check; an unreachable host or a broken probe is a failed check, not a crash."""
    t0 = time.monotonic()
    try:
        ok, detail = _evaluate(check, pool)
    except Exception as exc:  # testinfra raises plain RuntimeError/AssertionError over SSH
        lines = str(exc).strip().splitlines()
        ok, detail = False, f"could not check: {lines[-1] if lines else type(exc).__name__}"
    return CheckResult(check, ok, detail, time.monotonic() - t0)
