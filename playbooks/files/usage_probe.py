#!/usr/bin/python3
"""Print fresh evidence of use of a system on this host as JSON (stdlib only, read-only).

Usage: usage_probe.py '<json {"ports": [..], "logs": [..], "data_paths": [..], "sample": s}>'

- logs: for each access log given that exists, the time of its last entry (Common/Combined Log
  Format `[10/Oct/2026:13:55:36 +0000]`, or an ISO-8601 time at the start of the line), how
  many entries it holds and the distinct clients among the last ones;
- listening: every listening TCP socket (address, port, the process that owns it);
- established: connections *to* a listening port other than ssh (22), from another machine
  (loopback peers are the system talking to itself, e.g. an app to its database);
- cpu_percent: CPU used by the host's processes over `sample` seconds (sshd, this probe and
  the session running it left out), in percent of one CPU;
- data: files, bytes and the newest modification time under the data paths.

Used by `onecloud retire` (role probe_usage); changes nothing on the host.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import UTC, datetime

TAIL_BYTES = 256 * 1024
CLF_TIME = re.compile(r"\[(\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2}) ?([+-]\d{4})?\]")
ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
SSH_PORT = 22


def iso(ts: float | datetime | None) -> str | None:
    if ts is None:
        return None
    d = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, UTC)
    return d.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(line: str) -> datetime | None:
    """The time of one log line (CLF or ISO-8601 first), or None."""
    m = CLF_TIME.search(line)
    if m:
        try:
            stamp = datetime.strptime(m.group(1) + " " + (m.group(2) or "+0000"), "%d/%b/%Y:%H:%M:%S %z")
        except ValueError:
            return None
        return stamp
    m = ISO_TIME.match(line)
    if m:
        zone = m.group(3) or "+00:00"
        zone = "+00:00" if zone == "Z" else zone
        try:
            return datetime.fromisoformat(m.group(1).replace(" ", "T") + zone)
        except ValueError:
            return None
    return None


def client_of(line: str) -> str:
    return line.split(" ", 1)[0] if line and not ISO_TIME.match(line) else ""


def probe_log(path: str) -> dict[str, object]:
    out: dict[str, object] = {"path": path, "exists": os.path.isfile(path)}
    if not out["exists"]:
        return out
    st = os.stat(path)
    entries = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            entries += chunk.count(b"\n")
        f.seek(max(0, st.st_size - TAIL_BYTES))
        tail = f.read().decode("utf-8", "replace").splitlines()
    last = None
    clients = set()
    for line in reversed(tail):
        stamp = parse_time(line)
        if stamp is None:
            continue
        if last is None:
            last = stamp
        who = client_of(line)
        if who:
            clients.add(who)
    out.update(
        size=st.st_size,
        mtime=iso(st.st_mtime),
        entries=entries,
        last_access=iso(last),
        recent_clients=sorted(clients)[:50],
    )
    return out


def _hex_addr(text: str) -> tuple[str, int]:
    addr, port = text.split(":")
    if len(addr) == 8:
        ip = ".".join(str(int(addr[i : i + 2], 16)) for i in (6, 4, 2, 0))
    else:  # IPv6: four little-endian 32-bit words
        words = [addr[i : i + 8] for i in range(0, 32, 8)]
        raw = b"".join(bytes.fromhex(w)[::-1] for w in words)
        ip = ":".join(raw[i : i + 2].hex() for i in range(0, 16, 2))
        if ip.startswith("0000:0000:0000:0000:0000:ffff:"):
            ip = ".".join(str(b) for b in raw[12:])
    return ip, int(port, 16)


def _socket_owners() -> dict[str, str]:
    owners: dict[str, str] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = open(f"/proc/{pid}/comm", encoding="utf-8").read().strip()
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    owners.setdefault(link[8:-1], comm)
        except OSError:
            continue
    return owners


def sockets() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(listening, established-to-a-listening-port) TCP sockets of this network namespace."""
    rows = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(name, encoding="ascii").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            local, remote, state, inode = _hex_addr(f[1]), _hex_addr(f[2]), f[3], f[9]
            rows.append((local, remote, state, inode))
    owners = _socket_owners()
    listening = [
        {"address": lip, "port": lport, "process": owners.get(inode, "")}
        for (lip, lport), _r, state, inode in rows
        if state == "0A"
    ]
    ports = {int(str(s["port"])) for s in listening}
    established = [
        {"local_port": lport, "peer": rip, "peer_port": rport, "process": owners.get(inode, "")}
        for (_lip, lport), (rip, rport), state, inode in rows
        if state == "01"
        and lport in ports
        and lport != SSH_PORT
        and not rip.startswith("127.")
        and rip not in ("::1", "0000:0000:0000:0000:0000:0000:0000:0001")
    ]
    return listening, established


def _ancestors() -> set[int]:
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            stat = open(f"/proc/{pid}/stat", encoding="ascii").read()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def _ticks(skip: set[int]) -> dict[int, tuple[str, int]]:
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        n = int(pid)
        if n == 1 or n in skip:
            continue
        try:
            stat = open(f"/proc/{pid}/stat", encoding="ascii").read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        if comm.startswith("sshd"):
            continue
        out[n] = (comm, int(fields[11]) + int(fields[12]))
    return out


def cpu(sample: float) -> tuple[float, list[str]]:
    skip = _ancestors()
    hz = os.sysconf("SC_CLK_TCK")
    before, t0 = _ticks(skip), time.monotonic()
    time.sleep(sample)
    after, t1 = _ticks(skip), time.monotonic()
    used = sum(t - before.get(p, (c, t))[1] for p, (c, t) in after.items() if p in before)
    names = sorted({c for c, _t in after.values()})
    return round(100.0 * used / hz / max(t1 - t0, 1e-6), 2), names


def data(paths: list[str]) -> dict[str, object]:
    files = size = 0
    newest = None
    missing = []
    for root in paths:
        if not os.path.exists(root):
            missing.append(root)
            continue
        walker = [(root, [], [""])] if os.path.isfile(root) else os.walk(root)
        for d, _dirs, names in walker:
            for n in names:
                p = os.path.join(d, n) if n else d
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                files += 1
                size += st.st_size
                newest = st.st_mtime if newest is None else max(newest, st.st_mtime)
    return {"files": files, "bytes": size, "newest_mtime": iso(newest), "missing": missing}


def main() -> int:
    args = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    listening, established = sockets()
    percent, processes = cpu(float(args.get("sample", 1.0)))
    out = {
        "probed_at": iso(time.time()),
        "logs": [probe_log(str(p)) for p in args.get("logs", [])],
        "listening": listening,
        "established": established,
        "cpu_percent": percent,
        "processes": processes,
        "data": data([str(p) for p in args.get("data_paths", [])]),
    }
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
