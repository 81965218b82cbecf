from onecloud.contract._spec import SystemSpec
from onecloud.verify._checks import checks_for


def test_migrated_checks_cover_target_data_and_source(specs: dict[str, SystemSpec]) -> None:
    checks = checks_for(specs["civil-ledger"], "migrated")
    kinds = [(c.host, c.kind) for c in checks]
    assert kinds == [
        ("civil-ledger-1", "service_running"),
        ("civil-ledger-1", "port_listening"),
        ("civil-ledger-1", "health"),
        ("civil-ledger-1", "data_digest"),
        ("civil-ledger-1", "row_counts"),
        ("civil-app-01", "service_stopped"),
        ("civil-app-01", "port_closed"),
    ]
    by_kind = {c.kind: c for c in checks}
    assert by_kind["port_listening"].params["addresses"] == ["198.19.12.12"]
    assert by_kind["health"].params["url"] == "http://198.19.12.12:8081/health"
    assert by_kind["data_digest"].peer == "civil-app-01"
    assert by_kind["row_counts"].params["databases"] == [
        {"engine": "sqlite", "name": "/srv/ledgerapp/app.db", "tables": ["records"]}
    ]
    assert len({c.id for c in checks}) == len(checks)


def test_database_engine_may_listen_on_loopback(specs: dict[str, SystemSpec]) -> None:
    checks = checks_for(specs["health-permits"], "migrated")
    pg = [c for c in checks if c.kind == "port_listening" and c.params["port"] == 5432]
    assert pg[0].params["addresses"] == ["198.19.11.12", "127.0.0.1"]
    # the source's engine must be stopped, but there is no port to probe for it
    closed = [c.params["port"] for c in checks if c.kind == "port_closed"]
    assert closed == [8082]


def test_legacy_phase_checks_the_sources(specs: dict[str, SystemSpec]) -> None:
    checks = checks_for(specs["edu-portal"], "legacy")
    assert {c.host for c in checks} == {"edu-web-01"}
    assert [c.kind for c in checks] == ["service_running", "port_listening", "health"]
