"""JUnit XML for CI: one testsuite per system, one testcase per check. Pure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from onecloud.verify._probes import CheckResult

__all__ = ["to_xml", "write"]


def to_xml(results: Sequence[CheckResult], *, name: str = "onecloud-verify") -> str:
    root = ET.Element("testsuites", name=name)
    by_system: dict[str, list[CheckResult]] = {}
    for r in results:
        by_system.setdefault(r.check.system, []).append(r)
    total_fail = 0
    total_time = 0.0
    for system in sorted(by_system):
        rs = by_system[system]
        fails = sum(1 for r in rs if not r.ok)
        secs = sum(r.seconds for r in rs)
        total_fail += fails
        total_time += secs
        suite = ET.SubElement(
            root,
            "testsuite",
            name=system,
            tests=str(len(rs)),
            failures=str(fails),
            errors="0",
            time=f"{secs:.3f}",
        )
        for r in rs:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{system}.{r.check.kind}",
                name=r.check.name,
                time=f"{r.seconds:.3f}",
            )
            if not r.ok:
                fail = ET.SubElement(case, "failure", message=r.detail, type=r.check.kind)
                fail.text = f"host {r.check.host}: {r.detail}"
            else:
                out = ET.SubElement(case, "system-out")
                out.text = r.detail
    root.set("tests", str(len(results)))
    root.set("failures", str(total_fail))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write(path: Path, results: Sequence[CheckResult]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_xml(results), encoding="utf-8")
    return path
