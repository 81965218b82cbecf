"""The legacy workloads a lab host can be seeded with: what they are and where they live.

The programs in this package run *inside* the lab hosts under Debian's /usr/bin/python3 (stdlib
only); they are copied there, never imported by onecloud. This module is the catalog other
parts use to know the paths, services and ports of each workload (a migration moves exactly
`paths`, then starts `services` and checks `health_urls`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["ACCESS_PREFIX", "CATALOG", "InitService", "Workload", "access_workload", "read_text"]


@dataclass(frozen=True)
class InitService:
    """One SysV service of a workload (an /etc/init.d script inside the host)."""

    name: str
    port: int | None  # HTTP port with a /health endpoint, None for e.g. postgresql
    user: str = "root"
    app: str | None = None  # module of this package installed as /opt/<name>/<name>.py
    description: str = ""
    requires: str = ""  # LSB Required-Start facilities besides $network $remote_fs
    env: tuple[tuple[str, str], ...] = ()  # written to /etc/default/<name>


@dataclass(frozen=True)
class Workload:
    name: str
    services: tuple[InitService, ...]
    #: data and program paths a migration must carry over (besides the packages)
    paths: tuple[str, ...]
    description: str

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(s.port for s in self.services if s.port is not None)


#: an access-log history ending at a date: `access-<YYYY-MM-DD>-<clients>` (see `access_workload`)
ACCESS_PREFIX = "access"
_ACCESS_RE = re.compile(r"access-(\d{4})-(\d{2})-(\d{2})-(\d{1,6})")

_ACCESS = Workload(
    name=ACCESS_PREFIX,
    description=(
        "an access log whose last entry is on a given date (the census's last access): for each"
        " web service of the host /var/log/<service>/access.log, else /var/log/apache2/access.log"
    ),
    services=(),
    paths=(),
)


def access_workload(last_access: str, clients: int) -> str:
    """The workload name seeding an access log that ends on `last_access` (YYYY-MM-DD) with
    entries from `clients` distinct addresses (at least one: the last access)."""
    name = f"{ACCESS_PREFIX}-{last_access}-{max(1, min(int(clients), 999_999))}"
    if not _ACCESS_RE.fullmatch(name):
        raise ValueError(f"not a date: {last_access!r}")
    return name


class _Catalog(dict[str, Workload]):
    """The workloads by name; `access-<date>-<n>` names the one parametrised workload."""

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or (
            isinstance(key, str) and bool(_ACCESS_RE.fullmatch(key))
        )

    def __missing__(self, key: str) -> Workload:
        if isinstance(key, str) and _ACCESS_RE.fullmatch(key):
            return _ACCESS
        raise KeyError(key)


CATALOG: dict[str, Workload] = _Catalog(
    (w.name, w)
    for w in (
        Workload(
            name="webapp",
            description="Python web app serving ~200 seeded files from /srv/webapp/data",
            services=(
                InitService(
                    "webapp",
                    8080,
                    app="webapp",
                    description="department file-serving web application",
                    env=(("PORT", "8080"), ("DATA_DIR", "/srv/webapp/data")),
                ),
            ),
            paths=("/srv/webapp", "/opt/webapp", "/etc/init.d/webapp", "/etc/default/webapp"),
        ),
        Workload(
            name="sqlite",
            description="ledger app over SQLite /srv/ledgerapp/app.db (table records, 10k rows)",
            services=(
                InitService(
                    "ledgerapp",
                    8081,
                    app="ledgerapp",
                    description="department ledger application (SQLite)",
                    env=(("PORT", "8081"), ("DB_PATH", "/srv/ledgerapp/app.db")),
                ),
            ),
            paths=(
                "/srv/ledgerapp",
                "/opt/ledgerapp",
                "/etc/init.d/ledgerapp",
                "/etc/default/ledgerapp",
            ),
        ),
        Workload(
            name="postgresql",
            description="PostgreSQL 15 database permits (table permits, 100k rows) + permitsapp",
            services=(
                InitService("postgresql", None),
                InitService(
                    "permitsapp",
                    8082,
                    user="postgres",
                    app="permitsapp",
                    description="permits register reading PostgreSQL",
                    requires="postgresql",
                    env=(("PORT", "8082"), ("DATABASE", "permits")),
                ),
            ),
            paths=("/opt/permitsapp", "/etc/init.d/permitsapp", "/etc/default/permitsapp"),
        ),
        Workload(
            name="internet",
            description="the lab's stand-in for the internet: answers HTTP on tcp 80 and 443",
            services=tuple(
                InitService(
                    f"internet-{port}",
                    port,
                    app="webapp",
                    description=f"a web site on the internet (tcp {port})",
                    env=(("PORT", str(port)), ("DATA_DIR", "/srv/internet")),
                )
                for port in (80, 443)
            ),
            paths=(),
        ),
    )
)


def read_text(filename: str) -> str:
    """A file shipped in this package (app, seed script, init template)."""
    return resources.files(__name__).joinpath(filename).read_text()
