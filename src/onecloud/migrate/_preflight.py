"""Pre-flight of a system's hosts: pure probe scripts, parsers and the verdict.

The transport (`onecloud.migrate._sshprobe`) runs `probe_script()` on each host over paramiko
and hands the output to `parse_probe()`; `evaluate()` turns the facts of a source and its target
into findings. Nothing here touches the network, so every rule is unit-tested on text.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from onecloud.contract import Pair, SystemSpec

__all__ = [
    "Facts",
    "Finding",
    "HostReport",
    "app_dirs",
    "evaluate_pair",
    "parse_probe",
    "probe_script",
    "required_tools",
]

#: free space kept on the target beyond the data (KiB): logs, dumps' headers, the app itself
MARGIN_KB = 16 * 1024
#: factor over the source's data size (a PostgreSQL restore needs the dump and the tables)
FACTOR = 1.1

_SECTION = re.compile(r"^@@(\w+)(?: (.*))?$")
_APP_DIR = re.compile(r"(/(?:srv|opt|usr/local|var/www|var/lib)/[A-Za-z0-9._-]+)")
#: directories an init script names that are the system's, not the application's
_NOT_APP = (
    "/var/lib/postgresql",
    "/var/lib/mysql",
    "/var/lib/dpkg",
    "/var/lib/apt",
    *(
        f"/usr/local/{d}"
        for d in ("bin", "sbin", "lib", "share", "etc", "include", "src", "games", "man")
    ),
)


@dataclass(frozen=True)
class Finding:
    host: str
    severity: Literal["error", "warning"]
    what: str
    fix: str
    #: what kind of finding it is, for callers that treat one kind apart ("" for the rest)
    code: str = ""

    def __str__(self) -> str:
        return f"{self.host}: {self.what} (fix: {self.fix})"


#: `Finding.code` of "the target has too little disk space for the data"
DISK_SPACE = "disk_space"


@dataclass
class Facts:
    """What a probe found on one host."""

    tools: set[str] = field(default_factory=set)
    data_kb: dict[str, int] = field(default_factory=dict)  # path -> size (source)
    missing: list[str] = field(default_factory=list)  # paths that do not exist
    free_kb: dict[str, int] = field(default_factory=dict)  # path -> free space where it lands
    init_scripts: dict[str, str] = field(default_factory=dict)  # service -> script text
    reach: dict[str, bool] = field(default_factory=dict)  # "ip:port" -> reachable from here
    pg_bytes: dict[str, int] = field(default_factory=dict)  # database -> size
    existing: list[str] = field(default_factory=list)  # candidate app paths that exist
    engines: set[str] = field(default_factory=set)  # database engine init scripts present


@dataclass(frozen=True)
class HostReport:
    name: str
    role: Literal["source", "target"]
    system: str
    findings: tuple[Finding, ...]
    facts: Facts | None
    seconds: float

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


def required_tools(spec: SystemSpec, role: Literal["source", "target"]) -> list[str]:
    """Commands a host needs for this system's migration."""
    tools = ["rsync", "python3", "sha256sum"]
    engines = {d.engine for d in spec.databases}
    if "postgresql" in engines:
        tools += ["pg_dump", "psql"] if role == "source" else ["psql", "pg_restore"]
    if "sqlite" in engines:
        tools.append("sqlite3")
    if role == "source" and spec.app_services:
        tools.append("ssh")
    return tools


def _q(paths: Iterable[str]) -> str:
    return " ".join(shlex.quote(p) for p in paths)


#: a value printed as is in the probe's output: one line that cannot look like a marker
_PLAIN = re.compile(r"[A-Za-z0-9/._+:,=-][A-Za-z0-9/._+@:,= -]*")


def _enc(value: str) -> str:
    """How the probe prints a census value: as is when plain, else `h:` and its UTF-8 hex, so
    a name or path with a newline, quotes or a leading `@@` cannot forge an output line."""
    if _PLAIN.fullmatch(value) and not value.startswith("h:"):
        return value
    return "h:" + value.encode("utf-8", "surrogateescape").hex()


def _dec(value: str) -> str:
    if value.startswith("h:"):
        try:
            return bytes.fromhex(value[2:]).decode("utf-8", "surrogateescape")
        except ValueError:
            return value
    return value


def _name_token(name: str) -> str:
    """A marker argument: always hex, so it is one word of [0-9a-f] whatever the name holds."""
    return "h:" + name.encode("utf-8", "surrogateescape").hex()


def _pg_size(name: str) -> str:
    """psql reading the database size with the name as a psql variable (`:'name'` quotes it as
    a literal); the query comes on stdin because `psql -c` does not interpolate variables."""
    return (
        f"runuser -u postgres -- psql -XtAq -v ON_ERROR_STOP=1 -v name={shlex.quote(name)}"
        " -d postgres -f - 2>/dev/null <<'SQL' || true\n"
        "SELECT pg_database_size(:'name');\n"
        "SQL"
    )


def probe_script(spec: SystemSpec, pair: Pair, role: Literal["source", "target"]) -> str:
    """A POSIX sh script that prints the facts `parse_probe` reads, in `@@section` blocks.

    Every census value is shell-quoted; values echoed back are printed through `_enc` (names
    of sections always in hex) and init scripts line by line behind a `|`, so no value and no
    file content can open a section of its own.
    """
    tools = required_tools(spec, role)
    paths = list(spec.data_paths)
    lines = [
        "export LC_ALL=C",
        "echo @@tools",
        f'for t in {_q(tools)}; do command -v "$t" >/dev/null 2>&1 && echo "$t"; done',
        "echo @@missing",
    ]
    if role == "source":
        for p in paths:
            lines.append(f"[ -e {shlex.quote(p)} ] || echo {shlex.quote(_enc(p))}")
        lines.append("echo @@du")
        for p in paths:
            q = shlex.quote(p)
            lines.append(
                f"[ -e {q} ] && printf '%s\\t%s\\n'"
                f' "$(du -sk -- {q} | head -n 1 | cut -f 1)" {shlex.quote(_enc(p))}'
            )
        for svc in spec.services:
            script = shlex.quote("/etc/init.d/" + svc.name)
            marker = shlex.quote(f"@@script {_name_token(svc.name)}")
            lines.append(f"[ -f {script} ] && {{ echo {marker}; sed 's/^/|/' -- {script}; }}")
        lines.append("echo @@reach")
        addr = shlex.quote(_enc(f"{pair.target.address}:{pair.target.port}"))
        tcp = shlex.quote(f"</dev/tcp/{pair.target.address}/{int(pair.target.port)}")
        lines.append(
            f"if timeout 3 bash -c {tcp} 2>/dev/null; then echo {addr} yes; else echo {addr} no; fi"
        )
        for db in spec.postgres_databases():
            lines.append(f"echo {shlex.quote(f'@@pgsize {_name_token(db.name)}')}")
            lines.append(_pg_size(db.name))
    else:
        lines.append(":")
        if spec.engine_services:
            lines.append("echo @@engines")
            for svc in spec.engine_services:
                script = shlex.quote("/etc/init.d/" + svc.name)
                lines.append(f"[ -x {script} ] && echo {shlex.quote(_name_token(svc.name))}")
        lines.append("echo @@df")
        land = paths + (["/var/lib/postgresql"] if spec.postgres_databases() else [])
        for p in land:
            lines.append(
                f'd={shlex.quote(p)}; while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done; '
                f"printf '%s %s\\n' {shlex.quote(_enc(p))}"
                f' "$(df -Pk -- "$d" | awk \'NR==2 {{print $4}}\')"'
            )
    lines.append("echo @@end")
    return "\n".join(lines) + "\n"


def parse_probe(text: str) -> Facts:
    """Read the output of `probe_script` (sections in any order; unknown ones ignored).

    Names and paths in `h:<hex>` form are decoded; init script lines come behind a `|`
    (plain lines are accepted too, as older probes printed them)."""
    facts = Facts()
    section = ""
    arg = ""
    script: list[str] = []

    def flush() -> None:
        if section == "script" and arg:
            facts.init_scripts[arg] = "\n".join(script)

    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            flush()
            section, arg = m.group(1), _dec((m.group(2) or "").strip())
            script = []
            continue
        if section == "script":
            script.append(line[1:] if line.startswith("|") else line)
            continue
        line = line.strip()
        if not line:
            continue
        if section == "tools":
            facts.tools.add(line)
        elif section == "missing":
            facts.missing.append(_dec(line))
        elif section == "du":
            size, _, path = line.partition("\t")
            if path and size.isdigit():
                facts.data_kb[_dec(path)] = int(size)
        elif section == "df":
            path, _, free = line.rpartition(" ")
            if path and free.isdigit():
                facts.free_kb[_dec(path)] = int(free)
        elif section == "reach":
            addr, _, verdict = line.partition(" ")
            facts.reach[_dec(addr)] = verdict == "yes"
        elif section == "pgsize" and line.isdigit():
            facts.pg_bytes[arg] = int(line)
        elif section == "engines":
            facts.engines.add(_dec(line))
        elif section == "exists":
            facts.existing.append(_dec(line))
    flush()
    return facts


def app_dirs(script: str) -> list[str]:
    """Application directories an init script names (e.g. DAEMON=/srv/webapp/app.py ->
    /srv/webapp): the code that must move with the service. Sorted, without system dirs."""
    found = set()
    for m in _APP_DIR.finditer(script):
        path = m.group(1).rstrip(".")
        system_dir = path in _NOT_APP or path.startswith(tuple(d + "/" for d in _NOT_APP))
        if system_dir or path.endswith((".pid", ".log", ".sock")):
            continue
        found.add(path)
    return sorted(found)


def app_paths_script(candidates: Iterable[str]) -> str:
    """Which of the candidate paths exist on the source (second probe round)."""
    cands = list(candidates)
    body = "\n".join(f"[ -e {shlex.quote(p)} ] && echo {shlex.quote(_enc(p))}" for p in cands)
    return f"echo @@exists\n{body or ':'}\necho @@end\n"


def _missing_tools(
    spec: SystemSpec, role: Literal["source", "target"], host: str, facts: Facts, where: str
) -> list[Finding]:
    """One finding naming every tool `role` needs that the host lacks, with the apt line."""
    missing = [t for t in required_tools(spec, role) if t not in facts.tools]
    if not missing:
        return []
    return [
        Finding(
            host,
            "error",
            f"missing tools: {', '.join(missing)}",
            f"install them on {where} (Debian: apt-get install "
            + " ".join(_packages(missing))
            + ")",
        )
    ]


def evaluate_source(spec: SystemSpec, pair: Pair, facts: Facts) -> list[Finding]:
    host = pair.source.name
    out: list[Finding] = []
    out.extend(_missing_tools(spec, "source", host, facts, "the source"))
    for p in facts.missing:
        out.append(
            Finding(
                host,
                "error",
                f"data path {p} does not exist",
                "correct `data.paths` of the system in the census",
            )
        )
    for svc in spec.services:
        if svc.name not in facts.init_scripts:
            out.append(
                Finding(
                    host,
                    "error",
                    f"no init script /etc/init.d/{svc.name}",
                    "correct `services` of the system in the census",
                )
            )
    for addr, ok in facts.reach.items():
        if not ok:
            out.append(
                Finding(
                    host,
                    "error",
                    f"cannot reach the target's SSH at {addr}",
                    "open the route/firewall from the source to the target",
                )
            )
    for db in spec.postgres_databases():
        if db.name not in facts.pg_bytes:
            out.append(
                Finding(
                    host,
                    "error",
                    f"PostgreSQL database {db.name!r} not readable",
                    "check that postgresql runs on the source and the database exists",
                )
            )
    return out


def needed_kb(source: Facts) -> int:
    """Space the target needs for what the source holds (data, app, database dumps)."""
    data = sum(source.data_kb.values())
    pg = sum(source.pg_bytes.values()) // 1024
    return int((data + 2 * pg) * FACTOR) + MARGIN_KB


def evaluate_target(
    spec: SystemSpec, pair: Pair, facts: Facts, source: Facts | None
) -> list[Finding]:
    host = pair.target.name
    out: list[Finding] = []
    out.extend(_missing_tools(spec, "target", host, facts, "the target image"))
    for svc in spec.engine_services:
        if svc.name not in facts.engines:
            out.append(
                Finding(
                    host,
                    "error",
                    f"no init script /etc/init.d/{svc.name}",
                    f"install {svc.name} on the target image",
                )
            )
    if source is not None and facts.free_kb:
        need = needed_kb(source)
        # the data trees land on one filesystem in the lab; count the tightest one
        free = min(facts.free_kb.values())
        where = min(facts.free_kb, key=lambda k: facts.free_kb[k])
        if free < need:
            out.append(
                Finding(
                    host,
                    "error",
                    f"not enough disk space for the data at {where}: {free // 1024} MiB free, "
                    f"{need // 1024} MiB needed",
                    "grow the target's volume (plan `volume_gb`) or free space, then re-run",
                    code=DISK_SPACE,
                )
            )
    return out


def evaluate_pair(
    spec: SystemSpec, pair: Pair, source: Facts | None, target: Facts | None
) -> dict[str, list[Finding]]:
    """Findings for both hosts of a pair (a None facts means the host was not probed)."""
    res: dict[str, list[Finding]] = {pair.source.name: [], pair.target.name: []}
    if source is not None:
        res[pair.source.name] = evaluate_source(spec, pair, source)
    if target is not None:
        res[pair.target.name] = evaluate_target(spec, pair, target, source)
    return res


_PACKAGES: Mapping[str, str] = {
    "pg_dump": "postgresql-client",
    "psql": "postgresql-client",
    "pg_restore": "postgresql-client",
    "sqlite3": "sqlite3",
    "rsync": "rsync",
    "python3": "python3",
    "sha256sum": "coreutils",
    "ssh": "openssh-client",
}


def _packages(tools: Iterable[str]) -> list[str]:
    return sorted({_PACKAGES.get(t, t) for t in tools})
