"""The per-system state machine, run over many systems: `MigrationRun` moves every system of
a run through its steps (preflight, presync, the cutover, verify, complete) and records every
move in the ledger.

Steps run in batches: every system whose next step is the same runs it in the same playbook
(one ansible-playbook process, forks in parallel). The cutover (freeze, sync, switch) is one
play so that a system's downtime is only its own work; its progress is followed live from the
play's events (`_cutover.CutoverPlay`), so a runner killed mid-cutover leaves the ledger at
the last step that finished and a rerun resumes there. A system that fails is rolled back at
once (target stopped, source serving); the ledger records the step, the host, the task and
the message.

Stale data after a rollback: a rollback from the freeze on leaves a system `presynced`, and
the source serves (and may be written) again. The warm copy is not run again; what repairs
the target is the rerun's cutover: the final rsync of the sync step copies whatever changed,
and the sync step then compares the sha256 digests of source and target (a mismatch fails
the sync, which is rolled back). The runner compares no digests itself.

Without a verifier (`RunOptions.verify` None: `--no-verify`) a system stops at `switched`:
nothing is recorded for the verify step, its outcome says verification was skipped, and a
later run with a verifier verifies and completes it.

Every step that runs one playbook (preflight, presync, rollback, and `retire`) goes through
`MigrationRun.play_step`, the one definition of "record the step started, run the playbook,
finish the event ok or failed, set the state"; a `PlaybookStep` says what a step adds to it.
The ledger writes of a step are `_record.StepRecorder`'s.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from onecloud import paths
from onecloud.contract import Ledger, State, Step, SystemSpec
from onecloud.contract import _states as states
from onecloud.migrate._cutover import CutoverPlay
from onecloud.migrate._outcome import Observer, RunOptions, SystemOutcome, Verdict, _Quiet
from onecloud.migrate._playbooks import PlaybookResult, TaskEvent, run_playbook
from onecloud.migrate._record import StepRecorder

__all__ = [
    "WRITE_BACK_STATES",
    "MigrationRun",
    "Observer",
    "PlaybookStep",
    "RunOptions",
    "SystemOutcome",
    "Verdict",
]

log = logging.getLogger(__name__)

_PLAYBOOK: dict[Step, str] = {
    "preflight": "preflight_system.yml",
    "presync": "presync_system.yml",
    "freeze": "cutover_system.yml",
    "sync": "cutover_system.yml",
    "switch": "cutover_system.yml",
}


#: states in which the target has served: a rollback from them writes its data back first
WRITE_BACK_STATES: frozenset[State] = frozenset({"switched", "verified"})


def needs_write_back(state: State) -> bool:
    """True when a rollback from `state` must copy the target's data back to the source."""
    return state in WRITE_BACK_STATES


def _nothing(_system: str, *_: object) -> None:
    """A hook of a `PlaybookStep` that adds nothing."""


def _no_detail(_result: PlaybookResult, _system: str) -> str | None:
    return None


@dataclass(frozen=True)
class PlaybookStep:
    """A step that runs one playbook over its systems' sources: what it adds to the sequence
    `MigrationRun.play_step` runs for every such step. Each hook gets a system id."""

    step: str
    playbook: str
    #: the state a system is in once the step succeeded, and the flags set with that state
    after: Callable[[str], State]
    clear_error: bool = False
    rollback_pending: bool | None = None
    #: the state recorded as where the step started (None: the ledger's)
    state_before: State | None = None
    #: before the step is recorded as started for a system
    prepare: Callable[[str], None] = _nothing
    #: how a system came out of the play (None: `MigrationRun.verdict`, over its pairs)
    judge: Callable[[PlaybookResult, str], Verdict] | None = None
    #: the detail of a success, worked out before its event is finished (may write manifests)
    detail: Callable[[PlaybookResult, str], str | None] = _no_detail
    #: once a system's event is finished (and, after a success, its state set)
    succeeded: Callable[[str, str | None], None] = _nothing
    failed: Callable[[str, Verdict], None] = _nothing
    #: extra variables of the play (the same for every system of the step)
    extravars: dict[str, object] | None = None


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
        self.rec = StepRecorder(ledger, self.run_id, self.obs, self.outcomes)
        base = options.private_data_dir or paths.ansible_dir()
        self.private_data_dir = base

    def state(self, system: str) -> State:
        return self.rec.state(system)

    def _inventory(self) -> Path:
        assert self.opt.inventory is not None, "render the inventory before running playbooks"
        return self.opt.inventory

    def _sources(self, systems: Sequence[str]) -> list[str]:
        return [p.source.name for sid in systems for p in self.specs[sid].pairs]

    def by_source(self) -> dict[str, str]:
        return {p.source.name: s.id for s in self.specs.values() for p in s.pairs}

    def _run(
        self,
        playbook: str,
        systems: Sequence[str],
        *,
        tags: Sequence[str] | None = None,
        on_event: Callable[[TaskEvent], None] | None = None,
        extravars: dict[str, object] | None = None,
    ) -> PlaybookResult:
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

    def skipped(self, result: PlaybookResult, system: str) -> bool:
        """True if the play never reached any host of the system (nothing changed there)."""
        outs = [result.hosts.get(p.source.name) for p in self.specs[system].pairs]
        return all(o is not None and not o.ran for o in outs)

    def verdict(self, result: PlaybookResult, system: str) -> Verdict:
        """(ok, host, task, role, message) of a system over its pairs."""
        for p in self.specs[system].pairs:
            o = result.hosts.get(p.source.name)
            if o is None or not o.ok:
                if o is None:
                    return Verdict(False, p.source.name, None, None, "host not in the play")
                return Verdict(
                    False,
                    o.failed_on or p.source.name,
                    o.failed_task,
                    o.failed_role,
                    o.message or "failed",
                )
        return Verdict(True, None, None, None, None)

    def play_step(
        self, play: PlaybookStep, systems: Sequence[str]
    ) -> tuple[PlaybookResult, dict[str, Verdict]]:
        """Record `play.step` started for each of `systems`, run `play.playbook` over their
        sources, then finish each system's event: ok (with the state after, set in the
        ledger too) or failed (with the host, task and message)."""
        events = {}
        for sid in systems:
            play.prepare(sid)
            events[sid] = self.rec.start(sid, play.step, state_before=play.state_before)
        result = self._run(play.playbook, systems, extravars=play.extravars)
        judge = play.judge or self.verdict
        verdicts = {}
        for sid in systems:
            verdicts[sid] = verdict = judge(result, sid)
            if verdict.ok:
                self._succeeded(play, sid, events[sid], result)
            else:
                self.ledger.finish(
                    events[sid],
                    "failed",
                    host=verdict.host,
                    task=verdict.task,
                    detail=verdict.message,
                    playbook_run=result.ident,
                )
                play.failed(sid, verdict)
        return result, verdicts

    def _succeeded(
        self, play: PlaybookStep, system: str, event_id: str, result: PlaybookResult
    ) -> None:
        detail = play.detail(result, system)
        after = play.after(system)
        self.ledger.finish(
            event_id, "ok", state_after=after, playbook_run=result.ident, detail=detail
        )
        self.ledger.set_state(
            system, after, rollback_pending=play.rollback_pending, clear_error=play.clear_error
        )
        play.succeeded(system, detail)

    def _simple_step(self, step: Step, systems: list[str]) -> list[str]:
        """Run one playbook step for `systems`; returns those that succeeded."""
        if not systems:
            return []
        _result, verdicts = self.play_step(
            PlaybookStep(
                step,
                _PLAYBOOK[step],
                after=lambda _sid: states.after(step),
                clear_error=True,
                detail=self._copy_detail if step == "presync" else _no_detail,
                succeeded=lambda sid, detail: self.rec.done(sid, step, detail),
                failed=lambda sid, v: self.rec.blame(
                    sid, step, host=v.host, task=v.task, message=v.message or "failed"
                ),
            ),
            systems,
        )
        return [sid for sid in systems if verdicts[sid].ok]

    def _copy_detail(self, result: PlaybookResult, system: str) -> str:
        """Record the data digests of the warm copy and say what it copied.

        The warm copy runs once per system (from `preflighted`); a rollback never brings a
        system back before `presynced`, so a source that changed after it is caught by the
        cutover's final rsync and digest comparison, not here."""
        figures = result.stats.get("copy_data") or {}
        notes = []
        for p in self.specs[system].pairs:
            f = figures.get(p.source.name) or {}
            digest = f.get("digest")
            if not digest:
                continue
            self.ledger.put_manifest(system, p.source.name, "tree", "presync", digest)
            stats = {k: v for k, v in (f.get("stats") or [])}
            sent = stats.get("Total bytes sent", "0").replace(",", "")
            ms = stats.get("Copy milliseconds", "0").replace(",", "")
            if f.get("copied"):
                notes.append(f"{p.source.name}: copied {sent} bytes in {ms} ms")
            else:
                notes.append(f"{p.source.name}: unchanged, nothing copied")
        return "; ".join(notes)

    def _cutover_groups(self, batch: list[str]) -> list[str]:
        """The cutover of `batch`: one play per set of remaining cutover steps (a resumed
        system has fewer left); returns the systems that succeeded."""
        ok = []
        groups: dict[tuple[Step, ...], list[str]] = {}
        for sid in batch:
            rem = [
                s
                for s in states.remaining_steps(self.state(sid), self.opt.until)
                if s in states.CUTOVER_STEPS
            ]
            groups.setdefault(tuple(rem), []).append(sid)
        for rem_steps, members in groups.items():
            ok += self._cutover(members, list(rem_steps))
        return ok

    def _cutover(self, systems: list[str], steps: list[Step]) -> list[str]:
        """Run the remaining cutover steps of `systems` in one play, following events."""
        if not systems:
            return []
        play = CutoverPlay(self, systems, steps)
        result = self._run(
            "cutover_system.yml",
            systems,
            tags=list(steps),
            on_event=play.on_event,
            extravars={"cutover_system_batch": self.opt.cutover_batch},
        )
        return play.settle(result)

    def _verify(self, systems: list[str]) -> list[str]:
        ok = []
        for sid in systems:
            event = self.rec.start(sid, "verify")
            good, detail = self._check(sid)
            if good:
                self.rec.advance(sid, "verify", event, None, detail)
                ok.append(sid)
            else:
                host = self.specs[sid].pairs[0].target.name
                self.rec.fail(
                    sid,
                    "verify",
                    host=host,
                    task="testinfra checks",
                    message=detail,
                    event_id=event,
                )
        return ok

    def _skip_verify(self, systems: list[str]) -> None:
        """No verifier: the systems stay `switched` (no verify event); a later run with a
        verifier verifies and completes them."""
        for sid in systems:
            o = self.outcomes[sid]
            o.verify_skipped = True
            o.message = (
                "verification skipped (--no-verify): left switched; run again"
                " without --no-verify to verify and complete"
            )
            self.obs.system_step(sid, "verify", "skipped", o.message)

    def _check(self, sid: str) -> tuple[bool, str]:
        """The verifier's verdict on a system (a broken check is a failed verification)."""
        assert self.opt.verify is not None, "no verifier: the verify step is skipped"
        try:
            good, detail = self.opt.verify(self.specs[sid])
        except Exception as exc:  # a broken check is a failed verification
            log.exception("verification of %s raised", sid)
            good, detail = False, f"verification could not run: {exc}"
        return good, detail

    def _complete(self, batch: list[str]) -> list[str]:
        ok = []
        for sid in batch:
            ev = self.rec.start(sid, "complete")
            self.rec.advance(sid, "complete", ev, None, "migration complete")
            ok.append(sid)
        return ok

    def rollback(self, systems: list[str]) -> None:
        """Target stopped, source serving; state back to where the source serves.

        A system rolled back from a state where the target served (`WRITE_BACK_STATES`) first
        has the target's data written back to its source (`rollback_system_write_back`: the
        final sync in reverse, proved by digests and row counts); the source starts only
        once that succeeded. The two kinds run as separate plays (the flag is a play var)."""
        if not systems:
            return
        back = [s for s in systems if needs_write_back(self.state(s))]
        rest = [s for s in systems if s not in back]
        for group, write_back in ((rest, False), (back, True)):
            if group:
                self._rollback_play(group, write_back=write_back)

    def _rollback_play(self, systems: list[str], *, write_back: bool) -> None:
        def detail(result: PlaybookResult, sid: str) -> str:
            if not write_back:
                return "target stopped, source serving; no write-back needed (target never served)"
            return "target stopped; " + self._write_back_detail(result, sid) + "; source serving"

        self.play_step(
            PlaybookStep(
                "rollback",
                "rollback_system.yml",
                prepare=lambda sid: self.ledger.set_state(
                    sid, self.state(sid), rollback_pending=True
                ),
                after=lambda sid: states.rollback_state(self.state(sid)),
                rollback_pending=False,
                detail=detail,
                succeeded=self._rolled_back,
                failed=self._write_back_failed if write_back else self._rollback_failed,
                extravars={"rollback_system_write_back": write_back},
            ),
            systems,
        )

    def _write_back_detail(self, result: PlaybookResult, system: str) -> str:
        """What a rollback wrote back from each target, from the play's figures."""
        copies = result.stats.get("copy_data") or {}
        backs = result.stats.get("rollback_system") or {}
        notes = []
        for p in self.specs[system].pairs:
            c = copies.get(p.source.name) or {}
            b = backs.get(p.source.name) or {}
            stats = {k: v for k, v in (c.get("stats") or [])}
            files = stats.get("Number of regular files transferred", "0").replace(",", "")
            dbs = int(b.get("databases") or 0)
            target = b.get("target") or p.target.name
            what = (
                f"wrote back {files} file(s)"
                if c.get("copied")
                else "wrote back 0 files (unchanged on the target)"
            )
            notes.append(
                f"{what} and {dbs} database(s) from {target} (sha256 {c.get('digest') or '?'})"
            )
        return "; ".join(notes) or "nothing to write back"

    def _rolled_back(self, system: str, _detail: str | None) -> None:
        self.outcomes[system].rolled_back = True
        self.obs.system_step(system, "rollback", "ok", "source serving again")

    def _rollback_failed(self, system: str, verdict: Verdict) -> None:
        self.outcomes[system].rolled_back = False
        self.obs.system_step(system, "rollback", "failed", verdict.message or "")

    def _write_back_failed(self, system: str, verdict: Verdict) -> None:
        """The write-back failed: the source was not started on stale data, the state stays
        with `rollback_pending`, and the last error says what to do."""
        self.outcomes[system].rolled_back = False
        spec = self.specs[system]
        msg = verdict.message or "failed"
        if not msg.startswith("write-back of target data failed"):
            msg = f"write-back of target data failed at {verdict.task or '?'}: {msg}"
        targets = ", ".join(p.target.name for p in spec.pairs)
        wave = f"--wave {spec.wave} " if spec.wave is not None else ""
        text = (
            f"{msg}; the target ({targets}) holds the newest data and is stopped, the"
            f" source is stopped: fix the cause and run `onecloud migrate {wave}--system"
            f" {system}` again (it retries the rollback), or start the target again by"
            " hand"
        )
        self.rec.note_error(system, text)
        self.obs.system_step(system, "rollback", "failed", text)

    def execute(
        self, preflight_failures: dict[str, tuple[str, str]] | None = None
    ) -> list[SystemOutcome]:
        """Run every system to `until`. `preflight_failures`: system -> (host, why) from the
        paramiko pre-flight; those systems fail their pre-flight (or their next step)."""
        ids = sorted(self.specs)
        self._enroll(ids)
        active = self._finish_pending_rollbacks(ids)
        self._fail_preflight(active, preflight_failures or {})
        self._forward(active)
        return self._summary(ids)

    def _enroll(self, ids: list[str]) -> None:
        """Every system of the run in the ledger, with the application paths of its sources."""
        for sid in ids:
            spec = self.specs[sid]
            self.ledger.ensure_system(sid, stack=spec.stack, wave=spec.wave)
            for src, apps in self.app_paths.items():
                if src in {p.source.name for p in spec.pairs}:
                    self.ledger.put_manifest(sid, src, "app_paths", "*", json.dumps(apps))

    def _finish_pending_rollbacks(self, ids: list[str]) -> list[str]:
        """Finish the rollbacks a previous run could not do; returns the systems that go on
        (those whose rollback is still incomplete sit this run out)."""
        pending = [s for s in ids if self.ledger.system(s).rollback_pending]  # type: ignore[union-attr]
        if pending:
            self.rollback(pending)
        active = [s for s in ids if not self.ledger.system(s).rollback_pending]  # type: ignore[union-attr]
        for s in ids:
            if s not in active:
                o = self.outcomes[s]
                o.ok, o.step = False, "rollback"
                err = self.ledger.system(s).last_error or ""  # type: ignore[union-attr]
                o.message = (
                    err
                    if err.startswith("write-back of target data failed")
                    else "a previous rollback is still incomplete; fix the host and re-run"
                )
        return active

    def _fail_preflight(
        self, active: list[str], preflight_failures: dict[str, tuple[str, str]]
    ) -> None:
        """The paramiko pre-flight's verdicts: those systems fail their next step and leave
        `active`; those whose source was stopped are rolled back."""
        failed_now: list[str] = []
        for sid, (host, why) in preflight_failures.items():
            if sid not in active:
                continue
            step = states.next_step(self.state(sid)) or "preflight"
            if self.state(sid) in ("completed", "retired"):
                continue
            self.rec.fail(sid, step, host=host, task="paramiko pre-flight", message=why)
            active.remove(sid)
            if states.source_stopped(self.state(sid)):
                failed_now.append(sid)
        self.rollback(failed_now)

    def _forward(self, active: list[str]) -> None:
        """Forward, batch by batch: the systems whose next step comes first run it together;
        those that fail it are rolled back and go no further."""
        while active:
            batch = self._next_batch(active)
            if batch is None:
                break
            step, systems = batch
            if step == "verify" and self.opt.verify is None:
                self._skip_verify(systems)  # they stop here, switched, without failing
                active = [s for s in active if s not in systems]
                continue
            ok = self._step_batch(step, systems)
            failed = [s for s in systems if s not in ok]
            # a failed pre-flight, or a cutover never started, changed nothing: no rollback
            self.rollback([s for s in failed if step != "preflight" and s not in self.not_run])
            active = [s for s in active if s not in failed]

    def _next_batch(self, active: list[str]) -> tuple[Step, list[str]] | None:
        """The earliest next step of the `active` systems, and the systems it is next for."""
        by_step: dict[Step, list[str]] = {}
        for sid in active:
            rem = states.remaining_steps(self.state(sid), self.opt.until)
            if rem:
                by_step.setdefault(rem[0], []).append(sid)
        if not by_step:
            return None
        step = min(by_step, key=states.MIGRATION_STEPS.index)
        return step, by_step[step]

    def _step_batch(self, step: Step, batch: list[str]) -> list[str]:
        """Run `step` for `batch`; returns the systems that succeeded."""
        if step in ("preflight", "presync"):
            return self._simple_step(step, batch)
        if step in states.CUTOVER_STEPS:
            return self._cutover_groups(batch)
        if step == "verify":
            return self._verify(batch)
        return self._complete(batch)  # complete

    def _summary(self, ids: list[str]) -> list[SystemOutcome]:
        for sid in ids:
            o = self.outcomes[sid]
            rec = self.ledger.system(sid)
            assert rec is not None
            o.state = rec.state
            o.downtime = rec.downtime_seconds if o.downtime is None else o.downtime
            o.seconds = time.monotonic() - self._t0[sid]
        return [self.outcomes[s] for s in ids]
