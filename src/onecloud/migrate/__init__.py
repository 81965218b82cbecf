"""Move systems wave by wave: paramiko pre-flight, jinja2 inventory, ansible-runner playbooks.

`migrate(MigrateRequest)` runs (or, dry, describes) one run; `retire` archives and shuts down
a completed system's source. `run_playbook` (one playbook through ansible-runner, a result per
host) and the inventory's value filters (`unsafe`, `yaml_str`, `comment`) serve `onecloud.retire`
too. Stack outputs come in as data (`MigrateRequest.outputs`, or the
`read_outputs` callable the CLI passes in); the contract (spec, states, ledger) lives in
`onecloud.contract`.
"""

from onecloud.migrate._inventory import comment, unsafe, yaml_str
from onecloud.migrate._orchestrate import (
    DryRun,
    MigrateRequest,
    load_plan,
    load_specs,
    migrate,
    retire,
)
from onecloud.migrate._outcome import Observer, SystemOutcome
from onecloud.migrate._playbooks import HostOutcome, PlaybookResult, TaskEvent, run_playbook

__all__ = [
    "DryRun",
    "HostOutcome",
    "MigrateRequest",
    "Observer",
    "PlaybookResult",
    "SystemOutcome",
    "TaskEvent",
    "comment",
    "load_plan",
    "load_specs",
    "migrate",
    "retire",
    "run_playbook",
    "unsafe",
    "yaml_str",
]
