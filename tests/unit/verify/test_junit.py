import xml.etree.ElementTree as ET
from pathlib import Path

from onecloud.contract._spec import SystemSpec
from onecloud.verify import _junit as junit
from onecloud.verify._checks import checks_for
from onecloud.verify._probes import CheckResult


def test_junit_suites_per_system(tmp_path: Path, specs: dict[str, SystemSpec]) -> None:
    checks = checks_for(specs["edu-portal"], "migrated") + checks_for(
        specs["civil-ledger"], "legacy"
    )
    results = [
        CheckResult(c, i != 1, "HTTP 503" if i == 1 else "fine", 0.25) for i, c in enumerate(checks)
    ]
    path = junit.write(tmp_path / "out" / "verify.xml", results)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert root.get("tests") == str(len(results)) and root.get("failures") == "1"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"edu-portal", "civil-ledger"}
    failure = suites["edu-portal"].find("testcase/failure")
    assert failure is not None and failure.get("message") == "HTTP 503"
    assert "host edu-portal-1" in (failure.text or "")
