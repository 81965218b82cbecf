"""Prove hosts, systems and the network with testinfra: checks derived from each system's spec,
flows derived from the plan.

`_checks` derives the checks (pure), `_probes` runs one over SSH (testinfra's paramiko
backend), `_verify` runs many at once, `_junit` writes JUnit XML for CI. `_flows` derives the
network flows that must work and must fail (pure), `_netprobe` tries them with real TCP
connections from their source hosts.
"""

from onecloud.verify._checks import Check
from onecloud.verify._flows import Flow, derive_flows
from onecloud.verify._junit import write as write_junit
from onecloud.verify._netprobe import FlowResult, probe_flows, write_flows_junit
from onecloud.verify._probes import CheckResult
from onecloud.verify._verify import run_checks, summarize, verify_for_migration, verify_systems

__all__ = [
    "Check",
    "CheckResult",
    "Flow",
    "FlowResult",
    "derive_flows",
    "probe_flows",
    "run_checks",
    "summarize",
    "verify_for_migration",
    "verify_systems",
    "write_flows_junit",
    "write_junit",
]
