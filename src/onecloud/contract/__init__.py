"""The migration contract: what `migrate`, `verify` and `report` agree on.

- the system spec (`SystemSpec`, built from a planned system and the stack's outputs),
- the per-system states and steps of the state machine, and the verify phase of a state,
- the ledger: its schema, every write, and the read-only view `report` needs. No other
  package holds SQL.
"""

from onecloud.contract._ledger import (
    Certificate,
    Event,
    Ledger,
    LedgerError,
    LockInfo,
    RetirementRecord,
    SystemRecord,
)
from onecloud.contract._spec import (
    DB_ENGINE_SERVICES,
    Endpoint,
    Pair,
    SystemSpec,
    build_spec,
    select_systems,
)
from onecloud.contract._states import (
    RUN_TARGETS,
    STATES,
    STEPS,
    Phase,
    State,
    Step,
    index,
    phase_of,
    remaining_steps,
)
from onecloud.contract._view import LedgerStatus, LedgerView

__all__ = [
    "DB_ENGINE_SERVICES",
    "RUN_TARGETS",
    "STATES",
    "STEPS",
    "Certificate",
    "Endpoint",
    "Event",
    "Ledger",
    "LedgerError",
    "LedgerStatus",
    "LedgerView",
    "LockInfo",
    "Pair",
    "Phase",
    "RetirementRecord",
    "State",
    "Step",
    "SystemRecord",
    "SystemSpec",
    "build_spec",
    "index",
    "phase_of",
    "remaining_steps",
    "select_systems",
]
