"""`onecloud plan` through the real entry point: writes atomically, --check, reports, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

from census_cases import BASE, FIXTURES

from onecloud.cli import main
from onecloud.plan._io import load_plan


def _census(tmp_path: Path) -> Path:
    shutil.copytree(BASE, tmp_path / "inventory" / "census")
    return tmp_path / "inventory" / "census"


def test_plan_writes_next_to_the_census_and_check_passes(tmp_path: Path, capsys) -> None:
    census = _census(tmp_path)
    assert main(["plan", str(census), "--report", "none"]) == 0
    plan_file = tmp_path / "inventory" / "plan.yml"
    plan = load_plan(plan_file)
    assert plan.totals.migrated == 3
    assert not list(plan_file.parent.glob(".plan.yml.*"))  # no temp file left behind
    assert main(["plan", str(census), "--check"]) == 0
    assert "up to date" in capsys.readouterr().err


def test_check_fails_when_the_census_changed(tmp_path: Path, capsys) -> None:
    census = _census(tmp_path)
    assert main(["plan", str(census), "--report", "none"]) == 0
    dept = census / "dept-county.yml"
    dept.write_text(dept.read_text(encoding="utf-8").replace("cpus: 1", "cpus: 4"), "utf-8")
    before = (tmp_path / "inventory" / "plan.yml").read_text(encoding="utf-8")
    assert main(["plan", str(census), "--check"]) == 1
    captured = capsys.readouterr()
    assert "+    flavor: oc.large" in captured.out  # the diff says what would change
    assert "out of date" in captured.err
    assert (tmp_path / "inventory" / "plan.yml").read_text(encoding="utf-8") == before


def test_markdown_report_on_stdout_is_clean(tmp_path: Path, capsys) -> None:
    census = _census(tmp_path)
    assert main(["plan", str(census), "--report", "md"]) == 0
    assert capsys.readouterr().out.startswith("# Consolidation plan")


def test_markdown_report(tmp_path: Path) -> None:
    census = _census(tmp_path)
    md = tmp_path / "plan.md"
    assert main(["plan", str(census), "--report", "md", "--report-file", str(md)]) == 0
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Consolidation plan")
    assert "| p-records | 1 | admin-province-prov | intranet-province |" in text
    assert "## Waves" in text and "## Projects and quotas" in text


def test_rich_report_in_the_terminal(tmp_path: Path, capsys) -> None:
    census = _census(tmp_path)
    assert main(["plan", str(census)]) == 0
    out = capsys.readouterr().out
    assert "Programme" in out and "Waves" in out and "p-records" in out


def test_unplaceable_census_exits_3(tmp_path: Path, capsys) -> None:
    census = _census(tmp_path)
    shutil.copy(FIXTURES / "plan" / "missing-placement" / "sites.yml", census)
    assert main(["plan", str(census), "--report", "none"]) == 3
    err = capsys.readouterr().err
    assert "no intranet segment for a county department of city alpha" in err
    assert not (tmp_path / "inventory" / "plan.yml").exists()


def test_bad_report_format_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["plan", str(_census(tmp_path)), "--report", "html"]) == 2


def test_addresses_stick_to_the_previous_plan(tmp_path: Path) -> None:
    census = _census(tmp_path)
    assert main(["plan", str(census), "--report", "none"]) == 0
    plan_file = tmp_path / "inventory" / "plan.yml"
    first = {t.name: t.address for s in load_plan(plan_file).systems for t in s.targets}
    # a new system sorting before the others would take their addresses in a fresh plan
    dept = census / "dept-county.yml"
    text = dept.read_text(encoding="utf-8")
    text = text.replace(
        "systems:\n",
        "systems:\n  - {id: a-new, name: 新系统, hosts: [c-new], status: in_use,"
        " audience: internal, protection_level: 2}\n",
    ).replace(
        "hosts:\n",
        "hosts:\n  - {id: c-new, address: 10.2.0.20, room: room-c, network: net-c, os: Debian 12,"
        " cpus: 1, memory_mb: 1024, disk_gb: 20}\n",
        1,
    )
    dept.write_text(text, encoding="utf-8")
    assert main(["plan", str(census), "--report", "none"]) == 0
    second = {t.name: t.address for s in load_plan(plan_file).systems for t in s.targets}
    assert {k: second[k] for k in first} == first
    assert second["a-new-1"] not in first.values()
    assert main(["plan", str(census), "--report", "none", "--fresh"]) == 0
    fresh = {t.name: t.address for s in load_plan(plan_file).systems for t in s.targets}
    assert fresh["a-new-1"] == first["c-ledger-1"]  # renumbered without stickiness
