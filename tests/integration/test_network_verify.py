"""`onecloud verify --network` for real: TCP connections from lab hosts, per derived flow.

The hosts here are a private set (the sample plan's wave 1, renamed, on private segments) on
the lab's FLAT bridge, not on cloud ports: the side door the data plane closes for the real
servers (tests/integration/test_dataplane.py proves the enforced case on the `lab` stack).
Every host reaches every other, so this test asserts that the verification CATCHES a network
that enforces nothing: the must-work flows are observed open and pass, and every must-fail
flow is observed open and reported as a failed verdict ("open, expected closed"), with exit
code 7 from the CLI. Every probed port of a destination has a listener: what a flow observes
is then the network's doing, not a missing service.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from migratelab import ONECLOUD, listen

from onecloud import paths
from onecloud.cli._labhosts import ensure_target_hosts, target_specs
from onecloud.labhosts import hosts_down, hosts_status, ssh_config_path
from onecloud.plan._io import load_plan, write_plan
from onecloud.plan._models import Plan, Segment, TargetServer
from onecloud.verify import Flow, derive_flows, probe_flows

pytestmark = pytest.mark.integration

TAG = "netv"
WAVE = 81
#: sample segment -> its private stand-in (198.19.81-83.0/24: no other test uses them)
SEGMENTS = {"extranet-province": 81, "intranet-province": 82, "intranet-city": 83}
MGMT = "198.18.0.0/15"


def _private_plan() -> Plan:
    sample = load_plan(paths.PROJECT_ROOT / "inventory" / "plan.yml")
    wave1 = sample.wave_systems(1)
    ids = {s.id for s in wave1}
    segs = []
    for seg in sample.segments:
        if seg.name in SEGMENTS:
            n = SEGMENTS[seg.name]
            segs.append(
                Segment(
                    **{**seg.model_dump(), "cidr": f"198.19.{n}.0/24", "gateway": f"198.19.{n}.1"}
                )
            )
    systems = []
    for s in wave1:
        assert s.segment in SEGMENTS, s.segment
        n = SEGMENTS[s.segment]
        targets = [
            TargetServer(
                **{**t.model_dump(), "name": f"{TAG}-{t.name}", "address": f"198.19.{n}.{20 + i}"}
            )
            for i, t in enumerate(s.targets)
        ]
        systems.append(
            s.model_copy(
                update={
                    "id": f"{TAG}-{s.id}",
                    "wave": WAVE,
                    "stack": f"itest-{TAG}",
                    "targets": targets,
                    "depends_on": [f"{TAG}-{d}" for d in s.depends_on if d in ids],
                }
            )
        )
    return sample.model_copy(update={"segments": segs, "systems": systems, "waves": []})


@contextmanager
def _private_targets(tmp_path: Path) -> Iterator[tuple[Plan, Path, list[str]]]:
    plan = _private_plan()
    plan_path = tmp_path / "plan.yml"
    write_plan(plan, plan_path)
    names = [h.name for h in target_specs(plan, None)[0]]
    hosts_down(names)  # leftovers of a killed run
    try:
        ensure_target_hosts(plan, None)
        yield plan, plan_path, names
    finally:
        hosts_down(names)


def test_network_verification_catches_the_flat_labs_openings(tmp_path: Path) -> None:
    with _private_targets(tmp_path) as (plan, plan_path, names):
        up = {h.name for h in hosts_status() if h.reachable}
        assert set(names) <= up, (names, up)
        ids = [s.id for s in plan.wave_systems(WAVE)]
        flows = derive_flows(plan, ids, management_cidrs=[MGMT])
        # only from hosts that exist and answer (all of them: the private set is up)
        flows = [f for f in flows if f.source_host in up and f.dest_host in up]
        must_work = [f for f in flows if f.expect == "open"]
        must_fail = [f for f in flows if f.expect == "closed"]
        assert must_work and must_fail
        by_dest: dict[str, set[int]] = {}
        for f in flows:
            by_dest.setdefault(f.dest_host, set()).add(f.port)
        for host, ports in by_dest.items():
            listen(host, sorted(ports))

        results = probe_flows(flows, ssh_config_path())
        assert [r.flow for r in results] == flows
        res: dict[Flow, tuple[str, bool, str]] = {
            r.flow: (r.observed, r.ok, r.verdict) for r in results
        }
        for f in must_work:
            assert res[f][:2] == ("open", True), (f.name, res[f])
        # the flat lab lets every must-fail flow through: the verification must say so
        for f in must_fail:
            assert res[f] == ("open", False, "FAIL: open, expected closed"), (f.name, res[f])

        # the CLI: the same flows, exit 7, one JUnit testcase per flow
        junit = tmp_path / "network.xml"
        r = subprocess.run(
            [
                ONECLOUD,
                "verify",
                "--network",
                "--wave",
                str(WAVE),
                "--plan",
                str(plan_path),
                "--management-cidr",
                MGMT,
                "--junit",
                str(junit),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert r.returncode == 7, r.stdout + r.stderr
        assert f"{len(must_work)} must work, {len(must_fail)} must fail" in r.stdout
        root = ET.parse(junit).getroot()
        cases = list(root.iter("testcase"))
        assert len(cases) == len(flows)
        failed = [c for c in cases if c.find("failure") is not None]
        assert len(failed) == len(must_fail)
        assert all(c.find("error") is None for c in cases)

        dry = subprocess.run(
            [
                ONECLOUD,
                "verify",
                "--network",
                "--wave",
                str(WAVE),
                "--plan",
                str(plan_path),
                "--management-cidr",
                MGMT,
                "--dry-run",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert dry.returncode == 0, dry.stdout + dry.stderr
        assert "nothing probed" in dry.stdout
