"""The cutover play followed live: each system moves through freeze, sync and switch as the
play's events arrive, so the ledger is always at the last step that finished.

`MigrationRun` runs `cutover_system.yml` (one play for a group of systems, in `serial`
batches) with `CutoverPlay.on_event` as the event callback, then `CutoverPlay.settle` reads
the play's result: the systems the play never reached, those that finished every step, and
the step, host and task each failed one failed at.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from onecloud.contract import Step
from onecloud.contract import _states as states
from onecloud.migrate._outcome import Verdict
from onecloud.migrate._playbooks import PlaybookResult, TaskEvent

if TYPE_CHECKING:
    from onecloud.contract import Ledger
    from onecloud.migrate._outcome import Observer, SystemOutcome
    from onecloud.migrate._record import StepRecorder


class Run(Protocol):
    """What following a cutover play needs of the run it belongs to (`MigrationRun`)."""

    ledger: Ledger
    rec: StepRecorder
    outcomes: dict[str, SystemOutcome]
    not_run: set[str]
    obs: Observer

    def by_source(self) -> dict[str, str]: ...
    def skipped(self, result: PlaybookResult, system: str) -> bool: ...
    def verdict(self, result: PlaybookResult, system: str) -> Verdict: ...


__all__ = ["CutoverPlay"]

#: role (as Ansible reports it on each event) -> step, inside the cutover play
_CUTOVER_ROLES: dict[str, Step] = {
    "freeze_system": "freeze",
    "sync_system": "sync",
    "copy_data": "sync",
    "switch_system": "switch",
}
#: the cutover play prepares and removes the copy key outside the steps (and the downtime)
_OUTSIDE_STEPS = "copy_data/tasks/prepare.yml"
_OUTSIDE_STEPS_2 = "copy_data/tasks/cleanup.yml"
#: the task of the sync step that proves the target holds the frozen source's data trees
_DIGEST_CHECK = "Compare the digests"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CutoverPlay:
    """The remaining cutover `steps` of `systems`, followed through one play."""

    def __init__(self, run: Run, systems: list[str], steps: list[Step]) -> None:
        self.run = run
        self.systems = systems
        self.steps = steps
        self.by_source = run.by_source()
        #: per system: the step running now and its ledger event
        self.current: dict[str, tuple[Step, str]] = {}
        self.done: dict[str, set[Step]] = {sid: set() for sid in systems}
        self.last_at: dict[tuple[str, Step], float] = {}
        #: the play's ident, known once it ended
        self.ident: str | None = None
        #: systems whose final sync passed the digest comparison of source and target
        self.digests_equal: set[str] = set()

    def begin(self, sid: str, step: Step, at: float) -> None:
        """`step` started for `sid` (the one running before finished)."""
        if step in self.done[sid] or (sid in self.current and self.current[sid][0] == step):
            return
        if sid in self.current:
            self.finish(sid)
        if step == "freeze":
            self.run.ledger.mark_freeze_start(sid, _iso(at))
        self.current[sid] = (step, self.run.rec.start(sid, step))

    def finish(self, sid: str) -> None:
        """The step running for `sid` finished."""
        step, event_id = self.current.pop(sid)
        detail = None
        if step == "switch":
            detail = self._serving(sid)
        elif step == "sync" and sid in self.digests_equal:
            detail = "final sync done; sha256 digests of source and target equal"
        self.run.rec.advance(sid, step, event_id, self.ident, detail)
        self.done[sid].add(step)

    def _serving(self, sid: str) -> str | None:
        """The target serves: record when, and the downtime since the freeze."""
        at = self.last_at.get((sid, "switch"), time.time())
        down = self.run.ledger.mark_serving(sid, _iso(at))
        self.run.outcomes[sid].downtime = down
        return f"serving on the target; downtime {down:.1f} s" if down else None

    def on_event(self, ev: TaskEvent) -> None:
        """The play's event callback: a task of a step ran, so that step has begun."""
        sid = self.by_source.get(ev.host)
        if _OUTSIDE_STEPS in ev.task_path or _OUTSIDE_STEPS_2 in ev.task_path:
            return  # key handling before the freeze / after the switch: no step
        step = _CUTOVER_ROLES.get(ev.role)
        if sid is None or step is None or sid not in self.done:
            return
        if ev.kind in ("failed", "unreachable") and not ev.ignored:
            return  # settled at the end, from the stats (a failure may be rescued)
        if step == "sync" and ev.kind == "ok" and ev.task == _DIGEST_CHECK:
            self.digests_equal.add(sid)
        order = states.CUTOVER_STEPS
        cur = self.current.get(sid)
        if cur is None or order.index(step) > order.index(cur[0]):
            self._reach(sid, step, ev.at)
        self.last_at[(sid, step)] = ev.at

    def _reach(self, sid: str, step: Step, at: float) -> None:
        """Begin `step`; the steps before it had nothing to do for this system (all skipped),
        so they are done too."""
        order = states.CUTOVER_STEPS
        cur = self.current.get(sid)
        for s in order[: order.index(step)]:
            if s in self.steps and s not in self.done[sid] and (cur is None or s != cur[0]):
                self.begin(sid, s, at)
                self.finish(sid)
        self.begin(sid, step, at)

    def settle(self, result: PlaybookResult) -> list[str]:
        """Once the play ended: finish, fail or skip each system; returns those that succeeded."""
        self.ident = result.ident
        ok = []
        for sid in self.systems:
            if sid not in self.current and not self.done[sid] and self.run.skipped(result, sid):
                self._not_started(sid)
                continue
            verdict = self.run.verdict(result, sid)
            if verdict.ok:
                self._finish_rest(sid)
                ok.append(sid)
                continue
            self._failed(sid, verdict, result.ident)
        return ok

    def _not_started(self, sid: str) -> None:
        self.run.not_run.add(sid)
        o = self.run.outcomes[sid]
        o.ok, o.step, o.message = (
            False,
            self.steps[0],
            "not started: an earlier batch"
            " of the cutover failed as a whole, so Ansible stopped; re-run to go on",
        )
        self.run.obs.system_step(sid, self.steps[0], "skipped", o.message)

    def _finish_rest(self, sid: str) -> None:
        """The play succeeded for `sid`: the steps not seen yet are done too."""
        for s in self.steps:
            if s not in self.done[sid]:
                self.begin(sid, s, time.time())
                self.finish(sid)

    def _failed(self, sid: str, verdict: Verdict, ident: str) -> None:
        """Fail `sid` at the step its failing task belongs to."""
        failed_step = _CUTOVER_ROLES.get(
            verdict.role or "", self.current.get(sid, (self.steps[0], ""))[0]
        )
        if sid in self.current and self.current[sid][0] == failed_step:
            _step, event_id = self.current.pop(sid)
        else:
            if sid in self.current:
                self.finish(sid)
            event_id = self.run.rec.start(sid, failed_step)
        self.run.rec.fail(
            sid,
            failed_step,
            host=verdict.host,
            task=verdict.task,
            message=verdict.message or "failed",
            playbook_run=ident,
            event_id=event_id,
        )
