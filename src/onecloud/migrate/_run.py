"""The migration runner: drive each system of a run through its steps, record every move.

Steps run in batches: every system whose next step is the same runs it in the same playbook
(one ansible-playbook process, forks in parallel). The cutover (freeze, sync, switch) is one
play so that a system's downtime is only its own work; its progress is followed live from the
play's events, so a runner killed mid-cutover leaves the ledger at the last step that finished
and a rerun resumes there. A system that fails is rolled back at once (target stopped, source
serving); the ledger records the step, the host, the task and the message.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from onecloud import paths
from onecloud.contract import Ledger, State, Step, SystemSpec
from onecloud.contract import _states as states
from onecloud.migrate._playbooks import PlaybookResult, TaskEvent, run_playbook

__all__ = ["MigrationRun", "Observer", "RunOptions", "SystemOutcome"]

log = logging.getLogger(__name__)

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
_PLAYBOOK: dict[Step, str] = {
    "preflight": "preflight_system.yml",
    "presync": "presync_system.yml",
    "freeze": "cutover_system.yml",
    "sync": "cutover_system.yml",
    "switch": "cutover_system.yml",
}


class Observer(Protocol):
    """What the CLI shows; the runner calls it, never prints."""

    def system_step(self, system: str, step: str, status: str, detail: str = "") -> None: ...


class _Quiet:
    def system_step(self, system: str, step: str, status: str, detail: str = "") -> None:
        log.info("%s: %s %s %s", system, step, status, detail)


@dataclass(frozen=True)
class RunOptions:
    forks: int = 10
    until: State = "completed"
    ssh_config: Path | None = None
    inventory: Path | None = None
    verify: Callable[[SystemSpec], tuple[bool, str]] | None = None
    private_data_dir: Path | None = None
    #: systems cut over at once (Ansible `serial`): each system's downtime is its batch's
    #: time, so smaller batches mean shorter downtimes for the same total time
    cutover_batch: int = 5


@dataclass
class SystemOutcome:
    system: str
    state: State
    ok: bool
    step: str | None = None  # the step that failed
    host: str | None = None
    task: str | None = None
    message: str | None = None
    rolled_back: bool | None = None
    downtime: float | None = None
    seconds: float = 0.0
    steps_done: list[str] = field(default_factory=list)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class MigrationRun:
    """One `onecloud migrate` invocation over a set of systems."""

    def __init__(
        self,
        specs: Sequence[SystemSpec],
        ledger: Ledger,
        options: RunOptions,
        *,
        observer: Observer | None = None,
        run_id: str | None = None,
        app_paths: dict[str, list[str]] | None = None,
    ) -> None:
        self.specs = {s.id: s for s in specs}
        self.ledger = ledger
        self.opt = options
        self.obs: Observer = observer or _Quiet()
        self.run_id = run_id or f"run-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.outcomes = {s.id: SystemOutcome(s.id, "planned", True) for s in specs}
        self.app_paths = app_paths or {}
        self._t0 = {s.id: time.monotonic() for s in specs}
        self.not_run: set[str] = set()
        base = options.private_data_dir or paths.ansible_dir()
        self.private_data_dir = base

    # -- ledger helpers --------------------------------------------------------------------
    def state(self, system: str) -> State:
        rec = self.ledger.system(system)
        assert rec is not None
        return rec.state

    def _fail(self, system: str, step: str, *, host: str | None, task: str | None,
              message: str, playbook_run: str | None = None, event_id: str | None = None
              ) -> None:
        o = self.outcomes[system]
        o.ok = False
        o.step, o.host, o.task, o.message = step, host, task, message
        if event_id is not None:
            self.ledger.finish(event_id, "failed", host=host, task=task, detail=message,
                               playbook_run=playbook_run)
        else:
            self.ledger.record(system, step, "failed", run_id=self.run_id,
                               state_before=self.state(system), host=host, task=task,
                               detail=message, playbook_run=playbook_run, finished_at=None)
        self.ledger.set_state(system, self.state(system), last_error=(
            f"{step} failed on {host or '?'}"
            + (f" at task '{task}'" if task else "") + f": {message}"))
        self.obs.system_step(system, step, "failed", message)

    def _advance(self, system: str, step: Step, event_id: str, playbook_run: str | None,
                 detail: str | None = None) -> None:
        after = states.after(step)
        self.ledger.finish(event_id, "ok", state_after=after, playbook_run=playbook_run,
                           detail=detail)
        self.ledger.set_state(system, after, clear_error=True)
        self.outcomes[system].steps_done.append(step)
        self.obs.system_step(system, step, "ok", detail or "")

    def _start(self, system: str, step: Step, playbook_run: str | None = None) -> str:
        self.obs.system_step(system, step, "running")
        return self.ledger.record(system, step, "started", run_id=self.run_id,
                                  state_before=self.state(system), playbook_run=playbook_run)

    # -- playbooks -------------------------------------------------------------------------
    def _inventory(self) -> Path:
        assert self.opt.inventory is not None, "render the inventory before running playbooks"
        return self.opt.inventory

    def _sources(self, systems: Sequence[str]) -> list[str]:
        return [p.source.name for sid in systems for p in self.specs[sid].pairs]

    def _by_source(self) -> dict[str, str]:
        return {p.source.name: s.id for s in self.specs.values() for p in s.pairs}

    def _run(self, playbook: str, systems: Sequence[str], *, tags: Sequence[str] | None = None,
             on_event: Callable[[TaskEvent], None] | None = None,
             extravars: dict[str, object] | None = None) -> PlaybookResult:
        return run_playbook(
            playbook,
            inventory=self._inventory(),
            hosts=self._sources(systems),
            private_data_dir=self.private_data_dir,
            forks=self.opt.forks,
            tags=tags,
            on_event=on_event,
            extravars=extravars,
        )

    def _not_run(self, result: PlaybookResult, system: str) -> bool:
        """True if the play never reached any host of the system (nothing changed there)."""
        outs = [result.hosts.get(p.source.name) for p in self.specs[system].pairs]
        return all(o is not None and not o.ran for o in outs)

    def _outcome_of(self, result: PlaybookResult, system: str
                    ) -> tuple[bool, str | None, str | None, str | None, str | None]:
        """(ok, host, task, role, message) of a system over its pairs."""
        for p in self.specs[system].pairs:
            o = result.hosts.get(p.source.name)
            if o is None or not o.ok:
                if o is None:
                    return False, p.source.name, None, None, "host not in the play"
                return False, o.failed_on or p.source.name, o.failed_task, o.failed_role, \
                    o.message or "failed"
        return True, None, None, None, None

    def _simple_step(self, step: Step, systems: list[str]) -> list[str]:
        """Run one playbook step for `systems`; returns those that succeeded."""
        if not systems:
            return []
        events = {sid: self._start(sid, step) for sid in systems}
        result = self._run(_PLAYBOOK[step], systems)
        ok = []
        for sid in systems:
            good, host, task, _role, msg = self._outcome_of(result, sid)
            if good:
                detail = self._copy_detail(result, sid) if step == "presync" else None
                self._advance(sid, step, events[sid], result.ident, detail)
                ok.append(sid)
            else:
                self._fail(sid, step, host=host, task=task, message=msg or "failed",
                           playbook_run=result.ident, event_id=events[sid])
        return ok

    def _copy_detail(self, result: PlaybookResult, system: str) -> str:
        """Record the data digests of a copy; say whether the source changed since the last."""
        figures = (result.stats.get("copy_data") or {})
        notes = []
        for p in self.specs[system].pairs:
            f = figures.get(p.source.name) or {}
            digest = f.get("digest")
            if not digest:
                continue
            before = self.ledger.manifests(system, "tree").get((p.source.name, "tree", "presync"))
            self.ledger.put_manifest(system, p.source.name, "tree", "presync", digest)
            stats = {k: v for k, v in (f.get("stats") or [])}
            sent = stats.get("Total bytes sent", "0").replace(",", "")
            ms = stats.get("Copy milliseconds", "0").replace(",", "")
            if before and before != digest:
                notes.append(f"{p.source.name}: source changed since the last copy; re-synced"
                             f" ({sent} bytes in {ms} ms)")
            elif f.get("copied"):
                notes.append(f"{p.source.name}: copied {sent} bytes in {ms} ms")
            else:
                notes.append(f"{p.source.name}: unchanged, nothing copied")
        return "; ".join(notes)

    # -- the cutover -----------------------------------------------------------------------
    def _cutover(self, systems: list[str], steps: list[Step]) -> list[str]:
        """Run the remaining cutover steps of `systems` in one play, following events."""
        if not systems:
            return []
        by_source = self._by_source()
        # per system: the step running now and its ledger event
        current: dict[str, tuple[Step, str]] = {}
        done: dict[str, set[Step]] = {sid: set() for sid in systems}
        last_at: dict[tuple[str, Step], float] = {}
        ident_box: dict[str, str] = {}

        def begin(sid: str, step: Step, at: float) -> None:
            if step in done[sid] or (sid in current and current[sid][0] == step):
                return
            if sid in current:
                finish(sid)
            if step == "freeze":
                self.ledger.mark_freeze_start(sid, _iso(at))
            current[sid] = (step, self._start(sid, step))

        def finish(sid: str) -> None:
            step, event_id = current.pop(sid)
            detail = None
            if step == "switch":
                at = last_at.get((sid, "switch"), time.time())
                down = self.ledger.mark_serving(sid, _iso(at))
                self.outcomes[sid].downtime = down
                detail = f"serving on the target; downtime {down:.1f} s" if down else None
            self._advance(sid, step, event_id, ident_box.get("ident"), detail)
            done[sid].add(step)

        def on_event(ev: TaskEvent) -> None:
            sid = by_source.get(ev.host)
            if _OUTSIDE_STEPS in ev.task_path or _OUTSIDE_STEPS_2 in ev.task_path:
                return  # key handling before the freeze / after the switch: no step
            step = _CUTOVER_ROLES.get(ev.role)
            if sid is None or step is None or sid not in done:
                return
            if ev.kind in ("failed", "unreachable") and not ev.ignored:
                return  # settled at the end, from the stats (a failure may be rescued)
            order = states.CUTOVER_STEPS
            cur = current.get(sid)
            if cur is None or order.index(step) > order.index(cur[0]):
                # steps that had nothing to do for this system (all skipped) are done too
                for s in order[: order.index(step)]:
                    if s in steps and s not in done[sid] and (cur is None or s != cur[0]):
                        begin(sid, s, ev.at)
                        finish(sid)
                begin(sid, step, ev.at)
            last_at[(sid, step)] = ev.at

        result = self._run("cutover_system.yml", systems, tags=list(steps), on_event=on_event,
                           extravars={"cutover_system_batch": self.opt.cutover_batch})
        ident_box["ident"] = result.ident
        ok = []
        for sid in systems:
            if sid not in current and not done[sid] and self._not_run(result, sid):
                self.not_run.add(sid)
                o = self.outcomes[sid]
                o.ok, o.step, o.message = False, steps[0], "not started: an earlier batch" \
                    " of the cutover failed as a whole, so Ansible stopped; re-run to go on"
                self.obs.system_step(sid, steps[0], "skipped", o.message)
                continue
            good, host, task, role, msg = self._outcome_of(result, sid)
            if good:
                for s in steps:
                    if s not in done[sid]:
                        begin(sid, s, time.time())
                        finish(sid)
                ok.append(sid)
                continue
            failed_step = _CUTOVER_ROLES.get(role or "", current.get(sid, (steps[0], ""))[0])
            if sid in current and current[sid][0] == failed_step:
                _step, event_id = current.pop(sid)
            else:
                if sid in current:
                    finish(sid)
                event_id = self._start(sid, failed_step)
            self._fail(sid, failed_step, host=host, task=task, message=msg or "failed",
                       playbook_run=result.ident, event_id=event_id)
        return ok

    # -- verification and rollback ---------------------------------------------------------
    def _verify(self, systems: list[str]) -> list[str]:
        ok = []
        for sid in systems:
            event = self._start(sid, "verify")
            if self.opt.verify is None:
                good, detail = True, "verification skipped (no verifier)"
            else:
                try:
                    good, detail = self.opt.verify(self.specs[sid])
                except Exception as exc:  # a broken check is a failed verification
                    log.exception("verification of %s raised", sid)
                    good, detail = False, f"verification could not run: {exc}"
            if good:
                self._advance(sid, "verify", event, None, detail)
                ok.append(sid)
            else:
                host = self.specs[sid].pairs[0].target.name
                self._fail(sid, "verify", host=host, task="testinfra checks", message=detail,
                           event_id=event)
        return ok

    def rollback(self, systems: list[str]) -> None:
        """Target stopped, source serving; state back to where the source serves."""
        if not systems:
            return
        events = {}
        for sid in systems:
            self.ledger.set_state(sid, self.state(sid), rollback_pending=True)
            events[sid] = self._start(sid, "rollback")  # type: ignore[arg-type]
        result = self._run("rollback_system.yml", systems)
        for sid in systems:
            good, host, task, _role, msg = self._outcome_of(result, sid)
            before = self.state(sid)
            if good:
                after = states.rollback_state(before)
                self.ledger.finish(events[sid], "ok", state_after=after,
                                   playbook_run=result.ident,
                                   detail="target stopped, source serving")
                self.ledger.set_state(sid, after, rollback_pending=False)
                self.outcomes[sid].rolled_back = True
                self.obs.system_step(sid, "rollback", "ok", "source serving again")
            else:
                self.ledger.finish(events[sid], "failed", host=host, task=task,
                                   detail=msg, playbook_run=result.ident)
                self.outcomes[sid].rolled_back = False
                self.obs.system_step(sid, "rollback", "failed", msg or "")

    # -- the whole run ---------------------------------------------------------------------
    def execute(self, preflight_failures: dict[str, tuple[str, str]] | None = None
                ) -> list[SystemOutcome]:
        """Run every system to `until`. `preflight_failures`: system -> (host, why) from the
        paramiko pre-flight; those systems fail their pre-flight (or their next step)."""
        ids = sorted(self.specs)
        for sid in ids:
            spec = self.specs[sid]
            self.ledger.ensure_system(sid, stack=spec.stack, wave=spec.wave)
            for src, apps in self.app_paths.items():
                if src in {p.source.name for p in spec.pairs}:
                    self.ledger.put_manifest(sid, src, "app_paths", "*", json.dumps(apps))
        # 1. finish the rollbacks a previous run could not do
        pending = [s for s in ids if self.ledger.system(s).rollback_pending]  # type: ignore[union-attr]
        if pending:
            self.rollback(pending)
        active = [s for s in ids if not self.ledger.system(s).rollback_pending]  # type: ignore[union-attr]
        for s in ids:
            if s not in active:
                o = self.outcomes[s]
                o.ok, o.step = False, "rollback"
                o.message = "a previous rollback is still incomplete; fix the host and re-run"
        # 2. paramiko pre-flight verdicts
        failed_now: list[str] = []
        for sid, (host, why) in (preflight_failures or {}).items():
            if sid not in active:
                continue
            step = states.next_step(self.state(sid)) or "preflight"
            if self.state(sid) in ("completed", "retired"):
                continue
            self._fail(sid, step, host=host, task="paramiko pre-flight", message=why)
            active.remove(sid)
            if states.source_stopped(self.state(sid)):
                failed_now.append(sid)
        self.rollback(failed_now)
        # 3. forward, batch by batch
        until = self.opt.until
        while active:
            by_step: dict[Step, list[str]] = {}
            for sid in active:
                rem = states.remaining_steps(self.state(sid), until)
                if rem:
                    by_step.setdefault(rem[0], []).append(sid)
            if not by_step:
                break
            step = min(by_step, key=states.MIGRATION_STEPS.index)
            batch = by_step[step]
            if step in ("preflight", "presync"):
                ok = self._simple_step(step, batch)
            elif step in states.CUTOVER_STEPS:
                ok = []
                groups: dict[tuple[Step, ...], list[str]] = {}
                for sid in batch:
                    rem = [s for s in states.remaining_steps(self.state(sid), until)
                           if s in states.CUTOVER_STEPS]
                    groups.setdefault(tuple(rem), []).append(sid)
                for rem_steps, members in groups.items():
                    ok += self._cutover(members, list(rem_steps))
            elif step == "verify":
                ok = self._verify(batch)
            else:  # complete
                ok = []
                for sid in batch:
                    ev = self._start(sid, "complete")
                    self._advance(sid, "complete", ev, None, "migration complete")
                    ok.append(sid)
            failed = [s for s in batch if s not in ok]
            # a failed pre-flight, or a cutover never started, changed nothing: no rollback
            self.rollback([s for s in failed if step != "preflight" and s not in self.not_run])
            active = [s for s in active if s not in failed]
        for sid in ids:
            o = self.outcomes[sid]
            rec = self.ledger.system(sid)
            assert rec is not None
            o.state = rec.state
            o.downtime = rec.downtime_seconds if o.downtime is None else o.downtime
            o.seconds = time.monotonic() - self._t0[sid]
        return [self.outcomes[s] for s in ids]
