"""The workload seeders (they run inside lab hosts; here in-process on temp dirs) and the
parts of the hosts API that need no root."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from onecloud.errors import LabError
from onecloud.labhosts import _hosts as hosts
from onecloud.labhosts._model import HostSpec
from onecloud.labhosts.workloads import CATALOG, seed


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


def test_webapp_seed_is_a_few_mb_and_deterministic_per_host(tmp_path: Path) -> None:
    seed.seed_webapp(tmp_path / "a", "edu-web-01")
    seed.seed_webapp(tmp_path / "b", "edu-web-01")
    seed.seed_webapp(tmp_path / "c", "health-web-01")
    files = [p for p in (tmp_path / "a").rglob("*") if p.is_file()]
    assert len(files) == seed.WEB_FILES + 1  # + index.html
    size = sum(p.stat().st_size for p in files)
    assert 2_000_000 < size < 6_000_000
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_sqlite_seed_has_10k_records_and_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "ledgerapp" / "app.db"
    seed.seed_sqlite(db, "fin-ledger-01")
    seed.seed_sqlite(db, "fin-ledger-01")
    conn = sqlite3.connect(db)
    try:
        (count,) = conn.execute("SELECT count(*) FROM records").fetchone()
        cols = [r[1] for r in conn.execute("PRAGMA table_info(records)")]
    finally:
        conn.close()
    assert count == seed.LEDGER_ROWS == 10_000
    assert cols == ["id", "account", "amount_cents", "memo", "created_at"]


def test_permits_sql_makes_100k_rows_seeded_by_host() -> None:
    sql = seed.permits_sql("env-permits-01")
    assert "generate_series(1, 100000)" in sql
    assert "CREATE TABLE IF NOT EXISTS permits" in sql
    assert sql == seed.permits_sql("env-permits-01")
    assert sql != seed.permits_sql("other-host")


def test_seed_cli_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert seed.main(["nonsense"]) == 2
    assert "seed.py webapp" in capsys.readouterr().err


def test_catalog_service_names_and_ports() -> None:
    assert [s.name for s in CATALOG["postgresql"].services] == ["postgresql", "permitsapp"]
    assert CATALOG["webapp"].ports == (8080,)
    assert CATALOG["sqlite"].ports == (8081,)
    assert CATALOG["postgresql"].ports == (8082,)


def test_not_root_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ONECLOUD_LAB_DIR", str(tmp_path))
    monkeypatch.setattr(hosts.os, "geteuid", lambda: 1000)
    with pytest.raises(LabError, match="lab hosts need root"):
        hosts.hosts_up([HostSpec("a", "198.18.0.11/24")])
    (tmp_path / "hosts").mkdir()
    with pytest.raises(LabError, match="lab hosts need root"):
        hosts.hosts_down()


def test_missing_tools_name_the_packages_script(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ONECLOUD_LAB_DIR", str(tmp_path))
    monkeypatch.setattr(hosts.os, "geteuid", lambda: 0)
    monkeypatch.setattr(hosts.shutil, "which", lambda tool: None)
    with pytest.raises(LabError, match=r"lab-packages\.sh"):
        hosts.hosts_up([HostSpec("a", "198.18.0.11/24")])


def test_paths_live_under_the_lab_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ONECLOUD_LAB_DIR", str(tmp_path))
    assert hosts.ssh_config_path() == tmp_path / "hosts" / "ssh_config"
    assert hosts.known_hosts_path() == tmp_path / "hosts" / "known_hosts"
    assert hosts.private_key_path() == tmp_path / "hosts" / "id_ed25519"
    assert hosts.hosts_status() == []
    hosts.hosts_down()  # nothing there: nothing to do, no error


def test_create_lines_put_each_veth_on_the_bridge() -> None:
    lines = hosts._create_lines([HostSpec("a", "198.18.0.11/24")])
    assert lines[0] == "netns add ocl-a"
    assert lines[1].endswith("type veth peer name eth0 netns ocl-a")
    assert lines[2].endswith("master oclbr0 up")
