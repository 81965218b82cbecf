"""The ledger side of a migration run: each system's step events, states and last errors.

`StepRecorder` writes them for `MigrationRun` (and the cutover it follows live); every write
is mirrored in the system's `SystemOutcome` and shown to the run's observer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from onecloud.contract import Ledger, State, Step
from onecloud.contract import _states as states

if TYPE_CHECKING:
    from onecloud.migrate._outcome import Observer, SystemOutcome

__all__ = ["StepRecorder"]


class StepRecorder:
    """Records a run's steps in the ledger, one system at a time."""

    def __init__(
        self, ledger: Ledger, run_id: str, obs: Observer, outcomes: dict[str, SystemOutcome]
    ) -> None:
        self.ledger = ledger
        self.run_id = run_id
        self.obs = obs
        self.outcomes = outcomes

    def state(self, system: str) -> State:
        rec = self.ledger.system(system)
        assert rec is not None
        return rec.state

    def start(
        self,
        system: str,
        step: str,
        playbook_run: str | None = None,
        *,
        state_before: State | None = None,
    ) -> str:
        """`step` started for `system`: a `started` event (returned)."""
        self.obs.system_step(system, step, "running")
        return self.ledger.record(
            system,
            step,
            "started",
            run_id=self.run_id,
            state_before=state_before or self.state(system),
            playbook_run=playbook_run,
        )

    def advance(
        self,
        system: str,
        step: Step,
        event_id: str,
        playbook_run: str | None,
        detail: str | None = None,
    ) -> None:
        """`step` finished for `system`: its event ok, the system in the state after it."""
        after = states.after(step)
        self.ledger.finish(
            event_id, "ok", state_after=after, playbook_run=playbook_run, detail=detail
        )
        self.ledger.set_state(system, after, clear_error=True)
        self.done(system, step, detail)

    def done(self, system: str, step: str, detail: str | None) -> None:
        """A system finished `step` (its event closed, its state set): outcome and display."""
        self.outcomes[system].steps_done.append(step)
        self.obs.system_step(system, step, "ok", detail or "")

    def fail(
        self,
        system: str,
        step: str,
        *,
        host: str | None,
        task: str | None,
        message: str,
        playbook_run: str | None = None,
        event_id: str | None = None,
    ) -> None:
        """Close (or, with no `event_id`, record) a failed event, then `blame`."""
        if event_id is not None:
            self.ledger.finish(
                event_id, "failed", host=host, task=task, detail=message, playbook_run=playbook_run
            )
        else:
            self.ledger.record(
                system,
                step,
                "failed",
                run_id=self.run_id,
                state_before=self.state(system),
                host=host,
                task=task,
                detail=message,
                playbook_run=playbook_run,
                finished_at=None,
            )
        self.blame(system, step, host=host, task=task, message=message)

    def blame(
        self, system: str, step: str, *, host: str | None, task: str | None, message: str
    ) -> None:
        """A system failed `step` (its event is closed): its outcome, last error, display."""
        o = self.outcomes[system]
        o.ok = False
        o.step, o.host, o.task, o.message = step, host, task, message
        self.ledger.set_state(
            system,
            self.state(system),
            last_error=(
                f"{step} failed on {host or '?'}"
                + (f" at task '{task}'" if task else "")
                + f": {message}"
            ),
        )
        self.obs.system_step(system, step, "failed", message)

    def note_error(self, system: str, text: str) -> None:
        """Set the last error of `system` (its state and flags unchanged) and its outcome's
        message: what the operator must do next."""
        self.ledger.set_state(system, self.state(system), last_error=text)
        self.outcomes[system].message = text
