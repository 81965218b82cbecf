"""Retire the systems the plan retires (zombie, shadow, unused): evidence first, then a notice
and the owner's confirmation, an archive on the controller verified by reading it back, the
shutdown proven by testinfra, and a certificate in the ledger; `restore_system` brings one back.

`_spec` joins the plan with the census's usage evidence, `_evidence` judges a fresh probe
against it (pure), `_manifest` reads archives back, `_certificate` writes the certificate
(pure), `_inventory` renders the hosts for the playbooks, `_run` runs it all.
"""

from onecloud.retire._certificate import Confirmation, build_certificate
from onecloud.retire._evidence import HostEvidence, Rules, Verdict, judge, parse_probe
from onecloud.retire._manifest import ArchiveCheck, parse_manifest, verify_archive
from onecloud.retire._run import (
    RestoreOutcome,
    RetireError,
    RetireOutcome,
    RetireRequest,
    StatusRow,
    archive_root,
    events_of,
    restore_system,
    retire_systems,
    retirement_status,
    serving_checks,
    shutdown_checks,
)
from onecloud.retire._spec import RetireSpec, UsageClaim, build_retire_spec, select_retiring

__all__ = [
    "ArchiveCheck",
    "Confirmation",
    "HostEvidence",
    "RestoreOutcome",
    "RetireError",
    "RetireOutcome",
    "RetireRequest",
    "RetireSpec",
    "Rules",
    "StatusRow",
    "UsageClaim",
    "Verdict",
    "archive_root",
    "build_certificate",
    "build_retire_spec",
    "events_of",
    "judge",
    "parse_manifest",
    "parse_probe",
    "restore_system",
    "retire_systems",
    "retirement_status",
    "select_retiring",
    "serving_checks",
    "shutdown_checks",
    "verify_archive",
]
