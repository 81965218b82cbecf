"""The per-system migration state machine: pure, no I/O.

A system moves forward one step at a time. Each step has the state it leaves a system in
when it finishes; a step that fails before `completed` is rolled back, which puts the system
back in a state where the source serves (`presynced` at most: the target's copy may be stale
once the source has served writes again; the rerun's final sync copies the delta and its
checksum comparison catches a copy that still differs).

    planned -> preflighted -> presynced -> frozen -> synced -> switched -> verified -> completed
                                                                              completed -> retired
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

State = Literal[
    "planned",
    "preflighted",
    "presynced",
    "frozen",
    "synced",
    "switched",
    "verified",
    "completed",
    "retired",
]
Step = Literal["preflight", "presync", "freeze", "sync", "switch", "verify", "complete", "retire"]

#: the forward order of states (retired only after completed, by an explicit command)
STATES: tuple[State, ...] = get_args(State)

#: step -> (the state it starts from, the state it leaves the system in)
STEPS: dict[Step, tuple[State, State]] = {
    "preflight": ("planned", "preflighted"),
    "presync": ("preflighted", "presynced"),
    "freeze": ("presynced", "frozen"),
    "sync": ("frozen", "synced"),
    "switch": ("synced", "switched"),
    "verify": ("switched", "verified"),
    "complete": ("verified", "completed"),
    "retire": ("completed", "retired"),
}

#: the steps `onecloud migrate` runs, in order (retire is a separate, confirmed command)
MIGRATION_STEPS: tuple[Step, ...] = (
    "preflight",
    "presync",
    "freeze",
    "sync",
    "switch",
    "verify",
    "complete",
)

#: the steps during which the source is stopped: the downtime window
CUTOVER_STEPS: tuple[Step, ...] = ("freeze", "sync", "switch")

#: the states a `migrate --until` run can stop at (what each migration step leaves behind)
RUN_TARGETS: tuple[State, ...] = tuple(STEPS[step][1] for step in MIGRATION_STEPS)

#: which hosts serve a system, hence which checks `verify` runs: the sources, or the targets
Phase = Literal["legacy", "migrated"]


def phase_of(state: State) -> Phase:
    """The verify phase of a system in `state`: from `switched` on, its targets serve."""
    return "migrated" if index(state) >= index("switched") else "legacy"


def index(state: State) -> int:
    """Position of a state in the forward order."""
    return STATES.index(state)


def is_state(value: str) -> bool:
    return value in STATES


def next_step(state: State) -> Step | None:
    """The migration step that follows `state`, or None when nothing is left to migrate."""
    for step in MIGRATION_STEPS:
        if STEPS[step][0] == state:
            return step
    return None


def remaining_steps(state: State, until: State = "completed") -> list[Step]:
    """The steps still to run to bring a system from `state` to `until` (may be empty)."""
    if index(until) > index("completed"):
        raise ValueError("`until` must be at most 'completed' (retire is its own command)")
    out: list[Step] = []
    for step in MIGRATION_STEPS:
        start, end = STEPS[step]
        if index(start) >= index(state) and index(end) <= index(until):
            out.append(step)
    return out


def after(step: Step) -> State:
    """The state a system is in once `step` finished."""
    return STEPS[step][1]


def source_stopped(state: State) -> bool:
    """True when, in this state, the source's services are (meant to be) stopped."""
    return index("frozen") <= index(state)


def rollback_state(state: State) -> State:
    """Where a rollback leaves a system that failed while in `state`.

    Before the freeze the source never stopped: nothing to undo beyond the target. From the
    freeze on, the rollback starts the source again, so the system is back to `presynced`.
    """
    if state in ("completed", "retired"):
        raise ValueError(f"a {state} system is not rolled back")
    return state if index(state) < index("frozen") else "presynced"


@dataclass(frozen=True)
class Transition:
    """A recorded move of one system from one state to the next."""

    system: str
    step: Step
    before: State
    after: State


def check_transition(system: str, state: State, step: Step) -> Transition:
    """Validate that `step` may run on a system in `state`; raise ValueError if not."""
    start, end = STEPS[step]
    if state != start:
        raise ValueError(
            f"system {system}: step {step!r} needs state {start!r}, the system is {state!r}"
        )
    return Transition(system=system, step=step, before=state, after=end)
