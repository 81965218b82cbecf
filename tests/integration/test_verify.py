"""`onecloud verify` for real: testinfra over SSH on lab hosts, JUnit XML for CI."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from migratelab import private_lab, ssh

pytestmark = pytest.mark.integration


def _junit(path: Path) -> dict[str, str | None]:
    """testcase name -> failure message (None: passed)."""
    root = ET.parse(path).getroot()
    out = {}
    for case in root.iter("testcase"):
        fail = case.find("failure")
        out[case.get("name", "")] = None if fail is None else fail.get("message")
    return out


def test_verify_proves_legacy_hosts_and_reports_what_breaks(tmp_path: Path) -> None:
    with private_lab(tmp_path, "vfy", ["edu-portal", "health-permits"], wave=46) as lab:
        base = ["verify", "--wave", str(lab.wave), "--plan", str(lab.plan_path)]
        web, db = lab.system("edu-portal"), lab.system("health-permits")
        wsrc, waddr = web.sources[0].id, web.sources[0].address
        health_case = f"{wsrc} http://{waddr}:8080/health answers 200"
        junit = tmp_path / "legacy.xml"
        r = lab.cli(*base, "--junit", str(junit))  # phase auto: nothing migrated yet
        assert r.returncode == 0, r.stdout + r.stderr
        cases = _junit(junit)
        assert cases and all(v is None for v in cases.values()), cases
        assert f"{db.sources[0].id} postgresql running" in cases
        assert health_case in cases

        assert ssh(web.sources[0].id, "service webapp stop").returncode == 0
        junit = tmp_path / "broken.xml"
        r = lab.cli(*base, "--junit", str(junit))
        assert r.returncode == 7, r.stdout + r.stderr
        cases = _junit(junit)
        failed = {k: v for k, v in cases.items() if v is not None}
        assert failed == {
            f"{wsrc} webapp running": "not running (service status != 0)",
            f"{wsrc} listens on {waddr}:8080": f"nothing listens on {waddr}:8080",
            health_case: failed[health_case],
        }
        assert "error" in str(failed[health_case])

        # the migrated checks before any migration: the targets are empty and say so
        r = lab.cli(*base, "--phase", "migrated", "--junit", str(tmp_path / "m.xml"))
        assert r.returncode == 7
        cases = _junit(tmp_path / "m.xml")
        assert cases[f"{web.targets[0].name} webapp running"] == "not running (service status != 0)"
        assert (
            cases[f"{db.targets[0].name} row counts equal {db.sources[0].id}'s at the freeze"]
            is not None
        )
