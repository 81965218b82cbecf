"""Prove hosts and systems with testinfra: checks derived from each system's spec.

`_checks` derives the checks (pure), `_probes` runs one over SSH (testinfra's paramiko
backend), `_verify` runs many at once, `_junit` writes JUnit XML for CI.
"""

from onecloud.verify._junit import write as write_junit
from onecloud.verify._probes import CheckResult
from onecloud.verify._verify import summarize, verify_for_migration, verify_systems

__all__ = ["CheckResult", "summarize", "verify_for_migration", "verify_systems", "write_junit"]
