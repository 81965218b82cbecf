"""First boot: the MariaDB data directory, the databases, and each service's schema.

Every step is safe to repeat (CREATE ... IF NOT EXISTS, db_sync, bootstrap), so a first boot
that failed half-way is simply run again by the next `onecloud lab up`.

No password is ever on a command line (anyone on the machine reads those in `ps`) or in a log:
SQL that holds one goes to the client on stdin, Keystone's bootstrap reads the admin password
from `OS_BOOTSTRAP_PASSWORD`, Nova derives cell0's database URL from its own config, and what
the commands print is logged with the passwords masked (`run(..., secrets=...)`).
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from onecloud.errors import LabError
from onecloud.labcloud._modes import open_log
from onecloud.labcloud._procs import BASE_ENV
from onecloud.labcloud._secrets import redact
from onecloud.labcloud._settings import DATABASES, Settings

log = logging.getLogger(__name__)


def run(
    argv: Sequence[str],
    logfile: Path,
    step: str,
    *,
    ok: tuple[int, ...] = (0,),
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
) -> str:
    """Run one setup command, its output appended to `logfile` (0600); LabError naming it on
    failure. `argv` is logged as it is and must hold no secret: give one on `stdin` or in `env`
    (neither is logged) and list it in `secrets`, which are masked in the output logged."""
    for secret in secrets:
        if secret and any(secret in arg for arg in argv):
            raise ValueError(f"step {step!r}: a secret on the command line")  # programming error
    with open_log(logfile) as out:
        shown = f" (stdin: {len(stdin.splitlines())} lines, not logged)" if stdin else ""
        out.write(f"\n==== {step}: {' '.join(argv)}{shown}\n".encode())
        out.flush()
        try:
            proc = subprocess.run(
                list(argv),
                input=stdin.encode() if stdin is not None else None,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True,
                env={**BASE_ENV, **(env or {})},
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
        for stream in (proc.stderr, proc.stdout):
            out.write(redact(stream.decode(errors="replace"), secrets).encode())
    if proc.returncode not in ok:
        raise LabError(
            f"lab cloud: step '{step}' failed with exit status {proc.returncode}",
            hint=f"see {logfile} (the command is logged there with its output)",
        )
    return redact(proc.stdout.decode(errors="replace"), secrets)


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
    """The databases and the one user the services share (root reaches MariaDB by socket).

    The SQL names the password, so it goes to the client on stdin, not with `-e`."""
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
        ["/usr/bin/mariadb", f"--socket={settings.layout.mysql_socket}", "-u", "root"],
        settings.layout.logfile("dbinit"),
        "create databases",
        stdin=";\n".join(sql) + ";\n",
        secrets=(db_password, pw),
    )


def drop_databases(settings: Settings) -> None:
    sql = ";".join(f"DROP DATABASE IF EXISTS `{name}`" for name in DATABASES)
    run(
        ["/usr/bin/mariadb", f"--socket={settings.layout.mysql_socket}", "-u", "root", "-e", sql],
        settings.layout.logfile("dbinit"),
        "drop databases",
    )


def _keystone(settings: Settings, admin_password: str, hide: Sequence[str]) -> None:
    L = settings.layout
    conf = ["--config-file", str(L.conf("keystone"))]
    logfile = L.logfile("dbinit-keystone")
    for sub in ("fernet-keys", "credential-keys"):
        (L.data / "keystone" / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    run(["/usr/bin/keystone-manage", *conf, "db_sync"], logfile, "keystone db_sync", secrets=hide)
    owner = ["--keystone-user", "root", "--keystone-group", "root"]
    run(
        ["/usr/bin/keystone-manage", *conf, "fernet_setup", *owner],
        logfile,
        "keystone fernet_setup",
        secrets=hide,
    )
    run(
        ["/usr/bin/keystone-manage", *conf, "credential_setup", *owner],
        logfile,
        "keystone credential_setup",
        secrets=hide,
    )
    url = settings.auth_url
    run(
        [
            "/usr/bin/keystone-manage",
            *conf,
            "bootstrap",
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
        env={"OS_BOOTSTRAP_PASSWORD": admin_password},
        secrets=hide,
    )


def _nova(settings: Settings, hide: Sequence[str]) -> None:
    L = settings.layout
    manage = ["/usr/bin/nova-manage", "--config-file", str(L.conf("nova"))]
    logfile = L.logfile("dbinit-nova")
    run([*manage, "api_db", "sync"], logfile, "nova-manage api_db sync", secrets=hide)
    # no --database_connection (it would put the password in `ps`): Nova makes cell0's URL from
    # [database]/connection with `_cell0` added to the name, i.e. the database `nova_cell0`
    run([*manage, "cell_v2", "map_cell0"], logfile, "nova-manage map_cell0", secrets=hide)
    # exit status 2: a cell with this database and transport exists already
    run(
        [*manage, "cell_v2", "create_cell", "--name", "cell1"],
        logfile,
        "nova-manage create_cell",
        ok=(0, 2),
        secrets=hide,
    )
    run([*manage, "db", "sync"], logfile, "nova-manage db sync", secrets=hide)


def _others(settings: Settings, name: str, hide: Sequence[str]) -> None:
    L = settings.layout
    logfile = L.logfile(f"dbinit-{name}")
    if name == "placement":
        run(
            ["/usr/bin/placement-manage", "--config-file", str(L.conf("placement")), "db", "sync"],
            logfile,
            "placement-manage db sync",
            secrets=hide,
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
            secrets=hide,
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
            secrets=hide,
        )
    elif name == "cinder":
        run(
            ["/usr/bin/cinder-manage", "--config-file", str(L.conf("cinder")), "db", "sync"],
            logfile,
            "cinder-manage db sync",
            secrets=hide,
        )
    else:  # pragma: no cover - programming error
        raise ValueError(name)


def sync_schemas(settings: Settings, secrets: dict[str, str]) -> None:
    """Every service's schema, Keystone bootstrapped. Chains run side by side (I/O bound)."""
    hide = tuple(secrets.values())
    jobs = [
        lambda: _keystone(settings, secrets["admin"], hide),
        lambda: _nova(settings, hide),
        *[
            (lambda n=n: _others(settings, n, hide))
            for n in ("placement", "neutron", "glance", "cinder")
        ],
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(job) for job in jobs]
        errors = [f.exception() for f in futures]
    for exc in errors:
        if exc is not None:
            raise exc
