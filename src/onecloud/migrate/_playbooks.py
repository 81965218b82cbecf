"""The ansible-runner driver: run one playbook over some hosts and say, per host, what happened.

A playbook run is data (`PlaybookResult`): per host whether it succeeded and, if not, the
task, the host it ran on (a delegated task runs on the target) and the message. Live events
go to a callback so the runner can move systems through their steps while the play runs.
Host keys are checked (ansible-runner turns that off by default); secrets stay out of the
artifacts because the roles mark them `no_log`.

Artifacts are kept as long as the ledger points to them (events name their play's ident in
`playbook_run`): ansible-runner never rotates them (`rotate_artifacts=0`); `prune_artifacts`
removes only those older than a number of days that no ledger event references.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onecloud import paths
from onecloud.errors import MigrationError

__all__ = [
    "ARTIFACT_KEEP_DAYS",
    "HostOutcome",
    "PlaybookResult",
    "TaskEvent",
    "playbooks_dir",
    "prune_artifacts",
    "run_playbook",
]

log = logging.getLogger(__name__)


def playbooks_dir() -> Path:
    return paths.playbooks_dir()


@dataclass(frozen=True)
class TaskEvent:
    """One task outcome on one play host, as the runner sees it live."""

    kind: str  # start, ok, failed, unreachable, skipped
    host: str  # the play host (the source)
    on_host: str  # where it ran (the delegate, e.g. the target)
    role: str
    task: str
    message: str
    at: float  # unix time
    ignored: bool = False
    task_path: str = ""  # playbook/role file and line of the task


@dataclass
class HostOutcome:
    host: str
    ok: bool = True
    unreachable: bool = False
    failed_task: str | None = None
    failed_role: str | None = None
    failed_on: str | None = None
    message: str | None = None
    ran: bool = True  # False: the play ended before it reached this host (nothing changed)


@dataclass
class PlaybookResult:
    playbook: str
    ident: str
    status: str
    rc: int
    seconds: float
    hosts: dict[str, HostOutcome] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)  # set_stats data
    artifacts: Path | None = None


def _message(res: Mapping[str, Any]) -> str:
    """The most useful line of a failed task's result."""
    parts = []
    msg = res.get("msg")
    if msg:
        parts.append(str(msg))
    for key in ("stderr", "stdout"):
        text = str(res.get(key) or "").strip()
        if text:
            lines = [ln for ln in text.splitlines() if ln.strip()]
            parts.append(" | ".join(lines[-3:]))
            break
    if not parts and res.get("results"):
        for item in res["results"]:
            if isinstance(item, Mapping) and item.get("failed"):
                return _message(item)
    return "; ".join(parts)[:1000] or "failed (no message)"


def _delegate(res: Mapping[str, Any], host: str) -> str:
    dv = res.get("_ansible_delegated_vars") or {}
    if isinstance(dv, Mapping):
        return str(dv.get("ansible_delegated_host") or dv.get("ansible_host") or host)
    return host


def _artifacts(private_data_dir: Path, ident: str) -> Path:
    """Where ansible-runner keeps the artifacts (events, stdout) of the run `ident`."""
    return private_data_dir / "artifacts" / ident


#: artifacts no ledger event references are removed once older than this many days
ARTIFACT_KEEP_DAYS = 30


def prune_artifacts(
    private_data_dir: Path,
    referenced: set[str],
    *,
    older_than_days: float = ARTIFACT_KEEP_DAYS,
    now: float | None = None,
) -> list[str]:
    """Remove the artifact directories older than `older_than_days` (by mtime) whose ident
    is not in `referenced` (the ledger's `playbook_run` values); returns the idents removed.
    A young directory is kept whatever the ledger says (a running play's events may not be
    recorded yet)."""
    root = private_data_dir / "artifacts"
    if not root.is_dir():
        return []
    limit = (time.time() if now is None else now) - older_than_days * 86400
    removed = []
    for d in sorted(root.iterdir()):
        try:
            if not d.is_dir() or d.is_symlink() or d.name in referenced:
                continue
            if d.stat().st_mtime >= limit:
                continue
        except OSError:
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d.name)
    return removed


def _prepare_artifacts(private_data_dir: Path, playbook: str) -> str:
    """Make ansible-runner's private data directory; returns the new run's ident."""
    private_data_dir.mkdir(parents=True, exist_ok=True)
    (private_data_dir / "env").mkdir(exist_ok=True)
    stem = playbook.removesuffix(".yml")
    return f"{time.strftime('%Y%m%dT%H%M%S')}-{stem}-{uuid.uuid4().hex[:6]}"


def _envvars(private_data_dir: Path, forks: int) -> dict[str, str]:
    """The environment of ansible-playbook: this venv's Ansible, host keys checked."""
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_ROLES_PATH": str(playbooks_dir() / "roles"),
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_TIMEOUT": "15",
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_LOCAL_TEMP": str(private_data_dir / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private_data_dir / "cp"),
    }


def _task_event(kind: str, data: Mapping[str, Any]) -> TaskEvent:
    """A `runner_on_*` event of ansible-runner as a `TaskEvent`."""
    host = str(data["host"])
    res = data.get("res") or {}
    short = kind.removeprefix("runner_on_")
    return TaskEvent(
        kind=short,
        host=host,
        on_host=_delegate(res, host) if isinstance(res, Mapping) else host,
        role=str(data.get("role") or ""),
        task=str(data.get("task") or ""),
        message=_message(res) if short in ("failed", "unreachable") else "",
        at=time.time(),
        ignored=bool(data.get("ignore_errors")),
        task_path=str(data.get("task_path") or ""),
    )


class _PlayEvents:
    """Follows a play's events: per host its outcome, the `set_stats` figures, the hosts the
    play processed; hands every task event on to `on_event`."""

    def __init__(self, hosts: Sequence[str], on_event: Callable[[TaskEvent], None] | None) -> None:
        self.outcomes = {h: HostOutcome(h) for h in hosts}
        self.stats: dict[str, Any] = {}
        self.processed: set[str] = set()
        self.on_event = on_event

    def handle(self, event: dict[str, Any]) -> bool:
        """ansible-runner's `event_handler` (True: keep the event in the artifacts)."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self._play_stats(data)
            return True
        if not kind.startswith("runner_on_") or "host" not in data:
            return True
        ev = _task_event(kind, data)
        if ev.kind in ("failed", "unreachable") and not ev.ignored:
            self._task_failed(ev)
        self._pass_on(ev)
        return True

    def _play_stats(self, data: Mapping[str, Any]) -> None:
        """The play's recap: the figures, the hosts processed, the hosts that failed."""
        self.stats.update(data.get("artifact_data") or {})
        self.processed.update(data.get("processed") or {})
        for key in ("failures", "dark"):
            for h in data.get(key) or {}:
                o = self.outcomes.setdefault(h, HostOutcome(h))
                o.ok = False
                o.unreachable = o.unreachable or key == "dark"

    def _task_failed(self, ev: TaskEvent) -> None:
        o = self.outcomes.setdefault(ev.host, HostOutcome(ev.host))
        # a host stops at its first unrescued failure, so the last one seen is the cause
        o.failed_task, o.failed_role, o.failed_on = ev.task, ev.role, ev.on_host
        o.message = ev.message
        o.unreachable = ev.kind == "unreachable"

    def _pass_on(self, ev: TaskEvent) -> None:
        if self.on_event is not None:
            try:
                self.on_event(ev)
            except Exception:  # a display bug must not break a migration
                log.exception("event callback failed")


def _call_runner(
    run: Callable[..., Any],
    playbook: str,
    *,
    inventory: Path,
    hosts: Sequence[str],
    private_data_dir: Path,
    forks: int,
    tags: Sequence[str] | None,
    extravars: Mapping[str, Any] | None,
    ident: str,
    events: _PlayEvents,
    timeout: int | None,
) -> tuple[Any, float]:
    """Run the playbook with ansible-runner's `run`; (its runner, the seconds it took)."""
    envvars = _envvars(private_data_dir, forks)
    t0 = time.monotonic()
    runner = run(
        private_data_dir=str(private_data_dir),
        project_dir=str(playbooks_dir()),
        playbook=playbook,
        inventory=str(inventory),
        limit=",".join(hosts),
        forks=forks,
        tags=",".join(tags) if tags else None,
        extravars=dict(extravars or {}),
        envvars=envvars,
        ident=ident,
        quiet=True,
        # never rotate: ledger events point to these artifacts (see `prune_artifacts`)
        rotate_artifacts=0,
        event_handler=events.handle,
        timeout=timeout,
    )
    return runner, time.monotonic() - t0


def _clear_rescued(outcomes: dict[str, HostOutcome]) -> set[str]:
    """Hosts that failed and then were rescued are ok: the stats said which really failed.

    Returns those that failed in the stats."""
    failed_in_stats = {h for h, o in outcomes.items() if not o.ok}
    for h, o in outcomes.items():
        if h not in failed_in_stats and o.failed_task is not None:
            o.failed_task = o.failed_role = o.failed_on = o.message = None
            o.unreachable = False
    return failed_in_stats


def _mark_not_reached(outcomes: dict[str, HostOutcome], processed: set[str]) -> None:
    for h, o in outcomes.items():
        if h not in processed and o.ok:
            # e.g. a `serial` batch failed as a whole and Ansible skipped the later batches
            o.ok, o.ran = False, False
            o.message = "not run: the play stopped before it reached this host"


def _judge_run(
    outcomes: dict[str, HostOutcome], failed_in_stats: set[str], status: Any, rc: Any, stdout: Path
) -> None:
    """A run that did not end, or failed with no host failing, fails every host."""
    if status not in ("successful", "failed"):
        # timeout, canceled, error: nobody can be trusted to have finished
        for o in outcomes.values():
            if o.ok:
                o.ok = False
                o.message = f"ansible-playbook ended with status {status} (rc {rc})"
    elif status == "failed" and not failed_in_stats:
        for o in outcomes.values():
            o.ok = False
            o.message = o.message or f"ansible-playbook failed (rc {rc}); see {stdout}"


def run_playbook(
    playbook: str,
    *,
    inventory: Path,
    hosts: Sequence[str],
    private_data_dir: Path,
    forks: int = 10,
    tags: Sequence[str] | None = None,
    extravars: Mapping[str, Any] | None = None,
    on_event: Callable[[TaskEvent], None] | None = None,
    timeout: int | None = None,
) -> PlaybookResult:
    """Run `playbooks/<playbook>` limited to `hosts`; never raises for a failed play."""
    import ansible_runner  # heavy: import only when a playbook runs

    if not hosts:
        raise MigrationError(f"{playbook}: no hosts to run on (internal error)")
    ident = _prepare_artifacts(private_data_dir, playbook)
    events = _PlayEvents(hosts, on_event)
    runner, seconds = _call_runner(
        ansible_runner.run,
        playbook,
        inventory=inventory,
        hosts=hosts,
        private_data_dir=private_data_dir,
        forks=forks,
        tags=tags,
        extravars=extravars,
        ident=ident,
        events=events,
        timeout=timeout,
    )
    outcomes = events.outcomes
    failed_in_stats = _clear_rescued(outcomes)
    _mark_not_reached(outcomes, events.processed)
    _judge_run(
        outcomes,
        failed_in_stats,
        runner.status,
        runner.rc,
        _artifacts(private_data_dir, ident) / "stdout",
    )
    return PlaybookResult(
        playbook=playbook,
        ident=ident,
        status=str(runner.status),
        rc=int(runner.rc if runner.rc is not None else -1),
        seconds=seconds,
        hosts=outcomes,
        stats=events.stats,
        artifacts=_artifacts(private_data_dir, ident),
    )
