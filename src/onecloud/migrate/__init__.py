"""Move systems wave by wave: paramiko pre-flight, jinja2 inventory, ansible-runner playbooks.

`migrate(MigrateRequest)` runs (or, dry, describes) one run; `retire` archives and shuts down
a completed system's source. Stack outputs come in as data (`MigrateRequest.outputs`, or the
`read_outputs` callable the CLI passes in); the contract (spec, states, ledger) lives in
`onecloud.contract`.
"""

from onecloud.migrate._orchestrate import (
    DryRun,
    MigrateRequest,
    load_plan,
    load_specs,
    migrate,
    retire,
)
from onecloud.migrate._outcome import Observer, SystemOutcome

__all__ = [
    "DryRun",
    "MigrateRequest",
    "Observer",
    "SystemOutcome",
    "load_plan",
    "load_specs",
    "migrate",
    "retire",
]
