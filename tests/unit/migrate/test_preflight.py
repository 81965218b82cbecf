from pathlib import Path

import pytest

from onecloud.contract._spec import SystemSpec
from onecloud.migrate import _preflight as pf

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "migrate"


def facts(name: str) -> pf.Facts:
    return pf.parse_probe((FIX / f"probe-{name}.txt").read_text())


def test_parse_source_probe() -> None:
    f = facts("edu-portal-source")
    assert {"rsync", "python3", "sha256sum", "ssh"} <= f.tools
    assert f.data_kb == {"/srv/webapp/data": 3484}
    assert f.missing == []
    assert "SCRIPT=/opt/webapp/webapp.py" in f.init_scripts["webapp"]
    assert f.reach == {"198.19.1.12:22": True}


def test_parse_target_probe() -> None:
    f = facts("health-permits-target")
    assert "pg_restore" in f.tools
    assert f.engines == {"postgresql"}
    assert set(f.free_kb) == {"/var/lib/postgresql"}


def test_app_dirs_from_init_script() -> None:
    script = facts("edu-portal-source").init_scripts["webapp"]
    assert pf.app_dirs(script) == ["/opt/webapp"]  # not /usr/local/sbin from PATH=
    assert pf.app_dirs("DAEMON=/srv/app/bin/run\nPIDFILE=/srv/app/run.pid\n") == ["/srv/app"]
    assert pf.app_dirs("/var/lib/postgresql/15/main") == []


def test_healthy_pair_has_no_findings(specs: dict[str, SystemSpec]) -> None:
    spec = specs["edu-portal"]
    res = pf.evaluate_pair(
        spec, spec.pairs[0], facts("edu-portal-source"), facts("edu-portal-target")
    )
    assert res == {"edu-web-01": [], "edu-portal-1": []}


def test_stopped_database_is_reported(specs: dict[str, SystemSpec]) -> None:
    spec = specs["health-permits"]
    src = facts("health-permits-source")  # captured after a migration: postgresql stopped
    found = pf.evaluate_source(spec, spec.pairs[0], src)
    assert [f.what for f in found] == ["PostgreSQL database 'permits' not readable"]


@pytest.mark.parametrize(("free_kb", "ok"), [(10 * 1024 * 1024, True), (8 * 1024, False)])
def test_disk_space_on_the_target(specs: dict[str, SystemSpec], free_kb: int, ok: bool) -> None:
    spec = specs["edu-portal"]
    tgt = facts("edu-portal-target")
    tgt.free_kb = {"/srv/webapp/data": free_kb}
    found = pf.evaluate_target(spec, spec.pairs[0], tgt, facts("edu-portal-source"))
    assert (found == []) is ok
    if not ok:
        assert "not enough disk space" in found[0].what and "MiB needed" in found[0].what
        assert found[0].code == pf.DISK_SPACE  # how a resumed run knows it apart


def test_missing_tools_and_paths_name_the_fix(specs: dict[str, SystemSpec]) -> None:
    spec = specs["civil-ledger"]
    src = pf.Facts(tools={"python3"}, missing=["/srv/ledgerapp"], reach={"198.19.12.12:22": False})
    found = {f.what: f.fix for f in pf.evaluate_source(spec, spec.pairs[0], src)}
    assert "missing tools: rsync, sha256sum, sqlite3, ssh" in found
    assert "apt-get install" in found["missing tools: rsync, sha256sum, sqlite3, ssh"]
    assert "data path /srv/ledgerapp does not exist" in found
    assert "no init script /etc/init.d/ledgerapp" in found
    assert "cannot reach the target's SSH at 198.19.12.12:22" in found


def test_probe_script_quotes_paths(specs: dict[str, SystemSpec]) -> None:
    spec = specs["edu-portal"]
    script = pf.probe_script(spec, spec.pairs[0], "source")
    assert "du -sk" in script and "/dev/tcp/198.19.1.12/22" in script
    assert "@@end" in pf.probe_script(spec, spec.pairs[0], "target")
