"""First boot: the MariaDB data directory, the databases, and each service's schema.

Every step is safe to repeat (CREATE ... IF NOT EXISTS, db_sync, bootstrap), so a first boot
that failed half-way is simply run again by the next `onecloud lab up`.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from onecloud.errors import LabError
from onecloud.labcloud._procs import BASE_ENV
from onecloud.labcloud._settings import DATABASES, Settings

log = logging.getLogger(__name__)


def run(argv: Sequence[str], logfile: Path, step: str, *, ok: tuple[int, ...] = (0,)) -> str:
    """Run one setup command, its output appended to `logfile`; LabError naming it on failure."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "ab") as out:
        out.write(f"\n==== {step}: {' '.join(argv)}\n".encode())
        out.flush()
        try:
            proc = subprocess.run(
                list(argv),
                stdout=subprocess.PIPE,
                stderr=out,
                env=BASE_ENV,
                check=False,
                timeout=900,
            )
        except FileNotFoundError as exc:
            raise LabError(
                f"lab cloud: step '{step}' cannot run: {exc.filename} is missing",
                hint="install the lab's packages: scripts/lab-packages.sh (as root)",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise LabError(
                f"lab cloud: step '{step}' did not finish in 15 min; see {logfile}"
            ) from exc
        out.write(proc.stdout)
    if proc.returncode not in ok:
        raise LabError(
            f"lab cloud: step '{step}' failed with exit status {proc.returncode}",
            hint=f"see {logfile} (the command is logged there with its output)",
        )
    return proc.stdout.decode(errors="replace")


def install_datadir(settings: Settings) -> None:
    """Create MariaDB's system tables in the lab's own data directory (once)."""
    L = settings.layout
    if (L.data / "mysql" / "mysql").is_dir():
        return
    run(
        [
            "/usr/bin/mariadb-install-db",
            f"--defaults-file={L.conf('mysql', 'my.cnf')}",
            "--user=mysql",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        L.logfile("dbinit"),
        "mariadb-install-db",
    )


def create_databases(settings: Settings, db_password: str) -> None:
    """The databases and the one user the services share (root reaches MariaDB by socket)."""
    user = f"'{settings.db_user}'@'{settings.host}'"
    pw = db_password.replace("\\", "\\\\").replace("'", "\\'")
    sql = [
        f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '{pw}'",
        f"ALTER USER {user} IDENTIFIED BY '{pw}'",
    ]
    for name in DATABASES:
        sql.append(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8")
        sql.append(f"GRANT ALL PRIVILEGES ON `{name}`.* TO {user}")
    run(
        [
            "/usr/bin/mariadb",
            f"--socket={settings.layout.mysql_socket}",
            "-u",
            "root",
            "-e",
            ";\n".join(sql),
        ],
        settings.layout.logfile("dbinit"),
        "create databases",
    )


def drop_databases(settings: Settings) -> None:
    sql = ";".join(f"DROP DATABASE IF EXISTS `{name}`" for name in DATABASES)
    run(
        ["/usr/bin/mariadb", f"--socket={settings.layout.mysql_socket}", "-u", "root", "-e", sql],
        settings.layout.logfile("dbinit"),
        "drop databases",
    )


def _db_url(settings: Settings, password: str, name: str) -> str:
    return f"mysql+pymysql://{settings.db_user}:{password}@{settings.host}:{settings.ports.mysql}/{name}?charset=utf8"


def _keystone(settings: Settings, admin_password: str) -> None:
    L = settings.layout
    conf = ["--config-file", str(L.conf("keystone"))]
    logfile = L.logfile("dbinit-keystone")
    for sub in ("fernet-keys", "credential-keys"):
        (L.data / "keystone" / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    run(["/usr/bin/keystone-manage", *conf, "db_sync"], logfile, "keystone db_sync")
    owner = ["--keystone-user", "root", "--keystone-group", "root"]
    run(
        ["/usr/bin/keystone-manage", *conf, "fernet_setup", *owner],
        logfile,
        "keystone fernet_setup",
    )
    run(
        ["/usr/bin/keystone-manage", *conf, "credential_setup", *owner],
        logfile,
        "keystone credential_setup",
    )
    url = settings.auth_url
    run(
        [
            "/usr/bin/keystone-manage",
            *conf,
            "bootstrap",
            "--bootstrap-password",
            admin_password,
            "--bootstrap-admin-url",
            url,
            "--bootstrap-internal-url",
            url,
            "--bootstrap-public-url",
            url,
            "--bootstrap-region-id",
            settings.region,
        ],
        logfile,
        "keystone bootstrap",
    )


def _nova(settings: Settings, db_password: str) -> None:
    L = settings.layout
    manage = ["/usr/bin/nova-manage", "--config-file", str(L.conf("nova"))]
    logfile = L.logfile("dbinit-nova")
    run([*manage, "api_db", "sync"], logfile, "nova-manage api_db sync")
    cell0 = _db_url(settings, db_password, "nova_cell0")
    run(
        [*manage, "cell_v2", "map_cell0", "--database_connection", cell0],
        logfile,
        "nova-manage map_cell0",
    )
    # exit status 2: a cell with this database and transport exists already
    run(
        [*manage, "cell_v2", "create_cell", "--name", "cell1"],
        logfile,
        "nova-manage create_cell",
        ok=(0, 2),
    )
    run([*manage, "db", "sync"], logfile, "nova-manage db sync")


def _others(settings: Settings, name: str) -> None:
    L = settings.layout
    logfile = L.logfile(f"dbinit-{name}")
    if name == "placement":
        run(
            ["/usr/bin/placement-manage", "--config-file", str(L.conf("placement")), "db", "sync"],
            logfile,
            "placement-manage db sync",
        )
    elif name == "neutron":
        run(
            [
                "/usr/bin/neutron-db-manage",
                "--config-file",
                str(L.conf("neutron")),
                "--config-file",
                str(L.conf("neutron", "ml2_conf.ini")),
                "upgrade",
                "head",
            ],
            logfile,
            "neutron-db-manage upgrade head",
        )
    elif name == "glance":
        run(
            [
                "/usr/bin/glance-manage",
                "--config-file",
                str(L.conf("glance", "glance-api.conf")),
                "db_sync",
            ],
            logfile,
            "glance-manage db_sync",
        )
    elif name == "cinder":
        run(
            ["/usr/bin/cinder-manage", "--config-file", str(L.conf("cinder")), "db", "sync"],
            logfile,
            "cinder-manage db sync",
        )
    else:  # pragma: no cover - programming error
        raise ValueError(name)


def sync_schemas(settings: Settings, secrets: dict[str, str]) -> None:
    """Every service's schema, Keystone bootstrapped. Chains run side by side (I/O bound)."""
    jobs = [
        lambda: _keystone(settings, secrets["admin"]),
        lambda: _nova(settings, secrets["db"]),
        *[(lambda n=n: _others(settings, n)) for n in ("placement", "neutron", "glance", "cinder")],
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(job) for job in jobs]
        errors = [f.exception() for f in futures]
    for exc in errors:
        if exc is not None:
            raise exc
