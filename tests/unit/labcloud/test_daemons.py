"""The service table: start order, ports and endpoints stay consistent."""

from __future__ import annotations

from pathlib import Path

from onecloud.labcloud._daemons import (
    APIS,
    CATALOG,
    IDENTITY,
    INFRA,
    WORKERS,
    catalog_port,
    rabbit_env,
    services,
)
from onecloud.labcloud._settings import Layout, Settings


def _settings() -> Settings:
    return Settings(Layout(Path("/srv/lab")))


def test_stages_are_in_order_and_keystone_is_alone() -> None:
    table = services(_settings())
    stages = [s.stage for s in table]
    assert stages == sorted(stages)
    assert [s.name for s in table if s.stage == IDENTITY] == ["keystone"]
    assert {s.name for s in table if s.stage == INFRA} == {
        "mariadb",
        "epmd",
        "rabbitmq",
        "memcached",
    }


def test_names_and_ports_are_unique() -> None:
    table = services(_settings())
    assert len({s.name for s in table}) == len(table)
    ports = [s.port for s in table if s.port is not None]
    assert len(set(ports)) == len(ports)


def test_apis_answer_over_http_and_workers_have_no_port() -> None:
    for svc in services(_settings()):
        if svc.stage in (IDENTITY, APIS):
            assert svc.http_path is not None and svc.endpoint.startswith("http://127.0.0.1:")
        if svc.stage == WORKERS:
            assert svc.port is None
        if svc.heartbeat:
            assert svc.stage == WORKERS


def test_daemons_without_packages_run_on_debians_python() -> None:
    table = {s.name: s for s in services(_settings())}
    for name in ("nova-compute", "cinder-volume"):
        assert table[name].argv[:2] == ("/usr/bin/python3", f"/srv/lab/cloud/bin/{name}")
    assert table["cinder-volume"].env["PYTHONPATH"] == "/srv/lab/cloud/python"


def test_uwsgi_closes_connections() -> None:
    keystone = next(s for s in services(_settings()) if s.name == "keystone")
    argv = list(keystone.argv)
    assert argv[argv.index("--add-header") + 1] == "Connection: close"
    assert "OS_KEYSTONE_CONFIG_DIR=/srv/lab/cloud/etc/keystone" in argv


def test_every_catalog_entry_points_at_a_service_port() -> None:
    settings = _settings()
    api_ports = {s.port for s in services(settings) if s.catalog_type}
    for service_type, _name, _path in CATALOG:
        assert catalog_port(settings, service_type) in api_ports


def test_rabbitmq_stays_on_loopback() -> None:
    env = rabbit_env(_settings())
    assert env["RABBITMQ_NODE_IP_ADDRESS"] == "127.0.0.1"
    assert env["ERL_EPMD_ADDRESS"] == "127.0.0.1"
    assert "{127,0,0,1}" in env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
