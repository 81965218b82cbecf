"""The lab cloud's daemons: how each starts, in which stage, and how to tell it answers. Pure.

Stages follow the order that works (see docs/lab.md): infrastructure; Keystone; the other APIs;
then the workers, which die at start if Keystone or the placement endpoint is not there yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from onecloud.labcloud._procs import BASE_ENV
from onecloud.labcloud._render import agent_config_files
from onecloud.labcloud._settings import SYSTEM_PYTHON, Settings

INFRA, IDENTITY, APIS, WORKERS = 1, 2, 3, 4


@dataclass(frozen=True)
class Daemon:
    name: str
    stage: int
    argv: tuple[str, ...]
    #: a word that must be in /proc/<pid>/cmdline for a recorded PID to count as this service
    marker: str
    env: dict[str, str] = field(default_factory=dict)
    #: TCP port it listens on (None for workers that only talk to RabbitMQ)
    port: int | None = None
    #: HTTP path that must answer (below 500) for an API to count as up
    http_path: str | None = None
    #: the OpenStack service type in the catalog, for APIs
    catalog_type: str | None = None
    #: a heartbeat the service reports (compute, volume, network agent): checked after start
    heartbeat: str | None = None
    #: seconds to wait for it to answer
    timeout: float = 240.0

    @property
    def endpoint(self) -> str:
        if self.port is None:
            return "rabbitmq (rpc)"
        scheme = "http" if self.http_path is not None else "tcp"
        return f"{scheme}://127.0.0.1:{self.port}{self.http_path or ''}"


def _uwsgi(wsgi_file: str, port: int, env: dict[str, str], settings: Settings) -> tuple[str, ...]:
    """One uwsgi process with threads; `Connection: close` because uwsgi's http-socket has no
    keep-alive and clients that reuse connections would otherwise see resets."""
    argv = [
        "/usr/bin/uwsgi",
        "--plugin",
        "python3",
        "--http-socket",
        f"{settings.host}:{port}",
        "--wsgi-file",
        wsgi_file,
        "--processes",
        "1",
        "--threads",
        "4",
        "--enable-threads",
        "--need-app",
        "--die-on-term",
        "--add-header",
        "Connection: close",
        "--buffer-size",
        "65535",
    ]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    return tuple(argv)


def rabbit_env(settings: Settings) -> dict[str, str]:
    """RabbitMQ on loopback, its node name and state under the lab directory.

    It runs as `rabbitmq`, which may not enter `cloud/log` (0700, root's): the files it writes
    itself go below its own data directory; its log is its stdout (`RABBITMQ_LOGS=-`), which
    the lab appends to `cloud/log/rabbitmq.log`."""
    data = settings.layout.data / "rabbitmq"
    return {
        "HOME": "/var/lib/rabbitmq",
        "RABBITMQ_NODENAME": "rabbit@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": settings.host,
        "RABBITMQ_NODE_PORT": str(settings.ports.rabbit),
        "RABBITMQ_DIST_PORT": str(settings.ports.rabbit_dist),
        "ERL_EPMD_ADDRESS": settings.host,
        "ERL_EPMD_PORT": str(settings.ports.epmd),
        "RABBITMQ_MNESIA_BASE": str(data / "mnesia"),
        "RABBITMQ_LOG_BASE": str(data / "log"),
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_PID_FILE": str(data / "rabbit.pid"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }


def _agent(settings: Settings, name: str, ini: str, heartbeat: str) -> Daemon:
    """A Neutron agent: the lab's `ebtables` first on its PATH (and its privsep daemons', which
    inherit its environment: see _render._privsep)."""
    files = (a for f in agent_config_files(settings, ini) for a in ("--config-file", str(f)))
    return Daemon(
        name,
        WORKERS,
        (f"/usr/bin/{name}", *files),
        marker=name,
        env={"PATH": f"{settings.layout.agent_path}:{BASE_ENV['PATH']}"},
        heartbeat=heartbeat,
    )


def services(settings: Settings) -> list[Daemon]:
    """Every daemon of the lab cloud, in start order."""
    L, p = settings.layout, settings.ports
    nova = ("--config-file", str(L.conf("nova")))
    neutron = (
        "--config-file",
        str(L.conf("neutron")),
        "--config-file",
        str(L.conf("neutron", "ml2_conf.ini")),
    )
    cinder = ("--config-file", str(L.conf("cinder")))
    return [
        Daemon(
            "mariadb",
            INFRA,
            ("/usr/sbin/mariadbd", f"--defaults-file={L.conf('mysql', 'my.cnf')}"),
            marker="mariadbd",
            port=p.mysql,
            timeout=120,
        ),
        Daemon(
            "epmd",
            INFRA,
            ("/usr/bin/epmd", "-address", settings.host, "-port", str(p.epmd)),
            marker="epmd",
            port=p.epmd,
            timeout=30,
        ),
        Daemon(
            "rabbitmq",
            INFRA,
            ("/usr/sbin/runuser", "-u", "rabbitmq", "--", "/usr/lib/rabbitmq/bin/rabbitmq-server"),
            marker="rabbit",
            env=rabbit_env(settings),
            port=p.rabbit,
            timeout=180,
        ),
        Daemon(
            "memcached",
            INFRA,
            (
                "/usr/bin/memcached",
                "-u",
                "memcache",
                "-l",
                settings.host,
                "-p",
                str(p.memcached),
                "-U",
                "0",
                "-m",
                "64",
            ),
            marker="memcached",
            port=p.memcached,
            timeout=30,
        ),
        Daemon(
            "keystone",
            IDENTITY,
            _uwsgi(
                "/usr/bin/keystone-wsgi-public",
                p.keystone,
                {"OS_KEYSTONE_CONFIG_DIR": str(L.etc / "keystone")},
                settings,
            ),
            marker="keystone-wsgi-public",
            port=p.keystone,
            http_path="/v3",
            catalog_type="identity",
        ),
        Daemon(
            "placement",
            APIS,
            _uwsgi(
                "/usr/bin/placement-api",
                p.placement,
                {"OS_PLACEMENT_CONFIG_DIR": str(L.etc / "placement")},
                settings,
            ),
            marker="placement-api",
            port=p.placement,
            http_path="/",
            catalog_type="placement",
        ),
        Daemon(
            "neutron-server",
            APIS,
            ("/usr/bin/neutron-server", *neutron),
            marker="neutron-server",
            port=p.neutron,
            http_path="/",
            catalog_type="network",
        ),
        Daemon(
            "glance-api",
            APIS,
            ("/usr/bin/glance-api", "--config-file", str(L.conf("glance", "glance-api.conf"))),
            marker="glance-api",
            port=p.glance,
            http_path="/versions",
            catalog_type="image",
        ),
        Daemon(
            "cinder-api",
            APIS,
            ("/usr/bin/cinder-api", *cinder),
            marker="cinder-api",
            port=p.cinder,
            http_path="/",
            catalog_type="volumev3",
        ),
        Daemon(
            "nova-api",
            APIS,
            ("/usr/bin/nova-api", *nova),
            marker="nova-api",
            port=p.nova,
            http_path="/",
            catalog_type="compute",
        ),
        Daemon(
            "nova-conductor", WORKERS, ("/usr/bin/nova-conductor", *nova), marker="nova-conductor"
        ),
        Daemon(
            "nova-scheduler", WORKERS, ("/usr/bin/nova-scheduler", *nova), marker="nova-scheduler"
        ),
        Daemon(
            "cinder-scheduler",
            WORKERS,
            ("/usr/bin/cinder-scheduler", *cinder),
            marker="cinder-scheduler",
        ),
        Daemon(
            "cinder-volume",
            WORKERS,
            (SYSTEM_PYTHON, str(L.bin / "cinder-volume"), *cinder),
            marker="cinder-volume",
            env={"PYTHONPATH": str(L.python)},
            heartbeat="cinder-volume",
        ),
        _agent(
            settings, "neutron-linuxbridge-agent", "linuxbridge_agent.ini", "Linux bridge agent"
        ),
        _agent(settings, "neutron-l3-agent", "l3_agent.ini", "L3 agent"),
        Daemon(
            "nova-compute",
            WORKERS,
            (
                SYSTEM_PYTHON,
                str(L.bin / "nova-compute"),
                "--config-file",
                str(L.conf("nova", "nova-compute.conf")),
            ),
            marker="nova-compute",
            heartbeat="nova-compute",
        ),
    ]


#: catalog entries: service type -> (service name, port, path appended to the base URL)
CATALOG: tuple[tuple[str, str, str], ...] = (
    ("placement", "placement", ""),
    ("compute", "nova", "/v2.1"),
    ("network", "neutron", ""),
    ("image", "glance", ""),
    ("volumev3", "cinderv3", "/v3/%(project_id)s"),
    ("block-storage", "cinder", "/v3/%(project_id)s"),
)


def catalog_port(settings: Settings, service_type: str) -> int:
    ports = settings.ports
    return {
        "identity": ports.keystone,
        "placement": ports.placement,
        "compute": ports.nova,
        "network": ports.neutron,
        "image": ports.glance,
        "volumev3": ports.cinder,
        "block-storage": ports.cinder,
    }[service_type]
