"""One `onecloud migrate` run from end to end, without any terminal output.

plan + stack outputs -> system specs -> paramiko pre-flight -> inventory (jinja2) -> wave lock
-> runner (ansible-runner playbooks, verification, rollbacks) -> outcomes. The CLI, the
integration tests and the benchmark all call `migrate()`.

Each run renders its own inventory, `inventory/generated/<stack>/<run_id>/` (a `latest`
symlink, replaced atomically, names the newest), so runners on two waves of one stack never
rewrite each other's inventory mid-run; a dry run renders into a temporary directory of its
own. Old run inventories are pruned to the newest `KEEP_INVENTORIES` per stack, never one
whose run still holds a lock.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onecloud import paths
from onecloud.contract import (
    Ledger,
    LedgerError,
    State,
    SystemSpec,
    build_spec,
    remaining_steps,
    select_systems,
)
from onecloud.contract import _states as states
from onecloud.errors import MigrationError, UsageError
from onecloud.migrate import _inventory as inv
from onecloud.migrate._outcome import Observer, RunOptions, SystemOutcome, Verdict
from onecloud.migrate._playbooks import PlaybookResult, prune_artifacts
from onecloud.migrate._preflight import DISK_SPACE, Finding
from onecloud.migrate._run import MigrationRun, PlaybookStep
from onecloud.migrate._sshprobe import SystemPreflight, preflight_systems
from onecloud.plan import Plan
from onecloud.plan import load_plan as plan_io_load
from onecloud.verify import verify_for_migration

__all__ = ["DryRun", "MigrateRequest", "load_plan", "load_specs", "migrate", "retire"]

log = logging.getLogger(__name__)

#: run inventories kept per stack (besides those of runs that still hold a lock)
KEEP_INVENTORIES = 20


#: the pre-flight's finding for a target too small for the whole data (see `_errors`)
@dataclass(frozen=True)
class MigrateRequest:
    wave: int | None = None
    systems: tuple[str, ...] = ()
    stack: str | None = None
    forks: int = 10
    cutover_batch: int = 5
    until: State = "completed"
    dry_run: bool = False
    plan_path: Path | None = None
    ssh_config: Path | None = None
    ledger: str | None = None
    #: the stack's `systems` output; None: ask `read_outputs` (the CLI passes the iac reader)
    outputs: Mapping[str, Any] | None = None
    read_outputs: Callable[[str], Mapping[str, Any] | None] | None = None
    verify: bool = True
    inventory_dir: Path | None = None


@dataclass(frozen=True)
class DryRun:
    """What a run would do: per system its state and the steps left, and the pre-flight."""

    inventory: Path
    rows: list[tuple[str, str, list[str], bool, list[str]]]  # id, state, steps, ok, problems


def load_plan(path: Path | None) -> Plan:
    p = path or paths.plan_file()
    if not p.exists():
        raise UsageError(f"no plan at {p}", hint="run `onecloud plan` first")
    return plan_io_load(p)


def load_specs(plan: Plan, req: MigrateRequest) -> tuple[list[SystemSpec], list[SystemSpec]]:
    """(the systems of this run, every migrating system of their stack) as specs."""
    chosen = select_systems(
        plan, wave=req.wave, system_ids=list(req.systems) or None, stack=req.stack
    )
    stacks = {c.stack or "lab" for c in chosen}
    if len(stacks) > 1:
        raise UsageError(
            f"the selected systems belong to several stacks: {', '.join(sorted(stacks))}",
            hint="add --stack NAME to migrate one stack at a time",
        )
    stack = stacks.pop()
    outputs = req.outputs
    if outputs is None and req.read_outputs is not None:
        outputs = req.read_outputs(stack)
    specs = [build_spec(s, outputs) for s in chosen]
    stack_specs = []
    for s in plan.systems:
        if s.disposition == "migrate" and (s.stack or "lab") == stack:
            try:
                stack_specs.append(build_spec(s, outputs))
            except UsageError as exc:  # another system's problem must not block this run
                log.warning("inventory: leaving out %s: %s", s.id, exc)
    return specs, stack_specs


def _app_paths_from_ledger(ledger: Ledger, specs: Sequence[SystemSpec]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in specs:
        for (host, _kind, _name), value in ledger.manifests(s.id, "app_paths").items():
            out[host] = json.loads(value)
    return out


def render_inventory(
    stack: str,
    stack_specs: Sequence[SystemSpec],
    *,
    ssh_config: Path | None,
    app_paths: dict[str, list[str]],
    out_dir: Path | None,
    digest: str,
) -> Path:
    return inv.render(
        stack,
        stack_specs,
        out_dir=out_dir,
        ssh_config=ssh_config,
        app_paths=app_paths,
        digest=digest,
    )


def run_inventory_dir(stack: str, run_id: str) -> Path:
    """The inventory of one run: `inventory/generated/<stack>/<run_id>/`."""
    return inv.default_dir(stack) / run_id


def dry_run_inventory_dir(stack: str) -> Path:
    """A dry run's own inventory, in a new temporary directory (never a real run's)."""
    return Path(tempfile.mkdtemp(prefix=f"onecloud-dry-run-{stack}-")) / "inventory"


def point_latest(run_dir: Path) -> Path:
    """Make `<stack>/latest` name `run_dir` (a relative symlink, replaced atomically)."""
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest.{uuid.uuid4().hex[:8]}"
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, link)
    return link


def _run_ids_holding_locks(ledger: Ledger, stack_specs: Sequence[SystemSpec]) -> set[str]:
    """The run ids that hold a wave or system lock of the stack (their inventory is in use)."""
    names = {f"wave:{s.wave}" for s in stack_specs if s.wave is not None}
    names |= {f"system:{s.id}" for s in stack_specs}
    held = (ledger.lock(n) for n in sorted(names))
    return {h.run_id for h in held if h is not None}


def prune_inventories(base: Path, protect: set[str], *, keep: int = KEEP_INVENTORIES) -> list[str]:
    """Remove the run inventories under `base` beyond the newest `keep` (by mtime), never one
    named in `protect` nor the one `latest` names; returns the names removed."""
    if not base.is_dir():
        return []
    latest = base / "latest"
    if latest.is_symlink():
        protect = protect | {os.readlink(latest)}
    runs = [
        d
        for d in base.iterdir()
        if d.is_dir() and not d.is_symlink() and d.name.startswith(("run-", "retire-"))
    ]
    runs.sort(key=lambda d: d.stat().st_mtime, reverse=True)
    removed = []
    for d in runs[keep:]:
        if d.name not in protect:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
    return removed


def _render_run_inventory(
    ledger: Ledger,
    stack: str,
    stack_specs: Sequence[SystemSpec],
    run_id: str,
    *,
    ssh_config: Path | None,
    app_paths: dict[str, list[str]],
    digest: str,
) -> Path:
    """Render the run's own inventory, point `latest` at it, prune old ones."""
    out = render_inventory(
        stack,
        stack_specs,
        ssh_config=ssh_config,
        app_paths=app_paths,
        out_dir=run_inventory_dir(stack, run_id),
        digest=digest,
    )
    try:
        point_latest(out)
        prune_inventories(out.parent, _run_ids_holding_locks(ledger, stack_specs) | {run_id})
    except OSError as exc:  # housekeeping must not stop a migration
        log.warning("inventory housekeeping under %s failed: %s", out.parent, exc)
    return out


def _prune_artifacts(ledger: Ledger) -> None:
    """ansible-runner artifacts no ledger event points to, once old (see `prune_artifacts`)."""
    try:
        referenced = {e.playbook_run for e in ledger.events() if e.playbook_run}
        removed = prune_artifacts(paths.ansible_dir(), referenced)
    except OSError as exc:
        log.warning("pruning ansible-runner artifacts failed: %s", exc)
        return
    if removed:
        log.info(
            "removed %d old ansible-runner artifact dir(s) no ledger event references", len(removed)
        )


def resumed_after_warm_copy(ledger: Ledger, system_id: str) -> bool:
    """True when the ledger says the warm copy is done (state presynced or later)."""
    rec = ledger.system(system_id)
    return rec is not None and states.index(rec.state) >= states.index("presynced")


def _errors(spec: SystemSpec, pre: SystemPreflight, resumed: bool) -> list[Finding]:
    """The pre-flight's errors of a system. Once the warm copy is on the target (`resumed`),
    the disk check, which sizes the whole data as if nothing were there yet, is dropped for
    the targets: the rerun copies only the delta (and the final sync fails cleanly, rolled
    back, if even that does not fit)."""
    errs = pre.errors()
    if not resumed:
        return errs
    targets = {p.target.name for p in spec.pairs}
    return [f for f in errs if not (f.host in targets and f.code == DISK_SPACE)]


def migrate(
    req: MigrateRequest,
    *,
    observer: Observer | None = None,
    say: Callable[[str], None] | None = None,
) -> list[SystemOutcome] | DryRun:
    """Run (or, with `dry_run`, describe) a migration. Raises only for usage problems and a
    held lock; failed systems are outcomes."""
    say = say or (lambda m: log.info("%s", m))
    plan = load_plan(req.plan_path)
    specs, stack_specs = load_specs(plan, req)
    stack = specs[0].stack
    ssh_config = req.ssh_config or paths.ssh_config()
    origin = {s.addresses_from for s in specs}
    say(
        f"{len(specs)} system(s) of stack {stack}; target addresses from the "
        f"{'/'.join(sorted(origin))}; ssh_config {ssh_config or '~/.ssh/config'}"
    )
    ledger = Ledger.open(req.ledger)
    run_id = f"run-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    waves = sorted({s.wave for s in specs if s.wave is not None})
    locks = [f"wave:{w}" for w in waves] or [f"system:{specs[0].id}"]
    held: list[str] = []
    outcomes: list[SystemOutcome] | None = None
    try:
        if not req.dry_run:
            # before anything else: the inventory and the hosts belong to one runner at a time
            stale_runs: list[str] = []
            for name in locks:
                stale = ledger.acquire(name, run_id, sys.argv)
                held.append(name)
                if stale is not None:
                    stale_runs.append(stale.run_id)
                    say(
                        f"took over the lock {name} of run {stale.run_id} (pid {stale.pid} is gone)"
                    )
            # only the steps of the runs whose locks this run took over were interrupted
            interrupted = ledger.close_interrupted(run_id, of_runs=stale_runs)
            if interrupted:
                say(f"{interrupted} step(s) of an earlier run were interrupted; resuming")
            _prune_artifacts(ledger)
        pre = preflight_systems(specs, ssh_config, workers=max(req.forks, 4))
        app_paths = _app_paths_from_ledger(ledger, stack_specs)
        for r in pre.values():
            for host, apps in r.app_paths.items():
                if apps:
                    app_paths[host] = apps
        digest = plan.census_digest[:12]
        if req.inventory_dir is not None or req.dry_run:
            inventory = render_inventory(
                stack,
                stack_specs,
                ssh_config=ssh_config,
                app_paths=app_paths,
                out_dir=req.inventory_dir or dry_run_inventory_dir(stack),
                digest=digest,
            )
        else:
            inventory = _render_run_inventory(
                ledger,
                stack,
                stack_specs,
                run_id,
                ssh_config=ssh_config,
                app_paths=app_paths,
                digest=digest,
            )
        say(f"inventory rendered: {inventory}")
        errors = {s.id: _errors(s, pre[s.id], resumed_after_warm_copy(ledger, s.id)) for s in specs}
        if req.dry_run:
            rows = []
            for s in specs:
                rec = ledger.system(s.id)
                state: State = rec.state if rec else "planned"
                problems = [str(f) for f in errors[s.id]]
                rows.append(
                    (
                        s.id,
                        str(state),
                        [str(x) for x in remaining_steps(state, req.until)],
                        not problems,
                        problems,
                    )
                )
            return DryRun(inventory, rows)
        failures = {}
        for sid, errs in errors.items():
            if errs:
                failures[sid] = (errs[0].host, "; ".join(map(str, errs)))
        verifier = None
        if req.verify:

            def verifier(spec: SystemSpec) -> tuple[bool, str]:
                return verify_for_migration(spec, ssh_config=ssh_config)

        run = MigrationRun(
            specs,
            ledger,
            RunOptions(
                forks=req.forks,
                until=req.until,
                ssh_config=ssh_config,
                inventory=inventory,
                verify=verifier,
                cutover_batch=req.cutover_batch,
            ),
            observer=observer,
            app_paths=app_paths,
            run_id=run_id,
        )
        outcomes = run.execute(failures)
        return outcomes
    finally:
        ok = outcomes is not None and all(o.ok for o in outcomes)
        for name in held:
            try:
                ledger.release(name, run_id, "ok" if ok else "failed")
            except LedgerError as exc:  # a ledger outage must not hide what went wrong
                log.warning("could not release the lock %s: %s", name, exc)
        ledger.close()


class _Unseen:
    """What retire shows while it runs: nothing (the CLI prints its result)."""

    def system_step(self, system: str, step: str, status: str, detail: str = "") -> None:
        pass


def _first_failure(result: PlaybookResult, _system: str) -> Verdict:
    """Retire's verdict: the first host of the play that did not succeed, if any."""
    bad = [o for o in result.hosts.values() if not o.ok]
    if not bad:
        return Verdict(True)
    o = bad[0]
    return Verdict(False, o.failed_on or o.host, o.failed_task, o.failed_role, o.message)


def _archive_sha(result: PlaybookResult) -> str | None:
    """The archive checksum retire reports: the last one of its figures."""
    sha = None
    for f in (result.stats.get("retire_system") or {}).values():
        sha = f.get("sha256")
    return sha


def _retire_step(ledger: Ledger) -> PlaybookStep:
    """Retire as a playbook step: from `completed` (checked before) to `retired`; each
    source's archive and its checksum go to the ledger's manifests."""

    def record_archives(result: PlaybookResult, system: str) -> str:
        figures = result.stats.get("retire_system") or {}
        for host, f in figures.items():
            ledger.put_manifest(
                system, host, "archive", str(f.get("archive")), str(f.get("sha256"))
            )
        return f"archive sha256 {_archive_sha(result)}"

    return PlaybookStep(
        "retire",
        "retire_system.yml",
        after=lambda _sid: "retired",
        clear_error=True,
        state_before="completed",
        judge=_first_failure,
        detail=record_archives,
    )


def retire(
    system_id: str,
    *,
    confirm: bool,
    plan_path: Path | None = None,
    ssh_config: Path | None = None,
    ledger_url: str | None = None,
    forks: int = 5,
    read_outputs: Callable[[str], Mapping[str, Any] | None] | None = None,
) -> tuple[str, str | None]:
    """Archive a completed system's source with a checksum manifest and shut it down.

    Returns (state, archive sha256). Refuses unless the ledger says `completed` and the
    operator confirmed; a failed retire leaves the system `completed` and says why. The
    playbook runs as a step of a one-system `MigrationRun` (`MigrationRun.play_step`).
    """
    plan = load_plan(plan_path)
    req = MigrateRequest(systems=(system_id,), read_outputs=read_outputs)
    specs, stack_specs = load_specs(plan, req)
    spec = specs[0]
    ledger = Ledger.open(ledger_url)
    try:
        rec = ledger.system(system_id)
        if rec is None or rec.state != "completed":
            state = rec.state if rec else "planned"
            raise MigrationError(
                f"system {system_id} is {state}; only a completed system can be retired",
                hint=f"finish its migration first: onecloud migrate --system {system_id}",
            )
        if not confirm:
            raise UsageError(
                f"retiring {system_id} archives and shuts down its source(s) "
                f"{', '.join(p.source.name for p in spec.pairs)}",
                hint=f"add --confirm to do it: onecloud migrate retire --system {system_id}"
                " --confirm",
            )
        ssh_config = ssh_config or paths.ssh_config()
        app_paths = _app_paths_from_ledger(ledger, stack_specs)
        run_id = f"retire-{system_id}-{uuid.uuid4().hex[:6]}"
        lock = f"system:{system_id}"
        ledger.acquire(lock, run_id, sys.argv)
        try:
            inventory = _render_run_inventory(
                ledger,
                spec.stack,
                stack_specs,
                run_id,
                ssh_config=ssh_config,
                app_paths=app_paths,
                digest=plan.census_digest[:12],
            )
            run = MigrationRun(
                [spec],
                ledger,
                RunOptions(forks=forks, inventory=inventory),
                observer=_Unseen(),
                run_id=run_id,
            )
            result, verdicts = run.play_step(_retire_step(ledger), [system_id])
            v = verdicts[system_id]
            if not v.ok:
                raise MigrationError(
                    f"retire of {system_id} failed on {v.host} at task '{v.task}': {v.message}",
                    hint="fix the host and run the same command again (it is idempotent)",
                )
            sha = _archive_sha(result)
        finally:
            ledger.release(lock, run_id, "done")
        return "retired", sha
    finally:
        ledger.close()
